"""VendorCase (a case opened with a vendor on a client's behalf) and CaseEvent (its
timeline)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, BigIntPk, Entity, str_enum
from hub.models.enums import (
    CaseChannel,
    CaseEventKind,
    CaseSeverity,
    CaseStatus,
    MailDirection,
    MailState,
    TriageState,
)


class VendorCase(Entity, Base):
    __tablename__ = "vendor_cases"
    __table_args__ = (
        Index(
            "ix_vendor_cases_vendor_account_id_external_ref", "vendor_account_id", "external_ref", unique=True
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="RESTRICT"), index=True)
    vendor_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vendor_accounts.id", ondelete="RESTRICT")
    )
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    asset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    domain_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("domains.id", ondelete="SET NULL"))
    line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("isp_lines.id", ondelete="SET NULL"))
    check_run_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("check_runs.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[CaseSeverity] = mapped_column(
        str_enum(CaseSeverity, "case_severity"), default=CaseSeverity.normal
    )
    status: Mapped[CaseStatus] = mapped_column(
        str_enum(CaseStatus, "case_status"), default=CaseStatus.draft, index=True
    )
    channel: Mapped[CaseChannel] = mapped_column(str_enum(CaseChannel, "case_channel"))
    # Vendors' case numbers are strings (leading zeros, prefixes): never an int.
    external_ref: Mapped[str | None] = mapped_column(String(120))
    opened_by: Mapped[str | None] = mapped_column(String(200))
    opened_at: Mapped[datetime | None]
    vendor_sla_due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # Our token ([HUB-7F3K2] in subjects, cases+7F3K2@ in Reply-To, in our Message-IDs).
    token: Mapped[str | None] = mapped_column(String(12), unique=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    to_addresses: Mapped[list[str]] = mapped_column(default=list)
    cc_addresses: Mapped[list[str]] = mapped_column(default=list)
    # Entitlement texts of the vendor's clock (hub.kit.business_clock.parse_entitlement).
    sla_first_response: Mapped[str | None] = mapped_column(String(40))
    sla_resolution: Mapped[str | None] = mapped_column(String(40))
    chasers_paused: Mapped[bool] = mapped_column(default=False)
    # Resolution cycles (a reopen starts a new one): the chaser ledger is per cycle.
    cycle: Mapped[int] = mapped_column(default=1)
    # The next outbound message's sequence number (fixes its Message-ID).
    next_seq: Mapped[int] = mapped_column(default=1)
    # The api channel (hub.case.desk): the connection whose CaseDesk follows the case, our
    # reference (persisted before the vendor is called), the vendor's own id of the case
    # (what get_case takes; the case number people quote is `external_ref`), and the
    # poller's bookkeeping: the newest vendor update seen, when it last looked, and the
    # last vendor fault (None once a poll succeeds).
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("connections.id", ondelete="SET NULL"), index=True
    )
    api_reference: Mapped[str | None] = mapped_column(String(120))
    vendor_external_id: Mapped[str | None] = mapped_column(String(200))
    api_cursor: Mapped[datetime | None]
    api_polled_at: Mapped[datetime | None]
    api_error: Mapped[str | None] = mapped_column(Text)
    # A purchase order's thread (hub.case.purchase_order): one per renewal, so one per
    # term. It carries our cost, so client users never see it.
    renewal_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("renewals.id", ondelete="SET NULL"), unique=True
    )


class CaseEvent(BigIntPk, Base):
    __tablename__ = "case_events"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendor_cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CaseEventKind] = mapped_column(str_enum(CaseEventKind, "case_event_kind"))
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    minutes_spent: Mapped[int | None]
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What a client user may read of the timeline; internal notes never are.
    client_visible: Mapped[bool] = mapped_column(default=False)
    mail_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("case_mails.id", ondelete="SET NULL"), index=True
    )


class VendorMailProfile(Base):
    """How a vendor is reached and recognised by mail: one row per vendor."""

    __tablename__ = "vendor_mail_profiles"

    vendor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), default="en")
    support_email: Mapped[str | None] = mapped_column(String(320))
    # The domains its mail comes from (the sender-domain signal of the ladder).
    mail_domains: Mapped[list[str]] = mapped_column(default=list)
    # Regexes with a (?P<number>...) group for its case numbers (hub.mail.case_numbers).
    case_number_patterns: Mapped[list[str]] = mapped_column(default=list)
    # hub.kit.business_clock.parse_calendar's shape; None: around the clock.
    calendar: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    sla_first_response: Mapped[str | None] = mapped_column(String(40))
    sla_resolution: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime | None]


class CaseAttachment(BigIntPk, Base):
    __tablename__ = "case_attachments"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendor_cases.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("case_events.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # Evidence the hub gathered is for the vendor and the client; a file a technician
    # adds later may be internal.
    client_visible: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class CaseMail(BigIntPk, Base):
    """Every case message, both ways. Outbound rows are the outbox: the bytes (and so the
    Message-ID) are fixed when queued and every attempt sends exactly them. Inbound rows
    keep the raw message, unique per dedupe key (Message-ID, else a hash)."""

    __tablename__ = "case_mails"
    __table_args__ = (
        UniqueConstraint("direction", "dedupe_key"),
        Index("ix_case_mails_state_next_attempt_at", "state", "next_attempt_at"),
    )

    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendor_cases.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[MailDirection] = mapped_column(str_enum(MailDirection, "mail_direction"))
    kind: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(500))
    state: Mapped[MailState] = mapped_column(str_enum(MailState, "mail_state"))
    sender: Mapped[str] = mapped_column(String(320), default="")
    recipients: Mapped[list[str]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(String(1000), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # Inbound: which signal of the ladder filed it (hub.mail.match.Signal).
    matched_by: Mapped[str | None] = mapped_column(String(30))


class TriageItem(BigIntPk, Base):
    """An inbound message the ladder would not file: a person assigns or dismisses it."""

    __tablename__ = "triage_items"

    mail_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("case_mails.id", ondelete="CASCADE"), unique=True
    )
    reason: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[TriageState] = mapped_column(
        str_enum(TriageState, "triage_state"), default=TriageState.open, index=True
    )
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("vendor_cases.id", ondelete="SET NULL"))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MailboxCursor(Base):
    """Where the IMAP poller of a mailbox folder got to (UIDVALIDITY, last UID)."""

    __tablename__ = "mailbox_cursors"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime | None]


class CaseVendorUpdate(BigIntPk, Base):
    """The ledger of a case's entries at the vendor's API: each vendor update filed once
    (unique on its id), and each of our comments from before it is sent (our reference)
    to the vendor's id of it. `state`: sending, sent, unknown (the answer was lost and
    the vendor's list does not show it yet), failed (refused), received (the vendor's)."""

    __tablename__ = "case_vendor_updates"
    __table_args__ = (UniqueConstraint("case_id", "update_id"), UniqueConstraint("case_id", "reference"))

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendor_cases.id", ondelete="CASCADE"))
    update_id: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(120))
    from_vendor: Mapped[bool] = mapped_column(default=True)
    state: Mapped[str] = mapped_column(String(12))
    event_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("case_events.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class CaseChaser(BigIntPk, Base):
    """The chaser ledger: one follow-up per case, resolution cycle and level, ever."""

    __tablename__ = "case_chasers"
    __table_args__ = (UniqueConstraint("case_id", "cycle", "level"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vendor_cases.id", ondelete="CASCADE"))
    cycle: Mapped[int]
    level: Mapped[int]
    sent_at: Mapped[datetime]
    mail_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("case_mails.id", ondelete="SET NULL"))
