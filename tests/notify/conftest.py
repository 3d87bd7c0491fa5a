"""Real servers on loopback for the reminder channels: an SMTP server (aiosmtpd) that
keeps every message, and an HTTP receiver that checks Standard Webhooks signatures."""

from __future__ import annotations

import email
import email.policy
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import session_scope
from hub.models import User
from hub.models.enums import Role
from hub.notify import delivery, ledger, signing
from hub.runtime import HubRuntime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd hook
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def text(msg: EmailMessage) -> str:
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())


@pytest.fixture
def smtp(runtime: HubRuntime) -> Iterator[Mailbox]:
    port = _free_port()
    box = Mailbox(port)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    runtime.use_settings(notify={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "hub@msp.example"})
    try:
        yield box
    finally:
        controller.stop()


SECRET = signing.generate_secret()


@dataclass
class Receiver:
    url: str
    status: int = 204
    calls: list[dict[str, Any]] = field(default_factory=list)
    secret: str = SECRET

    @property
    def verified(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["verified"]]


@pytest.fixture
async def receiver(runtime: HubRuntime) -> AsyncIterator[Receiver]:
    state = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        h = request.headers
        ok = all(k in h for k in ("webhook-id", "webhook-timestamp", "webhook-signature")) and signing.verify(
            state.secret, h["webhook-id"], h["webhook-timestamp"], body, h["webhook-signature"]
        )
        state.calls.append({"headers": dict(h), "body": body, "verified": ok})
        return web.Response(status=state.status if ok else 401)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}/hook"
    runtime.use_settings(notify={"webhook_allowed_hosts": "127.0.0.1", "notify_backoff_seconds": 0})
    try:
        yield state
    finally:
        await runner.cleanup()


async def add_user(app: Any, email_address: str, role: Role = Role.technician) -> str:
    async with session_scope(app.state.runtime.sessionmaker) as session:
        user = User(email=email_address, name=email_address.split("@")[0], role=role)
        session.add(user)
        await session.flush()
        return str(user.id)


def at(day: str, hour: int = 8) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


async def run_day(app: Any, now: datetime) -> ledger.RunResult:
    """What the worker does on a day: the hourly ledger run, then the morning digest
    and the webhook sender."""
    runtime = app.state.runtime
    async with session_scope(runtime.sessionmaker) as session:
        result = await ledger.run_reminders(session, now, runtime.settings.notify)
    unit = delivery.units(runtime.sessionmaker)
    await delivery.send_digests(unit, now, runtime.settings.notify)
    await delivery.deliver_webhooks(unit, now, runtime.settings.notify)
    return result


async def in_session(app: Any, fn: Any) -> Any:
    async with session_scope(app.state.runtime.sessionmaker) as session:
        return await fn(session)


def new_id() -> str:
    return str(uuid.uuid4())


__all__ = ["AsyncSession"]
