"""The client's statement, "who do we pay for what": every vendor and service, what it
costs per month and per year, who is paid (the vendor directly, the MSP, or included in
the managed-service fee), the next renewal and the cancel-by date, the totals per
currency and per payer, and the next 12 months of renewals.

One builder for the portal page, the PDF and the CSV (`statement`), so the three never
disagree: the spend report projected by `hub.terms.client_view.project_spend` and the
renewal forecast computed for the client's own principal. Staff asking for a client's
statement get exactly what that client's users see (the client-safe projection), never
the MSP's costs: the statement is a document for the client."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.errors import NotFound
from hub.kit import localefmt
from hub.kit.csvsafe import safe_row
from hub.models.enums import Role
from hub.renewal.forecast import forecast
from hub.report.cache import CachedReport, ReportCache
from hub.report.csv_export import CLIENT_COLUMNS, LABELS, _client_row
from hub.report.service import build_spend_report, spend_fingerprint, visible_client
from hub.terms.client_view import project_spend

FORECAST_MONTHS = 12
PAYS_ORDER = ("vendor", "msp", "included")


@dataclass
class Statement:
    client: Any  # the client row
    as_of: date
    currency: str  # the client's own currency: the charts are in it
    report: dict[str, Any]  # the client-safe spend report (project_spend), amounts as text
    lines: list[dict[str, Any]]  # its lines with dates as dates (`with_dates`)
    totals: list[dict[str, Any]]  # per currency: monthly, yearly, monthly_by_pays, included_lines
    by_category: dict[str, Decimal]  # monthly, in `currency`
    by_pays: dict[str, Decimal]  # monthly, in `currency`
    included: int
    other_currencies: list[str]
    months: list[tuple[date, Decimal]]  # renewals per month, in `currency`
    forecast_total: Decimal  # in `currency`
    forecast_totals: dict[str, Decimal]  # every currency
    by_payer: list[dict[str, Any]]  # per currency and payer: lines, monthly, yearly


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def with_dates(line: dict[str, Any]) -> dict[str, Any]:
    """A client spend line with its dates as dates (the page formats them per locale):
    `ends`, `cancel`, and `next`, the day the next term starts (None when it ends and is
    not renewed, or has no end)."""
    ends = _day(line["ends_on"])
    renews = ends is not None and line["renewal_type"] != "none"
    return {
        **line,
        "ends": ends,
        "cancel": _day(line["cancel_by"]),
        "next": ends + timedelta(days=1) if renews and ends is not None else None,
    }


def as_client(principal: Principal, client_id: uuid.UUID) -> Principal:
    """The principal the statement is computed for: the client's own view. Staff keep
    their actor (the audit trail) but read as a client viewer of that client."""
    if principal.client_id is not None:
        return principal
    return Principal(actor=principal.actor, role=Role.client_viewer, client_id=client_id)


async def spend_of(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, day: date, cache: ReportCache | None
) -> tuple[Any, dict[str, Any]]:
    """The client row and its spend report as the client sees it; the staff report is
    cached exactly as the API caches it (by the client's fingerprint)."""
    client = await visible_client(session, principal, client_id)
    fingerprint = await spend_fingerprint(session, client.id, day)
    if fingerprint is None:  # deleted since it was read
        raise NotFound(f"client {client_id} not found")
    cached = cache.get(client.id, fingerprint) if cache is not None else None
    if cached is None:
        report = await build_spend_report(session, client, day)
        cached = CachedReport(fingerprint, report, b"")
        if cache is not None:
            cache.put(client.id, cached)
    return client, project_spend(cached.report)


def shares(lines: list[dict[str, Any]], currency: str) -> tuple[dict[str, Decimal], dict[str, Decimal], int]:
    """Monthly amounts in `currency` by category and by payer, and how many lines the
    managed-service fee includes."""
    by_category: dict[str, Decimal] = defaultdict(Decimal)
    by_pays: dict[str, Decimal] = {"vendor": Decimal(0), "msp": Decimal(0)}
    included = 0
    for line in lines:
        if line["pays"] == "included":
            included += 1
        if line["currency"] != currency or line["monthly"] is None:
            continue
        by_category[line["category"]] += Decimal(line["monthly"])
        by_pays[line["pays"]] += Decimal(line["monthly"])
    ordered = dict(sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0])))
    return ordered, by_pays, included


