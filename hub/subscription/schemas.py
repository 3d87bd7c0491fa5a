from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, computed_field, field_validator, model_validator

from hub.api.crud import ListParams
from hub.kit.fields import Amount, CurrencyCode, LongText, NonNegativeAmount, one_line
from hub.kit.money import BillingPeriod, monthly, yearly
from hub.kit.schema import Input, Output, UpdateInput, ends_after_start
from hub.models.enums import (
    Payer,
    RecordSource,
    RenewalType,
    SubscriptionKind,
    SubscriptionStatus,
    TermRenewedBy,
    VendorCategory,
)
from hub.renewal.schemas import RenewalPolicy
from hub.terms.client_view import Pays, figures
from hub.terms.engine import cancel_by

Quantity = int
Product = Annotated[str, AfterValidator(one_line)]
OneLineSku = Annotated[str, AfterValidator(one_line), Field(max_length=120)]


class PageCounter(StrEnum):
    total = "total"
    mono = "mono"
    colour = "colour"


class PrintAllowance(Input):
    """Pay-per-print terms of a printer's plan (a managed print contract): the pages the
    current term includes and the price of each page over them. Usage is computed from the
    printer's synced page counters (`GET /subscriptions/{id}/print-usage`)."""

    asset_id: uuid.UUID = Field(description="the printer (an asset of the same client)")
    allowance_pages: int = Field(ge=0, le=1_000_000_000, description="pages included in the current term")
    price_per_page: NonNegativeAmount = Field(description="price of each page over the allowance")
    counter: PageCounter = Field(PageCounter.total, description="which counter the allowance is on")
    start_count: int | None = Field(
        None,
        ge=0,
        le=10**12,
        description="the counter at the start of the current term, if someone read it; "
        "otherwise the first reading synced in the term is used",
    )


class SubscriptionCreate(Input):
    vendor_account_id: uuid.UUID
    category: VendorCategory | None = Field(None, description="defaults to the vendor's category")
    kind: SubscriptionKind = SubscriptionKind.licence
    product: Product = Field(min_length=1, max_length=300)
    sku: OneLineSku | None = None
    quantity: Quantity = Field(1, ge=0, le=1_000_000)
    unit_cost: NonNegativeAmount = Field(description="cost of one unit for one billing period")
    client_unit_price: NonNegativeAmount | None = Field(
        None, description="what the client is billed per unit and period"
    )
    currency: CurrencyCode | None = Field(None, description="defaults to the client's currency")
    billing_period: BillingPeriod
    payer: Payer
    starts_on: date
    ends_on: date | None = Field(None, description="end of the current term; null for rolling")
    renewal_type: RenewalType = RenewalType.manual
    notice_days: int = Field(0, ge=0, le=3650)
    renewal_policy: RenewalPolicy = Field(default_factory=RenewalPolicy)
    print_allowance: PrintAllowance | None = Field(None, description="pay-per-print terms of a printer plan")
    notes: LongText = ""

    _ends_after_start = field_validator("ends_on")(ends_after_start)


class SubscriptionUpdate(UpdateInput):
    """Corrects the current term; to record a renewal, add a term instead."""

    category: VendorCategory | None = None
    kind: SubscriptionKind | None = None
    product: Product | None = Field(None, min_length=1, max_length=300)
    sku: OneLineSku | None = None
    quantity: Quantity | None = Field(None, ge=0, le=1_000_000)
    unit_cost: NonNegativeAmount | None = None
    client_unit_price: NonNegativeAmount | None = None
    currency: CurrencyCode | None = None
    billing_period: BillingPeriod | None = None
    payer: Payer | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    renewal_type: RenewalType | None = None
    notice_days: int | None = Field(None, ge=0, le=3650)
    renewal_policy: RenewalPolicy | None = None
    print_allowance: PrintAllowance | None = Field(None, description="null: no longer a print plan")
    status: SubscriptionStatus | None = None
    notes: LongText | None = None

    _ends_after_start = field_validator("ends_on")(ends_after_start)


