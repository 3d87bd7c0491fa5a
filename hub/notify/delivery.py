"""Senders: the daily e-mail digest and the webhook outbox.

Both take rows from `notice_deliveries` the same way: claim them (state `sending`, with a
lease in `next_attempt_at`) and commit, send with no transaction open, then record the
outcome. A sender that dies mid-way leaves rows in `sending`; once the lease has run out
the next run takes them back. Failures retry with exponential backoff up to
HUB_NOTIFY_MAX_ATTEMPTS, then the row is `dead` and stays for the operator.
"""

from __future__ import annotations

import smtplib
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import secret_box, session_scope
from hub.kit.crypto import Purpose
from hub.models import Notice, NoticeDelivery, WebhookEndpoint
from hub.models.enums import NoticeChannel
from hub.models.notify import DeliveryState
from hub.notify import email, signing
from hub.notify.settings import NotifySettings
from hub.notify.targets import AllowList, TargetRefused, resolve_allowed

LEASE = timedelta(minutes=5)
BATCH = 200


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    messages: int = 0


async def _claim(
    session: AsyncSession, channel: NoticeChannel, now: datetime, limit: int = BATCH
) -> list[NoticeDelivery]:
    stmt = (
        select(NoticeDelivery)
        .where(
            NoticeDelivery.channel == channel,
            NoticeDelivery.next_attempt_at <= now,
            or_(NoticeDelivery.state == DeliveryState.queued, NoticeDelivery.state == DeliveryState.sending),
        )
        .order_by(NoticeDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list((await session.execute(stmt)).scalars())
    for row in rows:
        row.state = DeliveryState.sending
        row.next_attempt_at = now + LEASE
    await session.flush()
    return rows


async def _finish(
    session: AsyncSession,
    ids: list[int],
    now: datetime,
    settings: NotifySettings,
    *,
    error: str | None,
    status: int | None = None,
) -> str:
    """Record the outcome of one send for these rows; returns sent / retried / dead."""
    rows = (await session.execute(select(NoticeDelivery).where(NoticeDelivery.id.in_(ids)))).scalars().all()
    outcome = "sent"
    for row in rows:
        if row.state != DeliveryState.sending:
            continue  # cancelled meanwhile
        row.attempts += 1
        row.last_status = status
        if error is None:
            row.state, row.sent_at, row.last_error = DeliveryState.sent, now, None
            await session.execute(
                update(Notice).where(Notice.id == row.notice_id, Notice.sent_at.is_(None)).values(sent_at=now)
            )
            continue
        row.last_error = error[:2000]
        if row.attempts >= settings.notify_max_attempts:
            row.state, outcome = DeliveryState.dead, "dead"
        else:
            row.state, outcome = DeliveryState.queued, "retried"
            row.next_attempt_at = now + timedelta(seconds=settings.backoff(row.attempts))
    return outcome


def _tally(result: SendResult, outcome: str, n: int) -> None:
    if outcome == "sent":
        result.sent += n
    elif outcome == "dead":
        result.dead += n
    else:
        result.retried += n


UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def units(sessionmaker: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    """Committed write units on `sessionmaker` (a job passes its own `ctx.session`, which
    also queues behind the worker's SQLite write gate)."""
    return lambda: session_scope(sessionmaker)


async def send_digests(unit: UnitOfWork, now: datetime, settings: NotifySettings) -> SendResult:
    """One e-mail per recipient with every reminder queued for them."""
    result = SendResult()
    async with unit() as session:
        rows = await _claim(session, NoticeChannel.email, now, limit=5000)
        notices = {
            n.id: n
            for n in (
                await session.execute(select(Notice).where(Notice.id.in_({r.notice_id for r in rows})))
            ).scalars()
        }
        by_target: dict[str, list[tuple[int, email.DigestLine]]] = defaultdict(list)
        for row in rows:
            notice = notices[row.notice_id]
            text = notice.summary or f"{notice.subject_type.replace('_', ' ')}: {notice.threshold}"
            line = email.DigestLine(
                notice.id,
                notice.subject_type,
                notice.subject_id,
                text,
                notice.days,
                alert=notice.ends_on is None,
            )
            by_target[row.target].append((row.id, line))
    for target, entries in sorted(by_target.items()):
        msg = email.render_digest(settings, target, now.date(), [line for _, line in entries])
        error = None
        try:
            await email.send(settings, msg)
        except (email.EmailNotConfigured, OSError, smtplib.SMTPException) as exc:
            error = email.describe_error(exc)
        async with unit() as session:
            outcome = await _finish(session, [i for i, _ in entries], now, settings, error=error)
        _tally(result, outcome, len(entries))
        result.messages += outcome == "sent"
    return result


# The event type of a notice by its subject type (anything else is a dated reminder or a
# renewal alert, "reminder.due").
EVENT_TYPES = {"check": "check.status_changed"}


def payload(notice: Notice, *, test: bool = False) -> dict[str, Any]:
    event = EVENT_TYPES.get(notice.subject_type, "reminder.due")
    return {
        "type": "reminder.test" if test else event,
        "timestamp": datetime.now(UTC).isoformat(),
        "data": {
            "notice_id": notice.id,
            "subject_type": notice.subject_type,
            "subject_id": notice.subject_id,
            "client_id": str(notice.client_id) if notice.client_id else None,
            "threshold": notice.threshold,
            "days": notice.days,
            "due_on": notice.due_on.isoformat() if notice.due_on else None,
            "ends_on": notice.ends_on.isoformat() if notice.ends_on else None,
            "summary": notice.summary,
        },
    }


@dataclass(frozen=True)
class HookCall:
    url: str
    secret: str


async def post_webhook(
    call: HookCall, msg_id: str, body: bytes, settings: NotifySettings
) -> tuple[int | None, str | None]:
    """(status, error): error is None on a 2xx. The target is checked (allow-list and
    resolved addresses) right before the call, and the checked address is the one used."""
    allow = AllowList.parse(settings.allowed_hosts)
    try:
        host, address = await resolve_allowed(call.url, allow)
    except TargetRefused as exc:
        return None, f"refused: {exc}"
    parts = urlsplit(call.url)
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    headers = signing.headers(call.secret, msg_id, int(time.time()), body)
    headers["host"] = parts.netloc.rsplit("@", 1)[-1]
    headers["user-agent"] = "vendor-hub-webhooks/1"
    try:
        async with httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds, follow_redirects=False
        ) as http:
            r = await http.post(pinned, content=body, headers=headers, extensions={"sni_hostname": host})
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"
    if 200 <= r.status_code < 300:
        return r.status_code, None
    return r.status_code, f"HTTP {r.status_code}"


async def deliver_webhooks(unit: UnitOfWork, now: datetime, settings: NotifySettings) -> SendResult:
    result = SendResult()
    async with unit() as session:
        rows = await _claim(session, NoticeChannel.webhook, now)
        box = secret_box(session, Purpose.webhook_secret)
        work: list[tuple[int, str, HookCall | None, bytes]] = []
        for row in rows:
            notice = await session.get(Notice, row.notice_id)
            hook = (
                await session.get(WebhookEndpoint, row.webhook_endpoint_id)
                if row.webhook_endpoint_id
                else None
            )
            call = HookCall(hook.url, box.decrypt(hook.secret_encrypted)) if hook and hook.active else None
            body = orjson.dumps(payload(notice)) if notice else b"{}"
            work.append((row.id, row.message_id, call, body))
    for row_id, msg_id, call, body in work:
        status: int | None
        error: str | None
        if call is None:
            status, error = None, "the webhook endpoint is gone or disabled"
        else:
            status, error = await post_webhook(call, msg_id, body, settings)
        async with unit() as session:
            outcome = await _finish(session, [row_id], now, settings, error=error, status=status)
            if error is not None and error.startswith("refused"):
                # Not allowed is not a transient failure: stop at once.
                await session.execute(
                    update(NoticeDelivery).where(NoticeDelivery.id == row_id).values(state=DeliveryState.dead)
                )
                outcome = "dead"
        _tally(result, outcome, 1)
    return result


async def cancel_queued(session: AsyncSession, notice_ids: list[int]) -> int:
    """Acknowledged or snoozed: what has not gone out yet never will."""
    if not notice_ids:
        return 0
    stmt = (
        update(NoticeDelivery)
        .where(NoticeDelivery.notice_id.in_(notice_ids), NoticeDelivery.state == DeliveryState.queued)
        .values(state=DeliveryState.cancelled)
        .execution_options(synchronize_session=False)
    )
    return int((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"
