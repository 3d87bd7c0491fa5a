"""Request and response shapes of links, link proposals and adoption."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, computed_field

from hub.kit.fields import Amount, NonNegativeAmount
from hub.kit.money import BillingPeriod
from hub.kit.schema import Input, Output, UpdateInput
from hub.link.engine import confidence
from hub.models.enums import Payer, RenewalType
from hub.models.link import ProposalState

# The vendor's id of one of its subscriptions, as sync stored it (no control characters).
VendorId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="the vendor's id of the subscription, as the connection's sync lists it",
    ),
]


class LinkRequest(UpdateInput):
    """Link a subscription to a vendor subscription the connection sees."""

    connection_id: uuid.UUID = Field(description="the connection that sees (and may order) it")
    external_id: VendorId


class UnlinkRequest(UpdateInput):
    """Forget a subscription's vendor link."""


class ProposalFilters(Input):
    state: ProposalState | None = Field(ProposalState.open, description="open ones unless asked otherwise")
    client_id: uuid.UUID | None = None
    connection_id: uuid.UUID | None = None
    subscription_id: uuid.UUID | None = None
    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)


class LinkProposalRead(Output):
    id: uuid.UUID
    subscription_id: uuid.UUID
    client_id: uuid.UUID
    connection_id: uuid.UUID
    external_id: str
    record_kind: str = Field(description="subscriptions or license_usage: what sync stored it as")
    score: int = Field(description="0-100: how well the two match")
    signals: list[str] = Field(description="what matched: sku, product, product_similar, quantity, dates")
    state: ProposalState
    detail: dict[str, Any] = Field(description="both sides as they were compared (vendor, hub)")
    last_proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def confidence(self) -> str:
        return confidence(self.score)


class UnknownFilters(Input):
    client_id: uuid.UUID | None = None
    connection_id: uuid.UUID | None = None
    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)


class AdoptionPreview(Output):
    """What adopting would create (before overrides); null where the vendor does not say."""

    client_id: uuid.UUID | None
    vendor_account_id: uuid.UUID | None
    product: str
    sku: str | None
    quantity: int
    unit_cost: Amount | None
    currency: str | None
    billing_period: BillingPeriod | None
    starts_on: date | None
    ends_on: date | None
    renewal_type: RenewalType
    payer: Payer
    needs: list[str] = Field(description="what the adopt call must add (e.g. unit_cost, vendor_account_id)")


class UnknownVendorSubscription(Output):
    connection_id: uuid.UUID
    connection_name: str
    external_id: str
    record_kind: str
    tenant_external_id: str | None
    client_id: uuid.UUID | None = Field(description="null: the vendor tenant is mapped to no client yet")
    first_seen_at: datetime
    open_proposals: int = Field(
        description="proposals to link it to an existing subscription: decide those first"
    )
    adopt: AdoptionPreview


class AdoptRequest(Input):
    """Create a hub subscription from a vendor subscription the hub does not know, linked
    to it: client from the tenant mapping, cost from the vendor's price, the rest from
    the vendor's record; each field here overrides what the record says."""

    connection_id: uuid.UUID
    external_id: VendorId
    confirm: Literal[True] = Field(
        description="true: create it (what GET /vendor-subscriptions/unknown previews)"
    )
    vendor_account_id: uuid.UUID | None = Field(
        None, description="the client's vendor account to hold it, when the hub cannot tell which"
    )
    product: str | None = Field(None, min_length=1, max_length=300)
    unit_cost: NonNegativeAmount | None = Field(None, description="required when the vendor gives no price")
    client_unit_price: NonNegativeAmount | None = None
    billing_period: BillingPeriod | None = None
    payer: Payer | None = Field(
        None, description="default: msp_resold (client_direct for a client's own connection)"
    )
    renewal_type: RenewalType | None = Field(
        None, description="default: auto_vendor when the vendor renews it by itself, else manual"
    )
    notice_days: int | None = Field(None, ge=0, le=3650)
