"""Today: what needs a person now (vendor cases breaching or about to, cases nobody owns
and the triage queue included)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from hub.auth.principal import Principal
from hub.case import inbound
from hub.case.alerts import UNOWNED_STATES, is_person
from hub.case.schemas import CaseFilters, TriageFilters
from hub.case.service import cases, events_of
from hub.case.timeline import CLOCK_RUNNING
from hub.check.schemas import CheckFilters
from hub.check.service import CheckService
from hub.connection.schemas import ConnectionFilters
from hub.connection.service import connections
from hub.models import VendorCase
from hub.models.enums import CheckStatus, ConnectionHealth, RenewalState
from hub.notify.schemas import NoticeFilters
from hub.notify.service import notices
from hub.renewal.schemas import RenewalFilters
from hub.renewal.service import renewals
from hub.web.console.access import client_names, staff
from hub.web.console.cases import STATUS_WORDS, account_vendors
from hub.web.pages import Ctx, PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
UNHEALTHY = (ConnectionHealth.degraded, ConnectionHealth.needs_reauth, ConnectionHealth.misconfigured)
LIMIT = 50
# A running vendor clock due within this is "about to breach".
SOON = timedelta(hours=4)


async def _cases_due(session: AsyncSession, principal: Principal, now: datetime) -> list[VendorCase]:
    """Cases whose running vendor clock is past due or due within SOON, soonest first."""
    due: list[VendorCase] = []
    for status in sorted(CLOCK_RUNNING):
        rows, _ = await cases.list(session, principal, CaseFilters(status=status, sort="due", limit=200))
        due.extend(c for c in rows if c.vendor_sla_due_at is not None and c.vendor_sla_due_at <= now + SOON)
    return sorted(due, key=lambda c: c.vendor_sla_due_at or now)[:LIMIT]


async def _unowned(session: AsyncSession, principal: Principal) -> list[VendorCase]:
    """Cases the hub opened by itself that no person has touched yet (the rule of
    hub.case.alerts: `is_person` on the opener and on every event)."""
    found: list[VendorCase] = []
    for status in sorted(UNOWNED_STATES):
        rows, _ = await cases.list(session, principal, CaseFilters(status=status, limit=200))
        for case in rows:
            if is_person(case.opened_by):
                continue
            if not any(is_person(e.actor) for e in await events_of(session, case.id)):
                found.append(case)
    return found[:LIMIT]


@router.get("/console")
async def today_page(ctx: Ctx) -> Response:
    principal = staff(ctx)
    now = ctx.runtime.now()
    async with ctx.runtime.unit_of_work(write=False) as session:
        failing, failing_total = await CheckService().list(
            session, principal, CheckFilters(status=CheckStatus.fail, enabled=True, limit=LIMIT)
        )
        waiting: list[Any] = []
        for state in (RenewalState.awaiting_approval, RenewalState.escalated, RenewalState.unknown):
            rows, _ = await renewals.list(session, principal, RenewalFilters(state=state, limit=LIMIT))
            waiting.extend(rows)
        unhealthy: list[Any] = []
        for health in UNHEALTHY:
            found, _ = await connections.list(
                session, principal, ConnectionFilters(health=health, enabled=True, limit=LIMIT)
            )
            unhealthy.extend(found)
        due, _ = await notices.list(session, principal, NoticeFilters(open=True, sort="due_on", limit=200))
        horizon = (now + timedelta(days=7)).date()
        due = [n for n in due if n.due_on is None or n.due_on <= horizon][:LIMIT]
        due_cases = await _cases_due(session, principal, now)
        unowned = await _unowned(session, principal)
        _, triage_total = await inbound.list_triage(session, principal, TriageFilters(limit=1))
        case_vendors = await account_vendors(session, {c.vendor_account_id for c in due_cases + unowned})
        names = await client_names(
            session,
            [c.client_id for c in due_cases + unowned]
            + [c.client_id for c in failing]
            + [r.client_id for r in waiting]
            + [n.client_id for n in due]
            + [c.client_id for c in unhealthy],
        )
    return render(
        ctx,
        "console/today.html",
        failing=failing,
        failing_total=failing_total,
        renewals=waiting,
        connections=unhealthy,
        reminders=due,
        names=names,
        due_cases=due_cases,
        unowned=unowned,
        triage_total=triage_total,
        case_vendors=case_vendors,
        status_words=STATUS_WORDS,
        now=now,
    )
