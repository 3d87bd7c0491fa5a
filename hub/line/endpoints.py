# mypy: disable-error-code="valid-type"
"""ISP lines: CRUD, the probe history, the checks of their addresses, and a probe now."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.api.projection import json_response, respond_page
from hub.api.router import crud_router
from hub.check.schemas import CheckRead
from hub.deps import PrincipalDep, SessionDep
from hub.kit.schema import Page
from hub.line.schemas import (
    LineClientRead,
    LineCreate,
    LineFilters,
    LineRead,
    LineUpdate,
    ProbeFilters,
    ProbeQueued,
    ProbeRead,
)
from hub.line.service import LineService

lines = LineService()

router = APIRouter()


@router.get(
    "/lines/{item_id}/probes",
    response_model=Page[ProbeRead],
    tags=["lines"],
    operation_id="list_line_probes",
    summary="The line's probe history, newest first (one row per TCP connect)",
)
async def list_probes(
    item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, params: Annotated[ProbeFilters, Query()]
) -> Any:
    items, total = await lines.probes(session, principal, item_id, params)
    return respond_page(principal, items, total, params.limit, params.offset, ProbeRead, ProbeRead)


@router.get(
    "/lines/{item_id}/checks",
    response_model=list[CheckRead],
    tags=["lines"],
    operation_id="list_line_checks",
    summary="The PTR and block-list checks of the line's public addresses",
)
async def list_checks(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    checks = await lines.address_checks(session, principal, item_id)
    return json_response([CheckRead.model_validate(c).model_dump(mode="json") for c in checks])


@router.post(
    "/lines/{item_id}/probe",
    response_model=ProbeQueued,
    status_code=202,
    tags=["lines"],
    operation_id="probe_line",
    summary="Queue a probe of the line now (a worker runs it)",
)
async def probe_now(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    job_id, created = await lines.request_probe(session, principal, item_id)
    return json_response(ProbeQueued(job_id=job_id, created=created).model_dump(mode="json"), status_code=202)


router.include_router(
    crud_router(
        lines,
        prefix="/lines",
        name="line",
        plural="lines",
        tag="lines",
        read=LineRead,
        client_read=LineClientRead,
        create=LineCreate,
        update=LineUpdate,
        filters=LineFilters,
    )
)
