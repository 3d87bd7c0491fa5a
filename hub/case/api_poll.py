"""Polling the vendors' case APIs: every open api-channel case is read at its vendor
(`get_case`, then `list_updates` since the case's cursor) with no transaction open, and
what is new is filed in one short write per case:

- each vendor update becomes a received event (`api_in`) exactly once: the ledger
  (`CaseVendorUpdate`) is unique on the vendor's update id, so polling twice, or two
  pollers at once, file nothing twice; our own comments seen there settle our ledger rows
  (a comment whose answer was lost becomes `sent` here);
- the vendor's case number is learnt when an asynchronously created case gets one;
- the first vendor message stops the first-response clock, as a mail reply does;
- the vendor's state moves ours once per state and resolution cycle: resolved or closed
  at the vendor -> the originating check is re-run (close the loop) or, without one, the
  case is resolved; the vendor waiting on us -> waiting_client.

A vendor fault (timeout, 429, 5xx, garbage) changes nothing on the case's timeline: it is
recorded as the case's `api_error` and the connection's health, the other cases are
still polled, and the next poll tries again."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth.principal import SYSTEM, Principal
from hub.case import desk as desks
from hub.case import service
from hub.case.policy import says_resolved
from hub.case.schemas import VerifyCase
from hub.case.timeline import ACTIVE
from hub.connection import health
from hub.connection.service import apply_outcome
from hub.errors import InvalidInput
from hub.jobs import enqueue
from hub.models import CaseEvent, CaseVendorUpdate, Connection, VendorCase
from hub.models.enums import AuditAction, CaseChannel, CaseEventKind, CaseStatus
from hub.sdk.errors import AdapterError
from hub.sdk.records import CaseRecord, CaseState, CaseUpdateKind, CaseUpdateRecord

Units = Callable[[], AbstractAsyncContextManager[AsyncSession]]
ACTOR = "vendor-api"
SINCE_OVERLAP = timedelta(hours=1)
# The vendor's states that mean "done" (close the loop) and "waiting on us".
_DONE = frozenset({CaseState.resolved, CaseState.closed})


@dataclass
class PollOutcome:
    polled: int = 0
    filed: int = 0
    failed: int = 0
    errors: dict[str, str] = field(default_factory=dict)


async def due_cases(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.execute(
        select(VendorCase.id)
        .where(
            VendorCase.channel == CaseChannel.api,
            VendorCase.connection_id.is_not(None),
            VendorCase.vendor_external_id.is_not(None),
            VendorCase.status.in_(list(ACTIVE)),
        )
        .order_by(VendorCase.api_polled_at.is_not(None), VendorCase.api_polled_at, VendorCase.id)
    )
    return list(rows.scalars())


async def poll_all(runtime: Any, units: Units) -> PollOutcome:
    """Poll every open api-channel case once; a fault on one never stops the others."""
    outcome = PollOutcome()
    async with units() as session:
        ids = await due_cases(session)
    for case_id in ids:
        filed = await poll_case(runtime, units, case_id)
        outcome.polled += 1
        if isinstance(filed, str):
            outcome.failed += 1
            outcome.errors[str(case_id)] = filed
        else:
            outcome.filed += filed
    return outcome


def _audit(session: AsyncSession, actor: Principal, case: VendorCase, meta: dict[str, Any]) -> None:
    record(
        session,
        actor,
        AuditAction.vendor_action,
        subject_type="vendor_case",
        subject_id=case.id,
        client_id=case.client_id,
        meta={"action": "api_poll", "connection_id": str(case.connection_id), **meta},
    )


async def poll_case(
    runtime: Any, units: Units, case_id: uuid.UUID, *, actor: Principal = SYSTEM
) -> int | str:
    """Read one case at its vendor and file what is new; the number of events filed, or
    the fault (in the hub's words) when the vendor could not be read. Audited when a
    person asked, when something was filed, or on a fault (a quiet periodic read is not:
    it would bury the trail)."""
    async with units() as session:
        case = await session.get(VendorCase, case_id)
        if case is None or case.status not in ACTIVE or case.vendor_external_id is None:
            return 0
        try:
            desk = await desks.load_desk(session, case, case.connection_id)
        except InvalidInput as exc:
            case.api_error, case.api_polled_at = exc.detail[:1000], runtime.now()
            return exc.detail
        external_id = case.vendor_external_id
        # Asked with an overlap: the cursor starts on our clock (the send) and the vendor
        # stamps on its own; what comes back twice is dropped by the ledger.
        since = case.api_cursor - SINCE_OVERLAP if case.api_cursor is not None else None
    try:
        async with desks.adapter_of(runtime, desk) as adapter:
            now_at_vendor = await adapter.get_case(external_id)
            updates = [u async for u in adapter.list_updates(external_id, since=since)]
    except (AdapterError, TimeoutError) as exc:
        message = desk.redact(health.describe(exc))
        async with units() as session:
            case = await session.get(VendorCase, case_id)
            connection = await session.get(Connection, desk.connection_id)
            if case is not None:
                case.api_error, case.api_polled_at = message[:1000], runtime.now()
                _audit(session, actor, case, {"ok": False, "error": message})
            if connection is not None:
                await apply_outcome(
                    session,
                    connection,
                    error=exc,
                    message=message,
                    degraded_after=runtime.settings.adapters.degraded_after,
                )
        return health.describe_for_caller(exc)
    async with units() as session:
        case = await session.get(VendorCase, case_id)
        if case is None:
            return 0
        filed = await file_updates(session, case, desk.vendor, now_at_vendor, updates, runtime.now())
        if filed or actor is not SYSTEM:
            _audit(session, actor, case, {"ok": True, "filed": filed})
        connection = await session.get(Connection, desk.connection_id)
        if connection is not None:
            await apply_outcome(
                session,
                connection,
                error=None,
                message=None,
                degraded_after=runtime.settings.adapters.degraded_after,
                success_at=runtime.now(),
            )
    return filed


async def file_updates(
    session: AsyncSession,
    case: VendorCase,
    vendor: str,
    at_vendor: CaseRecord,
    updates: list[CaseUpdateRecord],
    now: datetime,
) -> int:
    """File what the vendor shows that the ledger has not seen; returns the events filed."""
    known = {
        row.update_id: row
        for row in (
            await session.execute(select(CaseVendorUpdate).where(CaseVendorUpdate.case_id == case.id))
        ).scalars()
        if row.update_id is not None
    }
    pending_ours = list(
        (
            await session.execute(
                select(CaseVendorUpdate).where(
                    CaseVendorUpdate.case_id == case.id,
                    CaseVendorUpdate.from_vendor.is_(False),
                    CaseVendorUpdate.update_id.is_(None),
                )
            )
        ).scalars()
    )
    filed = 0
    answered = False
    for update in updates:
        if update.external_id in known:
            continue
        if not update.from_vendor and await _settle_ours(session, pending_ours, update):
            continue
        event = await _file_one(session, case, vendor, at_vendor, update, now)
        if event is None:
            continue
        filed += 1
        answered = answered or bool(event.meta.get("vendor_response"))
        if update.occurred_at is not None and (
            case.api_cursor is None or update.occurred_at > case.api_cursor
        ):
            case.api_cursor = update.occurred_at
    if await desks.set_vendor_number(session, case, at_vendor.case_number):
        service.add_system_event(
            session,
            case,
            CaseEventKind.note,
            ACTOR,
            now,
            f"The vendor's case number is {at_vendor.case_number}",
            visible=True,
            meta={"vendor_case_number": at_vendor.case_number},
        )
    if answered:
        if case.first_response_at is None:
            case.first_response_at = now
        if case.status is CaseStatus.waiting_vendor:
            await service.move(session, SYSTEM, case, CaseStatus.open, now, "the vendor answered")
    filed += await _follow_state(session, case, vendor, at_vendor, now)
    case.api_polled_at, case.api_error = now, None
    await service.refresh_clock(session, case, now)
    await session.flush()
    return filed


async def _settle_ours(
    session: AsyncSession, pending: list[CaseVendorUpdate], update: CaseUpdateRecord
) -> bool:
    """Our own comment seen at the vendor: by the reference it was named with, else by its
    text. Its row becomes sent with the vendor's id (a lost answer settled)."""
    match = next((r for r in pending if r.reference == update.external_id), None) or next(
        (r for r in pending if r.body.strip() == update.body.strip()), None
    )
    if match is None:
        return False
    match.update_id, match.state, match.last_error = update.external_id[:200], desks.SENT, None
    pending.remove(match)
    event = await session.get(CaseEvent, match.event_id) if match.event_id is not None else None
    if event is not None:
        event.meta = {**event.meta, "state": desks.SENT, "update_id": update.external_id}
    return True


async def _ledger(
    session: AsyncSession,
    case: VendorCase,
    update_id: str,
    body: str,
    event: CaseEvent,
    now: datetime,
    *,
    from_vendor: bool = True,
) -> bool:
    """The ledger row that makes a filing happen once; False when another poll filed it
    first (the event is then dropped with the savepoint)."""
    try:
        async with session.begin_nested():
            session.add(event)
            await session.flush()
            session.add(
                CaseVendorUpdate(
                    case_id=case.id,
                    update_id=update_id[:200],
                    from_vendor=from_vendor,
                    state=desks.RECEIVED,
                    event_id=event.id,
                    body=body,
                    created_at=now,
                )
            )
            await session.flush()
    except IntegrityError:
        return False
    return True


async def _file_one(
    session: AsyncSession,
    case: VendorCase,
    vendor: str,
    at_vendor: CaseRecord,
    update: CaseUpdateRecord,
    now: datetime,
) -> CaseEvent | None:
    # A vendor's message is its response; a status it moved to counts once it is past
    # its own intake (Dell's "Request Submitted" is not anybody answering).
    response = update.from_vendor and (
        update.kind is CaseUpdateKind.comment or at_vendor.state is not CaseState.pending
    )
    who = update.author or (vendor if update.from_vendor else "us, at the vendor")
    if update.kind is CaseUpdateKind.status_change:
        text = f"{vendor}: status {update.status or update.body}" + (
            f". {update.body}" if update.body else ""
        )
    else:
        text = f"{vendor}, {who}: " + "\n\n".join(p for p in (update.subject, update.body) if p)
    event = CaseEvent(
        case_id=case.id,
        kind=CaseEventKind.api_in if update.from_vendor else CaseEventKind.api_out,
        # The vendor's time, unless its clock runs ahead of ours: an answer is never filed
        # in the future (the SLA clock would not see it yet).
        occurred_at=min(update.occurred_at, now) if update.occurred_at else now,
        actor=who[:200],
        body=text.strip(),
        client_visible=True,
        meta={
            "update_id": update.external_id,
            "update_kind": update.kind.value,
            "vendor_status": update.status,
            "vendor_response": response,
        },
    )
    if not await _ledger(
        session, case, update.external_id, update.body, event, now, from_vendor=update.from_vendor
    ):
        return None
    if (
        update.from_vendor
        and case.check_run_id is not None
        and case.status in ACTIVE
        and says_resolved(update.body)
    ):
        await enqueue(session, VerifyCase(case_id=case.id), dedupe_key=f"case.verify:{case.id}")
    return event


async def _follow_state(
    session: AsyncSession, case: VendorCase, vendor: str, at_vendor: CaseRecord, now: datetime
) -> int:
    """Move our case after the vendor's state, once per state and resolution cycle (the
    ledger's key): a re-check that reopens the case is not undone by the next poll."""
    if at_vendor.state not in _DONE and at_vendor.state is not CaseState.waiting_on_us:
        return 0
    event = CaseEvent(
        case_id=case.id,
        kind=CaseEventKind.api_in,
        occurred_at=now,
        actor=vendor[:200],
        body=f"{vendor} shows the case as {at_vendor.vendor_status}",
        client_visible=True,
        meta={"vendor_state": at_vendor.state.value, "vendor_status": at_vendor.vendor_status},
    )
    key = f"~state:{case.cycle}:{at_vendor.state.value}"
    if not await _ledger(session, case, key, at_vendor.vendor_status, event, now):
        return 0
    if at_vendor.state is CaseState.waiting_on_us:
        if case.status is not CaseStatus.waiting_client and case.status in ACTIVE:
            await service.move(
                session, SYSTEM, case, CaseStatus.waiting_client, now, "the vendor waits for us"
            )
    elif case.check_run_id is not None:
        # Close the loop as for a mail "it is fixed": the check decides, not the vendor.
        await enqueue(session, VerifyCase(case_id=case.id), dedupe_key=f"case.verify:{case.id}")
    elif case.status in ACTIVE:
        await service.move(
            session, SYSTEM, case, CaseStatus.resolved, now, f"{vendor} says it is {at_vendor.state.value}"
        )
    return 1


__all__ = ["PollOutcome", "due_cases", "file_updates", "poll_all", "poll_case"]
