"""The clients' portal (client users). Its pages ("who do we pay for what", renewals to
approve, cases, the health summary, statements) are built on this entry page."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hub.client.service import ClientService
from hub.errors import NotFound
from hub.web.pages import Ctx, PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/portal")
async def portal_home(ctx: Ctx) -> Response:
    principal = ctx.require_user()
    if principal.client_id is None:
        raise NotFound("the portal is for client users")
    async with ctx.runtime.unit_of_work(write=False) as session:
        client = await ClientService().get(session, principal, principal.client_id)
    return render(ctx, "portal/home.html", client=client)
