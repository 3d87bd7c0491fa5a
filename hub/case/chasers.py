"""Chasers: a vendor silent past its target gets a follow-up, by itself, once per level
and resolution cycle (the `case_chasers` ledger is unique on case, cycle and level):
level 1 reminds the vendor's support, level 2 copies the next escalation contact in,
level 3 the last one (the account manager). Each is an outbox message and an escalation
event on the timeline; a technician can pause a case's chasers.

A level is due when the case waits on the vendor, its target is past (`vendor_sla_due_at`)
and the previous level was sent at least `chaser_interval_seconds` ago. A technician can
also escalate at once (`escalate`)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import SYSTEM, Principal
from hub.case import desk, outbox, service
from hub.case.schemas import CaseEscalation, CaseReply
from hub.case.settings import CaseSettings
from hub.errors import Conflict, HubError, InvalidInput
from hub.models import CaseChaser, CaseMail, Vendor, VendorAccount, VendorCase
from hub.models.enums import CaseChannel, CaseEventKind, CaseStatus

MAX_LEVEL = 3
ACTOR = "chaser"
CHASER = Principal(actor=ACTOR, role=SYSTEM.role)


def escalation_contacts(vendor: Vendor) -> list[tuple[str, str]]:
    """(name, e-mail) of the vendor's escalation levels that have an e-mail, by level."""
    levels = sorted(vendor.escalation_levels or [], key=lambda x: int(x.get("level") or 0))
    out = []
    for item in levels:
        contact = str(item.get("contact") or "").strip()
        if "@" in contact and " " not in contact:
            out.append((str(item.get("name") or contact), contact))
    return out


async def _last(session: AsyncSession, case: VendorCase) -> tuple[int, datetime | None]:
    row = (
        await session.execute(
            select(func.max(CaseChaser.level), func.max(CaseChaser.sent_at)).where(
                CaseChaser.case_id == case.id, CaseChaser.cycle == case.cycle
            )
        )
    ).one()
    return int(row[0] or 0), row[1]


async def chase(session: AsyncSession, now: datetime, settings: CaseSettings) -> list[tuple[str, int]]:
    """Queue the chasers due now; returns (case id, level) of each."""
    if not settings.chasers_enabled:
        return []
    due = (
        await session.execute(
            select(VendorCase).where(
                VendorCase.status == CaseStatus.waiting_vendor,
                VendorCase.chasers_paused.is_(False),
                VendorCase.channel == CaseChannel.email,
                VendorCase.vendor_sla_due_at <= now,
            )
        )
    ).scalars()
    sent: list[tuple[str, int]] = []
    for case in list(due):
        level = await _chase_one(session, case, now, settings)
        if level:
            sent.append((str(case.id), level))
    return sent


async def _claim_level(
    session: AsyncSession, case: VendorCase, now: datetime, settings: CaseSettings
) -> tuple[CaseChaser, str, str] | None:
    """The next chaser level due for the case, written to the ledger (so at most once),
    with the escalation contact's name and e-mail for levels above 1; None when none is due."""
    last_level, last_at = await _last(session, case)
    account = await session.get(VendorAccount, case.vendor_account_id)
    vendor = await session.get(Vendor, account.vendor_id) if account else None
    if vendor is None:
        return None
    contacts = escalation_contacts(vendor)
    top = min(MAX_LEVEL, 1 + len(contacts))
    level = last_level + 1
    if level > top:
        return None
    if last_at is not None and now - last_at < timedelta(seconds=settings.chaser_interval_seconds):
        return None
    name, cc = contacts[level - 2] if level > 1 else ("", "")
    try:
        async with session.begin_nested():
            ledger = CaseChaser(case_id=case.id, cycle=case.cycle, level=level, sent_at=now)
            session.add(ledger)
            await session.flush()
    except IntegrityError:
        return None  # another run chased this level meanwhile
    return ledger, name, cc


def _note_escalation(
    session: AsyncSession, case: VendorCase, now: datetime, level: int, name: str, cc: str
) -> None:
    if level > 1:
        service.add_system_event(
            session,
            case,
            CaseEventKind.escalation,
            ACTOR,
            now,
            f"Escalated to level {level}: {name}",
            visible=True,
            meta={"level": level, "contact": cc},
        )


