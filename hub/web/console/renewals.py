"""Renewals: the list, and the approve / decline decisions (`hub.renewal.service.decide`,
as the API: approving needs an admin, declining any staff)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from hub.errors import InvalidInput
from hub.models.enums import RenewalState
from hub.renewal import service
from hub.renewal.schemas import RenewalFilters
from hub.renewal.service import renewals
from hub.web.console.access import client_names, staff
from hub.web.pages import Ctx, Form, PageRoute, is_htmx, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _state(value: str | None) -> RenewalState | None:
    if not value:
        return None
    try:
        return RenewalState(value)
    except ValueError:
        raise InvalidInput("state", f"must be one of {', '.join(s.value for s in RenewalState)}") from None


@router.get("/console/renewals")
async def renewals_page(ctx: Ctx) -> Response:
    principal = staff(ctx)
    state = _state(ctx.request.query_params.get("state"))
    async with ctx.runtime.unit_of_work(write=False) as session:
        rows, total = await renewals.list(session, principal, RenewalFilters(state=state, limit=200))
        names = await client_names(session, [r.client_id for r in rows])
    return render(
        ctx,
        "console/renewals.html",
        renewals=rows,
        total=total,
        names=names,
        state=state,
        states=list(RenewalState),
    )


def _version(form: dict[str, str]) -> int:
    try:
        return int(form.get("version", ""))
    except ValueError:
        raise InvalidInput("version", "must be the renewal's version as shown") from None


async def _decide(renewal_id: uuid.UUID, ctx: Ctx, form: dict[str, str], *, approve: bool) -> Response:
    principal = staff(ctx)
    if approve:
        principal.require_admin()
    note = (form.get("note") or "").strip()[:1000] or None
    async with ctx.runtime.unit_of_work() as session:
        renewal = await renewals.get(session, principal, renewal_id)
        await service.decide(
            session,
            principal,
            renewal,
            version=_version(form),
            approve=approve,
            note=note,
            now=ctx.runtime.now(),
        )
        names = await client_names(session, [renewal.client_id])
    if is_htmx(ctx.request):
        return render(ctx, "console/renewal_row.html", r=renewal, names=names, just_decided=True)
    return redirect(ctx, f"/console/renewals?notice=renewal_{'approved' if approve else 'declined'}")


@router.post("/console/renewals/{renewal_id}/approve")
async def approve(renewal_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    return await _decide(renewal_id, ctx, form, approve=True)


@router.post("/console/renewals/{renewal_id}/decline")
async def decline(renewal_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    return await _decide(renewal_id, ctx, form, approve=False)
