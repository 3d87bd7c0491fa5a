"""Response shapes of the reports, for the OpenAPI document. The endpoints build the JSON
directly (hot paths); tests check the two agree."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field

from hub.jobs.payload import PeriodicPayload
from hub.kit.schema import Input


class Ref(BaseModel):
    id: str
    name: str


class VendorRef(Ref):
    category: str


class AccountRef(BaseModel):
    id: str
    account_number: str


class ClientRef(BaseModel):
    id: str
    name: str
    slug: str


class ClientSummary(ClientRef):
    tier: str
    status: str
    default_currency: str
    timezone: str
    locale: str


class SpendLine(BaseModel):
    vendor: VendorRef
    account: AccountRef
    subscription_id: str
    product: str
    sku: str | None
    kind: str
    category: str
    quantity: int
    unit_cost: str
    currency: str
    billing_period: str
    period_cost: str
    monthly: str
    yearly: str
    client_unit_price: str | None
    client_period_price: str | None
    client_monthly: str | None
    payer: str
    starts_on: str
    ends_on: str | None
    cancel_by: str | None
    notice_days: int
    renewal_type: str
    lapsed: bool


class SpendTotal(BaseModel):
    currency: str
    lines: int
    monthly: str
    yearly: str
    client_monthly: str
    by_payer: dict[str, str]
    by_category: dict[str, str]


class SpendReport(BaseModel):
    client: ClientSummary
    as_of: str
    lines: list[SpendLine]
    totals: list[SpendTotal]


class ClientSpendLine(BaseModel):
    """A line as the client sees it: `pays` says whose price (vendor, msp, included); the
    prices are what the client pays, null where the managed-service fee covers it."""

    vendor: VendorRef
    account: AccountRef
    subscription_id: str
    product: str
    sku: str | None
    kind: str
    category: str
    quantity: int
    currency: str
    billing_period: str
    payer: str
    pays: str
    unit_price: str | None
    period_price: str | None
    monthly: str | None
    yearly: str | None
    starts_on: str
    ends_on: str | None
    cancel_by: str | None
    notice_days: int
    renewal_type: str
    lapsed: bool


class ClientSpendTotal(BaseModel):
    currency: str
    lines: int
    monthly: str
    yearly: str
    monthly_by_pays: dict[str, str]
    included_lines: int


class ClientSpendReport(BaseModel):
    client: ClientSummary
    as_of: str
    lines: list[ClientSpendLine]
    totals: list[ClientSpendTotal]


class UpcomingItem(BaseModel):
    kind: str
    id: str
    ends_on: str
    days_left: int
    client: ClientRef
    vendor: Ref | None
    title: str
    category: str | None
    cost: str | None
    currency: str | None
    billing_period: str | None
    monthly: str | None
    payer: str | None
    renewal_type: str | None
    cancel_by: str | None
    renewal_route_problem: str | None = Field(
        description="an auto-renew subscription that will escalate instead of ordering, and why "
        "(no vendor connection, no vendor subscription id, an adapter that cannot order)"
    )


class UpcomingPage(BaseModel):
    items: list[UpcomingItem]
    total: int
    limit: int
    offset: int
    within_days: int


# -- coverage snapshots (the quarterly review's history) -----------------------------------


class SnapshotCoverage(PeriodicPayload, kind="report.snapshot"):
    """Daily: today's coverage figures of every active client, one row per client per day
    (a second run the same day adds nothing)."""


class BackfillRequest(Input):
    """Derive the coverage of past days from the dates the hub keeps (days already
    snapshotted are left as they are)."""

    since: date | None = Field(None, description="first day; default: about two quarters ago")
    until: date | None = Field(None, description="last day, before today; default: yesterday")
    client_id: uuid.UUID | None = Field(None, description="one client; default: every active client")


class BackfillResult(BaseModel):
    clients: int
    days: int
    created: int = Field(description="rows added; days that had one already are not counted")
    since: date
    until: date
