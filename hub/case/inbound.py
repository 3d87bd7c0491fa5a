"""Inbound case mail: every message (from the IMAP poller or the relay endpoint) is stored
once (unique on its dedupe key), matched by the reply-matching ladder (hub.mail.match)
and filed on its case, dropped (our own mail looping back) or put in triage. Nothing
lands on a case the ladder is not sure of.

Filing a message: a timeline event (the vendor's words, quoted history stripped; the raw
message kept), the vendor's case number learnt, the first response recorded and the
clock moved, but only for a human answer: auto-replies and bounces never count as the
vendor's response. A vendor saying the problem is fixed on a case opened from a check
queues the re-run of that check (hub.case.verify)."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth.principal import SYSTEM, Principal
from hub.case import service
from hub.case.policy import says_resolved
from hub.case.schemas import InboundResult, TriageFilters, VerifyCase
from hub.case.settings import CaseSettings
from hub.case.timeline import ACTIVE
from hub.errors import Conflict, InvalidInput, NotFound
from hub.jobs import enqueue
from hub.jobs.queue import bring_forward
from hub.mail.classify import MessageKind
from hub.mail.match import Action, CaseRef, Decision, Matcher, VendorRef
from hub.mail.parse import InboundMessage, MessageParser
from hub.models import CaseEvent, CaseMail, Renewal, TriageItem, VendorAccount, VendorCase, VendorMailProfile
from hub.models.enums import AuditAction, CaseEventKind, CaseStatus, MailDirection, MailState, TriageState
from hub.renewal.planner import dedupe_key

MANUAL = "manual"
_TRIAGE_SORT = {"id": TriageItem.id, "-id": TriageItem.id.desc()}


class DbLookup:
    """hub.mail.match.CaseLookup over the database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._profiles: list[VendorMailProfile] | None = None

    async def _ref(self, case: VendorCase) -> CaseRef:
        account = await self.session.get(VendorAccount, case.vendor_account_id)
        assert account is not None
        return CaseRef(
            case_id=str(case.id),
            token=case.token or "",
            vendor_id=str(account.vendor_id),
            vendor_case_number=case.external_ref,
            is_open=case.status in ACTIVE,
        )

    async def cases_for_message_ids(self, message_ids: Sequence[str]) -> Mapping[str, CaseRef]:
        if not message_ids:
            return {}
        rows = (
            await self.session.execute(
                select(CaseMail.message_id, CaseMail.case_id).where(
                    CaseMail.message_id.in_(list(message_ids)), CaseMail.case_id.is_not(None)
                )
            )
        ).all()
        out: dict[str, CaseRef] = {}
        for message_id, case_id in rows:
            case = await self.session.get(VendorCase, case_id)
            if case is not None and message_id:
                out[message_id] = await self._ref(case)
        return out

    async def case_for_token(self, token: str) -> CaseRef | None:
        case = (
            await self.session.execute(select(VendorCase).where(VendorCase.token == token.upper()))
        ).scalar_one_or_none()
        return await self._ref(case) if case is not None else None

    async def case_for_vendor_number(self, vendor_id: str, number: str) -> CaseRef | None:
        accounts = select(VendorAccount.id).where(VendorAccount.vendor_id == uuid.UUID(vendor_id))
        found = (
            (
                await self.session.execute(
                    select(VendorCase).where(
                        VendorCase.vendor_account_id.in_(accounts),
                        func.upper(VendorCase.external_ref) == number.upper(),
                    )
                )
            )
            .scalars()
            .all()
        )
        return await self._ref(found[0]) if len(found) == 1 else None

    async def _all_profiles(self) -> list[VendorMailProfile]:
        if self._profiles is None:
            self._profiles = list((await self.session.execute(select(VendorMailProfile))).scalars())
        return self._profiles

    @staticmethod
    def _vendor_ref(profile: VendorMailProfile) -> VendorRef:
        return VendorRef(
            vendor_id=str(profile.vendor_id),
            domains=frozenset(profile.mail_domains),
            case_number_patterns=tuple(profile.case_number_patterns),
        )

    async def vendors_for_domain(self, domain: str) -> Sequence[VendorRef]:
        domain = domain.lower()
        return [self._vendor_ref(p) for p in await self._all_profiles() if domain in p.mail_domains]

    async def vendor(self, vendor_id: str) -> VendorRef | None:
        for profile in await self._all_profiles():
            if str(profile.vendor_id) == vendor_id:
                return self._vendor_ref(profile)
        return None

    async def open_cases_for_vendor(self, vendor_id: str) -> Sequence[CaseRef]:
        accounts = select(VendorAccount.id).where(VendorAccount.vendor_id == uuid.UUID(vendor_id))
        rows = (
            await self.session.execute(
                select(VendorCase)
                .where(VendorCase.vendor_account_id.in_(accounts), VendorCase.status.in_(list(ACTIVE)))
                .limit(500)
            )
        ).scalars()
        return [await self._ref(c) for c in rows]