def payer_totals(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per currency and payer: how many lines, and the sums of their monthly and yearly
    figures (an included line counts, with no amount)."""
    sums: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        t = sums.setdefault(
            (line["currency"], line["pays"]), {"lines": 0, "monthly": Decimal(0), "yearly": Decimal(0)}
        )
        t["lines"] += 1
        if line["monthly"] is not None:
            t["monthly"] += Decimal(line["monthly"])
            t["yearly"] += Decimal(line["yearly"])
    order = {p: i for i, p in enumerate(PAYS_ORDER)}
    return [
        {"currency": currency, "pays": pays, **t}
        for (currency, pays), t in sorted(sums.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 9)))
    ]


async def statement(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    day: date,
    cache: ReportCache | None = None,
) -> Statement:
    """The statement of `client_id` as its own users see it (another client's is not
    found for a client user)."""
    client, spend = await spend_of(session, principal, client_id, day, cache)
    currency = client.default_currency
    by_category, by_pays, included = shares(spend["lines"], currency)
    ahead = await forecast(
        session, as_client(principal, client.id), today=day, months=FORECAST_MONTHS, client_id=client.id
    )
    months = [
        (date.fromisoformat(m["month"] + "-01"), Decimal(m["totals"].get(currency, 0)))
        for m in ahead["by_month"]
    ]
    return Statement(
        client=client,
        as_of=day,
        currency=currency,
        report=spend,
        lines=[with_dates(line) for line in spend["lines"]],
        totals=spend["totals"],
        by_category=by_category,
        by_pays=by_pays,
        included=included,
        other_currencies=sorted({t["currency"] for t in spend["totals"]} - {currency}),
        months=months,
        forecast_total=Decimal(ahead["totals"].get(currency, 0)),
        forecast_totals={k: Decimal(v) for k, v in ahead["totals"].items()},
        by_payer=payer_totals(spend["lines"]),
    )


# -- CSV ----------------------------------------------------------------------------------

_MORE_LABELS = {
    "en": {"section": "Section", "services": "Services", "totals": "Totals", "forecast": "Renewals"},
    "it": {"section": "Sezione", "services": "Servizi", "totals": "Totali", "forecast": "Rinnovi"},
}


def statement_csv(view: Statement, locale: str) -> str:
    """The statement for a spreadsheet, in the reader's language and number format: every
    service (the columns of the client's spend CSV), then per currency the totals per
    month and per year and per payer, then the renewals of each of the next 12 months.
    The same figures as the page and the PDF (one builder); a BOM so spreadsheets read UTF-8."""
    lang = localefmt.language(locale)
    words, more = LABELS[lang], _MORE_LABELS[lang]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=localefmt.csv_delimiter(locale), lineterminator="\r\n")
    writer.writerow([more["section"], *(words[c] for c in CLIENT_COLUMNS)])
    for line in view.report["lines"]:
        writer.writerow(safe_row([more["services"], *_client_row(line, locale, words)]))
    money_col = 1 + CLIENT_COLUMNS.index("monthly")
    year_col = 1 + CLIENT_COLUMNS.index("yearly")
    cur_col = 1 + CLIENT_COLUMNS.index("currency")
    who_col = 1 + CLIENT_COLUMNS.index("who_pays")
    width = 1 + len(CLIENT_COLUMNS)

    def total_row(label: str, who: str, per_month: Decimal, per_year: Decimal, currency: str) -> None:
        row: list[Any] = [""] * width
        row[0], row[1], row[who_col] = more["totals"], label, who
        row[money_col] = localefmt.amount(per_month, locale)
        row[year_col] = localefmt.amount(per_year, locale)
        row[cur_col] = currency
        writer.writerow(safe_row(row))

    for total in view.totals:
        cur = total["currency"]
        total_row(f"{words['total']} {cur}", "", Decimal(total["monthly"]), Decimal(total["yearly"]), cur)
        for t in view.by_payer:
            if t["currency"] == cur and t["pays"] != "included":
                who = words[f"pays.{t['pays']}"]
                total_row(f"{words['total']} {cur}", who, t["monthly"], t["yearly"], cur)
    for month, amount in view.months:
        row = [""] * width
        row[0], row[1] = more["forecast"], month.strftime("%Y-%m")
        row[money_col] = localefmt.amount(amount, locale)
        row[cur_col] = view.currency
        writer.writerow(safe_row(row))
    return "\ufeff" + out.getvalue()


__all__ = ["Statement", "as_client", "shares", "spend_of", "statement", "statement_csv", "with_dates"]
