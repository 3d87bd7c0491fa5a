"""GET /api/v1/jobs: the queue as staff see it (client viewers are refused: job payloads
and errors cross clients)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from hub.db import runtime_of
from hub.deps import PrincipalDep, SessionDep
from hub.jobs import queue
from hub.jobs.schemas import JobPage, JobRead, QueueRead
from hub.kit.schema import Input
from hub.models.job import JobState

router = APIRouter(prefix="/jobs", tags=["jobs"])


class JobFilters(Input):
    state: JobState | None = None
    kind: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=500)
    # Bounded: an offset past a 64-bit integer would reach the database and fail there.
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get(
    "", response_model=JobPage, operation_id="list_jobs", summary="List background jobs and queue health"
)
async def list_jobs(
    session: SessionDep, principal: PrincipalDep, params: Annotated[JobFilters, Query()]
) -> JobPage:
    principal.require_staff()
    state, kind, limit, offset = params.state, params.kind, params.limit, params.offset
    rows, total = await queue.list_jobs(session, state=state, kind=kind, limit=limit, offset=offset)
    stats = await queue.queue_stats(
        session, alive_within=timedelta(seconds=runtime_of(session).settings.jobs.lease_seconds)
    )
    return JobPage(
        items=[JobRead.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
        queue=QueueRead.model_validate(stats, from_attributes=True),
    )
