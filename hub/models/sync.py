"""What vendor sync keeps: the vendor's records as last seen, the mapping of vendor tenants
to hub clients, the discrepancies between vendor and hub, and the OAuth token cache shared
by every worker."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.crypto import Purpose
from hub.kit.time import utcnow
from hub.models.base import Base, BigIntPk, Entity, UUIDPk, encrypted_column, str_enum


class VendorRecord(BigIntPk, Base):
    """One vendor fact (a tenant, a licence, a warranty...) of one connection, upserted on
    (connection, kind, external id). `missing_since` is set when a complete sync no longer
    saw it and cleared when it comes back; rows are never deleted by sync."""

    __tablename__ = "vendor_records"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "external_id"),
        Index("ix_vendor_records_client_id_kind", "client_id", "kind"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    # The capability the record came from (tenants, license_usage, warranty...).
    kind: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    tenant_external_id: Mapped[str | None] = mapped_column(String(200))
    # The hub client the record belongs to, when known (tenant mapping, client-scoped
    # connection, or the asset it describes).
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    missing_since: Mapped[datetime | None]


class MappedBy(enum.StrEnum):
    external_ref = "external_ref"
    account_number = "account_number"
    domain = "domain"
    connection = "connection"  # a client-scoped connection: its tenants are its client's
    manual = "manual"


class TenantMapping(Entity, Base):
    """A vendor tenant (Sophos tenant, Pax8 company...) and the hub client it is."""

    __tablename__ = "tenant_mappings"
    __table_args__ = (UniqueConstraint("connection_id", "external_id"),)

    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    domain: Mapped[str | None] = mapped_column(String(255))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    # How the client was chosen; `manual` with no client means a technician unmapped it
    # on purpose, and auto-mapping leaves it alone.
    mapped_by: Mapped[MappedBy | None] = mapped_column(str_enum(MappedBy, "mapped_by"))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]
    missing_since: Mapped[datetime | None]


class DiscrepancyKind(enum.StrEnum):
    seats_over_paid = "seats_over_paid"
    end_date_mismatch = "end_date_mismatch"
    quantity_mismatch = "quantity_mismatch"


class Discrepancy(UUIDPk, Base):
    """Vendor and hub disagree about something; resolved by sync when it no longer holds."""

    __tablename__ = "discrepancies"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "record_kind", "external_id"),
        Index("ix_discrepancies_client_id_resolved_at", "client_id", "resolved_at"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    kind: Mapped[DiscrepancyKind] = mapped_column(str_enum(DiscrepancyKind, "discrepancy_kind"))
    record_kind: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    tenant_external_id: Mapped[str | None] = mapped_column(String(200))
    # The hub object the vendor disagrees with (a subscription, a warranty), if any.
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID | None]
    hub_value: Mapped[str | None] = mapped_column(String(200))
    vendor_value: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class OAuthToken(Base):
    """The shared OAuth token cache (hub.connection.tokens): one row per cache key, the
    token encrypted. The row is the lock refreshers queue on."""

    __tablename__ = "oauth_tokens"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    token_encrypted: Mapped[str | None] = encrypted_column(Purpose.oauth_token, nullable=True)
    # sha256 of the token: `drop` deletes only the token the caller saw (compare-and-delete).
    token_sha256: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None]
    obtained_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
