"""CoverageSnapshot: the coverage figures of one client on one day (assets in warranty,
antivirus seats, firewalls, domains and certificates, checks, open cases), kept so that a
quarter can be compared with the one before (the quarterly business review).

One row per client per day (unique): the daily job and the backfill both insert with
"on conflict do nothing", so running either twice leaves one row. `source` says whether
the figures were observed that day (`daily`) or derived afterwards from dates the hub
keeps (`backfill`); a figure that could not be derived is null in `figures`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.time import utcnow
from hub.models.base import Base, BigIntPk


class CoverageSnapshot(BigIntPk, Base):
    __tablename__ = "coverage_snapshots"
    __table_args__ = (UniqueConstraint("client_id", "day"),)

    # A client's history goes with it (a client row is archived, rarely deleted).
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    day: Mapped[date]
    source: Mapped[str] = mapped_column(String(20))  # "daily" | "backfill"
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    # {"assets": 12, "assets_in_warranty": 10, ..., "checks_passing": null}: see
    # hub.report.coverage.FIGURES for the names and what each counts.
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
