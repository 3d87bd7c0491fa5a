from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from hub.api.crud import ListParams
from hub.kit.schema import Output
from hub.models.enums import AuditAction


class AuditEventRead(Output):
    id: int
    occurred_at: datetime
    actor: str
    action: AuditAction
    subject_type: str
    subject_id: str
    client_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    meta: dict[str, Any]


class ActivityRead(Output):
    """One entry of a client's activity log: who did what, when, on which of its objects."""

    id: int
    occurred_at: datetime
    who: str = Field(description="you, someone of your company, your MSP, or the hub (automatically)")
    what: str
    object_type: str
    object_id: str
    object: str = Field(description="the object in words, with its name")
    summary: str = Field(description="the whole entry as a sentence")


class AuditFilters(ListParams):
    subject_type: str | None = Field(None, max_length=60)
    subject_id: str | None = Field(None, max_length=64)
    client_id: uuid.UUID | None = None
    actor: str | None = Field(None, max_length=200)
    action: AuditAction | None = None
