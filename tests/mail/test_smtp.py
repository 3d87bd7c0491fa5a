"""The SMTP sender against a real SMTP server on loopback (aiosmtpd), with faults: each
fault maps to the outcome the outbox needs (sent / temporary / permanent / unknown)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from pydantic import SecretStr

from hub.mail.compose import Composer, OutboundRequest
from hub.mail.identity import MailIdentity
from hub.mail.parse import parse_message
from hub.mail.smtp import SendKind, SmtpSender, SmtpSettings

IDENTITY = MailIdentity(instance_id="hub1a2b3c", domain="msp.example")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FaultyServer:
    """What the server does; each test sets one fault."""

    fault: str = "none"
    received: list[bytes] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.fault == "rcpt_4xx":
            return "450 4.2.0 mailbox busy"
        if self.fault == "rcpt_5xx" or (self.fault == "one_refused" and address.startswith("gone")):
            return "550 5.1.1 no such user"
        if self.fault == "disconnect_before_data":
            server.transport.close()
            return "250 OK"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fault == "data_5xx":
            return "554 5.7.1 message rejected as spam"
        if self.fault == "data_4xx":
            return "451 4.3.0 try again later"
        self.received.append(envelope.content)
        if self.fault == "hang_after_data":
            await asyncio.sleep(30)  # the client gives up first: it may have been accepted
        if self.fault == "disconnect_after_data":
            server.transport.close()
        return "250 2.0.0 queued as ABC123"


class _SlowDataSMTP(SMTP):
    async def smtp_DATA(self, arg: str) -> None:
        if getattr(self.event_handler, "fault", "") == "hang_before_354":
            await asyncio.sleep(30)
        await super().smtp_DATA(arg)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _SlowDataSMTP(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def server() -> Iterator[tuple[FaultyServer, int]]:
    handler = FaultyServer()
    port = _free_port()
    controller = _Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _message() -> tuple[bytes, tuple[str, ...]]:
    mail = Composer(IDENTITY).compose(
        OutboundRequest(
            token="7F3K2",
            seq=1,
            to=("support@vendor.example",),
            kind="follow_up",
            context={"title": "Line down", "message": "A line starting with a dot:\n.hidden\nend"},
        ),
        now=datetime(2026, 12, 7, tzinfo=UTC),
    )
    return mail.as_bytes(), mail.recipients


def _sender(port: int, timeout: float = 2.0) -> SmtpSender:
    return SmtpSender(SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_seconds=timeout))


async def test_sent_message_arrives_byte_for_byte(server: tuple[FaultyServer, int]) -> None:
    handler, port = server
    raw, rcpts = _message()
    outcome = await _sender(port).send(raw, sender="cases@msp.example", recipients=rcpts)
    assert outcome.kind is SendKind.sent and outcome.code == 250 and outcome.delivered
    assert len(handler.received) == 1
    received = parse_message(handler.received[0])
    assert received.message_id == "case-7F3K2.1.hub1a2b3c@msp.example"
    assert "\n.hidden\n" in received.text  # dot-stuffing undone by the server


@pytest.mark.parametrize(
    ("fault", "kind", "code"),
    [
        ("rcpt_4xx", SendKind.temporary, 450),
        ("rcpt_5xx", SendKind.permanent, 550),
        ("data_4xx", SendKind.temporary, 451),
        ("data_5xx", SendKind.permanent, 554),
        ("disconnect_before_data", SendKind.temporary, None),
        ("hang_before_354", SendKind.temporary, None),
        ("hang_after_data", SendKind.unknown, None),
        ("disconnect_after_data", SendKind.unknown, None),
    ],
)
async def test_faults_map_to_outcomes(
    server: tuple[FaultyServer, int], fault: str, kind: SendKind, code: int | None
) -> None:
    handler, port = server
    handler.fault = fault
    raw, rcpts = _message()
    outcome = await _sender(port).send(raw, sender="cases@msp.example", recipients=rcpts)
    assert (outcome.kind, outcome.code) == (kind, code), outcome.detail
    if kind is SendKind.unknown:
        # The server did get the whole message: resending must be recognisable.
        assert parse_message(handler.received[0]).message_id == "case-7F3K2.1.hub1a2b3c@msp.example"


async def test_one_refused_recipient_is_reported_and_the_rest_sent(server: tuple[FaultyServer, int]) -> None:
    handler, port = server
    handler.fault = "one_refused"
    raw, _ = _message()
    outcome = await _sender(port).send(
        raw, sender="cases@msp.example", recipients=("support@vendor.example", "gone@vendor.example")
    )
    assert outcome.kind is SendKind.sent
    assert list(outcome.refused) == ["gone@vendor.example"]


async def test_connection_refused_is_temporary() -> None:
    raw, rcpts = _message()
    outcome = await _sender(_free_port()).send(raw, sender="cases@msp.example", recipients=rcpts)
    assert outcome.kind is SendKind.temporary


async def test_resend_after_unknown_carries_the_same_message_id(server: tuple[FaultyServer, int]) -> None:
    handler, port = server
    raw, rcpts = _message()
    handler.fault = "disconnect_after_data"
    first = await _sender(port).send(raw, sender="cases@msp.example", recipients=rcpts)
    handler.fault = "none"
    second = await _sender(port).send(raw, sender="cases@msp.example", recipients=rcpts)
    assert (first.kind, second.kind) == (SendKind.unknown, SendKind.sent)
    ids = {parse_message(r).message_id for r in handler.received}
    assert ids == {"case-7F3K2.1.hub1a2b3c@msp.example"} and len(handler.received) == 2


async def test_bad_password_is_temporary_and_never_in_the_outcome(server: tuple[FaultyServer, int]) -> None:
    _, port = server
    secret = "hunter2-very-secret"
    sender = SmtpSender(
        SmtpSettings(
            host="127.0.0.1",
            port=port,
            security="none",
            username="hub",
            password=SecretStr(secret),
            timeout_seconds=1,
        )
    )
    raw, rcpts = _message()
    outcome = await sender.send(raw, sender="cases@msp.example", recipients=rcpts)
    assert outcome.kind is SendKind.temporary
    assert secret not in repr(outcome) and secret not in repr(sender.settings)
