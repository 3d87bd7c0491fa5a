"""API shapes of automatic renewals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from hub.api.crud import ListParams
from hub.jobs.payload import JobPayload, PeriodicPayload
from hub.kit.fields import Amount, CurrencyCode, NonNegativeAmount
from hub.kit.schema import Input, Output
from hub.models.enums import RenewalState


class RenewalPolicy(Input):
    """Limits the automatic renewal works within (used by the renewal executor)."""

    lead_days: int | None = Field(None, ge=0, le=365, description="order this many days before the end")
    max_price_increase_pct: Decimal | None = Field(None, ge=0, le=1000)
    approval_above: NonNegativeAmount | None = Field(None, description="ask an admin above this term cost")


class RenewalFilters(ListParams):
    state: RenewalState | None = None
    client_id: uuid.UUID | None = None
    subscription_id: uuid.UUID | None = None


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
    next_action_at: datetime | None
    decided_by: str | None
    version: int


class Decision(Input):
    version: int = Field(ge=1, description="the renewal's version as read (optimistic concurrency)")
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


class ControlsUpdate(Input):
    paused: bool | None = None
    paused_reason: str | None = Field(None, max_length=1000)
    lead_days: int | None = Field(None, ge=1, le=365)
    price_cap_pct: Amount | None = Field(None, ge=0, le=1000)
    approval_above: Amount | None = Field(None, ge=0)
    client_daily_cap: Amount | None = Field(None, ge=0)
    msp_daily_cap: Amount | None = Field(None, ge=0)
    cap_currency: CurrencyCode | None = None


class ForecastParams(Input):
    months: int = Field(12, ge=1, le=36)
    client_id: uuid.UUID | None = None
    format: str | None = Field(None, pattern="^(json|csv)$")


class ForecastLine(Output):  # money as the other reports show it (Amount)
    month: str
    client_id: uuid.UUID
    client_name: str
    kind: str
    item_id: uuid.UUID
    item: str
    renews_on: date
    renewal_type: str
    payer: str
    quantity: int
    cost: Amount
    currency: str


class ForecastMonth(Output):
    month: str
    totals: dict[str, Amount]


class Forecast(Output):
    months: int
    starts_on: date
    lines: list[ForecastLine]
    by_month: list[ForecastMonth]
    totals: dict[str, Amount]
    by_payer: dict[str, dict[str, Amount]]


# --- job payloads ----------------------------------------------------------------------


class AdvanceRenewal(JobPayload, kind="renewal.advance"):
    renewal_id: uuid.UUID


class PlanRenewals(PeriodicPayload, kind="renewal.plan"):
    """Hourly: plan every due auto-renew term and queue what is due."""


class TickRenewals(PeriodicPayload, kind="renewal.tick"):
    """Every minute: queue the renewals whose next action is due."""


class SweepRenewals(PeriodicPayload, kind="renewal.sweep"):
    """Every 15 minutes: the deadline ladder of renewals at risk."""
