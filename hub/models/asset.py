"""Asset (a device at a client) and Warranty (an entitlement on an asset)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, Entity, money_column, str_enum
from hub.models.enums import AssetKind, Payer, RecordSource, WarrantySource


class Asset(Entity, Base):
    __tablename__ = "assets"
    __table_args__ = (
        # A serial identifies one device of one manufacturer, whoever owns it now.
        UniqueConstraint("manufacturer", "serial"),
        UniqueConstraint("connection_id", "external_id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[AssetKind] = mapped_column(str_enum(AssetKind, "asset_kind"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    manufacturer: Mapped[str] = mapped_column(String(120))
    model: Mapped[str | None] = mapped_column(String(200))
    serial: Mapped[str | None] = mapped_column(String(120))
    firmware_version: Mapped[str | None] = mapped_column(String(80))
    # The newest version the vendor offers this device (synced; the firmware check prefers it).
    firmware_latest: Mapped[str | None] = mapped_column(String(80))
    management_address: Mapped[str | None] = mapped_column(String(300))
    # The support contract covering this device, if any.
    vendor_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendor_accounts.id", ondelete="RESTRICT"), index=True
    )
    location: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[RecordSource] = mapped_column(
        str_enum(RecordSource, "record_source"), default=RecordSource.manual
    )
    connection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("connections.id", ondelete="SET NULL"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    last_synced_at: Mapped[datetime | None]
    notes: Mapped[str] = mapped_column(Text, default="")


class Warranty(Entity, Base):
    __tablename__ = "warranties"
    __table_args__ = (
        UniqueConstraint("asset_id", "level", "starts_on"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        Index("ix_warranties_ends_on_client_id", "ends_on", "client_id"),
    )

    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    # Denormalised from the asset for scoping and the upcoming-renewals report.
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    level: Mapped[str] = mapped_column(String(120))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    source: Mapped[WarrantySource] = mapped_column(
        str_enum(WarrantySource, "warranty_source"), default=WarrantySource.manual
    )
    last_checked_at: Mapped[datetime | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    # What extending it costs whoever pays (the client's price: the vendor's if the client
    # pays it directly, the MSP's if resold); known ones go into the forecast.
    renewal_price: Mapped[Decimal | None] = money_column(nullable=True)
    renewal_currency: Mapped[str | None] = mapped_column(String(3))
    renewal_payer: Mapped[Payer] = mapped_column(
        str_enum(Payer, "renewal_payer"), default=Payer.msp_resold, server_default=Payer.msp_resold.value
    )