def _store(msg: InboundMessage, now: datetime) -> CaseMail:
    return CaseMail(
        direction=MailDirection.inbound,
        kind=msg.kind.value,
        message_id=msg.message_id,
        dedupe_key=msg.dedupe_key[:500],
        state=MailState.received,
        sender=msg.from_addr[:320],
        recipients=list(msg.recipients)[:50],
        subject=msg.subject[:1000],
        raw=msg.raw,
        created_at=now,
    )


async def ingest(session: AsyncSession, raw: bytes, now: datetime, settings: CaseSettings) -> InboundResult:
    """Store, match and file (or triage, or drop) one raw message; a message seen before
    (same Message-ID, or same bytes without one) is a `duplicate` and changes nothing."""
    msg = MessageParser().parse(raw)
    existing = (
        await session.execute(
            select(CaseMail.id).where(
                CaseMail.direction == MailDirection.inbound, CaseMail.dedupe_key == msg.dedupe_key[:500]
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        return InboundResult(outcome="duplicate", mail_id=existing, case_id=None)
    decision = await Matcher(settings.identity()).match(msg, DbLookup(session))
    mail = _store(msg, now)
    try:
        async with session.begin_nested():
            session.add(mail)
            await session.flush()
    except IntegrityError:  # the same message filed meanwhile by the other way in
        return InboundResult(outcome="duplicate", mail_id=None, case_id=None)
    if decision.action is Action.drop:
        return InboundResult(outcome="dropped", mail_id=mail.id, case_id=None, reason=_reason(decision))
    if decision.action is Action.triage or decision.case_id is None:
        session.add(
            TriageItem(
                mail_id=mail.id,
                reason=_reason(decision) or "no_signal",
                detail=decision.detail,
                created_at=now,
            )
        )
        await session.flush()
        return InboundResult(outcome="triage", mail_id=mail.id, case_id=None, reason=_reason(decision))
    case = await session.get(VendorCase, uuid.UUID(decision.case_id))
    assert case is not None
    await file_on_case(session, case, mail, msg, now, decision=decision)
    signal = decision.signal.value if decision.signal else None
    return InboundResult(outcome="filed", mail_id=mail.id, case_id=case.id, signal=signal)


def _reason(decision: Decision) -> str | None:
    return decision.reason.value if decision.reason is not None else None


async def file_on_case(
    session: AsyncSession,
    case: VendorCase,
    mail: CaseMail,
    msg: InboundMessage,
    now: datetime,
    *,
    decision: Decision | None = None,
    principal: Principal = SYSTEM,
) -> CaseEvent:
    human = msg.kind is MessageKind.human
    signal = decision.signal.value if decision is not None and decision.signal else MANUAL
    mail.case_id = case.id
    mail.matched_by = signal
    label = {MessageKind.human: "", MessageKind.bounce: " (bounce)"}.get(msg.kind, " (automatic reply)")
    event = CaseEvent(
        case_id=case.id,
        kind=CaseEventKind.email_in,
        occurred_at=now,
        actor=msg.from_addr or "unknown sender",
        body=f"Mail from {msg.from_addr}{label}: {msg.subject}\n\n{msg.reply_text}".strip(),
        client_visible=human,
        mail_id=mail.id,
        meta={
            "message_id": msg.message_id,
            "signal": signal,
            "message_kind": msg.kind.value,
            "kind_reason": msg.kind_reason,
            # Only a person's answer is the vendor's response: auto-replies never stop a clock.
            "vendor_response": human,
        },
    )
    session.add(event)
    await _confirm_our_mail(session, msg)
    if decision is not None:
        await _learn_number(session, case, decision, now)
    if human:
        if case.first_response_at is None:
            case.first_response_at = now
        await _after_vendor_answer(session, case, msg, now, principal)
    await service.refresh_clock(session, case, now)
    await session.flush()
    return event


async def _confirm_our_mail(session: AsyncSession, msg: InboundMessage) -> None:
    """A reply to one of our messages whose delivery was uncertain proves it arrived."""
    ids = list(msg.thread_ids)
    if not ids:
        return
    rows = (
        await session.execute(
            select(CaseMail).where(
                CaseMail.direction == MailDirection.outbound,
                CaseMail.message_id.in_(ids),
                CaseMail.state == MailState.unknown,
            )
        )
    ).scalars()
    for row in rows:
        row.state, row.last_error = MailState.sent, "the vendor answered it: it was delivered"


async def _learn_number(session: AsyncSession, case: VendorCase, decision: Decision, now: datetime) -> None:
    number = decision.new_vendor_case_number
    if number and case.external_ref is None:
        taken = (
            await session.execute(
                select(VendorCase.id).where(
                    VendorCase.vendor_account_id == case.vendor_account_id, VendorCase.external_ref == number
                )
            )
        ).first()
        if taken is None:
            case.external_ref = number[:120]
            session.add(
                CaseEvent(
                    case_id=case.id,
                    kind=CaseEventKind.note,
                    occurred_at=now,
                    actor="mail",
                    body=f"The vendor's case number is {number}",
                    client_visible=True,
                    meta={"vendor_case_number": number},
                )
            )
    proposal = decision.proposed_pattern
    if proposal is not None:
        account = await session.get(VendorAccount, case.vendor_account_id)
        profile = await session.get(VendorMailProfile, account.vendor_id) if account else None
        if profile is not None and not profile.case_number_patterns:
            # Learnt from the first reply: later replies without our token are found by it.
            profile.case_number_patterns = [proposal.regex]
            session.add(
                CaseEvent(
                    case_id=case.id,
                    kind=CaseEventKind.note,
                    occurred_at=now,
                    actor="mail",
                    body=f"Learnt the vendor's case-number format from this reply: {proposal.regex}",
                    client_visible=False,
                    meta={"pattern": proposal.regex},
                )
            )


async def _after_vendor_answer(
    session: AsyncSession, case: VendorCase, msg: InboundMessage, now: datetime, principal: Principal
) -> None:
    """The vendor answered: the ball is ours (open); a vendor saying it is fixed on a case
    opened from a check gets that check re-run."""
    if case.status is CaseStatus.waiting_vendor:
        await service.move(session, principal, case, CaseStatus.open, now, "the vendor answered")
    if case.renewal_id is not None:
        # A distributor answering a purchase order: its renewal looks at it now (the
        # next-look time is bookkeeping: the renewal's version stays).
        await session.execute(
            update(Renewal)
            .where(Renewal.id == case.renewal_id, Renewal.next_action_at > now)
            .values(next_action_at=now, updated_at=Renewal.updated_at)
            .execution_options(synchronize_session=False)
        )
        await bring_forward(session, [dedupe_key(case.renewal_id)], now)
    if case.check_run_id is not None and case.status in ACTIVE and says_resolved(msg.reply_text):
        await enqueue(session, VerifyCase(case_id=case.id), dedupe_key=f"case.verify:{case.id}")


# --- triage --------------------------------------------------------------------------------


async def list_triage(
    session: AsyncSession, principal: Principal, params: TriageFilters
) -> tuple[builtins.list[dict[str, Any]], int]:
    principal.require_staff()
    stmt = select(TriageItem, CaseMail.sender, CaseMail.subject).join(
        CaseMail, CaseMail.id == TriageItem.mail_id
    )
    if params.state is not None:
        stmt = stmt.where(TriageItem.state == params.state)
    order = _TRIAGE_SORT.get(params.sort or "id")
    if order is None:
        raise InvalidInput("sort", f"one of {', '.join(_TRIAGE_SORT)}", location="query")
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(order).limit(params.limit).offset(params.offset))).all()
    items = []
    for item, sender, subject in rows:
        data = {c.key: getattr(item, c.key) for c in TriageItem.__table__.columns}
        items.append({**data, "sender": sender, "subject": subject})
    return items, int(total)


async def _open_item(session: AsyncSession, item_id: int) -> tuple[TriageItem, CaseMail]:
    item = await session.get(TriageItem, item_id)
    if item is None:
        raise NotFound(f"triage item {item_id} not found")
    if item.state is not TriageState.open:
        raise Conflict(f"the triage item is already {item.state.value}")
    mail = await session.get(CaseMail, item.mail_id)
    assert mail is not None
    return item, mail


def _view(item: TriageItem, mail: CaseMail) -> dict[str, Any]:
    data = {c.key: getattr(item, c.key) for c in TriageItem.__table__.columns}
    return {**data, "sender": mail.sender, "subject": mail.subject}


async def assign(
    session: AsyncSession, principal: Principal, item_id: int, case_id: uuid.UUID
) -> dict[str, Any]:
    """A person files a triaged message on a case (recorded as a manual match)."""
    principal.require_staff()
    item, mail = await _open_item(session, item_id)
    case = await service.cases.get(session, principal, case_id)
    now = service.now_of(session)
    await file_on_case(session, case, mail, MessageParser().parse(mail.raw), now, principal=principal)
    item.state, item.case_id, item.decided_by, item.decided_at = (
        TriageState.filed,
        case.id,
        principal.actor,
        now,
    )
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="vendor_case",
        subject_id=case.id,
        client_id=case.client_id,
        meta={"triage": item.id, "filed_mail": mail.id},
    )
    await session.flush()
    return _view(item, mail)


async def dismiss(session: AsyncSession, principal: Principal, item_id: int) -> dict[str, Any]:
    principal.require_staff()
    item, mail = await _open_item(session, item_id)
    item.state, item.decided_by, item.decided_at = (
        TriageState.dismissed,
        principal.actor,
        service.now_of(session),
    )
    await session.flush()
    return _view(item, mail)
