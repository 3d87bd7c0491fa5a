"""The renewal forecast: every subscription term that renews in the next N months, what
it will cost at today's price, and who pays (per client or MSP-wide)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal, scope_to_client
from hub.kit.money import MONTHS_IN_PERIOD
from hub.models import Client, Subscription
from hub.models.enums import RenewalType, SubscriptionStatus
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


async def forecast(
    session: AsyncSession, principal: Principal, *, today: date, months: int, client_id: uuid.UUID | None
) -> dict[str, Any]:
    until = add_months(today, months)
    query = (
        select(
            Subscription.id,
            Subscription.client_id,
            Client.name,
            Subscription.product,
            Subscription.ends_on,
            Subscription.billing_period,
            Subscription.renewal_type,
            Subscription.payer,
            Subscription.quantity,
            Subscription.unit_cost,
            Subscription.currency,
        )
        .join(Client, Client.id == Subscription.client_id)
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
    lines: list[dict[str, Any]] = []
    for sid, cid, cname, product, ends_on, period, rtype, payer, qty, unit, cur in await session.execute(
        query
    ):
        cost = unit * qty
        assert ends_on is not None  # filtered in SQL
        for renews_on in _renewal_dates(ends_on, MONTHS_IN_PERIOD[period], until, today):
            lines.append(
                {
                    "month": renews_on.strftime("%Y-%m"),
                    "client_id": cid,
                    "client_name": cname,
                    "kind": "subscription",
                    "item_id": sid,
                    "item": product,
                    "renews_on": renews_on,
                    "renewal_type": rtype.value,
                    "payer": payer.value,
                    "quantity": qty,
                    "cost": cost,
                    "currency": cur,
                }
            )
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
    }
