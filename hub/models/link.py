"""LinkProposal: sync's suggestion that a hub subscription is a vendor subscription a
connection sees, kept until a technician accepts or rejects it (a rejected pair is never
proposed again)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, Entity, str_enum


class ProposalState(enum.StrEnum):
    open = "open"  # waiting for a technician
    accepted = "accepted"  # linked
    rejected = "rejected"  # not this pair, ever
    superseded = "superseded"  # linked otherwise, or no longer a match: nothing to decide


class LinkProposal(Entity, Base):
    __tablename__ = "link_proposals"
    __table_args__ = (
        # One row per pair, whatever its state: a rejection is remembered on it.
        UniqueConstraint("subscription_id", "connection_id", "external_id"),
        Index("ix_link_proposals_state_client_id", "state", "client_id"),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    # The vendor subscription: the id and record kind sync stored it under.
    external_id: Mapped[str] = mapped_column(String(200))
    record_kind: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    # 0-100, and the signals that matched (sku, product, quantity, end_date...).
    score: Mapped[int]
    signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[ProposalState] = mapped_column(
        str_enum(ProposalState, "proposal_state"), default=ProposalState.open
    )
    last_proposed_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    # What the technician saw of both sides when the proposal was last made.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
