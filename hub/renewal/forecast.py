"""The renewal forecast: every subscription term that renews in the next N months, the
warranties and domains whose renewal price is known, what each will cost at today's price
and who pays, with totals per month, payer, client and vendor (per client or MSP-wide)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal, scope_to_client
from hub.kit.fields import domain_to_unicode
from hub.kit.money import MONTHS_IN_PERIOD, to_cents
from hub.models import Asset, Client, Domain, Subscription, Vendor, VendorAccount, Warranty
from hub.models.enums import Payer, RenewalType, SubscriptionStatus
from hub.terms.client_view import PAYS_BY_PAYER, figures
from hub.terms.engine import add_months


def _renewal_dates(ends_on: date, months: int, until: date, today: date) -> list[date]:
    """Each day a new term starts, from the current term's end, up to `until`.

    Computed from the original end date each time (end + k terms), so month-end terms
    do not drift (31 Jan, 28 Feb, 31 Mar... not 31 Jan, 28 Feb, 28 Mar)."""
    out: list[date] = []
    k = 0
    while True:
        term_end = add_months(ends_on + timedelta(days=1), months * k) - timedelta(days=1)
        starts = term_end + timedelta(days=1)
        if starts > until:
            return out
        if starts > today:
            out.append(starts)
        k += 1
        if k > 1200:  # a 1-month term over 100 years: never reached with months <= 36
            return out


def _line(
    renews_on: date,
    client: tuple[uuid.UUID, str],
    vendor: tuple[uuid.UUID | None, str | None],
    kind: str,
    item: tuple[uuid.UUID, str],
    renewal_type: str,
    payer: str,
    quantity: int,
    cost: Decimal,
    currency: str,
) -> dict[str, Any]:
    return {
        "month": renews_on.strftime("%Y-%m"),
        "client_id": client[0],
        "client_name": client[1],
        "vendor_id": vendor[0],
        "vendor_name": vendor[1],
        "kind": kind,
        "item_id": item[0],
        "item": item[1],
        "renews_on": renews_on,
        "renewal_type": renewal_type,
        "payer": payer,
        "pays": PAYS_BY_PAYER[payer].value,
        "quantity": quantity,
        # One convention for every amount of the forecast: cents, and every total is the
        # sum of its (rounded) lines.
        "cost": to_cents(cost),
        "currency": currency,
    }


async def _subscription_lines(
    session: AsyncSession, query: Any, until: date, today: date, client_view: bool
) -> list[dict[str, Any]]:
    lines = []
    for row in await session.execute(query):
        assert row.ends_on is not None  # filtered in SQL
        if client_view:  # what the client pays: the vendor's price, the MSP's, or nothing
            f = figures(row.payer, row.unit_cost, row.client_unit_price, row.quantity, row.billing_period)
            if f.period_price is None:
                continue
            cost = f.period_price
        else:
            cost = row.unit_cost * row.quantity
        for renews_on in _renewal_dates(row.ends_on, MONTHS_IN_PERIOD[row.billing_period], until, today):
            lines.append(
                _line(
                    renews_on,
                    (row.client_id, row.client_name),
                    (row.vendor_id, row.vendor_name),
                    "subscription",
                    (row.id, row.product),
                    row.renewal_type.value,
                    row.payer.value,
                    row.quantity,
                    cost,
                    row.currency,
                )
            )
    return lines


def _priced(payer: Payer, client_view: bool) -> bool:
    # A renewal price is the client's price; the fee covers an included one.
    return not (client_view and payer is Payer.msp_included)


async def _warranty_and_domain_lines(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID | None, until: date, today: date
) -> list[dict[str, Any]]:
    """Warranties ending and domains expiring in the window whose renewal price is known:
    a warranty once (extending it), a domain every year."""
    lines = []
    warranties = (
        select(Warranty, Asset.name, Client.name)
        .join(Asset, Asset.id == Warranty.asset_id)
        .join(Client, Client.id == Warranty.client_id)
        .where(
            Warranty.renewal_price.is_not(None),
            Warranty.ends_on >= today,
            Warranty.ends_on < until,
            Client.archived_at.is_(None),
        )
    )
    domains = (
        select(Domain, Client.name, Vendor.id, Vendor.name)
        .join(Client, Client.id == Domain.client_id)
        .outerjoin(VendorAccount, VendorAccount.id == Domain.registrar_account_id)
        .outerjoin(Vendor, Vendor.id == VendorAccount.vendor_id)
        .where(
            Domain.renewal_price.is_not(None),
            Domain.expires_on.is_not(None),
            Domain.expires_on < until,
            Client.archived_at.is_(None),
        )
    )
    warranties = scope_to_client(warranties, principal, Warranty.client_id)  # type: ignore[type-var]
    domains = scope_to_client(domains, principal, Domain.client_id)  # type: ignore[type-var]
    if client_id is not None:
        warranties = warranties.where(Warranty.client_id == client_id)
        domains = domains.where(Domain.client_id == client_id)
    client_view = principal.is_client
    for w, asset_name, client_name in await session.execute(warranties):
        if _priced(w.renewal_payer, client_view) and w.ends_on + timedelta(days=1) > today:
            lines.append(
                _line(
                    w.ends_on + timedelta(days=1),
                    (w.client_id, client_name),
                    (None, None),
                    "warranty",
                    (w.id, f"{w.level}: {asset_name}"),
                    "manual",
                    w.renewal_payer.value,
                    1,
                    w.renewal_price or Decimal(0),
                    w.renewal_currency or "EUR",
                )
            )
    for d, client_name, vendor_id, vendor_name in await session.execute(domains):
        assert d.expires_on is not None  # filtered in SQL
        if not _priced(d.renewal_payer, client_view):
            continue
        for renews_on in _renewal_dates(d.expires_on - timedelta(days=1), 12, until, today):
            lines.append(
                _line(
                    renews_on,
                    (d.client_id, client_name),
                    (vendor_id, vendor_name),
                    "domain",
                    (d.id, domain_to_unicode(d.name)),
                    "manual",
                    d.renewal_payer.value,
                    1,
                    d.renewal_price or Decimal(0),
                    d.renewal_currency or "EUR",
                )
            )
    return lines


def _subtotals(lines: list[dict[str, Any]], key: str, name: str) -> list[dict[str, Any]]:
    sums: dict[Any, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    names: dict[Any, Any] = {}
    for line in lines:
        sums[line[key]][line["currency"]] += line["cost"]
        names[line[key]] = line[name]
    rows = [{key: k, name: names[k], "totals": dict(v)} for k, v in sums.items()]
    return sorted(rows, key=lambda r: (str(r[name] or ""), str(r[key])))


async def forecast(
    session: AsyncSession, principal: Principal, *, today: date, months: int, client_id: uuid.UUID | None
) -> dict[str, Any]:
    """What renews in the next `months` months and what it costs: subscriptions, and the
    warranties and domains whose renewal price is known. A client user sees what it pays
    (hub.terms.client_view), staff the MSP's cost."""
    until = add_months(today, months)
    query = (
        select(
            Subscription.id,
            Subscription.client_id,
            Client.name.label("client_name"),
            Vendor.id.label("vendor_id"),
            Vendor.name.label("vendor_name"),
            Subscription.product,
            Subscription.ends_on,
            Subscription.billing_period,
            Subscription.renewal_type,
            Subscription.payer,
            Subscription.quantity,
            Subscription.unit_cost,
            Subscription.client_unit_price,
            Subscription.currency,
        )
        .join(Client, Client.id == Subscription.client_id)
        .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
        .join(Vendor, Vendor.id == VendorAccount.vendor_id)
        .where(
            Subscription.status == SubscriptionStatus.active,
            Subscription.cancelled_at.is_(None),
            Subscription.ends_on.is_not(None),
            Subscription.ends_on < until,
            Subscription.renewal_type != RenewalType.none,
            Client.archived_at.is_(None),
        )
    )
    query = scope_to_client(query, principal, Subscription.client_id)  # type: ignore[type-var]
    if client_id is not None:
        query = query.where(Subscription.client_id == client_id)
    lines = await _subscription_lines(session, query, until, today, principal.is_client)
    lines += await _warranty_and_domain_lines(session, principal, client_id, until, today)
    lines.sort(key=lambda line: (line["renews_on"], line["client_name"], line["item"], str(line["item_id"])))
    by_month: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    by_payer: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for line in lines:
        by_month[line["month"]][line["currency"]] += line["cost"]
        totals[line["currency"]] += line["cost"]
        by_payer[line["payer"]][line["currency"]] += line["cost"]
    month_keys = [add_months(today.replace(day=1), i).strftime("%Y-%m") for i in range(months + 1)]
    return {
        "months": months,
        "starts_on": today,
        "lines": lines,
        "by_month": [{"month": m, "totals": dict(by_month.get(m, {}))} for m in month_keys],
        "totals": dict(totals),
        "by_payer": {payer: dict(values) for payer, values in by_payer.items()},
        "by_client": _subtotals(lines, "client_id", "client_name"),
        "by_vendor": _subtotals(lines, "vendor_id", "vendor_name"),
    }
