"""Vendor (MSP-wide catalogue), VendorAccount (a client's account with a vendor) and
Connection (a configured adapter instance with encrypted credentials)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.crypto import Purpose
from hub.models.base import Base, Entity, encrypted_column, str_enum
from hub.models.enums import ConnectionHealth, ConnectionScope, VendorCategory


class Vendor(Entity, Base):
    __tablename__ = "vendors"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    category: Mapped[VendorCategory] = mapped_column(str_enum(VendorCategory, "vendor_category"), index=True)
    website: Mapped[str | None] = mapped_column(String(500))
    # [{kind, value, label, hours: {days, opens, closes} | null, weekly: {mon: ["HH:MM-HH:MM"]}
    #   | null, timezone, holidays: {country, subdivision} | null, levels: [entitlement], notes}]
    # (hub.vendor.schemas.SupportChannel); hours and weekly both null: around the clock.
    support_channels: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    default_response_sla_hours: Mapped[int | None]
    # [{level, name, contact, after_hours}]
    escalation_levels: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # What each support level the vendor sells promises: [{level, aliases, first_response,
    # resolution, hours, weekly, timezone, holidays}] (hub.vendor.schemas.SlaLevel); matched
    # against an account's support level and an asset's warranty level by the card.
    sla_levels: Mapped[list[dict[str, Any]]] = mapped_column(default=list, server_default="[]")
    notes: Mapped[str] = mapped_column(Text, default="")


class VendorAccount(Entity, Base):
    __tablename__ = "vendor_accounts"
    __table_args__ = (UniqueConstraint("client_id", "vendor_id", "account_number"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    vendor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendors.id", ondelete="RESTRICT"), index=True)
    account_number: Mapped[str] = mapped_column(String(100))
    contract_number: Mapped[str | None] = mapped_column(String(100))
    # Fernet token; the plaintext never leaves the service layer except through the
    # audited reveal action.
    support_pin_encrypted: Mapped[str | None] = encrypted_column(Purpose.support_pin, nullable=True)
    support_pin_changed_at: Mapped[datetime | None]
    account_holder: Mapped[str | None] = mapped_column(String(200))
    authorised_by: Mapped[str | None] = mapped_column(String(300))
    # The client's contacts the vendor accepts change requests from (ids of Contact rows
    # of this account's client; hub.account.service checks them).
    authorised_contact_ids: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    # The support level this account's contract buys (e.g. "Premier"): its SLA is the
    # vendor's sla_levels entry of that name.
    support_level: Mapped[str | None] = mapped_column(String(120))
    notice_email: Mapped[str | None] = mapped_column(String(320))
    external_ref: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")


class Connection(Entity, Base):
    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("adapter_slug", "account_ref"),
        CheckConstraint("(scope = 'client') = (client_id IS NOT NULL)", name="client_scope_has_client"),
    )

    name: Mapped[str] = mapped_column(String(200))
    adapter_slug: Mapped[str] = mapped_column(String(80), index=True)
    scope: Mapped[ConnectionScope] = mapped_column(str_enum(ConnectionScope, "connection_scope"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    # The vendor-side identity the manifest names as unique (partner id, tenant id...).
    account_ref: Mapped[str] = mapped_column(String(200))
    config_encrypted: Mapped[str] = encrypted_column(Purpose.connection_config)
    config_changed_at: Mapped[datetime | None]
    # Secret config field -> when it was last set (ISO time); the values live only in
    # config_encrypted. The API shows these instead of the secrets.
    secrets_changed_at: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    health: Mapped[ConnectionHealth] = mapped_column(
        str_enum(ConnectionHealth, "connection_health"), default=ConnectionHealth.unknown
    )
    last_success_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_sync_at: Mapped[datetime | None]
