"""Client (an MSP customer) and Contact (a person at a client or at a vendor)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, Entity, str_enum
from hub.models.enums import ClientStatus, ServiceTier


class Client(Entity, Base):
    __tablename__ = "clients"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[ClientStatus] = mapped_column(
        str_enum(ClientStatus, "client_status"), default=ClientStatus.active, index=True
    )
    tier: Mapped[ServiceTier] = mapped_column(str_enum(ServiceTier, "service_tier"), default=ServiceTier.good)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Rome")
    default_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # How the client reads numbers, dates and labels (CLDR locale: "it", "en_GB"...).
    locale: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    # The technician who owns the relationship (reminders go to them).
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    notes: Mapped[str] = mapped_column(Text, default="")
    archived_at: Mapped[datetime | None]
    # Overrides of the MSP's automatic-renewal policy for this client (hub.renewal.policy).
    renewal_policy: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Contact(Entity, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        # A contact belongs to exactly one side: a client or a vendor.
        CheckConstraint("(client_id IS NULL) <> (vendor_id IS NULL)", name="belongs_to_client_or_vendor"),
        UniqueConstraint("client_id", "vendor_id", "email"),
    )

    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    roles: Mapped[list[str]] = mapped_column(default=list)
    escalation_level: Mapped[int | None]
    notes: Mapped[str] = mapped_column(Text, default="")
