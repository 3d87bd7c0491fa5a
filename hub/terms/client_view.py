"""The client-safe projection of what a client pays (pure: no I/O).

Per line, a client user is shown what *it* pays, never what the MSP pays:
- `client_direct`: the client pays the vendor itself, so the vendor's price is its price;
- `msp_resold`: the MSP resells it, so its price is the MSP's (`client_unit_price`; not set
  yet shows as no price, never as the MSP's cost);
- `msp_included`: the managed-service fee covers it: "included", no price.

The reports (spend, upcoming, forecast), the subscription schemas and the approval page
all take their client figures from `client_price`, and `project_*` turn a staff report
into the client's. `FORBIDDEN_KEYS` are the names no client response may carry anywhere
(the access-matrix test walks every client-reachable answer for them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from hub.kit.money import BillingPeriod, format_amount, monthly, yearly


class Pays(StrEnum):
    """Whose price a client line shows."""

    vendor = "vendor"  # the client pays the vendor directly: the vendor's price
    msp = "msp"  # resold by the MSP: the MSP's price to the client
    included = "included"  # covered by the managed-service fee


PAYS_BY_PAYER = {"client_direct": Pays.vendor, "msp_resold": Pays.msp, "msp_included": Pays.included}

FORBIDDEN_KEYS = frozenset(
    {
        "unit_cost",
        "period_cost",
        "previous_unit_cost",
        "quoted_price",
        "quoted_total",
        "margin",
        "api_url",
        "account_id",
        "account_ref",
        "config",
        "before",
        "after",
        "meta",
        "notes",
        "external_ref",
        "last_error",
        "client_unit_price",
        "monthly_cost",
        "contract_ref",
        "probe_targets",
    }
)
"""Keys that never appear in an answer to a client user (MSP costs and margins, connection
internals, the raw audit's change sets and meta, the MSP's notes, what an ISP line costs
the MSP and how it is probed)."""


@dataclass(frozen=True)
class ClientPrice:
    pays: Pays
    unit: Decimal | None  # None: included, or a resold line without a price set yet


def client_price(payer: str, unit_cost: Decimal, client_unit_price: Decimal | None) -> ClientPrice:
    pays = PAYS_BY_PAYER[str(getattr(payer, "value", payer))]
    if pays is Pays.vendor:
        return ClientPrice(pays, unit_cost)
    if pays is Pays.msp:
        return ClientPrice(pays, client_unit_price)
    return ClientPrice(pays, None)


@dataclass(frozen=True)
class ClientFigures:
    pays: Pays
    unit_price: Decimal | None
    period_price: Decimal | None
    monthly: Decimal | None
    yearly: Decimal | None


def figures(
    payer: str,
    unit_cost: Decimal,
    client_unit_price: Decimal | None,
    quantity: int,
    period: BillingPeriod | str,
) -> ClientFigures:
    price = client_price(payer, unit_cost, client_unit_price)
    if price.unit is None:
        return ClientFigures(price.pays, None, None, None, None)
    per_period = price.unit * quantity
    billing = BillingPeriod(getattr(period, "value", period))
    return ClientFigures(
        price.pays, price.unit, per_period, monthly(per_period, billing), yearly(per_period, billing)
    )


def _amount(value: Decimal | None) -> str | None:
    return format_amount(value) if value is not None else None


# --- the spend report ("who do we pay for what") --------------------------------------------


def spend_line(line: Mapping[str, Any]) -> dict[str, Any]:
    """A staff spend line (hub.report.engine) as the client's."""
    unit_cost = Decimal(line["unit_cost"])
    client_unit = Decimal(line["client_unit_price"]) if line["client_unit_price"] is not None else None
    f = figures(line["payer"], unit_cost, client_unit, int(line["quantity"]), line["billing_period"])
    return {
        "vendor": {
            "id": line["vendor"]["id"],
            "name": line["vendor"]["name"],
            "category": line["vendor"]["category"],
        },
        "account": {"id": line["account"]["id"], "account_number": line["account"]["account_number"]},
        "subscription_id": line["subscription_id"],
        "product": line["product"],
        "sku": line["sku"],
        "kind": line["kind"],
        "category": line["category"],
        "quantity": line["quantity"],
        "currency": line["currency"],
        "billing_period": line["billing_period"],
        "payer": line["payer"],
        "pays": f.pays.value,
        "unit_price": _amount(f.unit_price),
        "period_price": _amount(f.period_price),
        "monthly": _amount(f.monthly),
        "yearly": _amount(f.yearly),
        "starts_on": line["starts_on"],
        "ends_on": line["ends_on"],
        "cancel_by": line["cancel_by"],
        "notice_days": line["notice_days"],
        "renewal_type": line["renewal_type"],
        "lapsed": line["lapsed"],
    }


def spend_totals(lines: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per currency: what the client pays each month and year (vendor and MSP prices),
    by whom it pays, and how many lines the fee covers. Sums of the line figures."""
    totals: dict[str, dict[str, Any]] = {}
    for line in lines:
        t = totals.setdefault(
            line["currency"],
            {
                "lines": 0,
                "monthly": Decimal(0),
                "yearly": Decimal(0),
                "by_pays": defaultdict(Decimal),
                "included": 0,
            },
        )
        t["lines"] += 1
        if line["pays"] == Pays.included:
            t["included"] += 1
        if line["monthly"] is not None:
            t["monthly"] += Decimal(line["monthly"])
            t["yearly"] += Decimal(line["yearly"])
            t["by_pays"][line["pays"]] += Decimal(line["monthly"])
    return [
        {
            "currency": currency,
            "lines": t["lines"],
            "monthly": format_amount(t["monthly"]),
            "yearly": format_amount(t["yearly"]),
            "monthly_by_pays": {k: format_amount(v) for k, v in sorted(t["by_pays"].items())},
            "included_lines": t["included"],
        }
        for currency, t in sorted(totals.items())
    ]


def project_spend(report: Mapping[str, Any]) -> dict[str, Any]:
    lines = [spend_line(line) for line in report["lines"]]
    client = {
        k: report["client"][k]
        for k in ("id", "name", "slug", "tier", "status", "default_currency", "timezone")
    }
    client["locale"] = report["client"].get("locale", "en")
    return {"client": client, "as_of": report["as_of"], "lines": lines, "totals": spend_totals(lines)}


__all__ = [
    "FORBIDDEN_KEYS",
    "ClientFigures",
    "ClientPrice",
    "Pays",
    "client_price",
    "figures",
    "project_spend",
    "spend_line",
    "spend_totals",
]
