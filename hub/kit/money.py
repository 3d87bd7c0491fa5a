"""Money: Decimal amounts with an ISO 4217 currency, never float.

Amounts are stored as integers of 1/10,000 of the currency unit. That is exact on SQLite
(whose NUMERIC is a float) and on PostgreSQL alike, and SQL sums stay exact.
"""

from __future__ import annotations

import enum
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any

import pycountry

SCALE = Decimal("0.0001")
CENT = Decimal("0.01")
FACTOR = 10_000
# The largest amount storable in a signed 64-bit integer of 1/10,000 units, with margin.
MAX_AMOUNT = Decimal("100000000000000")


class BillingPeriod(enum.StrEnum):
    monthly = "monthly"
    quarterly = "quarterly"
    semiannual = "semiannual"
    yearly = "yearly"
    biennial = "biennial"
    triennial = "triennial"


MONTHS_IN_PERIOD: dict[BillingPeriod, int] = {
    BillingPeriod.monthly: 1,
    BillingPeriod.quarterly: 3,
    BillingPeriod.semiannual: 6,
    BillingPeriod.yearly: 12,
    BillingPeriod.biennial: 24,
    BillingPeriod.triennial: 36,
}


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def monthly(period_cost: Decimal, period: BillingPeriod) -> Decimal:
    """The cost per month of something billed `period_cost` every `period`, in cents."""
    return to_cents(period_cost / MONTHS_IN_PERIOD[period])


def yearly(period_cost: Decimal, period: BillingPeriod) -> Decimal:
    """The cost per year, computed from the period cost (not from the rounded monthly)."""
    return to_cents(period_cost * 12 / MONTHS_IN_PERIOD[period])


@cache
def iso_currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def validate_currency(code: str) -> str:
    code = code.strip().upper()
    if code not in iso_currencies():
        raise ValueError(f"'{code}' is not an ISO 4217 currency code")
    return code


def validate_amount(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    # Trailing zeros carry no value: 1.23450 is fine, 1.23456 is not.
    if value.normalize().as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValueError("amount has more than 4 decimal places")
    if abs(value) >= MAX_AMOUNT:
        raise ValueError("amount is too large")
    return value


def format_amount(value: Decimal) -> str:
    """Amounts as text: at least two decimals, more only where they carry a value
    (35.5000 -> "35.50", 0.1234 -> "0.1234")."""
    cents = value.quantize(CENT)
    return format(cents if cents == value else value.normalize(), "f")


def __getattr__(name: str) -> Any:
    # The column type moved to hub.kit.types (so that this module needs no SQLAlchemy);
    # migrations written before name it hub.kit.money.Money.
    if name == "Money":
        from hub.kit.types import Money

        return Money
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
