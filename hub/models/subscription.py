"""Subscription (anything paid for) and SubscriptionTerm (one row per term: history)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.time import utcnow
from hub.models.base import Base, BigIntPk, Entity, money_column, str_enum
from hub.models.enums import (
    BillingPeriod,
    Payer,
    RecordSource,
    RenewalType,
    SubscriptionKind,
    SubscriptionStatus,
    TermRenewedBy,
    VendorCategory,
)


class Subscription(Entity, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("connection_id", "external_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("seats_used IS NULL OR seats_used >= 0", name="seats_used_not_negative"),
        CheckConstraint("notice_days >= 0", name="notice_days_not_negative"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        Index("ix_subscriptions_client_id_ends_on", "client_id", "ends_on"),
        # Covers the upcoming-renewals window and its count without touching the table.
        Index("ix_subscriptions_ends_on_status_client_id", "ends_on", "status", "client_id"),
    )

    # Denormalised from the vendor account (kept equal by the service) so that client
    # scoping and the spend report need no join to filter.
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"))
    vendor_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vendor_accounts.id", ondelete="RESTRICT"), index=True
    )
    category: Mapped[VendorCategory] = mapped_column(
        str_enum(VendorCategory, "subscription_category"), index=True
    )
    kind: Mapped[SubscriptionKind] = mapped_column(
        str_enum(SubscriptionKind, "subscription_kind"), default=SubscriptionKind.licence
    )
    product: Mapped[str] = mapped_column(String(300))
    sku: Mapped[str | None] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(default=1)
    # Seats in use as the vendor last reported them (synced; `quantity` is what is paid).
    seats_used: Mapped[int | None]
    unit_cost: Mapped[Decimal] = money_column()
    client_unit_price: Mapped[Decimal | None] = money_column(nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    billing_period: Mapped[BillingPeriod] = mapped_column(str_enum(BillingPeriod, "billing_period"))
    payer: Mapped[Payer] = mapped_column(str_enum(Payer, "payer"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    renewal_type: Mapped[RenewalType] = mapped_column(
        str_enum(RenewalType, "renewal_type"), default=RenewalType.manual
    )
    notice_days: Mapped[int] = mapped_column(default=0)
    renewal_policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Pay-per-print allowance of a printer's plan (hub.subscription.schemas.PrintAllowance),
    # plus the first counter reading sync saw in the current term; NULL: not a print plan.
    print_allowance: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[SubscriptionStatus] = mapped_column(
        str_enum(SubscriptionStatus, "subscription_status"), default=SubscriptionStatus.active
    )
    cancelled_at: Mapped[datetime | None]
    source: Mapped[RecordSource] = mapped_column(
        str_enum(RecordSource, "record_source"), default=RecordSource.manual
    )
    connection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("connections.id", ondelete="SET NULL"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    last_synced_at: Mapped[datetime | None]
    missing_since: Mapped[datetime | None]
    notes: Mapped[str] = mapped_column(Text, default="")


class SubscriptionTerm(BigIntPk, Base):
    """Append-only: a renewal adds a row, never rewrites one."""

    __tablename__ = "subscription_terms"
    __table_args__ = (
        UniqueConstraint("subscription_id", "starts_on"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    quantity: Mapped[int]
    unit_cost: Mapped[Decimal] = money_column()
    currency: Mapped[str] = mapped_column(String(3))
    renewed_by: Mapped[TermRenewedBy] = mapped_column(str_enum(TermRenewedBy, "term_renewed_by"))
    renewal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("renewals.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
