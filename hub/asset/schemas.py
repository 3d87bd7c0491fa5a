from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field, field_validator

from hub.api.crud import ListParams
from hub.kit.fields import LongText, Name, ShortText
from hub.kit.schema import Input, Output, UpdateInput, ends_after_start
from hub.models.enums import AssetKind, RecordSource, WarrantySource

Serial = str


class AssetCreate(Input):
    client_id: uuid.UUID
    kind: AssetKind
    name: Name
    manufacturer: str = Field(min_length=1, max_length=120)
    model: str | None = Field(None, max_length=200)
    serial: Serial | None = Field(None, min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._/-]+$")
    firmware_version: str | None = Field(None, max_length=80)
    management_address: ShortText | None = None
    vendor_account_id: uuid.UUID | None = Field(None, description="support contract account")
    location: str | None = Field(None, max_length=200)
    notes: LongText = ""


class AssetUpdate(UpdateInput):
    kind: AssetKind | None = None
    name: Name | None = None
    manufacturer: str | None = Field(None, min_length=1, max_length=120)
    model: str | None = Field(None, max_length=200)
    serial: Serial | None = Field(None, min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._/-]+$")
    firmware_version: str | None = Field(None, max_length=80)
    management_address: ShortText | None = None
    vendor_account_id: uuid.UUID | None = None
    location: str | None = Field(None, max_length=200)
    notes: LongText | None = None


class AssetRead(Output):
    id: uuid.UUID
    client_id: uuid.UUID
    kind: AssetKind
    name: str
    manufacturer: str
    model: str | None
    serial: str | None
    firmware_version: str | None
    firmware_latest: str | None = Field(description="newest version the vendor offers (synced)")
    management_address: str | None
    vendor_account_id: uuid.UUID | None
    location: str | None
    source: RecordSource
    external_id: str | None
    last_synced_at: datetime | None
    notes: str
    created_at: datetime
    updated_at: datetime
    version: int


class AssetFilters(ListParams):
    client_id: uuid.UUID | None = None
    kind: AssetKind | None = None
    manufacturer: str | None = Field(None, max_length=120)
    q: str | None = Field(None, max_length=100, description="search name, serial and model")


class WarrantyCreate(Input):
    asset_id: uuid.UUID
    level: str = Field(min_length=1, max_length=120, description="e.g. ProSupport Plus 4H")
    starts_on: date
    ends_on: date
    source: WarrantySource = WarrantySource.manual
    notes: LongText = ""

    _ends_after_start = field_validator("ends_on")(ends_after_start)


class WarrantyUpdate(UpdateInput):
    level: str | None = Field(None, min_length=1, max_length=120)
    starts_on: date | None = None
    ends_on: date | None = None
    notes: LongText | None = None


class WarrantyRead(Output):
    id: uuid.UUID
    asset_id: uuid.UUID
    client_id: uuid.UUID
    level: str
    starts_on: date
    ends_on: date
    source: WarrantySource
    last_checked_at: datetime | None
    notes: str
    created_at: datetime
    updated_at: datetime
    version: int


class WarrantyFilters(ListParams):
    asset_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    ends_within_days: int | None = Field(None, ge=0, le=3650)
