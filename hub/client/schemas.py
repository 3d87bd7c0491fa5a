from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field, ValidationInfo, field_validator

from hub.api.crud import ListParams
from hub.kit.fields import CurrencyCode, LocaleName, LongText, Name, NonNegativeAmount, Slug, TimeZoneName
from hub.kit.schema import Input, Output, UpdateInput
from hub.models.enums import ClientStatus, ContactRole, ServiceTier
from hub.renewal.schemas import RenewalPolicy


class ClientRenewalPolicy(RenewalPolicy):
    """The client's overrides of the MSP's automatic-renewal policy."""

    client_daily_cap: NonNegativeAmount | None = Field(
        None, description="most automatic renewals may spend for this client in one day"
    )


class ClientCreate(Input):
    name: Name
    slug: Slug
    status: ClientStatus = ClientStatus.active
    tier: ServiceTier = ServiceTier.good
    timezone: TimeZoneName = "Europe/Rome"
    default_currency: CurrencyCode = "EUR"
    locale: LocaleName = "en"
    owner_user_id: uuid.UUID | None = None
    notes: LongText = ""
    renewal_policy: ClientRenewalPolicy = Field(default_factory=ClientRenewalPolicy)

    @field_validator("status")
    @classmethod
    def _not_archived(cls, status: ClientStatus) -> ClientStatus:
        if status is ClientStatus.archived:
            raise ValueError("a client cannot be created archived")
        return status


class ClientUpdate(UpdateInput):
    name: Name | None = None
    slug: Slug | None = None
    status: ClientStatus | None = Field(None, description="archive with DELETE, not here")
    tier: ServiceTier | None = None
    timezone: TimeZoneName | None = None
    default_currency: CurrencyCode | None = None
    locale: LocaleName | None = None
    owner_user_id: uuid.UUID | None = None
    notes: LongText | None = None
    renewal_policy: ClientRenewalPolicy | None = None


class ClientClientRead(Output):
    """What a client user sees of its own client record (no notes, owner, policy)."""

    id: uuid.UUID
    name: str
    slug: str
    status: ClientStatus
    tier: ServiceTier
    timezone: str
    default_currency: str
    locale: str
    created_at: datetime
    updated_at: datetime
    version: int


class ClientRead(ClientClientRead):
    owner_user_id: uuid.UUID | None
    notes: str
    renewal_policy: dict[str, Any]
    archived_at: datetime | None


class ClientFilters(ListParams):
    status: ClientStatus | None = None
    tier: ServiceTier | None = None
    q: str | None = Field(None, max_length=100, description="search in name and slug")
    include_archived: bool = False


class ContactCreate(Input):
    client_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = Field(None, validate_default=True)
    name: Name
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=40, pattern=r"^[0-9+()./ -]{3,40}$")
    roles: list[ContactRole] = Field(default_factory=list)
    escalation_level: int | None = Field(None, ge=1, le=9)
    notes: LongText = ""

    @field_validator("vendor_id")
    @classmethod
    def _one_owner(cls, vendor_id: uuid.UUID | None, info: ValidationInfo) -> uuid.UUID | None:
        if "client_id" in info.data and (info.data["client_id"] is None) == (vendor_id is None):
            raise ValueError("set exactly one of client_id (a client's person) or vendor_id (a vendor's)")
        return vendor_id


class ContactUpdate(UpdateInput):
    name: Name | None = None
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=40, pattern=r"^[0-9+()./ -]{3,40}$")
    roles: list[ContactRole] | None = None
    escalation_level: int | None = Field(None, ge=1, le=9)
    notes: LongText | None = None


class ContactClientRead(Output):
    id: uuid.UUID
    client_id: uuid.UUID | None
    vendor_id: uuid.UUID | None
    name: str
    email: str | None
    phone: str | None
    roles: list[str]
    escalation_level: int | None
    created_at: datetime
    updated_at: datetime
    version: int


class ContactRead(ContactClientRead):
    notes: str


class ContactFilters(ListParams):
    client_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    role: ContactRole | None = None
    q: str | None = Field(None, max_length=100)
