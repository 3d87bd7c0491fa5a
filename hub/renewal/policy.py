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


def decide(
    policy: Policy,
    *,
    unit_price: Decimal,
    quantity: int,
    currency: str,
    previous_unit_cost: Decimal | None,
    client_spent_today: Decimal,
    msp_spent_today: Decimal,
) -> Decision:
    """Whether a quoted renewal may be ordered without a person approving it.

    Each rule that holds it back says why, in the words the approver will read."""
    total = unit_price * quantity
    if previous_unit_cost is not None and previous_unit_cost > 0:
        rise = (unit_price - previous_unit_cost) / previous_unit_cost * 100
        if rise > policy.price_cap_pct:
            return Decision(
                False,
                f"unit price rose {rise.quantize(Decimal('0.1'))}% ({format_amount(previous_unit_cost)} -> "
                f"{format_amount(unit_price)} {currency}), above the {_plain(policy.price_cap_pct)}% cap",
            )
    caps_apply = any(
        cap is not None for cap in (policy.approval_above, policy.client_daily_cap, policy.msp_daily_cap)
    )
    if caps_apply and currency != policy.cap_currency:
        # No exchange rates in the hub: a cap in another currency cannot be checked safely.
        return Decision(False, f"priced in {currency}, caps are in {policy.cap_currency}: needs approval")
    if policy.approval_above is not None and total > policy.approval_above:
        return Decision(
            False, f"total {total} {currency} is above the approval threshold {policy.approval_above}"
        )
    if policy.client_daily_cap is not None and client_spent_today + total > policy.client_daily_cap:
        return Decision(
            False,
            f"would bring today's renewals for this client to {client_spent_today + total} {currency}, "
            f"above the daily cap {policy.client_daily_cap}",
        )
    if policy.msp_daily_cap is not None and msp_spent_today + total > policy.msp_daily_cap:
        return Decision(
            False,
            f"would bring today's renewals MSP-wide to {msp_spent_today + total} {currency}, "
            f"above the daily cap {policy.msp_daily_cap}",
        )
    return Decision(True)
