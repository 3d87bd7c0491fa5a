"""The case outbox: every message to a vendor is a `CaseMail` row, sent exactly once.

Queueing composes the message (hub.mail.compose) and stores its bytes, and so its
Message-ID, in the transaction that decided to send it; the `case.outbox` job sends.

Sending claims due rows (state `sending`, a lease in `next_attempt_at`) and commits,
sends each with no transaction open (hub.mail.smtp), then records the outcome:
- `sent`: done;
- `temporary`: back to `queued` with exponential backoff, `dead` after the last attempt;
- `permanent`: `dead` at once;
- `unknown` (the answer to the DATA terminator was lost): `unknown`, never resent by
  itself. A person resends (same bytes, same Message-ID) or marks it sent; a vendor
  reply to its Message-ID marks it sent.
A row still `sending` after its lease ran out belongs to a sender that died mid-way: it
may have been sent, so it becomes `unknown` too, never `queued`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth.principal import SYSTEM, Principal
from hub.case.schemas import SendCaseMail
from hub.case.settings import CaseSettings
from hub.errors import Conflict, InvalidInput
from hub.jobs import enqueue
from hub.mail.compose import Attachment, Composer, OutboundRequest, ThreadContext
from hub.mail.smtp import SendKind, SendOutcome, SmtpSender
from hub.models import CaseAttachment, CaseEvent, CaseMail, Client, Vendor, VendorAccount, VendorCase
from hub.models.enums import AuditAction, CaseEventKind, MailDirection, MailState

LEASE = timedelta(minutes=5)
BATCH = 50
OUTBOX_JOB = "case.outbox"


@dataclass
class OutboxResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    unknown: int = 0
    details: list[str] = field(default_factory=list)


async def thread_of(session: AsyncSession, case: VendorCase) -> ThreadContext | None:
    """What a follow-up answers: the vendor's latest message (its subject kept), with every
    Message-ID of the case as References; None before anything was exchanged."""
    mails = (
        (
            await session.execute(
                select(CaseMail)
                .where(CaseMail.case_id == case.id, CaseMail.message_id.is_not(None))
                .order_by(CaseMail.id)
            )
        )
        .scalars()
        .all()
    )
    if not mails:
        return None
    inbound = [m for m in mails if m.direction is MailDirection.inbound and m.kind == "human"]
    last = inbound[-1] if inbound else None
    refs = tuple(m.message_id for m in mails if m.message_id)
    return ThreadContext(
        in_reply_to=last.message_id if last else None,
        references=refs,
        subject=last.subject if last else None,
    )


async def mail_context(
    session: AsyncSession, case: VendorCase
) -> tuple[dict[str, Any], Vendor, VendorAccount]:
    account = await session.get(VendorAccount, case.vendor_account_id)
    assert account is not None
    vendor = await session.get(Vendor, account.vendor_id)
    client = await session.get(Client, case.client_id)
    assert vendor is not None and client is not None
    context = {
        "title": case.title,
        "description": case.description,
        "client_name": client.name,
        "account_number": account.account_number,
        "contract_number": account.contract_number,
    }
    return context, vendor, account


async def queue_message(
    session: AsyncSession,
    case: VendorCase,
    kind: str,
    now: datetime,
    settings: CaseSettings,
    *,
    principal: Principal = SYSTEM,
    context: dict[str, Any] | None = None,
    category: str | None = None,
    attachments: Sequence[CaseAttachment] = (),
    cc: Sequence[str] = (),
    event_body: str = "",
    event_kind: CaseEventKind = CaseEventKind.email_out,
    event_meta: dict[str, Any] | None = None,
) -> CaseMail:
    """Compose the case's next message and put it in the outbox (sent by `case.outbox`);
    records it on the timeline (client-visible: the client sees who wrote to whom)."""
    if not case.to_addresses:
        raise InvalidInput(
            "to", "the case has no vendor address: give `to` or set the vendor's support e-mail"
        )
    if case.token is None:
        raise Conflict("the case has no mail token")
    base, vendor, _ = await mail_context(session, case)
    seq = case.next_seq
    request = OutboundRequest(
        token=case.token,
        seq=seq,
        to=tuple(case.to_addresses),
        cc=tuple(dict.fromkeys((*case.cc_addresses, *cc))),
        kind=kind,
        language=case.language,
        vendor_category=category,
        context={**base, **(context or {})},
        attachments=tuple(Attachment(a.filename, a.content, a.content_type) for a in attachments),
        thread=await thread_of(session, case) if kind != "open" else None,
        vendor_case_number=case.external_ref,
    )
    composed = Composer(settings.identity(), signature=settings.from_name).compose(request, now=now)
    case.next_seq = seq + 1
    mail = CaseMail(
        case_id=case.id,
        direction=MailDirection.outbound,
        kind=kind,
        message_id=composed.message_id,
        dedupe_key=composed.message_id,
        state=MailState.queued,
        sender=settings.from_address,
        recipients=list(composed.recipients),
        subject=composed.subject,
        raw=composed.as_bytes(),
        next_attempt_at=now,
        created_at=now,
    )
    session.add(mail)
    await session.flush()
    session.add(
        CaseEvent(
            case_id=case.id,
            kind=event_kind,
            occurred_at=now,
            actor=principal.actor,
            body=event_body
            or f"Wrote to {vendor.name} ({', '.join(composed.recipients)}): {composed.subject}",
            client_visible=True,
            mail_id=mail.id,
            meta={"message_id": composed.message_id, "kind": kind, **(event_meta or {})},
        )
    )
    await enqueue(session, SendCaseMail(), dedupe_key=OUTBOX_JOB)
    await session.flush()
    return mail


# --- sending -------------------------------------------------------------------------------


async def _claim(session: AsyncSession, now: datetime) -> list[CaseMail]:
    """Due rows, claimed for LEASE; rows a dead sender left `sending` become `unknown`."""
    stale = (
        (
            await session.execute(
                select(CaseMail).where(
                    CaseMail.direction == MailDirection.outbound,
                    CaseMail.state == MailState.sending,
                    CaseMail.next_attempt_at <= now,
                )
            )
        )
        .scalars()
        .all()
    )
    for row in stale:
        row.state = MailState.unknown
        row.last_error = "the sender stopped while sending: the server may have the message"
        _note(session, row, now, f"Delivery of '{row.subject}' is uncertain: {row.last_error}. Not resent.")
    stmt = (
        select(CaseMail)
        .where(
            CaseMail.direction == MailDirection.outbound,
            CaseMail.state == MailState.queued,
            CaseMail.next_attempt_at <= now,
        )
        .order_by(CaseMail.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    rows = list((await session.execute(stmt)).scalars())
    for row in rows:
        row.state = MailState.sending
        row.next_attempt_at = now + LEASE
    await session.flush()
    return rows


def _note(session: AsyncSession, mail: CaseMail, now: datetime, body: str) -> None:
    if mail.case_id is None:
        return
    session.add(
        CaseEvent(
            case_id=mail.case_id,
            kind=CaseEventKind.note,
            occurred_at=now,
            actor="outbox",
            body=body,
            client_visible=False,
            mail_id=mail.id,
            meta={"outbox": mail.state.value},
        )
    )


async def record_outcome(
    session: AsyncSession, mail: CaseMail, outcome: SendOutcome, now: datetime, settings: CaseSettings
) -> str:
    mail.attempts += 1
    kind = outcome.kind
    detail = f"{outcome.code} {outcome.detail}" if outcome.code else outcome.detail
    if kind is SendKind.sent:
        mail.state, mail.sent_at, mail.last_error, mail.next_attempt_at = MailState.sent, now, None, None
    elif kind is SendKind.unknown:
        mail.state, mail.last_error, mail.next_attempt_at = MailState.unknown, detail, None
        _note(session, mail, now, f"Delivery of '{mail.subject}' is uncertain ({detail}). Not resent.")
    elif kind is SendKind.permanent or mail.attempts >= settings.outbox_max_attempts:
        mail.state, mail.last_error, mail.next_attempt_at = MailState.dead, detail, None
        _note(session, mail, now, f"'{mail.subject}' was not delivered: {detail}")
    else:
        mail.state, mail.last_error = MailState.queued, detail
        mail.next_attempt_at = now + timedelta(seconds=settings.backoff(mail.attempts))
        return "retried"
    case = await session.get(VendorCase, mail.case_id) if mail.case_id is not None else None
    if case is not None:
        record(
            session,
            SYSTEM,
            AuditAction.vendor_action,
            subject_type="vendor_case",
            subject_id=case.id,
            client_id=case.client_id,
            meta={
                "action": "mail_sent",
                "mail_id": mail.id,
                "outcome": mail.state.value,
                "code": outcome.code,
            },
        )
    return mail.state.value


async def send_due(units: Any, now: datetime, settings: CaseSettings) -> OutboxResult:
    """One pass over the outbox. `units()` gives committed write units (a job passes its
    `ctx.session`)."""
    result = OutboxResult()
    smtp = settings.smtp()
    if smtp is None:
        return result  # mail is not configured: everything stays queued
    async with units() as session:
        claimed = [(row.id, row.raw, row.sender, list(row.recipients)) for row in await _claim(session, now)]
    sender = SmtpSender(smtp)
    for mail_id, raw, from_addr, recipients in claimed:
        outcome = await sender.send(raw, sender=from_addr, recipients=recipients)
        async with units() as session:
            mail = await session.get(CaseMail, mail_id)
            if mail is None or mail.state is not MailState.sending:
                continue
            done = await record_outcome(session, mail, outcome, now, settings)
            if done in ("sent", "retried", "dead", "unknown"):
                setattr(result, done, getattr(result, done) + 1)
            result.details.append(f"{mail_id}: {outcome.kind.value} {outcome.detail}")
    return result


async def resend(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, mail_id: int, now: datetime
) -> CaseMail:
    """A person decides an `unknown` (or `dead`) message did not arrive: the same bytes
    (same Message-ID, so a copy the vendor already has is recognisable) go out again."""
    principal.require_staff()
    mail = await session.get(CaseMail, mail_id)
    if mail is None or mail.case_id != case_id or mail.direction is not MailDirection.outbound:
        raise InvalidInput("mail_id", "no outbound message of this case with that id")
    if mail.state not in (MailState.unknown, MailState.dead):
        raise Conflict(f"the message is {mail.state.value}: only an unknown or dead message is resent")
    mail.state, mail.next_attempt_at = MailState.queued, now
    mail.attempts = 0
    case = await session.get(VendorCase, case_id)
    record(
        session,
        principal,
        AuditAction.vendor_action,
        subject_type="vendor_case",
        subject_id=case_id,
        client_id=case.client_id if case else None,
        meta={"action": "mail_resend", "mail_id": mail.id},
    )
    await enqueue(session, SendCaseMail(), dedupe_key=OUTBOX_JOB)
    await session.flush()
    return mail
