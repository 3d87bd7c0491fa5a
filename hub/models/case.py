"""VendorCase (a case opened with a vendor on a client's behalf) and CaseEvent (its
timeline)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, BigIntPk, Entity, str_enum
from hub.models.enums import CaseChannel, CaseEventKind, CaseSeverity, CaseStatus


class VendorCase(Entity, Base):
    __tablename__ = "vendor_cases"
    __table_args__ = (
        Index(
            "ix_vendor_cases_vendor_account_id_external_ref", "vendor_account_id", "external_ref", unique=True
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    vendor_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vendor_accounts.id", ondelete="RESTRICT")
    )
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    domain_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("domains.id", ondelete="SET NULL"))
    line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("isp_lines.id", ondelete="SET NULL"))
    check_run_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("check_runs.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[CaseSeverity] = mapped_column(
        str_enum(CaseSeverity, "case_severity"), default=CaseSeverity.normal
    )
    status: Mapped[CaseStatus] = mapped_column(
        str_enum(CaseStatus, "case_status"), default=CaseStatus.draft, index=True
    )
    channel: Mapped[CaseChannel] = mapped_column(str_enum(CaseChannel, "case_channel"))
    # Vendors' case numbers are strings (leading zeros, prefixes): never an int.
    external_ref: Mapped[str | None] = mapped_column(String(120))
    opened_by: Mapped[str | None] = mapped_column(String(200))
    opened_at: Mapped[datetime | None]
    vendor_sla_due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class CaseEvent(BigIntPk, Base):
    __tablename__ = "case_events"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendor_cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CaseEventKind] = mapped_column(str_enum(CaseEventKind, "case_event_kind"))
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    minutes_spent: Mapped[int | None]
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
