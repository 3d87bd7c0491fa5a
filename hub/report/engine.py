"""Pure report arithmetic: spend lines and their totals. No I/O.

Totals are sums of the (rounded) line figures, so a total always equals the sum of its
lines; amounts in different currencies are never added together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from hub.kit.money import BillingPeriod, format_amount, monthly, yearly
from hub.renewal.engine import cancel_by

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class SpendRow:
    """One subscription with its account and vendor, as read from the database."""

    subscription_id: Any
    product: str
    sku: str | None
    kind: str
    category: str
    quantity: int
    unit_cost: Decimal
    client_unit_price: Decimal | None
    currency: str
    billing_period: BillingPeriod
    payer: str
    starts_on: date
    ends_on: date | None
    renewal_type: str
    notice_days: int
    account_id: Any
    account_number: str
    vendor_id: Any
    vendor_name: str
    vendor_category: str


def _money(value: Decimal) -> str:
    return format_amount(value)


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def spend_line(row: SpendRow, today: date) -> dict[str, Any]:
    period_cost = row.unit_cost * row.quantity
    line: dict[str, Any] = {
        "vendor": {"id": str(row.vendor_id), "name": row.vendor_name, "category": _text(row.vendor_category)},
        "account": {"id": str(row.account_id), "account_number": row.account_number},
        "subscription_id": str(row.subscription_id),
        "product": row.product,
        "sku": row.sku,
        "kind": _text(row.kind),
        "category": _text(row.category),
        "quantity": row.quantity,
        "unit_cost": _money(row.unit_cost),
        "currency": row.currency,
        "billing_period": row.billing_period.value,
        "period_cost": _money(period_cost),
        "monthly": _money(monthly(period_cost, row.billing_period)),
        "yearly": _money(yearly(period_cost, row.billing_period)),
        "client_unit_price": None,
        "client_period_price": None,
        "client_monthly": None,
        "payer": _text(row.payer),
        "starts_on": row.starts_on.isoformat(),
        "ends_on": row.ends_on.isoformat() if row.ends_on else None,
        "cancel_by": _iso(cancel_by(row.ends_on, row.notice_days)),
        "notice_days": row.notice_days,
        "renewal_type": _text(row.renewal_type),
        "lapsed": row.ends_on is not None and row.ends_on < today,
    }
    if row.client_unit_price is not None:
        client_period = row.client_unit_price * row.quantity
        line["client_unit_price"] = _money(row.client_unit_price)
        line["client_period_price"] = _money(client_period)
        line["client_monthly"] = _money(monthly(client_period, row.billing_period))
    return line


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def spend_totals(lines: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per currency: monthly and yearly, and monthly by payer and by category."""
    acc: dict[str, dict[str, Any]] = {}
    for line in lines:
        cur = acc.setdefault(
            line["currency"],
            {
                "monthly": ZERO,
                "yearly": ZERO,
                "client_monthly": ZERO,
                "lines": 0,
                "by_payer": defaultdict(lambda: ZERO),
                "by_category": defaultdict(lambda: ZERO),
            },
        )
        m = Decimal(line["monthly"])
        cur["monthly"] += m
        cur["yearly"] += Decimal(line["yearly"])
        cur["by_payer"][line["payer"]] += m
        cur["by_category"][line["category"]] += m
        if line["client_monthly"] is not None:
            cur["client_monthly"] += Decimal(line["client_monthly"])
        cur["lines"] += 1
    return [
        {
            "currency": currency,
            "lines": t["lines"],
            "monthly": _money(t["monthly"]),
            "yearly": _money(t["yearly"]),
            "client_monthly": _money(t["client_monthly"]),
            "by_payer": {k: _money(v) for k, v in sorted(t["by_payer"].items())},
            "by_category": {k: _money(v) for k, v in sorted(t["by_category"].items())},
        }
        for currency, t in sorted(acc.items())
    ]
