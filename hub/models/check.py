"""Check (a scheduled check on a target) and CheckRun (its append-only results)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, BigIntPk, Entity, str_enum
from hub.models.enums import CheckStatus, CheckTarget


class Check(Entity, Base):
    __tablename__ = "checks"
    __table_args__ = (UniqueConstraint("kind", "target_type", "target_ref"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[CheckTarget] = mapped_column(str_enum(CheckTarget, "check_target"))
    # The id of the domain/endpoint/asset, or the IP address, as text.
    target_ref: Mapped[str] = mapped_column(String(300))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    interval_seconds: Mapped[int] = mapped_column(default=3600)
    enabled: Mapped[bool] = mapped_column(default=True)
    status: Mapped[CheckStatus] = mapped_column(
        str_enum(CheckStatus, "check_status"), default=CheckStatus.pending, index=True
    )
    status_changed_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)


class CheckRun(BigIntPk, Base):
    __tablename__ = "check_runs"
    __table_args__ = (Index("ix_check_runs_check_id_started_at", "check_id", "started_at"),)

    check_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("checks.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[CheckStatus] = mapped_column(str_enum(CheckStatus, "check_status"))
    # [{code, severity, message, evidence}]
    findings: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
