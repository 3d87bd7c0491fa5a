"""Renewals API: list and read renewals, approve or decline the ones waiting, the
MSP-wide switchboard (pause, caps), signed approval links for clients, and the forecast."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth.principal import SYSTEM, Principal
from hub.db import secret_box
from hub.deps import PrincipalDep, SessionDep
from hub.errors import Conflict, NotFound
from hub.kit.crud import CrudService, Resource, equals
from hub.kit.schema import Page
from hub.kit.time import utcnow
from hub.models import Renewal, RenewalControls
from hub.models.enums import AuditAction, RenewalState
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
from hub.report.csv_export import forecast_csv


class RenewalService(CrudService[Renewal]):
    resource = Resource(
        model=Renewal,
        label="renewal",
        subject_type="renewal",
        client_column=Renewal.client_id,
        sort_fields={
            "term_ends_on": Renewal.term_ends_on,
            "state": Renewal.state,
            "created_at": Renewal.created_at,
            "submitted_at": Renewal.submitted_at,
        },
        default_sort="term_ends_on",
        filters={
            "state": equals(Renewal.state),
            "client_id": equals(Renewal.client_id),
            "subscription_id": equals(Renewal.subscription_id),
        },
    )


renewals = RenewalService()
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
async def get_controls(session: SessionDep, principal: PrincipalDep) -> Any:
    principal.require_staff()
    return await _controls(session)


@router.put(
    "/renewals/controls",
    response_model=ControlsRead,
    operation_id="update_renewal_controls",
    summary="Pause or resume automatic renewals, set lead time and caps (admin)",
)
async def update_controls(body: ControlsUpdate, session: SessionDep, principal: PrincipalDep) -> Any:
    principal.require_admin()
    controls = await _controls(session)
    before = ControlsRead.model_validate(controls).model_dump(mode="json")
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(controls, name, value)
    if "paused" in body.model_fields_set:
        controls.paused_at = utcnow() if body.paused else None
        controls.paused_by = principal.actor if body.paused else None
        if not body.paused:
            controls.paused_reason = None
    controls.updated_at = utcnow()
    after = ControlsRead.model_validate(controls).model_dump(mode="json")
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="renewal_controls",
        subject_id=1,
        client_id=None,
        before=before,
        after=after,
    )
    return controls


async def _controls(session: AsyncSession) -> RenewalControls:
    controls = await session.get(RenewalControls, 1)
    if controls is None:  # the migration inserts it; a wiped table gets the defaults back
        controls = RenewalControls(id=1, paused=False, lead_days=14, price_cap_pct=10, cap_currency="EUR")
        session.add(controls)
        await session.flush()
    return controls


class PlanResult(BaseModel):
    planned: int
    queued: int


@router.post(
    "/renewals/plan",
    response_model=PlanResult,
    operation_id="plan_renewals",
    summary="Plan every due auto-renew term now and queue them (admin; the hourly job does the same)",
)
async def plan_now(session: SessionDep, principal: PrincipalDep) -> Any:
    from hub.renewal import planner
    from hub.renewal.tasks import queue_due

    principal.require_admin()
    planned = await planner.plan(session, utcnow().date())
    queued = await queue_due(session)
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


async def _decide(
    session: AsyncSession,
    principal: Principal,
    renewal: Renewal,
    version: int,
    approve: bool,
    note: str | None,
) -> Renewal:
    if renewal.version != version:
        raise Conflict(f"renewal {renewal.id} changed (version {renewal.version}); read it again")
    allowed = (
        {RenewalState.awaiting_approval}
        if approve
        else {RenewalState.awaiting_approval, RenewalState.planned, RenewalState.approved}
    )
    if renewal.state not in allowed:
        verb = "approved" if approve else "declined"
        raise Conflict(f"renewal {renewal.id} is {renewal.state.value}: it cannot be {verb} now")
    before = {"state": renewal.state.value}
    renewal.state = RenewalState.approved if approve else RenewalState.declined
    renewal.decided_by = principal.actor
    renewal.reason = note
    renewal.next_action_at = utcnow() if approve else None
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="renewal",
        subject_id=renewal.id,
        client_id=renewal.client_id,
        before=before,
        after={"state": renewal.state.value, "note": note},
    )
    await session.flush()
    return renewal


@router.post(
    "/renewals/{renewal_id}/approve",
    response_model=RenewalRead,
    operation_id="approve_renewal",
    summary="Approve a renewal waiting for approval (admin); it is ordered by the next tick",
)
async def approve(renewal_id: uuid.UUID, body: Decision, session: SessionDep, principal: PrincipalDep) -> Any:
    principal.require_admin()
    renewal = await renewals.get(session, principal, renewal_id)
    return await _decide(session, principal, renewal, body.version, True, body.note)


@router.post(
    "/renewals/{renewal_id}/decline",
    response_model=RenewalRead,
    operation_id="decline_renewal",
    summary="Decline a renewal: nothing will be ordered for this term",
)
async def decline(renewal_id: uuid.UUID, body: Decision, session: SessionDep, principal: PrincipalDep) -> Any:
    principal.require_staff()
    renewal = await renewals.get(session, principal, renewal_id)
    return await _decide(session, principal, renewal, body.version, False, body.note)


# -- signed approval links (the client approves without an account) -----------------------

LINK_LIFETIME = timedelta(days=7)


class ApprovalLink(BaseModel):
    url: str
    expires_at: str


class ApprovalView(BaseModel):
    renewal: RenewalRead
    expires_at: str


def _link_token(session: AsyncSession, renewal: Renewal) -> tuple[str, str]:
    expires = (utcnow() + LINK_LIFETIME).isoformat()
    payload = json.dumps({"r": str(renewal.id), "v": renewal.version, "exp": expires})
    # Fernet tokens are authenticated encryption: unforgeable and opaque to the holder.
    return secret_box(session).encrypt(payload), expires


async def _from_token(session: AsyncSession, token: str) -> tuple[Renewal, str]:
    try:
        data = json.loads(secret_box(session).decrypt(token))
        renewal_id, version, expires = uuid.UUID(data["r"]), int(data["v"]), str(data["exp"])
    except Exception:  # any malformed or forged token answers the same
        raise NotFound("approval link not found") from None
    if expires < utcnow().isoformat():
        raise NotFound("approval link expired")
    renewal = await session.get(Renewal, renewal_id)
    if renewal is None or renewal.version != version or renewal.state != RenewalState.awaiting_approval:
        raise NotFound("approval link no longer valid (the renewal changed)")
    return renewal, expires


@router.post(
    "/renewals/{renewal_id}/approval-link",
    response_model=ApprovalLink,
    operation_id="create_renewal_approval_link",
    summary="A signed link the client can use to approve this renewal (admin)",
)
async def create_link(
    renewal_id: uuid.UUID, request: Request, session: SessionDep, principal: PrincipalDep
) -> Any:
    principal.require_admin()
    renewal = await renewals.get(session, principal, renewal_id)
    if renewal.state != RenewalState.awaiting_approval:
        raise Conflict(f"renewal {renewal.id} is {renewal.state.value}, not waiting for approval")
    token, expires = _link_token(session, renewal)
    record(
        session,
        principal,
        AuditAction.vendor_action,
        subject_type="renewal",
        subject_id=renewal.id,
        client_id=renewal.client_id,
        meta={"action": "renewal.approval_link_created", "expires_at": expires},
    )
    return {"url": str(request.url_for("view_renewal_approval", token=token)), "expires_at": expires}


public_router = APIRouter(tags=["renewals"])
# A Fernet token: URL-safe base64, far longer than 40 characters for our payload.
LinkToken = Annotated[str, Path(min_length=40, max_length=2000, pattern=r"^[A-Za-z0-9_=-]+$")]


@public_router.get(
    "/approvals/{token}",
    response_model=ApprovalView,
    operation_id="view_renewal_approval",
    summary="What a signed approval link approves (no account needed)",
)
async def view_approval(token: LinkToken, request: Request) -> Any:
    async with request.app.state.sessionmaker() as session:
        renewal, expires = await _from_token(session, token)
        return {"renewal": RenewalRead.model_validate(renewal), "expires_at": expires}


@public_router.post(
    "/approvals/{token}",
    response_model=RenewalRead,
    operation_id="approve_renewal_by_link",
    summary="Approve the renewal a signed link names (once)",
)
async def approve_by_link(token: LinkToken, request: Request) -> Any:
    from hub.db import session_scope

    async with session_scope(request.app.state.sessionmaker, write=True) as session:
        renewal, _ = await _from_token(session, token)
        client = Principal(actor="client via signed approval link", role=SYSTEM.role)
        decided = await _decide(session, client, renewal, renewal.version, True, "approved by the client")
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
    request: Request, session: SessionDep, principal: PrincipalDep, params: Annotated[ForecastParams, Query()]
) -> Response:
    if params.client_id is not None and principal.client_id not in (None, params.client_id):
        raise NotFound(f"client {params.client_id} not found")
    body = await forecast(
        session, principal, today=utcnow().date(), months=params.months, client_id=params.client_id
    )
    if params.format == "csv" or (params.format is None and "text/csv" in request.headers.get("accept", "")):
        return Response(forecast_csv(body["lines"]), media_type="text/csv; charset=utf-8")
    return Response(
        orjson.dumps(Forecast.model_validate(body).model_dump(mode="json")), media_type="application/json"
    )


__all__ = ["public_router", "router"]
