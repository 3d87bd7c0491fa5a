"""API shapes of automatic renewals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator

from hub.api.crud import ListParams
from hub.jobs.payload import JobPayload, PeriodicPayload
from hub.kit.fields import Amount, CurrencyCode, NonNegativeAmount, ShortText
from hub.kit.schema import Input, Output
from hub.models.enums import RenewalResolution, RenewalState


class RenewalPolicy(Input):
    """Limits the automatic renewal works within (used by the renewal executor)."""

    lead_days: int | None = Field(None, ge=0, le=365, description="order this many days before the end")
    max_price_increase_pct: Decimal | None = Field(None, ge=0, le=1000)
    approval_above: NonNegativeAmount | None = Field(None, description="ask an admin above this term cost")


class RenewalFilters(ListParams):
    state: RenewalState | None = None
    client_id: uuid.UUID | None = None
    subscription_id: uuid.UUID | None = None


class RenewalClientRead(Output):
    """A renewal as its client sees it: which term, where it stands and the new end;
    not the MSP's quotes, order references, attempts or errors."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    client_id: uuid.UUID
    term_ends_on: date
    state: RenewalState
    quantity: int
    confirmed_at: datetime | None
    new_term_ends_on: date | None
    version: int


class ApprovalClientView(Output):
    """What a signed approval link shows the client: the renewal, what it is for and what
    the client will pay (hub.terms.client_view), until when the link works."""

    renewal: RenewalClientRead
    product: str
    vendor: str
    quantity: int
    billing_period: str
    currency: str
    pays: str
    unit_price: Amount | None
    period_price: Amount | None
    expires_at: str


class RenewalRead(Output):
    id: uuid.UUID
    subscription_id: uuid.UUID
    client_id: uuid.UUID
    term_ends_on: date
    state: RenewalState
    reason: str | None
    order_reference: str = Field(validation_alias="idempotency_key")
    vendor_order_ref: str | None
    quantity: int
    previous_unit_cost: Amount | None
    quoted_price: Amount | None
    quoted_total: Amount | None
    currency: str | None
    attempts: int
    reconcile_attempts: int
    last_error: str | None
    submitted_at: datetime | None
    confirmed_at: datetime | None
    escalated_at: datetime | None
    new_term_ends_on: date | None
    registration_code: str | None = Field(
        description="the contract code the order delivered, once registered against the unit"
    )
    registered_at: datetime | None
    next_action_at: datetime | None
    decided_by: str | None
    margin_warning: str | None = Field(
        description="a resold item quoted above what the client pays (said before ordering)"
    )
    resolution: RenewalResolution | None = Field(description="how a person closed it (state resolved)")
    version: int


class Decision(Input):
    version: int = Field(ge=1, description="the renewal's version as read (optimistic concurrency)")
    note: str | None = Field(None, max_length=1000)


class Resolution(Input):
    """Close a renewal the hub will not finish, with what really happened."""

    version: int = Field(ge=1, description="the renewal's version as read (optimistic concurrency)")
    outcome: RenewalResolution = Field(
        description="renewed_outside: renewed by hand or by the vendor (the new term is recorded); "
        "will_not_renew: the subscription ends with this term (its auto-renew is turned off)"
    )
    ends_on: date | None = Field(None, description="renewed_outside: when the new term ends")
    starts_on: date | None = Field(None, description="renewed_outside: default the day after the old term")
    quantity: int | None = Field(None, ge=0, le=1_000_000, description="renewed_outside: default unchanged")
    unit_cost: NonNegativeAmount | None = Field(None, description="renewed_outside: default unchanged")
    renewed_by: Literal["manual", "auto_vendor"] = Field(
        "manual", description="how: by hand (portal, phone) or by the vendor on its own"
    )
    note: str | None = Field(None, max_length=1000)


class Confirmation(Input):
    """A person confirms a renewal ordered by e-mail: the distributor confirmed the order."""

    version: int = Field(ge=1, description="the renewal's version as read (optimistic concurrency)")
    ends_on: date = Field(description="when the renewed term ends, as the distributor confirmed it")
    note: str | None = Field(None, max_length=1000)


class ControlsRead(Output):
    paused: bool
    paused_reason: str | None
    paused_by: str | None
    paused_at: datetime | None
    lead_days: int
    price_cap_pct: Amount
    approval_above: Amount | None
    client_daily_cap: Amount | None
    msp_daily_cap: Amount | None
    cap_currency: str
    approve_negative_margin: bool = Field(
        description="a resold item quoted above the client's price waits for an admin's approval"
    )


