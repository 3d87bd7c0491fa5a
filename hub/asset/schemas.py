from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field, field_validator

from hub.api.crud import ListParams
from hub.kit.fields import Amount, CurrencyCode, LongText, Name, NonNegativeAmount, ShortText
from hub.kit.schema import Input, Output, UpdateInput, ends_after_start
from hub.models.enums import AssetKind, Payer, RecordSource, WarrantySource

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


class AssetClientRead(Output):
    """A device as its client sees it: no management address, no sync bookkeeping, no notes."""

    id: uuid.UUID
    client_id: uuid.UUID
    kind: AssetKind
    name: str
    manufacturer: str
    model: str | None
    serial: str | None
    firmware_version: str | None
    firmware_latest: str | None = Field(description="newest version the vendor offers (synced)")
    vendor_account_id: uuid.UUID | None
    location: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class AssetRead(AssetClientRead):
    management_address: str | None
    source: RecordSource
    external_id: str | None
    last_synced_at: datetime | None
    notes: str


class AssetFilters(ListParams):
    client_id: uuid.UUID | None = None
    kind: AssetKind | None = None
    manufacturer: str | None = Field(None, max_length=120)
    q: str | None = Field(None, max_length=100, description="search name, serial and model")


class WarrantyCreate(Input):
    asset_id: uuid.UUID
    level: ShortText = Field(min_length=1, max_length=120, description="e.g. ProSupport Plus 4H")
    starts_on: date
    ends_on: date
    source: WarrantySource = WarrantySource.manual
    notes: LongText = ""
    renewal_price: NonNegativeAmount | None = Field(
        None, description="what renewing it costs whoever pays (the client's price); forecast when set"
    )
    renewal_currency: CurrencyCode | None = Field(None, description="defaults to the client's currency")
    renewal_payer: Payer = Payer.msp_resold

    _ends_after_start = field_validator("ends_on")(ends_after_start)


class WarrantyUpdate(UpdateInput):
    level: ShortText | None = Field(None, min_length=1, max_length=120)
    starts_on: date | None = None
    ends_on: date | None = None
    notes: LongText | None = None
    renewal_price: NonNegativeAmount | None = None
    renewal_currency: CurrencyCode | None = None
    renewal_payer: Payer | None = None


class WarrantyClientRead(Output):
    id: uuid.UUID
    asset_id: uuid.UUID
    client_id: uuid.UUID
    level: str
    starts_on: date
    ends_on: date
    renewal_price: Amount | None
    renewal_currency: str | None
    renewal_payer: Payer
    created_at: datetime
    updated_at: datetime
    version: int


class WarrantyRead(WarrantyClientRead):
    source: WarrantySource
    last_checked_at: datetime | None
    notes: str


class WarrantyFilters(ListParams):
    asset_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    ends_within_days: int | None = Field(None, ge=0, le=3650)
