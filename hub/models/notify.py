"""Reminder delivery: the outbox of e-mails and webhooks, webhook endpoints, calendar
feeds and per-item reminder ladders. The ledger itself is `Notice` (hub.models.renewal)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.crypto import Purpose
from hub.kit.time import utcnow
from hub.models.base import Base, BigIntPk, Entity, encrypted_column, str_enum
from hub.models.enums import NoticeChannel


class NoticeState(enum.StrEnum):
    issued = "issued"  # recorded and handed to its channels
    skipped = "skipped"  # due while reminders could not go out; a later one was sent instead


class DeliveryState(enum.StrEnum):
    queued = "queued"  # waiting for its digest, or for its next webhook attempt
    sending = "sending"  # claimed by a sender until next_attempt_at (then taken back)
    sent = "sent"
    dead = "dead"  # every attempt failed: kept for the operator, never retried
    cancelled = "cancelled"  # acknowledged or snoozed before it went out


class WebhookEndpoint(Entity, Base):
    """A receiver of signed reminder webhooks (Standard Webhooks). MSP-wide when
    `client_id` is null, else only that client's reminders."""

    __tablename__ = "webhook_endpoints"

    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    # "whsec_..." encrypted under the webhook-secret key; write-only in the API.
    secret_encrypted: Mapped[str] = encrypted_column(Purpose.webhook_secret)
    secret_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)


class NoticeDelivery(BigIntPk, Base):
    """The outbox: one row per notice, channel and target, written in the transaction
    that records the notice; senders take rows from here, so nothing is lost in a crash
    and nothing is sent for a notice that was never committed."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "channel", "target"),
        Index("ix_notice_deliveries_state_channel_next_attempt_at", "state", "channel", "next_attempt_at"),
    )

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    channel: Mapped[NoticeChannel] = mapped_column(str_enum(NoticeChannel, "notice_channel"))
    # An e-mail address, or the id of a webhook endpoint.
    target: Mapped[str] = mapped_column(String(320))
    webhook_endpoint_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[DeliveryState] = mapped_column(
        str_enum(DeliveryState, "delivery_state"), default=DeliveryState.queued
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The webhook-id header: the same on every retry, so receivers can deduplicate.
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class CalendarFeed(Entity, Base):
    """A revocable iCal feed of renewals: of one client, of the clients a user owns, or
    of every client (neither set). Only the token's hash is stored."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (CheckConstraint("client_id IS NULL OR user_id IS NULL", name="one_scope"),)

    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    # After this the URL answers 404 (an all-client feed always has one).
    expires_at: Mapped[datetime | None]


class ReminderLadder(Entity, Base):
    """A ladder (days before the deadline, negative after the end) for one item, or for
    every item of a vendor category / kind (`scope` = "category", key = the category)."""

    __tablename__ = "reminder_ladders"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    scope: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    days: Mapped[list[int]] = mapped_column(JSON, default=list)
