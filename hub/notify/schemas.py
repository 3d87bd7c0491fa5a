from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, EmailStr, Field, computed_field, field_validator

from hub.api.crud import ListParams
from hub.jobs.payload import PeriodicPayload
from hub.kit.fields import Name
from hub.kit.schema import Input, Output, UpdateInput
from hub.models.notify import NoticeState
from hub.notify import signing
from hub.terms.engine import SubjectType, validate_ladder

WebhookUrl = str
LadderScope = Literal["category", "subscription", "warranty", "domain", "endpoint"]


def _secret(value: str | None) -> str | None:
    if value is not None:
        signing.secret_key(value)
    return value


def _url(value: str | None) -> str | None:
    if value is not None and not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


class NoticeRead(Output):
    id: int
    subject_type: str
    subject_id: str
    client_id: uuid.UUID | None
    threshold: str
    state: NoticeState
    days: int = Field(description="days before the deadline; negative: days after the end")
    due_on: date | None
    ends_on: date | None
    summary: str
    created_at: datetime
    sent_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    snoozed_until: datetime | None


class NoticeFilters(ListParams):
    client_id: uuid.UUID | None = None
    subject_type: SubjectType | None = None
    subject_id: str | None = Field(None, max_length=64)
    state: NoticeState | None = None
    open: bool | None = Field(None, description="true: not acknowledged and not snoozed now")


class Snooze(Input):
    until: AwareDatetime = Field(
        description="no reminder for this term before this instant (with a time zone)"
    )


class WebhookCreate(Input):
    client_id: uuid.UUID | None = Field(None, description="only this client's reminders; null: every client")
    name: Name
    url: WebhookUrl = Field(min_length=1, max_length=2000, description="must be on HUB_WEBHOOK_ALLOWED_HOSTS")
    secret: str = Field(
        min_length=1, max_length=200, description="whsec_ + base64 of 24-64 bytes (write-only)"
    )
    active: bool = True

    _check_secret = field_validator("secret")(_secret)
    _check_url = field_validator("url")(_url)


class WebhookUpdate(UpdateInput):
    name: Name | None = None
    url: WebhookUrl | None = Field(None, min_length=1, max_length=2000)
    secret: str | None = Field(None, min_length=1, max_length=200)
    active: bool | None = None

    _check_secret = field_validator("secret")(_secret)
    _check_url = field_validator("url")(_url)


class WebhookRead(Output):
    id: uuid.UUID
    client_id: uuid.UUID | None
    name: str
    url: str
    active: bool
    secret_changed_at: datetime
    created_at: datetime
    updated_at: datetime
    version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def secret_set(self) -> bool:
        return True


class WebhookFilters(ListParams):
    client_id: uuid.UUID | None = None


class FeedCreate(Input):
    name: Name
    client_id: uuid.UUID | None = Field(None, description="a feed of this client's renewals")
    user_id: uuid.UUID | None = Field(None, description="a feed of the clients this user owns")
    expires_at: datetime | None = Field(
        None,
        description="when the URL stops working; a feed of every client (admin only) gets "
        "HUB_ALL_CLIENT_FEED_DAYS (90 days) unless given",
    )


class FeedClientRead(Output):
    """A client's calendar feed as the client sees it (not who of the MSP made it)."""

    id: uuid.UUID
    name: str
    client_id: uuid.UUID | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None


class FeedRead(FeedClientRead):
    user_id: uuid.UUID | None
    created_by: str


class FeedCreated(FeedRead):
    token: str = Field(description="shown once; only its hash is stored")
    url: str


class FeedFilters(ListParams):
    client_id: uuid.UUID | None = None
    include_revoked: bool = False


class LadderSet(Input):
    scope: LadderScope
    key: str = Field(
        min_length=1, max_length=64, description="a vendor category / kind of item, or an item id"
    )
    days: list[int] | None = Field(
        None, description="days before the deadline (negative: after the end); null restores the default"
    )

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[int] | None) -> list[int] | None:
        return list(validate_ladder(value)) if value is not None else None


class LadderRead(Output):
    scope: str
    key: str
    days: list[int]
    custom: bool


class ReminderTest(Input):
    channel: Literal["email", "webhook"]
    to: EmailStr | None = Field(None, description="for email: the address to send to")
    webhook_id: uuid.UUID | None = Field(None, description="for webhook: the endpoint to call")


class ReminderTestOutcome(Output):
    channel: str
    target: str
    delivered: bool
    status_code: int | None = None
    detail: str


class RunOutcome(Output):
    subjects: int
    issued: int
    skipped: int
    deliveries: int


# --- job payloads ----------------------------------------------------------------------


class RunReminders(PeriodicPayload, kind="notify.remind"):
    """Hourly: record the reminders due now and queue their deliveries."""


class SendDigests(PeriodicPayload, kind="notify.digest"):
    """Daily: one e-mail per recipient with what is queued."""


class DeliverWebhooks(PeriodicPayload, kind="notify.deliver"):
    """Every minute: webhook deliveries due now."""
