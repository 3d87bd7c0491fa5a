import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.api.router import crud_router
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
# No PATCH or DELETE yet: a check is created, run and read (see issue 4's notes).
check_routes = crud_router(
    checks,
    prefix="/checks",
    name="check",
    plural="checks",
    tag="checks",
    read=CheckRead,
    client_read=CheckRead,  # a client's own health checks, shown as they are
    create=CheckCreate,
    update=None,
    filters=CheckFilters,
    with_delete=False,
)


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
