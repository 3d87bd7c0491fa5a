"""Pure report arithmetic: spend lines and their totals. No I/O.

Totals are sums of the (rounded) line figures, so a total always equals the sum of its
lines; amounts in different currencies are never added together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from hub.kit.money import BillingPeriod, format_amount, monthly, yearly
from hub.terms.engine import cancel_by

ZERO = Decimal("0.00")

# The column order of a spend row, as selected by hub.report.service (plain tuples are
# several times cheaper to build than objects on a 300-line report).
SPEND_FIELDS = (
    "subscription_id", "product", "sku", "kind", "category", "quantity", "unit_cost", "client_unit_price",
    "currency", "billing_period", "payer", "starts_on", "ends_on", "renewal_type", "notice_days",
    "account_id", "account_number", "vendor_id", "vendor_name", "vendor_category",
)  # fmt: skip


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@dataclass
class _Total:
    monthly: Decimal = ZERO
    yearly: Decimal = ZERO
    client_monthly: Decimal = ZERO
    lines: int = 0
    by_payer: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    by_category: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))

    def add(
        self, line: dict[str, Any], per_month: Decimal, per_year: Decimal, client: Decimal | None
    ) -> None:
        self.monthly += per_month
        self.yearly += per_year
        self.by_payer[line["payer"]] += per_month
        self.by_category[line["category"]] += per_month
        if client is not None:
            self.client_monthly += client
        self.lines += 1


def spend_line(row: Sequence[Any], today: date) -> tuple[dict[str, Any], Decimal, Decimal, Decimal | None]:
    """One report line, plus its monthly, yearly and client-monthly figures as Decimals
    (so totals are summed exactly, without parsing the formatted text back)."""
    (sub_id, product, sku, kind, category, quantity, unit_cost, client_unit_price, currency, period, payer,
     starts_on, ends_on, renewal_type, notice_days, account_id, account_number, vendor_id, vendor_name,
     vendor_category) = row  # fmt: skip
    period = BillingPeriod(period)
    period_cost = unit_cost * quantity
    per_month, per_year = monthly(period_cost, period), yearly(period_cost, period)
    client_month: Decimal | None = None
    line: dict[str, Any] = {
        "vendor": {"id": str(vendor_id), "name": vendor_name, "category": _text(vendor_category)},
        "account": {"id": str(account_id), "account_number": account_number},
        "subscription_id": str(sub_id),
        "product": product,
        "sku": sku,
        "kind": _text(kind),
        "category": _text(category),
        "quantity": quantity,
        "unit_cost": format_amount(unit_cost),
        "currency": currency,
        "billing_period": period.value,
        "period_cost": format_amount(period_cost),
        "monthly": format_amount(per_month),
        "yearly": format_amount(per_year),
        "client_unit_price": None,
        "client_period_price": None,
        "client_monthly": None,
        "payer": _text(payer),
        "starts_on": starts_on.isoformat(),
        "ends_on": _iso(ends_on),
        "cancel_by": _iso(cancel_by(ends_on, notice_days)),
        "notice_days": notice_days,
        "renewal_type": _text(renewal_type),
        "lapsed": ends_on is not None and ends_on < today,
    }
    if client_unit_price is not None:
        client_period = client_unit_price * quantity
        client_month = monthly(client_period, period)
        line["client_unit_price"] = format_amount(client_unit_price)
        line["client_period_price"] = format_amount(client_period)
        line["client_monthly"] = format_amount(client_month)
    return line, per_month, per_year, client_month


def build_spend(
    rows: Iterable[Sequence[Any]], today: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Lines and per-currency totals (monthly, yearly, and monthly by payer and category)."""
    lines: list[dict[str, Any]] = []
    totals: dict[str, _Total] = {}
    for row in rows:
        line, per_month, per_year, client_month = spend_line(row, today)
        lines.append(line)
        totals.setdefault(line["currency"], _Total()).add(line, per_month, per_year, client_month)
    return lines, [
        {
            "currency": currency,
            "lines": t.lines,
            "monthly": format_amount(t.monthly),
            "yearly": format_amount(t.yearly),
            "client_monthly": format_amount(t.client_monthly),
            "by_payer": {k: format_amount(v) for k, v in sorted(t.by_payer.items())},
            "by_category": {k: format_amount(v) for k, v in sorted(t.by_category.items())},
        }
        for currency, t in sorted(totals.items())
    ]
