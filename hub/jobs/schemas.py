"""Response models of the jobs API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from hub.jobs.payload import PeriodicPayload
from hub.kit.schema import Output
from hub.models.job import JobState


class JobRead(Output):
    id: int
    kind: str
    state: JobState
    attempt: int
    max_attempts: int
    priority: int
    run_at: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_error: str | None
    dedupe_key: str | None
    lock_key: str | None
    schedule: str | None
    slot: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    reclaims: int
    payload: dict[str, Any]


class QueueRead(Output):
    depth: int = Field(description="queued jobs, due or not")
    due: int
    oldest_queued_age_seconds: float = Field(description="wait of the oldest due job")
    queued_by_kind: dict[str, int]
    running: int
    failed: int
    reclaimed_total: int
    workers_alive: int


class JobPage(Output):
    items: list[JobRead]
    total: int
    limit: int
    offset: int
    queue: QueueRead


# --- job payloads ----------------------------------------------------------------------


class PruneJobs(PeriodicPayload, kind="jobs.prune"):
    """Hourly: delete finished jobs past their retention."""
