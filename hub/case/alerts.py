"""Case alerts: a case breaching the vendor's target, or a case nobody owns, is raised to the
client's technician through the notice ledger (`hub.notify.ledger.notify_technician`: the
e-mail digest and the client's and MSP-wide webhooks).

Each notice is named by its event, so the ledger's unique key sends it once, however many
times the periodic job (`case.alerts`, every 5 minutes) sees the same state:

- `breach:first_response`: the vendor's first answer is late (once per case: a reopen
  does not start a new first response);
- `breach:<cycle>:resolution`: the resolution target of a cycle is past (a reopened case
  starts a new cycle, and so may breach again);
- `unowned:<cycle>`: the case is still a draft or active `unowned_alert_hours` after it
  was created (or reopened) and no person has touched it: it was opened by the hub itself
  (a line outage) and every event on its timeline is the hub's own (mail filed, outbox,
  chasers, verification). A technician who writes a note, logs a call or moves the case
  owns it; a case a person opened is theirs from the start.

Only a running clock breaches: a case waiting on the client (its clock paused), resolved or
closed is never raised.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.case import service
from hub.case.settings import CaseSettings
from hub.case.timeline import ACTIVE, CLOCK_RUNNING
from hub.models import CaseEvent, Vendor, VendorAccount, VendorCase
from hub.models.enums import CaseStatus
from hub.notify.ledger import ClientNotice, notify_technician
from hub.notify.settings import NotifySettings

SUBJECT = "case"
# Actors that are the hub itself, not a person (see hub.case.* ACTOR and hub.auth SYSTEM).
# A draft the hub opened (a line outage whose ISP has no support address) waits for a
# person to complete it: the most unowned case of all.
UNOWNED_STATES = ACTIVE | {CaseStatus.draft}
HUB_ACTORS = frozenset({"system", "mail", "outbox", "chaser", "verification"})


def is_person(actor: str | None) -> bool:
    """A technician (an API token, a web session, the CLI), not the hub's own automation."""
    return bool(actor) and actor not in HUB_ACTORS and not str(actor).startswith("automation:")


async def _vendor_name(session: AsyncSession, case: VendorCase) -> str:
    account = await session.get(VendorAccount, case.vendor_account_id)
    vendor = await session.get(Vendor, account.vendor_id) if account else None
    return vendor.name if vendor else "the vendor"


async def _raise(
    session: AsyncSession, case: VendorCase, key: str, text: str, now: datetime, settings: NotifySettings
) -> bool:
    notice = ClientNotice(
        subject_type=SUBJECT, subject_id=str(case.id), client_id=case.client_id, threshold=key, summary=text
    )
    return await notify_technician(session, notice, now, settings) is not None


async def breaches(session: AsyncSession, now: datetime, notify: NotifySettings) -> list[tuple[str, str]]:
    """Raise the breaches of running clocks not raised before; (case id, key) of each."""
    candidates = (
        await session.execute(
            select(VendorCase).where(
                VendorCase.status.in_(CLOCK_RUNNING),
                VendorCase.vendor_sla_due_at.is_not(None),
                VendorCase.vendor_sla_due_at <= now,
            )
        )
    ).scalars()
    raised: list[tuple[str, str]] = []
    for case in list(candidates):
        clock = await service.clock_of(session, case, now)
        if clock is None or clock.paused:
            continue
        found = []
        if clock.first_response is not None and clock.first_response.breached:
            found.append(("breach:first_response", "first response", clock.first_response))
        if clock.resolution is not None and clock.resolution.breached:
            found.append((f"breach:{case.cycle}:resolution", "resolution", clock.resolution))
        for key, label, target in found:
            vendor = await _vendor_name(session, case)
            text = (
                f"case {case.token or case.id} with {vendor} ({case.title}) breached the "
                f"{label} target ({target.entitlement}, due {target.due_at:%Y-%m-%d %H:%M} UTC)"
            )
            if await _raise(session, case, key, text, now, notify):
                raised.append((str(case.id), key))
    return raised


async def unowned(
    session: AsyncSession, now: datetime, settings: CaseSettings, notify: NotifySettings
) -> list[tuple[str, str]]:
    """Raise the active cases no person has touched `unowned_alert_hours` after they opened
    (or reopened); (case id, key) of each."""
    since = now - timedelta(hours=settings.unowned_alert_hours)
    candidates = (
        await session.execute(
            select(VendorCase).where(
                VendorCase.status.in_(UNOWNED_STATES),
                VendorCase.created_at <= since,
            )
        )
    ).scalars()
    raised: list[tuple[str, str]] = []
    for case in list(candidates):
        if is_person(case.opened_by):
            continue
        events = await service.events_of(session, case.id)
        if any(is_person(e.actor) for e in events):
            continue
        # The current cycle began at the last reopen (or at the opening).
        started = max(
            (e.occurred_at for e in events if _reopens(e)), default=case.opened_at or case.created_at
        )
        if started is None or started > since:
            continue
        key = f"unowned:{case.cycle}"
        vendor = await _vendor_name(session, case)
        text = (
            f"case {case.token or case.id} with {vendor} ({case.title}) has been "
            f"{case.status.value} since {started:%Y-%m-%d %H:%M} UTC and no technician has taken it"
        )
        if await _raise(session, case, key, text, now, notify):
            raised.append((str(case.id), key))
    return raised


def _reopens(event: CaseEvent) -> bool:
    meta = event.meta or {}
    return meta.get("from") in ("resolved", "closed") and meta.get("to") in {s.value for s in ACTIVE}


async def raise_alerts(
    session: AsyncSession, now: datetime, settings: CaseSettings, notify: NotifySettings
) -> list[tuple[str, str]]:
    """Both kinds, in the caller's transaction."""
    if not settings.alerts_enabled:
        return []
    return await breaches(session, now, notify) + await unowned(session, now, settings, notify)
