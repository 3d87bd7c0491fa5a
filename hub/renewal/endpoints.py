"""Renewals API: list and read renewals, approve or decline the ones waiting, the
MSP-wide switchboard (pause, caps), signed approval links for clients, and the forecast."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from hub.audit.service import record
from hub.deps import PrincipalDep, RuntimeDep, SessionDep
from hub.errors import NotFound
from hub.kit.schema import Page
from hub.models.enums import AuditAction
from hub.renewal import service
from hub.renewal.forecast import forecast
from hub.renewal.schemas import (
    ControlsRead,
    ControlsUpdate,
    Decision,
    Forecast,
    ForecastParams,
    RenewalFilters,
    RenewalRead,
)
from hub.renewal.service import renewals
from hub.report.csv_export import forecast_csv

router = APIRouter(tags=["renewals"])


@router.get(
    "/renewals", response_model=Page[RenewalRead], operation_id="list_renewals", summary="List renewals"
)
async def list_renewals(
    session: SessionDep, principal: PrincipalDep, params: Annotated[RenewalFilters, Query()]
) -> Any:
    items, total = await renewals.list(session, principal, params)
    return {"items": items, "total": total, "limit": params.limit, "offset": params.offset}


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
    "/renewals/{renewal_id}", response_model=RenewalRead, operation_id="get_renewal", summary="Read a renewal"
)
async def get_renewal(renewal_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    return await renewals.get(session, principal, renewal_id)


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


# -- signed approval links (the client approves without an account) -----------------------


class ApprovalLink(BaseModel):
    url: str
    expires_at: str


class ApprovalView(BaseModel):
    renewal: RenewalRead
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
        "url": str(request.url_for("view_renewal_approval", token=link.token)),
        "expires_at": link.expires_at,
    }


public_router = APIRouter(tags=["renewals"])
# A Fernet token: URL-safe base64, far longer than 40 characters for our payload.
LinkToken = Annotated[str, Path(min_length=40, max_length=2000, pattern=r"^[A-Za-z0-9_=-]+$")]


@public_router.get(
    "/approvals/{token}",
    response_model=ApprovalView,
    operation_id="view_renewal_approval",
    summary="What a signed approval link approves (no account needed)",
)
async def view_approval(token: LinkToken, runtime: RuntimeDep) -> Any:
    async with runtime.sessionmaker() as session:
        renewal, expires = await service.renewal_of_link(session, token, runtime.now())
        return {"renewal": RenewalRead.model_validate(renewal), "expires_at": expires}


@public_router.post(
    "/approvals/{token}",
    response_model=RenewalRead,
    operation_id="approve_renewal_by_link",
    summary="Approve the renewal a signed link names (once)",
)
async def approve_by_link(token: LinkToken, runtime: RuntimeDep) -> Any:
    async with runtime.unit_of_work() as session:
        decided = await service.approve_by_link(session, token, runtime.now())
        return RenewalRead.model_validate(decided)


# -- forecast -----------------------------------------------------------------------------


@router.get(
    "/forecast",
    response_model=Forecast,
    operation_id="get_renewal_forecast",
    summary="What renews in the next N months, at what cost, paid by whom (JSON or CSV)",
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_forecast(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    params: Annotated[ForecastParams, Query()],
) -> Response:
    if params.client_id is not None and principal.client_id not in (None, params.client_id):
        raise NotFound(f"client {params.client_id} not found")
    body = await forecast(
        session, principal, today=runtime.today(), months=params.months, client_id=params.client_id
    )
    if params.format == "csv" or (params.format is None and "text/csv" in request.headers.get("accept", "")):
        return Response(forecast_csv(body["lines"]), media_type="text/csv; charset=utf-8")
    return Response(
        orjson.dumps(Forecast.model_validate(body).model_dump(mode="json")), media_type="application/json"
    )


__all__ = ["public_router", "router"]
