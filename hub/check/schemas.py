"""Request and response models of the checks API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from hub.api.crud import ListParams
from hub.check.enums import CheckStatus, CheckTarget
from hub.check.findings import Severity
from hub.jobs.payload import JobPayload, PeriodicPayload
from hub.kit.schema import Input, Output

MIN_INTERVAL_SECONDS = 60
MAX_INTERVAL_SECONDS = 30 * 86_400


class CheckCreate(Input):
    client_id: uuid.UUID
    kind: str = Field(min_length=1, max_length=60, description="a check kind: spf, dmarc, mx, tls, ...")
    target_ref: str = Field(
        min_length=1,
        max_length=300,
        description="the id of the client's domain, endpoint or asset (by the kind's target), or an IP",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="the kind's parameters")
    interval_seconds: int = Field(3600, ge=MIN_INTERVAL_SECONDS, le=MAX_INTERVAL_SECONDS)
    enabled: bool = True


class CheckRead(Output):
    id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    target_type: CheckTarget
    target_ref: str
    params: dict[str, Any]
    interval_seconds: int
    enabled: bool
    status: CheckStatus
    status_changed_at: datetime | None
    last_run_at: datetime | None
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class CheckFilters(ListParams):
    client_id: uuid.UUID | None = None
    status: CheckStatus | None = None
    kind: str | None = Field(None, max_length=60)
    target_type: CheckTarget | None = None
    enabled: bool | None = None


class RunFilters(Input):
    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)


class FindingRead(Output):
    code: str
    severity: Severity
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class CheckRunRead(Output):
    id: int
    check_id: uuid.UUID
    started_at: datetime
    finished_at: datetime | None
    status: CheckStatus
    findings: list[FindingRead]
    error: str | None = Field(description="why the run could not complete (the status is then unknown)")


class RunQueued(Output):
    job_id: int
    created: bool = Field(description="false when a queued or running job of this check was reused")


class DomainHealth(Output):
    domain_id: uuid.UUID
    name: str
    status: CheckStatus = Field(description="the worst status of the domain's checks")
    checks: int
    failing: list[str] = Field(description="codes of error and critical findings of the latest runs")
    warnings: list[str] = Field(description="codes of warning findings of the latest runs")
    unknown: list[str] = Field(description="kinds whose latest run could not complete")


class ClientHealth(Output):
    client_id: uuid.UUID
    checks: dict[CheckStatus, int] = Field(description="number of checks per status")
    failing_domains: dict[str, int] = Field(description="for each failing code, how many domains have it")
    domains: list[DomainHealth]


# --- job payloads ----------------------------------------------------------------------


class RunCheck(JobPayload, kind="check.run"):
    check_id: uuid.UUID


class ScheduleChecks(PeriodicPayload, kind="check.schedule"):
    """Every minute: queue a run of each due check."""
