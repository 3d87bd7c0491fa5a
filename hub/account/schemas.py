from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field, SecretStr, model_validator

from hub.api.crud import ListParams
from hub.kit.fields import LongText, ShortText
from hub.kit.schema import Input, Output, UpdateInput
from hub.models.enums import VendorCategory

AccountNumber = str
_PIN = Field(
    None,
    min_length=1,
    max_length=200,
    description="write-only: stored encrypted, never returned; reveal is audited",
)


class VendorAccountCreate(Input):
    client_id: uuid.UUID
    vendor_id: uuid.UUID
    account_number: AccountNumber = Field(min_length=1, max_length=100)
    contract_number: str | None = Field(None, max_length=100)
    support_pin: SecretStr | None = _PIN
    account_holder: ShortText | None = None
    authorised_by: ShortText | None = Field(None, description="who may authorise changes")
    authorised_contact_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=20, description="the client's contacts who may authorise changes"
    )
    support_level: ShortText | None = Field(
        None,
        description="the contract's support level (matched to the vendor's sla_levels), e.g. \"Premier\"",
    )
    notice_email: EmailStr | None = Field(None, description="where the vendor sends notices")
    external_ref: str | None = Field(None, max_length=200, description="vendor-side tenant id")
    notes: LongText = ""


class VendorAccountUpdate(UpdateInput):
    account_number: AccountNumber | None = Field(None, min_length=1, max_length=100)
    contract_number: str | None = Field(None, max_length=100)
    support_pin: SecretStr | None = Field(
        None, max_length=200, description="write-only; an empty string clears it"
    )
    account_holder: ShortText | None = None
    authorised_by: ShortText | None = None
    authorised_contact_ids: list[uuid.UUID] | None = Field(None, max_length=20)
    support_level: ShortText | None = None
    notice_email: EmailStr | None = None
    external_ref: str | None = Field(None, max_length=200)
    notes: LongText | None = None


class VendorAccountClientRead(Output):
    """A client's account with a vendor as the client sees it: the numbers to quote on the
    phone; not the PIN's state, the vendor-side tenant id or the MSP's notes."""

    id: uuid.UUID
    client_id: uuid.UUID
    vendor_id: uuid.UUID
    account_number: str
    contract_number: str | None
    account_holder: str | None
    authorised_by: str | None
    authorised_contact_ids: list[uuid.UUID]
    support_level: str | None
    notice_email: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class VendorAccountRead(Output):
    id: uuid.UUID
    client_id: uuid.UUID
    vendor_id: uuid.UUID
    account_number: str
    contract_number: str | None
    support_pin_set: bool
    support_pin_changed_at: datetime | None
    account_holder: str | None
    authorised_by: str | None
    authorised_contact_ids: list[uuid.UUID]
    support_level: str | None
    notice_email: str | None
    external_ref: str | None
    notes: str
    created_at: datetime
    updated_at: datetime
    version: int

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, data: Any) -> Any:
        if hasattr(data, "support_pin_encrypted"):
            return {
                **{k: getattr(data, k) for k in cls.model_fields if hasattr(data, k)},
                "support_pin_set": data.support_pin_encrypted is not None,
            }
        return data


class VendorAccountFilters(ListParams):
    client_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    category: VendorCategory | None = Field(None, description="the vendor's category")
    q: str | None = Field(None, max_length=100, description="search account and contract numbers")


class RevealedPin(Output):
    vendor_account_id: uuid.UUID
    support_pin: str
