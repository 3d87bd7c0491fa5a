"""Today: what needs a person now."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from hub.check.schemas import CheckFilters
from hub.check.service import CheckService
from hub.connection.schemas import ConnectionFilters
from hub.connection.service import connections
from hub.models.enums import CheckStatus, ConnectionHealth, RenewalState
from hub.notify.schemas import NoticeFilters
from hub.notify.service import notices
from hub.renewal.schemas import RenewalFilters
from hub.renewal.service import renewals
from hub.web.console.access import client_names, staff
from hub.web.pages import Ctx, PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
UNHEALTHY = (ConnectionHealth.degraded, ConnectionHealth.needs_reauth, ConnectionHealth.misconfigured)
LIMIT = 50


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
        names = await client_names(
            session,
            [c.client_id for c in failing]
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
    )