class SubscriptionRead(Output):
    id: uuid.UUID
    client_id: uuid.UUID
    vendor_account_id: uuid.UUID
    category: VendorCategory
    kind: SubscriptionKind
    product: str
    sku: str | None
    quantity: int
    seats_used: int | None = Field(description="seats in use as the vendor last reported them (synced)")
    unit_cost: Amount
    client_unit_price: Amount | None
    currency: str
    billing_period: BillingPeriod
    payer: Payer
    starts_on: date
    ends_on: date | None
    renewal_type: RenewalType
    notice_days: int
    renewal_policy: dict[str, Any]
    print_allowance: dict[str, Any] | None
    status: SubscriptionStatus
    cancelled_at: datetime | None
    source: RecordSource
    connection_id: uuid.UUID | None = Field(
        description="the connection it is linked through (renewals order there)"
    )
    external_id: str | None = Field(description="the vendor's id of the linked vendor subscription")
    last_synced_at: datetime | None
    notes: str
    created_at: datetime
    updated_at: datetime
    version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def period_cost(self) -> Amount:
        return self.unit_cost * self.quantity

    @computed_field  # type: ignore[prop-decorator]
    @property
    def monthly(self) -> Amount:
        return monthly(self.period_cost, self.billing_period)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def yearly(self) -> Amount:
        return yearly(self.period_cost, self.billing_period)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cancel_by(self) -> date | None:
        return cancel_by(self.ends_on, self.notice_days)


class SubscriptionClientRead(Output):
    """A subscription as its client sees it (hub.terms.client_view): what the client pays
    (`pays`: the vendor's price, the MSP's price, or included in the managed-service fee),
    never the MSP's cost, renewal policy, sync bookkeeping or notes."""

    id: uuid.UUID
    client_id: uuid.UUID
    vendor_account_id: uuid.UUID
    category: VendorCategory
    kind: SubscriptionKind
    product: str
    sku: str | None
    quantity: int
    seats_used: int | None
    currency: str
    billing_period: BillingPeriod
    payer: Payer
    pays: Pays
    unit_price: Amount | None = Field(
        description="what the client pays per unit and period; null if included"
    )
    period_price: Amount | None
    monthly: Amount | None
    yearly: Amount | None
    starts_on: date
    ends_on: date | None
    cancel_by: date | None
    renewal_type: RenewalType
    notice_days: int
    status: SubscriptionStatus
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @model_validator(mode="before")
    @classmethod
    def _project(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        f = figures(data.payer, data.unit_cost, data.client_unit_price, data.quantity, data.billing_period)
        return {
            **{k: getattr(data, k) for k in cls.model_fields if hasattr(data, k) and k != "monthly"},
            "pays": f.pays,
            "unit_price": f.unit_price,
            "period_price": f.period_price,
            "monthly": f.monthly,
            "yearly": f.yearly,
            "cancel_by": cancel_by(data.ends_on, data.notice_days),
        }


class SubscriptionFilters(ListParams):
    client_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    vendor_account_id: uuid.UUID | None = None
    category: VendorCategory | None = None
    payer: Payer | None = None
    renewal_type: RenewalType | None = None
    status: SubscriptionStatus | None = None
    currency: CurrencyCode | None = None
    ends_within_days: int | None = Field(None, ge=0, le=3650, description="ends between today and today + N")
    q: str | None = Field(None, max_length=100, description="search product and SKU")


class TermCreate(Input):
    """Record a renewal: a new term appended to the history."""

    version: int = Field(ge=1, description="the subscription version you read")
    starts_on: date | None = Field(None, description="defaults to the day after the current term ends")
    ends_on: date
    quantity: Quantity | None = Field(None, ge=0, le=1_000_000)
    unit_cost: NonNegativeAmount | None = None
    note: LongText = ""


class TermClientRead(Output):
    """A past or current term as the client sees it: its own price only when it pays the
    vendor directly (the term records the vendor's price)."""

    id: int
    subscription_id: uuid.UUID
    starts_on: date
    ends_on: date | None
    quantity: int
    unit_price: Amount | None
    currency: str
    renewed_by: TermRenewedBy
    created_at: datetime


class TermRead(Output):
    id: int
    subscription_id: uuid.UUID
    starts_on: date
    ends_on: date | None
    quantity: int
    unit_cost: Amount
    currency: str
    renewed_by: TermRenewedBy
    note: str
    created_at: datetime


class CounterReading(Output):
    count: int
    read_at: datetime | None
    source: str = Field(description="manual (start_count) or synced")


class PrintUsage(Output):
    """Pages used in the current term of a printer plan against its allowance. `status`:
    within, over, not_a_print_plan, no_printer (the asset is gone), or no_reading (no
    counter synced in the term yet)."""

    subscription_id: uuid.UUID
    status: str
    term_starts_on: date
    term_ends_on: date | None
    asset_id: uuid.UUID | None
    serial: str | None
    counter: PageCounter | None
    start: CounterReading | None
    latest: CounterReading | None
    pages_used: int | None
    allowance_pages: int | None
    overage_pages: int | None
    remaining_pages: int | None
    price_per_page: Amount | None
    overage_cost: Amount | None
    currency: str
    counter_reset: bool = Field(
        description="the counter went backwards (board replaced): pages_used is a lower bound"
    )
