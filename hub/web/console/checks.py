"""Checks: the list by status, and one check with the evidence of its latest runs."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from hub.check.schemas import CheckFilters
from hub.check.service import CheckService
from hub.errors import InvalidInput
from hub.models import CheckRun
from hub.models.enums import CheckStatus
from hub.web.console.access import client_names, staff
from hub.web.pages import Ctx, PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _status(value: str | None) -> CheckStatus | None:
    if not value:
        return None
    try:
        return CheckStatus(value)
    except ValueError:
        raise InvalidInput("status", f"must be one of {', '.join(s.value for s in CheckStatus)}") from None


@router.get("/console/checks")
async def checks_page(ctx: Ctx) -> Response:
    principal = staff(ctx)
    status = _status(ctx.request.query_params.get("status"))
    async with ctx.runtime.unit_of_work(write=False) as session:
        rows, total = await CheckService().list(
            session, principal, CheckFilters(status=status, limit=200, sort="-status_changed_at")
        )
        names = await client_names(session, [c.client_id for c in rows])
    return render(
        ctx,
        "console/checks.html",
        checks=rows,
        total=total,
        names=names,
        chosen=status,
        statuses=list(CheckStatus),
    )


@router.get("/console/checks/{check_id}")
async def check_page(check_id: uuid.UUID, ctx: Ctx) -> Response:
    principal = staff(ctx)
    async with ctx.runtime.unit_of_work(write=False) as session:
        check = await CheckService().get(session, principal, check_id)
        runs = list(
            (
                await session.execute(
                    select(CheckRun)
                    .where(CheckRun.check_id == check.id)
                    .order_by(CheckRun.id.desc())
                    .limit(10)
                )
            ).scalars()
        )
        names = await client_names(session, [check.client_id])
    return render(ctx, "console/check.html", check=check, runs=runs, names=names)
