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
    # Flap damping of the alerts (hub.check.policy): how many consecutive runs reported
    # `status`, the last status that held long enough to be told (None: none yet), and how
    # many transitions were told (it names each one in the notice ledger, so a transition
    # is recorded once however often its run is retried).
    status_runs: Mapped[int] = mapped_column(default=0, server_default="0")
    settled_status: Mapped[CheckStatus | None] = mapped_column(str_enum(CheckStatus, "check_settled_status"))
    transitions: Mapped[int] = mapped_column(default=0, server_default="0")


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