class ControlsUpdate(Input):
    paused: bool | None = None
    paused_reason: str | None = Field(None, max_length=1000)
    lead_days: int | None = Field(None, ge=1, le=365)
    price_cap_pct: Amount | None = Field(None, ge=0, le=1000)
    approval_above: Amount | None = Field(None, ge=0)
    client_daily_cap: Amount | None = Field(None, ge=0)
    msp_daily_cap: Amount | None = Field(None, ge=0)
    cap_currency: CurrencyCode | None = None
    approve_negative_margin: bool | None = Field(
        None, description="hold renewals quoted above the client's price for approval (default true)"
    )

    @field_validator("approve_negative_margin", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Leaving it out keeps it; null is not a setting.
        if value is None:
            raise ValueError("must be true or false (leave it out to keep it)")
        return value


class ForecastParams(Input):
    months: int = Field(12, ge=1, le=36)
    client_id: uuid.UUID | None = None
    format: str | None = Field(None, pattern="^(json|csv)$")


class ForecastLine(Output):  # money as the other reports show it (Amount), in cents
    month: str
    client_id: uuid.UUID
    client_name: str
    vendor_id: uuid.UUID | None
    vendor_name: str | None
    kind: str = Field(description="subscription, warranty (extension) or domain (a year's renewal)")
    item_id: uuid.UUID
    item: str
    renews_on: date
    renewal_type: str
    payer: str
    pays: str = Field(description="whose price: vendor, msp (resold) or included")
    quantity: int
    cost: Amount = Field(description="the MSP's cost for staff; what the client pays for a client user")
    currency: str


class ForecastMonth(Output):
    month: str
    totals: dict[str, Amount]


class ForecastClientTotal(Output):
    client_id: uuid.UUID
    client_name: str
    totals: dict[str, Amount]


class ForecastVendorTotal(Output):
    vendor_id: uuid.UUID | None
    vendor_name: str | None
    totals: dict[str, Amount]


class Forecast(Output):
    months: int
    starts_on: date
    lines: list[ForecastLine]
    by_month: list[ForecastMonth]
    totals: dict[str, Amount]
    by_payer: dict[str, dict[str, Amount]]
    by_client: list[ForecastClientTotal]
    by_vendor: list[ForecastVendorTotal]


# --- job payloads ----------------------------------------------------------------------


class AdvanceRenewal(JobPayload, kind="renewal.advance"):
    renewal_id: uuid.UUID


class SendPurchaseOrder(JobPayload, kind="renewal.purchase_order"):
    """Compose a renewal's purchase order and put it in the case outbox (hub.case does it:
    the case module owns case mail). Queued with the send's compare-and-set."""

    renewal_id: uuid.UUID


class SettlePurchaseOrder(JobPayload, kind="renewal.purchase_order_settled"):
    """The renewal of a purchase order was confirmed: its thread is resolved."""

    renewal_id: uuid.UUID


class PlanRenewals(PeriodicPayload, kind="renewal.plan"):
    """Hourly: plan every due auto-renew term and queue what is due."""


class TickRenewals(PeriodicPayload, kind="renewal.tick"):
    """Every minute: queue the renewals whose next action is due."""


class SweepRenewals(PeriodicPayload, kind="renewal.sweep"):
    """Every 15 minutes: the deadline ladder of renewals at risk."""


# --- renewal routes --------------------------------------------------------------------------


class RouteUpdate(Input):
    """Where to order, register and confirm this subscription's renewals."""

    order_by: Literal["api", "email"] = Field(
        "api",
        description="api: through the ordering connection; email: a purchase order mailed to a "
        "distributor without an API (confirmed by its reply or a read-back)",
    )
    order_connection_id: uuid.UUID | None = Field(
        None, description="order_by api: the connection that orders (its adapter can renew)"
    )
    order_ref: ShortText = Field(
        min_length=1,
        max_length=200,
        description="the vendor subscription (or domain) to renew there; by e-mail: the distributor's "
        "article or contract the purchase order names",
    )
    po_email: str | None = Field(
        None,
        max_length=320,
        description="order_by email: where the order goes (default: the distributor's mail profile address)",
    )
    po_account_id: uuid.UUID | None = Field(
        None, description="order_by email: the client's account at the distributor"
    )
    po_unit_price: NonNegativeAmount | None = Field(
        None, description="order_by email: the price per unit (default: the last term's unit cost)"
    )
    order_tenant_ref: str | None = Field(
        None,
        max_length=200,
        description="the customer at the ordering vendor (default: the vendor account's ref)",
    )
    confirm_connection_id: uuid.UUID | None = Field(
        None, description="read the new term back here (its adapter offers term_readback)"
    )
    confirm_ref: str | None = Field(None, min_length=1, max_length=200, description="what to read back there")
    register_connection_id: uuid.UUID | None = Field(
        None, description="register the contract code the order delivers here (e.g. FortiCare)"
    )
    register_serial: str | None = Field(
        None, min_length=1, max_length=100, description="the unit to register it on"
    )


class RouteRead(Output):
    """The route in effect: stored, or the subscription's own connection by default."""

    subscription_id: uuid.UUID
    explicit: bool = Field(description="false: ordered and confirmed at the subscription's own connection")
    order_by: str
    order_connection_id: uuid.UUID | None
    order_ref: str | None
    order_tenant_ref: str | None
    confirm_connection_id: uuid.UUID | None
    confirm_ref: str | None
    register_connection_id: uuid.UUID | None
    register_serial: str | None
    po_email: str | None
    po_account_id: uuid.UUID | None
    po_unit_price: Amount | None
    problem: str | None = Field(description="why nothing could order this renewal now (it would escalate)")
