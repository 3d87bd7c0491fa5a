from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from hub.api.crud import ListParams
from hub.jobs.payload import JobPayload, PeriodicPayload
from hub.kit.schema import Input, Output
from hub.models.sync import DiscrepancyKind, MappedBy


class TenantMappingRead(Output):
    id: uuid.UUID
    connection_id: uuid.UUID
    external_id: str
    name: str
    domain: str | None
    client_id: uuid.UUID | None
    mapped_by: MappedBy | None = Field(description="how the client was chosen (manual: by a technician)")
    first_seen_at: datetime
    last_seen_at: datetime | None
    missing_since: datetime | None
    version: int


class TenantFilters(ListParams):
    mapped: bool | None = Field(None, description="false: only tenants no client is mapped to")


class TenantMappingPut(Input):
    client_id: uuid.UUID | None = Field(description="the hub client this vendor tenant is; null unmaps it")


class DiscrepancyRead(Output):
    id: uuid.UUID
    connection_id: uuid.UUID
    client_id: uuid.UUID | None
    kind: DiscrepancyKind
    record_kind: str
    external_id: str
    tenant_external_id: str | None
    subject_type: str | None
    subject_id: uuid.UUID | None
    hub_value: str | None
    vendor_value: str | None
    message: str
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


class DiscrepancyFilters(ListParams):
    client_id: uuid.UUID | None = None
    connection_id: uuid.UUID | None = None
    kind: DiscrepancyKind | None = None
    include_resolved: bool = Field(False, description="also those that no longer hold")


# --- job payloads ----------------------------------------------------------------------


class SyncConnection(JobPayload, kind="sync.connection"):
    connection_id: uuid.UUID
    # who asked (a person's actor string, or none for the schedule): audited with the sync
    actor: str | None = None


class ScheduleSyncs(PeriodicPayload, kind="sync.schedule"):
    """Every minute: queue a sync of each due connection."""
