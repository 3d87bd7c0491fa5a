"""Renewal (one renewal of one subscription term) and Notice (an alert sent once per
subject and threshold)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, BigIntPk, Entity, money_column, str_enum
from hub.models.enums import NoticeChannel, RenewalResolution, RenewalState
from hub.models.notify import NoticeState


class Renewal(Entity, Base):
    __tablename__ = "renewals"
    # At most one renewal per subscription term: the database, not the code, says so.
    __table_args__ = (
        UniqueConstraint("subscription_id", "term_ends_on"),
        # The minute tick finds what to advance next without scanning finished renewals.
        Index("ix_renewals_state_next_action_at", "state", "next_action_at"),
        # A quote sums the day's committed spend (the daily caps): today's rows, not every
        # renewal ever confirmed.
        Index("ix_renewals_submitted_at", "submitted_at"),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id", ondelete="RESTRICT"))
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    term_ends_on: Mapped[date]
    state: Mapped[RenewalState] = mapped_column(
        str_enum(RenewalState, "renewal_state"), default=RenewalState.planned, index=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    vendor_order_ref: Mapped[str | None] = mapped_column(String(200))
    quoted_price: Mapped[Decimal | None] = money_column(nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3))
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    connection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("connections.id", ondelete="SET NULL"))
    quantity: Mapped[int] = mapped_column(default=1)
    previous_unit_cost: Mapped[Decimal | None] = money_column(nullable=True)
    quoted_total: Mapped[Decimal | None] = money_column(nullable=True)
    # Why it waits for approval, or why it was escalated, in words a technician acts on.
    reason: Mapped[str | None] = mapped_column(Text)
    # When the minute tick should advance it again (None: nothing to do until someone acts).
    next_action_at: Mapped[datetime | None]
    # No request may start after this instant (the sending worker's lease end); a
    # reconciler waits until it has passed before concluding anything from a lookup.
    send_not_after: Mapped[datetime | None]
    reconcile_attempts: Mapped[int] = mapped_column(default=0)
    new_term_ends_on: Mapped[date | None]
    escalated_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    # A resold item quoted above what the client pays (hub.renewal.policy.margin_warning).
    margin_warning: Mapped[str | None] = mapped_column(Text)
    # How a person closed it (state resolved).
    resolution: Mapped[RenewalResolution | None] = mapped_column(
        str_enum(RenewalResolution, "renewal_resolution")
    )
    # The order as it was first sent (the hint a vendor that keeps no reference needs to
    # find it again: product, subscription, quantity) and when it was first sent; both are
    # committed before the request leaves.
    order_request: Mapped[dict[str, Any] | None]
    first_sent_at: Mapped[datetime | None]
    # Since when the vendor could neither show the order nor prove it absent: bounded, then
    # a person decides (never a guess).
    unproven_since: Mapped[datetime | None]
    # A route with a registration step (a FortiCare contract code bought at the distributor):
    # the code the order delivered, and when it was registered against the unit.
    registration_code: Mapped[str | None] = mapped_column(String(200))
    registered_at: Mapped[datetime | None]


class RenewalRoute(Entity, Base):
    """How a subscription is renewed when that is not where it is synced from: ordered at
    one connection (a distributor or registrar), optionally registered at a second (a
    FortiCare contract code against the unit's serial), confirmed by reading the term back
    where it lives (the Sophos licence, the FortiGate's FortiGuard expiry, the registry).
    Without a route, a subscription is ordered and confirmed at its own connection."""

    __tablename__ = "renewal_routes"

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), unique=True
    )
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    # None for a route that orders by e-mail (order_by "email").
    order_connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("connections.id", ondelete="RESTRICT")
    )
    # The vendor's subscription (or domain) to renew at the ordering connection; by e-mail,
    # the distributor's article or contract the purchase order names.
    order_ref: Mapped[str] = mapped_column(String(200))
    # "api": through the ordering connection's adapter; "email": a purchase order mailed to
    # a distributor without an API (hub.renewal.po_mail), confirmed by its reply.
    order_by: Mapped[str] = mapped_column(String(10), default="api", server_default="api")
    po_email: Mapped[str | None] = mapped_column(String(320))
    # The client's account at the distributor: the purchase order's thread is a case on it.
    po_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendor_accounts.id", ondelete="RESTRICT")
    )
    # The distributor's price per unit; None: the subscription's last unit cost.
    po_unit_price: Mapped[Decimal | None] = money_column(nullable=True)
    # The customer at the ordering connection (a Pax8 company id); empty: the vendor
    # account's external ref.
    order_tenant_ref: Mapped[str | None] = mapped_column(String(200))
    confirm_connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("connections.id", ondelete="RESTRICT")
    )
    # What the confirming adapter reads back (its `read_term` ref).
    confirm_ref: Mapped[str | None] = mapped_column(String(200))
    register_connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("connections.id", ondelete="RESTRICT")
    )
    register_serial: Mapped[str | None] = mapped_column(String(100))


class RenewalControls(Base):
    """The MSP-wide renewal switchboard: one row. The pause switch is read at every step
    of every renewal, not only when planning."""

    __tablename__ = "renewal_controls"

    id: Mapped[int] = mapped_column(primary_key=True)
    paused: Mapped[bool] = mapped_column(default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    paused_by: Mapped[str | None] = mapped_column(String(200))
    paused_at: Mapped[datetime | None]
    lead_days: Mapped[int] = mapped_column(default=14)
    # Largest accepted rise of the unit price over the last term, in percent.
    price_cap_pct: Mapped[Decimal] = money_column()
    approval_above: Mapped[Decimal | None] = money_column(nullable=True)
    client_daily_cap: Mapped[Decimal | None] = money_column(nullable=True)
    msp_daily_cap: Mapped[Decimal | None] = money_column(nullable=True)
    cap_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # A resold item quoted above the client's price waits for approval (Policy).
    approve_negative_margin: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime | None]


class Notice(BigIntPk, Base):
    __tablename__ = "notices"
    # Each reminder goes once: a retry or a catch-up after downtime hits this constraint.
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "threshold"),
        # Acknowledging or snoozing one reminder of a term covers the whole term.
        Index("ix_notices_subject_type_subject_id_ends_on", "subject_type", "subject_id", "ends_on"),
    )

    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    # "<anchor>:<date>:<days>", e.g. "cancel_by:2026-12-01:+30" (see hub.terms.engine).
    threshold: Mapped[str] = mapped_column(String(40))
    state: Mapped[NoticeState] = mapped_column(
        str_enum(NoticeState, "notice_state"), default=NoticeState.issued, index=True
    )
    days: Mapped[int] = mapped_column(default=0)
    due_on: Mapped[date | None]
    # The end of the term the reminder is about.
    ends_on: Mapped[date | None]
    summary: Mapped[str] = mapped_column(String(500), default="")
    # Deliveries (notice_deliveries) carry the channel and recipient of each send; these
    # two are left from the first schema and stay empty.
    channel: Mapped[NoticeChannel | None] = mapped_column(str_enum(NoticeChannel, "notice_channel"))
    recipient: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
