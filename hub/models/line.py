"""IspLine (an ISP circuit of a client: the ISP as a vendor) and LineProbe (its append-only
reachability history)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, BigIntPk, Entity, money_column, str_enum


class LineTechnology(enum.StrEnum):
    ftth = "ftth"
    fttc = "fttc"
    vdsl = "vdsl"
    adsl = "adsl"
    fwa = "fwa"  # fixed wireless access
    mobile = "mobile"  # 4G/5G router
    satellite = "satellite"
    leased_line = "leased_line"  # dedicated fibre / Ethernet with an SLA
    other = "other"


class LineState(enum.StrEnum):
    unknown = "unknown"  # never probed, or nothing to probe
    up = "up"  # every target answered in the latest round
    degraded = "degraded"  # some failed, or all failed fewer rounds in a row than the threshold
    down = "down"  # every target failed in the last N rounds in a row


class IspLine(Entity, Base):
    __tablename__ = "isp_lines"
    __table_args__ = (UniqueConstraint("vendor_account_id", "circuit_id"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    # The client's account with the ISP (the vendor whose support is called for an outage).
    vendor_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vendor_accounts.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # The ISP's own id of the circuit: a string (prefixes, leading zeros), never an int.
    circuit_id: Mapped[str] = mapped_column(String(120))
    technology: Mapped[LineTechnology] = mapped_column(str_enum(LineTechnology, "line_technology"))
    bandwidth_down_mbps: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    bandwidth_up_mbps: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    # Public address blocks as normalised CIDRs ("203.0.113.8/29", "2001:db8:1::/48").
    address_blocks: Mapped[list[str]] = mapped_column(default=list)
    # The MSP's contract with the ISP: internal, never shown to a client user.
    contract_ref: Mapped[str | None] = mapped_column(String(120))
    contract_ends_on: Mapped[date | None]
    monthly_cost: Mapped[Decimal | None] = money_column(nullable=True)
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    # [{"host": "203.0.113.9", "ports": [443, 22]}]: TCP connects made from the hub.
    probe_targets: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    probe_enabled: Mapped[bool] = mapped_column(default=True)
    probe_interval_seconds: Mapped[int] = mapped_column(default=300)
    # Rounds in a row with every target failing before the line is `down`.
    failures_for_down: Mapped[int] = mapped_column(default=3)
    state: Mapped[LineState] = mapped_column(
        str_enum(LineState, "line_state"), default=LineState.unknown, server_default=LineState.unknown.value
    )
    state_changed_at: Mapped[datetime | None]
    # Rounds in a row in which no target answered.
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_probed_at: Mapped[datetime | None]
    next_probe_at: Mapped[datetime | None] = mapped_column(index=True)
    notes: Mapped[str] = mapped_column(Text, default="")


class LineProbe(BigIntPk, Base):
    """One TCP connect of one round: rows of a round share `probed_at`."""

    __tablename__ = "line_probes"
    __table_args__ = (Index("ix_line_probes_line_id_probed_at", "line_id", "probed_at"),)

    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("isp_lines.id", ondelete="CASCADE"))
    probed_at: Mapped[datetime]
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int]
    ok: Mapped[bool]
    latency_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(String(300))


__all__ = ["IspLine", "LineProbe", "LineState", "LineTechnology"]
