"""Domain (an internet domain of a client) and Endpoint (a TLS endpoint to watch)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, Entity, money_column, str_enum
from hub.models.enums import MailProvider, Payer, TlsMode


class Domain(Entity, Base):
    __tablename__ = "domains"
    __table_args__ = (Index("ix_domains_expires_on_client_id", "expires_on", "client_id"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    # Stored as the lower-case IDNA A-label (xn--...), the form DNS and RDAP use.
    name: Mapped[str] = mapped_column(String(253), unique=True)
    registrar_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendor_accounts.id", ondelete="RESTRICT"), index=True
    )
    dns_host_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendor_accounts.id", ondelete="RESTRICT"), index=True
    )
    mail_host_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendor_accounts.id", ondelete="RESTRICT"), index=True
    )
    expires_on: Mapped[date | None]
    expiry_checked_at: Mapped[datetime | None]
    expected_mail_provider: Mapped[MailProvider] = mapped_column(
        str_enum(MailProvider, "mail_provider"), default=MailProvider.other
    )
    dkim_selectors: Mapped[list[str]] = mapped_column(default=list)
    # What a year's renewal costs whoever pays (the client's price, as for warranties);
    # known ones go into the forecast.
    renewal_price: Mapped[Decimal | None] = money_column(nullable=True)
    renewal_currency: Mapped[str | None] = mapped_column(String(3))
    renewal_payer: Mapped[Payer] = mapped_column(
        str_enum(Payer, "renewal_payer"), default=Payer.msp_resold, server_default=Payer.msp_resold.value
    )


class Endpoint(Entity, Base):
    __tablename__ = "endpoints"
    __table_args__ = (
        UniqueConstraint("client_id", "host", "port"),
        CheckConstraint("port >= 1 AND port <= 65535", name="port_range"),
        Index("ix_endpoints_expires_on_client_id", "expires_on", "client_id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    domain_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("domains.id", ondelete="RESTRICT"), index=True
    )
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(default=443)
    sni: Mapped[str | None] = mapped_column(String(253))
    tls_mode: Mapped[TlsMode] = mapped_column(str_enum(TlsMode, "tls_mode"), default=TlsMode.direct)
    expires_on: Mapped[date | None]
    last_checked_at: Mapped[datetime | None]
