"""The automatic-renewal policy: MSP defaults (RenewalControls), overridden per client
(Client.renewal_policy) and per subscription (Subscription.renewal_policy), and the pure
decision a quote gets against it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.kit.fields import Amount
from hub.kit.money import format_amount
from hub.models.enums import Payer


class PolicyOverrides(BaseModel):
    """What a client or a subscription may override (every field optional). The stored
    JSON was validated by the API (hub.subscription.schemas.RenewalPolicy and the
    client's); keys this version does not know are ignored, not fatal."""

    model_config = ConfigDict(extra="ignore")

    lead_days: int | None = Field(default=None, ge=0, le=365)
    max_price_increase_pct: Amount | None = Field(default=None, ge=0, le=1000)
    approval_above: Amount | None = Field(default=None, ge=0)
    client_daily_cap: Amount | None = Field(default=None, ge=0)


@dataclass(frozen=True)
class Policy:
    lead_days: int = 14
    price_cap_pct: Decimal = Decimal("10")
    approval_above: Decimal | None = None
    client_daily_cap: Decimal | None = None
    msp_daily_cap: Decimal | None = None
    cap_currency: str = "EUR"
    # A resold item quoted above what the client pays waits for a person: ordering commits
    # the MSP to a whole term at a loss it cannot pass on (the client's price is agreed),
    # and the rise cap compares with the last term's cost, not with the client's price.
    # Approving is one click; an MSP that reprices its clients afterwards turns it off.
    approve_negative_margin: bool = True

    def overridden(self, overrides: dict[str, Any] | None) -> Policy:
        if not overrides:
            return self
        values = PolicyOverrides.model_validate(overrides).model_dump()
        values["price_cap_pct"] = values.pop("max_price_increase_pct")
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def _plain(value: Decimal) -> str:
    """10.0000 -> "10", 12.5 -> "12.5"."""
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class Decision:
    approved: bool
    reason: str | None = None
    # Said whether or not it holds the renewal back: shown on the renewal and in the
    # approval request.
    margin_warning: str | None = None


@dataclass(frozen=True)
class Resale:
    """What the client pays for the item: who pays the vendor, and the client's unit price
    (per unit and billing period, like the quote) in the subscription's currency."""

    payer: Payer
    client_unit_price: Decimal | None
    currency: str


def margin_warning(resale: Resale | None, *, unit_price: Decimal, quantity: int, currency: str) -> str | None:
    """A resold item quoted above the client's price (a loss on every unit), or priced in a
    currency the client's price cannot be compared with; None when the margin holds or
    there is nothing to compare (not resold, no client price recorded)."""
    if resale is None or resale.payer is not Payer.msp_resold or resale.client_unit_price is None:
        return None
    if currency != resale.currency:
        return (
            f"quoted in {currency}, the client pays {format_amount(resale.client_unit_price)} "
            f"{resale.currency}: the margin cannot be checked"
        )
    if unit_price <= resale.client_unit_price:
        return None
    loss = unit_price - resale.client_unit_price
    return (
        f"negative margin: quoted unit price {format_amount(unit_price)} {currency} is above the client's "
        f"price {format_amount(resale.client_unit_price)} {currency}, a loss of {format_amount(loss)} per "
        f"unit ({format_amount(loss * quantity)} {currency} for {quantity})"
    )


def decide(
    policy: Policy,
    *,
    unit_price: Decimal,
    quantity: int,
    currency: str,
    previous_unit_cost: Decimal | None,
    client_spent_today: Decimal,
    msp_spent_today: Decimal,
    resale: Resale | None = None,
) -> Decision:
    """Whether a quoted renewal may be ordered without a person approving it, and its
    margin warning (a resold item quoted above the client's price).

    Each rule that holds it back says why, in the words the approver will read."""
    warning = margin_warning(resale, unit_price=unit_price, quantity=quantity, currency=currency)
    held = _held_back(
        policy,
        unit_price=unit_price,
        quantity=quantity,
        currency=currency,
        previous_unit_cost=previous_unit_cost,
        client_spent_today=client_spent_today,
        msp_spent_today=msp_spent_today,
    )
    if held is None and warning is not None and policy.approve_negative_margin:
        held = warning
    return Decision(held is None, held, warning)


def _held_back(
    policy: Policy,
    *,
    unit_price: Decimal,
    quantity: int,
    currency: str,
    previous_unit_cost: Decimal | None,
    client_spent_today: Decimal,
    msp_spent_today: Decimal,
) -> str | None:
    """The first price or spending rule that holds the renewal back, in words."""
    total = unit_price * quantity
    if previous_unit_cost is not None and previous_unit_cost > 0:
        rise = (unit_price - previous_unit_cost) / previous_unit_cost * 100
        if rise > policy.price_cap_pct:
            return (
                f"unit price rose {rise.quantize(Decimal('0.1'))}% ({format_amount(previous_unit_cost)} -> "
                f"{format_amount(unit_price)} {currency}), above the {_plain(policy.price_cap_pct)}% cap"
            )
    caps_apply = any(
        cap is not None for cap in (policy.approval_above, policy.client_daily_cap, policy.msp_daily_cap)
    )
    if caps_apply and currency != policy.cap_currency:
        # No exchange rates in the hub: a cap in another currency cannot be checked safely.
        return f"priced in {currency}, caps are in {policy.cap_currency}: needs approval"
    if policy.approval_above is not None and total > policy.approval_above:
        return f"total {total} {currency} is above the approval threshold {policy.approval_above}"
    if policy.client_daily_cap is not None and client_spent_today + total > policy.client_daily_cap:
        return (
            f"would bring today's renewals for this client to {client_spent_today + total} {currency}, "
            f"above the daily cap {policy.client_daily_cap}"
        )
    if policy.msp_daily_cap is not None and msp_spent_today + total > policy.msp_daily_cap:
        return (
            f"would bring today's renewals MSP-wide to {msp_spent_today + total} {currency}, "
            f"above the daily cap {policy.msp_daily_cap}"
        )
    return None
