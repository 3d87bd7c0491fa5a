"""AuditEvent: who did what, when, with the change (secrets redacted)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, BigIntPk, str_enum
from hub.models.enums import AuditAction


class AuditEvent(BigIntPk, Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject_type_subject_id", "subject_type", "subject_id"),)

    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[AuditAction] = mapped_column(str_enum(AuditAction, "audit_action"))
    subject_type: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[str] = mapped_column(String(64))
    # No foreign key: the audit trail outlives what it describes.
    client_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
