import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.check.schemas import (
    CheckCreate,
    CheckFilters,
    CheckRead,
    CheckRunRead,
    ClientHealth,
    RunFilters,
    RunQueued,
)
from hub.check.service import CheckService, client_health
from hub.deps import PrincipalDep, SessionDep
from hub.kit.schema import Page

checks = CheckService()

router = APIRouter()
check_routes = APIRouter(prefix="/checks", tags=["checks"])


@check_routes.get("", response_model=Page[CheckRead], operation_id="list_checks", summary="List checks")
async def list_checks(
    session: SessionDep, principal: PrincipalDep, params: Annotated[CheckFilters, Query()]
) -> Any:
    items, total = await checks.list(session, principal, params)
    return {"items": items, "total": total, "limit": params.limit, "offset": params.offset}


@check_routes.post(
    "", response_model=CheckRead, status_code=201, operation_id="create_check", summary="Create a check"
)
async def create_check(body: CheckCreate, session: SessionDep, principal: PrincipalDep) -> Any:
    return await checks.create(session, principal, body)


@check_routes.get("/{item_id}", response_model=CheckRead, operation_id="get_check", summary="Read a check")
async def get_check(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    return await checks.get(session, principal, item_id)


@check_routes.get(
    "/{item_id}/runs",
    response_model=Page[CheckRunRead],
    operation_id="list_check_runs",
    summary="The runs of a check, newest first",
)
async def list_check_runs(
    item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, params: Annotated[RunFilters, Query()]
) -> Any:
    items, total = await checks.runs(session, principal, item_id, limit=params.limit, offset=params.offset)
    return {"items": items, "total": total, "limit": params.limit, "offset": params.offset}


@check_routes.post(
    "/{item_id}/run",
    response_model=RunQueued,
    status_code=202,
    operation_id="run_check",
    summary="Run a check now (a run already queued or running is reused)",
)
async def run_check(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> RunQueued:
    job_id, created = await checks.request_run(session, principal, item_id)
    return RunQueued(job_id=job_id, created=created)


health_routes = APIRouter(prefix="/clients", tags=["checks"])


@health_routes.get(
    "/{client_id}/health",
    response_model=ClientHealth,
    operation_id="get_client_health",
    summary="A client's checks per status, and what fails on each of its domains",
)
async def get_client_health(client_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    return await client_health(session, principal, client_id)


router.include_router(check_routes)
router.include_router(health_routes)
