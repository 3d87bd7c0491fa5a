"""A case's timeline as the vendor's clock sees it, and the clock's terms for a case.

The clock itself (`hub.kit.business_clock`) is pure and stores nothing; this module turns stored
`CaseEvent`s into its `ClockEvent`s and a vendor's mail profile into its `SlaTerms`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from hub.errors import InvalidInput
from hub.kit.business_clock import (
    BusinessCalendar,
    ClockError,
    ClockEvent,
    ClockEventKind,
    ClockReport,
    SlaTerms,
    TargetStatus,
    evaluate,
    parse_calendar,
    parse_entitlement,
)
from hub.models.enums import CaseEventKind, CaseStatus

ACTIVE = frozenset({CaseStatus.open, CaseStatus.waiting_vendor, CaseStatus.waiting_client})
# Where the vendor's clock runs: waiting on the client pauses it.
CLOCK_RUNNING = frozenset({CaseStatus.open, CaseStatus.waiting_vendor})
FINISHED = frozenset({CaseStatus.resolved, CaseStatus.closed})


def clock_events(events: Iterable[Any]) -> list[ClockEvent]:
    """`CaseEvent`-like rows (kind, occurred_at, meta) -> the clock's events. Status
    changes carry `meta.from`/`meta.to`; a vendor's human answer carries
    `meta.vendor_response` (an auto-reply never does, so it never stops a clock)."""
    out: list[ClockEvent] = []
    for event in events:
        at, meta = event.occurred_at, event.meta or {}
        if event.kind == CaseEventKind.status_change:
            out.extend(ClockEvent(at, kind) for kind in _transition_kinds(meta.get("from"), meta.get("to")))
        elif meta.get("vendor_response"):
            out.append(ClockEvent(at, ClockEventKind.vendor_responded))
    return out


def _transition_kinds(before: Any, after: Any) -> list[ClockEventKind]:
    kinds: list[ClockEventKind] = []
    if before == CaseStatus.draft and after in ACTIVE:
        kinds.append(ClockEventKind.opened)
    if before in FINISHED and after in ACTIVE:
        kinds.append(ClockEventKind.reopened)
    if before == CaseStatus.waiting_client and after in CLOCK_RUNNING:
        kinds.append(ClockEventKind.resumed)
    if after == CaseStatus.waiting_client:
        kinds.append(ClockEventKind.paused)
    if after == CaseStatus.resolved:
        kinds.append(ClockEventKind.resolved)
    if after == CaseStatus.closed and before != CaseStatus.resolved:
        kinds.append(ClockEventKind.closed)
    return kinds


def check_entitlement(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        parse_entitlement(value, field=field)
    except ClockError as exc:
        raise InvalidInput(exc.field, exc.reason) from None
    return value.strip()


def check_calendar(value: dict[str, Any] | None, field: str = "calendar") -> None:
    if value is None:
        return
    try:
        parse_calendar(value, field=field)
    except ClockError as exc:
        raise InvalidInput(exc.field, exc.reason) from None


def terms_for(
    first_response: str | None, resolution: str | None, calendar: dict[str, Any] | None
) -> SlaTerms | None:
    """The clock's terms; None when no target is known (no clock to run)."""
    if not first_response and not resolution:
        return None
    try:
        cal = parse_calendar(calendar) if calendar else BusinessCalendar.around_the_clock()
        return SlaTerms(
            cal,
            parse_entitlement(first_response) if first_response else None,
            parse_entitlement(resolution) if resolution else None,
        )
    except ClockError:
        return None  # stored values are checked when written; a later change never breaks a read


def report(terms: SlaTerms | None, events: Sequence[Any], now: datetime) -> ClockReport | None:
    return evaluate(terms, clock_events(events), now) if terms is not None else None


def due_of(clock: ClockReport | None) -> datetime | None:
    """The instant that matters now: the first response while it is awaited, then the
    current resolution cycle's due."""
    if clock is None:
        return None
    if clock.first_response is not None and clock.first_response.met_at is None:
        return clock.first_response.due_at
    if clock.resolution is not None and clock.resolution.met_at is None:
        return clock.resolution.due_at
    return None


def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


def targets(clock: ClockReport | None) -> list[dict[str, Any]]:
    if clock is None:
        return []
    found: list[TargetStatus] = [t for t in (clock.first_response, clock.resolution) if t is not None]
    return [
        {
            "target": t.target.value,
            "entitlement": str(t.entitlement),
            "due_at": t.due_at,
            "met_at": t.met_at,
            "breached": t.breached,
            "paused": t.paused,
            "elapsed_minutes": _minutes(t.elapsed),
            "remaining_minutes": _minutes(t.remaining),
        }
        for t in found
    ]
