"""Renewals API: list and read renewals, approve or decline the ones waiting, the
MSP-wide switchboard (pause, caps) and signed approval links for clients. (The forecast
is a report: `hub.report.endpoints`.)"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from hub.api.projection import respond, respond_page
from hub.audit.service import record
from hub.deps import PrincipalDep, RuntimeDep, SessionDep
from hub.kit.schema import Page
from hub.models.enums import AuditAction, TermRenewedBy
from hub.renewal import po_mail, routes, service
from hub.renewal.schemas import (
    ApprovalClientView,
    Confirmation,
    ControlsRead,
    ControlsUpdate,
    Decision,
    RenewalClientRead,
    RenewalFilters,
    RenewalRead,
    Resolution,
    RouteRead,
    RouteUpdate,
)
from hub.renewal.service import renewals

router = APIRouter(tags=["renewals"])


@router.get(
    "/renewals",
    response_model=Page[RenewalRead] | Page[RenewalClientRead],
    operation_id="list_renewals",
    summary="List renewals",
)
async def list_renewals(
    session: SessionDep, principal: PrincipalDep, params: Annotated[RenewalFilters, Query()]
) -> Any:
    items, total = await renewals.list(session, principal, params)
    return respond_page(principal, items, total, params.limit, params.offset, RenewalRead, RenewalClientRead)


@router.get(
    "/renewals/controls",
    response_model=ControlsRead,
    operation_id="get_renewal_controls",
    summary="The MSP-wide renewal switchboard (pause, lead time, caps)",
)
async def read_controls(session: SessionDep, principal: PrincipalDep) -> Any:
    principal.require_staff()
    return await service.get_controls(session)


@router.put(
    "/renewals/controls",
    response_model=ControlsRead,
    operation_id="update_renewal_controls",
    summary="Pause or resume automatic renewals, set lead time and caps (admin)",
)
async def update_controls(
    body: ControlsUpdate, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Any:
    return await service.update_controls(
        session, principal, body.model_dump(exclude_unset=True), runtime.now()
    )


class PlanResult(BaseModel):
    planned: int
    queued: int


@router.post(
    "/renewals/plan",
    response_model=PlanResult,
    operation_id="plan_renewals",
    summary="Plan every due auto-renew term now and queue them (admin; the hourly job does the same)",
)
async def plan_now(session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    from hub.renewal import planner
    from hub.renewal.planner import queue_due

    principal.require_admin()
    now = runtime.now()
    planned = await planner.plan(session, now.date(), now=now)
    queued = await queue_due(session, now=now)
    record(
        session,
        principal,
        AuditAction.vendor_action,
        subject_type="renewal_controls",
        subject_id=1,
        client_id=None,
        meta={"action": "renewal.plan", "planned": planned, "queued": queued},
    )
    return {"planned": planned, "queued": queued}


@router.get(
    "/renewals/{renewal_id}",
    response_model=RenewalRead | RenewalClientRead,
    operation_id="get_renewal",
    summary="Read a renewal",
)
async def get_renewal(renewal_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    return respond(
        principal, await renewals.get(session, principal, renewal_id), RenewalRead, RenewalClientRead
    )


@router.post(
    "/renewals/{renewal_id}/approve",
    response_model=RenewalRead,
    operation_id="approve_renewal",
    summary="Approve a renewal waiting for approval (admin); it is ordered by the next tick",
)
async def approve(
    renewal_id: uuid.UUID, body: Decision, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Any:
    principal.require_admin()
    renewal = await renewals.get(session, principal, renewal_id)
    return await service.decide(
        session, principal, renewal, version=body.version, approve=True, note=body.note, now=runtime.now()
    )


@router.post(
    "/renewals/{renewal_id}/decline",
    response_model=RenewalRead,
    operation_id="decline_renewal",
    summary="Decline a renewal: nothing will be ordered for this term",
)
async def decline(
    renewal_id: uuid.UUID, body: Decision, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Any:
    principal.require_staff()
    renewal = await renewals.get(session, principal, renewal_id)
    return await service.decide(
        session, principal, renewal, version=body.version, approve=False, note=body.note, now=runtime.now()
    )


# -- renewal routes ---------------------------------------------------------------------


def _route_read(subscription_id: uuid.UUID, route: routes.Route) -> RouteRead:
    return RouteRead(
        subscription_id=subscription_id,
        explicit=route.explicit,
        order_by=route.order_by,
        order_connection_id=route.order_connection_id,
        order_ref=route.order_ref,
        order_tenant_ref=route.tenant_ref or None,
        confirm_connection_id=route.confirm_connection_id,
        confirm_ref=route.confirm_ref,
        register_connection_id=route.register_connection_id,
        register_serial=route.register_serial,
        po_email=route.po_email,
        po_account_id=route.po_account_id,
        po_unit_price=route.po_unit_price,
        problem=route.problem,
    )


@router.get(
    "/subscriptions/{item_id}/renewal-route",
    response_model=RouteRead,
    operation_id="get_renewal_route",
    summary="Where this subscription's renewals are ordered, registered and confirmed (staff)",
)
async def get_route(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    principal.require_staff()
    route, _ = await routes.route_for(session, principal, item_id)
    return _route_read(item_id, route)


@router.put(
    "/subscriptions/{item_id}/renewal-route",
    response_model=RouteRead,
    operation_id="set_renewal_route",
    summary="Order at one connection, register and confirm at others (staff, audited)",
)
async def put_route(
    item_id: uuid.UUID, body: RouteUpdate, session: SessionDep, principal: PrincipalDep
) -> Any:
    await routes.set_route(session, principal, item_id, body.model_dump())
    route, _ = await routes.route_for(session, principal, item_id)
    return _route_read(item_id, route)


@router.delete(
    "/subscriptions/{item_id}/renewal-route",
    status_code=204,
    operation_id="clear_renewal_route",
    summary="Order and confirm at the subscription's own connection again (staff, audited)",
)
async def delete_route(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    await routes.clear_route(session, principal, item_id)
    return Response(status_code=204)


@router.post(
    "/renewals/{renewal_id}/confirm",
    response_model=RenewalRead,
    operation_id="confirm_renewal",
    summary="Confirm a renewal ordered by e-mail purchase order (admin): the distributor confirmed "
    "it (records the new term; the order's thread is resolved)",
    responses={409: {"description": "stale version, no purchase order sent, or nothing to confirm"}},
)
async def confirm(
    renewal_id: uuid.UUID,
    body: Confirmation,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> Any:
    # Recording the term is as weighty as approving the order: the money is spent.
    principal.require_admin()
    renewal = await renewals.get(session, principal, renewal_id)
    return await po_mail.confirm_by_person(
        session,
        principal,
        renewal,
        version=body.version,
        ends_on=body.ends_on,
        note=body.note,
        now=runtime.now(),
    )


@router.post(
    "/renewals/{renewal_id}/resolve",
    response_model=RenewalRead,
    operation_id="resolve_renewal",
    summary="Close a renewal the hub will not finish: renewed outside the hub (records the new "
    "term) or will not renew (turns auto-renew off); its alerts are acknowledged",
    responses={409: {"description": "stale version, an order may be in flight, or nothing to resolve"}},
)
async def resolve(
    renewal_id: uuid.UUID, body: Resolution, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Any:
    principal.require_staff()
    renewal = await renewals.get(session, principal, renewal_id)
    term = service.NewTerm(
        ends_on=body.ends_on,
        starts_on=body.starts_on,
        quantity=body.quantity,
        unit_cost=body.unit_cost,
        renewed_by=TermRenewedBy(body.renewed_by),
    )
    return await service.resolve(
        session,
        principal,
        renewal,
        version=body.version,
        outcome=body.outcome,
        term=term,
        note=body.note,
        now=runtime.now(),
    )


# -- signed approval links (the client approves without an account) -----------------------


class ApprovalLink(BaseModel):
    url: str
    expires_at: str


@router.post(
    "/renewals/{renewal_id}/approval-link",
    response_model=ApprovalLink,
    operation_id="create_renewal_approval_link",
    summary="A signed link the client can use to approve this renewal (admin)",
)
async def create_link(
    renewal_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Any:
    principal.require_admin()
    renewal = await renewals.get(session, principal, renewal_id)
    link = await service.create_approval_link(session, principal, renewal, runtime.now())
    return {
        "url": str(request.url_for(APPROVAL_ROUTE, token=link.token)),
        "expires_at": link.expires_at,
    }


public_router = APIRouter(tags=["renewals"])
# The route name `create_link` builds its URL from (a route is named after its function
# unless given a name: spelling it once here keeps the two from drifting apart again).
APPROVAL_ROUTE = "view_renewal_approval"
# payload.signature, each URL-safe base64 (hub.renewal.links): far longer than 40 characters.
LinkToken = Annotated[str, Path(min_length=40, max_length=1000, pattern=r"^[A-Za-z0-9_=.-]+$")]


@public_router.get(
    "/approvals/{token}",
    response_model=ApprovalClientView,
    operation_id="view_renewal_approval",
    name=APPROVAL_ROUTE,
    summary="What a signed approval link approves (no account needed)",
)
async def view_approval(token: LinkToken, response: Response, runtime: RuntimeDep) -> Any:
    response.headers["Cache-Control"] = "no-store"  # the link is a credential
    async with runtime.sessionmaker() as session:
        renewal, expires = await service.renewal_of_link(session, token, runtime.now())
        return await service.approval_view(session, renewal, expires)


@public_router.post(
    "/approvals/{token}",
    response_model=RenewalClientRead,
    operation_id="approve_renewal_by_link",
    summary="Approve the renewal a signed link names (once)",
)
async def approve_by_link(token: LinkToken, runtime: RuntimeDep) -> Any:
    async with runtime.unit_of_work() as session:
        decided = await service.approve_by_link(session, token, runtime.now())
        return RenewalClientRead.model_validate(decided)


__all__ = ["public_router", "router"]
