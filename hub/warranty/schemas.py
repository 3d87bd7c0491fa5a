from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from hub.jobs.payload import JobPayload, PeriodicPayload
from hub.kit.schema import Input


class Format(StrEnum):
    json = "json"
    csv = "csv"


class ReviewParams(Input):
    """Unknown parameters are refused: a typo must not silently widen the list."""

    days: int = Field(90, ge=0, le=3650, description="also warranties ending within N days (a quarter: 90)")
    client_id: uuid.UUID | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)
    format: Format | None = None


class ClientRef(BaseModel):
    id: uuid.UUID
    name: str
    slug: str


class ReviewItem(BaseModel):
    id: uuid.UUID = Field(description="the asset")
    client_id: uuid.UUID
    client: ClientRef
    name: str
    kind: str
    manufacturer: str
    model: str | None
    serial: str | None
    warranty_ends_on: date | None = Field(description="the latest end of the asset's warranties")
    warranty_level: str | None
    warranty_source: str | None
    last_checked_at: datetime | None
    days_left: int | None
    status: str = Field(description="expired, ending (within the days asked) or unknown (no warranty)")


class ReviewPage(BaseModel):
    items: list[ReviewItem]
    total: int
    limit: int
    offset: int
    days: int


# --- job payloads ----------------------------------------------------------------------


class RefreshWarranties(PeriodicPayload, kind="warranty.refresh"):
    """Daily: queue one lookup per warranty connection."""


class LookupWarranties(JobPayload, kind="warranty.lookup"):
    connection_id: uuid.UUID
    actor: str | None = None
