"""Connections to vendors: health, and a "test" button (`hub.connection.service.verify`,
the same call as POST /connections/{id}/test)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from hub.connection.schemas import ConnectionFilters
from hub.connection.service import connections, verify
from hub.web.console.access import client_names, staff
from hub.web.pages import Ctx, Form, PageRoute, is_htmx, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/console/connections")
async def connections_page(ctx: Ctx) -> Response:
    principal = staff(ctx)
    async with ctx.runtime.unit_of_work(write=False) as session:
        rows, total = await connections.list(session, principal, ConnectionFilters(limit=500))
        names = await client_names(session, [c.client_id for c in rows])
    return render(ctx, "console/connections.html", connections=rows, total=total, names=names, result=None)


@router.post("/console/connections/{connection_id}/test")
async def test_connection(connection_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    principal = staff(ctx)
    result = await verify(ctx.runtime, principal, connection_id)
    if is_htmx(ctx.request):
        async with ctx.runtime.unit_of_work(write=False) as session:
            row = await connections.get(session, principal, connection_id)
            names = await client_names(session, [row.client_id])
        return render(ctx, "console/connection_row.html", c=row, names=names, result=result)
    return redirect(ctx, "/console/connections?notice=connection_tested")