async def _chase_one(session: AsyncSession, case: VendorCase, now: datetime, settings: CaseSettings) -> int:
    if not case.to_addresses:
        return 0
    claimed = await _claim_level(session, case, now, settings)
    if claimed is None:
        return 0
    ledger, name, cc = claimed
    level = ledger.level
    context: dict[str, Any] = {
        "level": level,
        "opened_on": f"{case.opened_at:%Y-%m-%d}" if case.opened_at else "",
        "target": case.sla_first_response if case.first_response_at is None else case.sla_resolution,
        "escalation_contact": f"{name} <{cc}>" if cc else "",
        "first_response_missing": case.first_response_at is None,
    }
    mail = await outbox.queue_message(
        session,
        case,
        "chaser",
        now,
        settings,
        context=context,
        cc=[cc] if cc else [],
        event_kind=CaseEventKind.chaser,
        event_body=f"Chaser level {level} sent to the vendor" + (f", copying {name}" if cc else ""),
        event_meta={"level": level, "cycle": case.cycle},
    )
    ledger.mail_id = mail.id
    _note_escalation(session, case, now, level, name, cc)
    await session.flush()
    return level


# -- the api channel ---------------------------------------------------------------------------


def _api_chaser_text(level: int, name: str, case: VendorCase) -> str:
    target = case.sla_first_response if case.first_response_at is None else case.sla_resolution
    ask = "a first answer" if case.first_response_at is None else "news on the resolution"
    text = f"Reminder (level {level}): we are still waiting for {ask} on this case"
    text += f"; the agreed target ({target}) has passed." if target else "."
    if name:
        text += f" Please escalate it to {name}."
    return text


async def chase_api(runtime: Any, now: datetime, settings: CaseSettings) -> list[tuple[str, int]]:
    """Chasers of cases opened through a vendor's API: the same ledger and levels as mail,
    each sent as a message through the vendor's case API (`desk.comment`, which keeps its
    own exactly-once reference). The level is committed to the ledger before the vendor is
    called: a crash in between loses that level's message (the breach alert still reaches
    a person), never sends it twice. A vendor that takes no messages through its API
    (Dell's dispatch) gets an internal note asking for a phone call instead."""
    if not settings.chasers_enabled:
        return []
    claimed: list[tuple[uuid.UUID, int, str]] = []
    async with runtime.unit_of_work() as session:
        due = (
            await session.execute(
                select(VendorCase).where(
                    VendorCase.status == CaseStatus.waiting_vendor,
                    VendorCase.chasers_paused.is_(False),
                    VendorCase.channel == CaseChannel.api,
                    VendorCase.vendor_external_id.is_not(None),
                    VendorCase.vendor_sla_due_at <= now,
                )
            )
        ).scalars()
        for case in list(due):
            got = await _claim_level(session, case, now, settings)
            if got is not None:
                ledger, name, cc = got
                _note_escalation(session, case, now, ledger.level, name, cc)
                claimed.append((case.id, ledger.level, _api_chaser_text(ledger.level, name, case)))
    sent: list[tuple[str, int]] = []
    for case_id, level, text in claimed:
        try:
            await desk.comment(runtime, CHASER, case_id, text)
        except Conflict as exc:  # the vendor takes no messages through its API
            async with runtime.unit_of_work() as session:
                case = await session.get(VendorCase, case_id)
                if case is not None:
                    service.add_system_event(
                        session,
                        case,
                        CaseEventKind.chaser,
                        ACTOR,
                        now,
                        f"Chaser level {level} due, but {exc.detail}: call the vendor",
                        visible=False,
                        meta={"level": level, "cycle": case.cycle, "sent": False},
                    )
            continue
        except HubError:
            continue  # a vendor fault is on the case's timeline and connection (desk.note_failure)
        sent.append((str(case_id), level))
    return sent


async def escalate(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: CaseEscalation
) -> CaseMail:
    """A person escalates now, without waiting for the chasers: the message goes to the
    vendor on the case's thread (`service.reply`, through the outbox) copying the chosen
    escalation contact, and the timeline says who it was escalated to."""
    principal.require_staff()
    case = await service.cases.get(session, principal, case_id)
    account = await session.get(VendorAccount, case.vendor_account_id)
    vendor = await session.get(Vendor, account.vendor_id) if account else None
    contacts = escalation_contacts(vendor) if vendor is not None else []
    wanted = data.contact.strip().lower()
    found = [(n, (name, addr)) for n, (name, addr) in enumerate(contacts, start=2) if addr.lower() == wanted]
    if not found:
        raise InvalidInput("contact", "not one of the vendor's escalation contacts with an e-mail")
    level, (name, addr) = found[0]
    mail = await service.reply(session, principal, case.id, CaseReply(body=data.body, cc=[addr]))
    service.add_system_event(
        session,
        case,
        CaseEventKind.escalation,
        principal.actor,
        service.now_of(session),
        f"Escalated to level {level}: {name}",
        visible=True,
        meta={"level": level, "contact": addr, "mail_id": mail.id},
    )
    await session.flush()
    return mail
