"""CSV renderings of the reports (spreadsheets are where owners read costs)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from hub.kit import localefmt
from hub.kit.csvsafe import safe_row

SPEND_COLUMNS = (
    "vendor",
    "vendor_category",
    "account_number",
    "subscription_id",
    "product",
    "sku",
    "category",
    "quantity",
    "unit_cost",
    "currency",
    "billing_period",
    "period_cost",
    "monthly",
    "yearly",
    "client_unit_price",
    "client_monthly",
    "payer",
    "starts_on",
    "ends_on",
    "cancel_by",
    "renewal_type",
    "lapsed",
)
UPCOMING_COLUMNS = (
    "ends_on",
    "days_left",
    "kind",
    "client",
    "client_slug",
    "vendor",
    "title",
    "category",
    "cost",
    "currency",
    "billing_period",
    "monthly",
    "payer",
    "renewal_type",
    "cancel_by",
    "id",
)


def _flatten_spend(line: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: line.get(k) for k in SPEND_COLUMNS}
    row.update(
        vendor=line["vendor"]["name"],
        vendor_category=line["vendor"]["category"],
        account_number=line["account"]["account_number"],
    )
    return row


def _flatten_upcoming(item: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: item.get(k) for k in UPCOMING_COLUMNS}
    row.update(
        client=item["client"]["name"],
        client_slug=item["client"]["slug"],
        vendor=item["vendor"]["name"] if item["vendor"] else None,
    )
    return row


def _render(columns: tuple[str, ...], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # Spreadsheet apps execute formulas, also after a `;` inside a value: neutralise them.
        writer.writerow(dict(zip(row.keys(), safe_row(row.values()), strict=True)))
    return out.getvalue()


def spend_csv(report: Mapping[str, Any]) -> str:
    return _render(SPEND_COLUMNS, (_flatten_spend(line) for line in report["lines"]))


def upcoming_csv(items: Iterable[Mapping[str, Any]]) -> str:
    return _render(UPCOMING_COLUMNS, (_flatten_upcoming(i) for i in items))


FORECAST_COLUMNS = (
    "month",
    "client_name",
    "kind",
    "item",
    "renews_on",
    "renewal_type",
    "payer",
    "quantity",
    "cost",
    "currency",
    "vendor_name",
    "pays",
)


def forecast_csv(lines: Iterable[Mapping[str, Any]]) -> str:
    return _render(FORECAST_COLUMNS, ({k: line[k] for k in FORECAST_COLUMNS} for line in lines))


# --- the client's own export: readable, in its language and number format ------------------

CLIENT_COLUMNS = (
    "vendor",
    "category",
    "account_number",
    "product",
    "sku",
    "quantity",
    "who_pays",
    "unit_price",
    "period_price",
    "billing_period",
    "monthly",
    "yearly",
    "currency",
    "starts_on",
    "ends_on",
    "cancel_by",
    "renewal",
    "status",
)

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "vendor": "Vendor",
        "category": "Category",
        "account_number": "Account number",
        "product": "Service",
        "sku": "Code",
        "quantity": "Quantity",
        "who_pays": "Who pays",
        "unit_price": "Price per unit",
        "period_price": "Price per period",
        "billing_period": "Billed",
        "monthly": "Per month",
        "yearly": "Per year",
        "currency": "Currency",
        "starts_on": "Starts",
        "ends_on": "Ends",
        "cancel_by": "Cancel by",
        "renewal": "Renewal",
        "status": "Status",
        "total": "Total",
        "pays.vendor": "You, to the vendor",
        "pays.msp": "Through us",
        "pays.included": "Included in your service",
        "included": "included",
        "period.monthly": "monthly",
        "period.quarterly": "quarterly",
        "period.semiannual": "every six months",
        "period.yearly": "yearly",
        "period.biennial": "every two years",
        "period.triennial": "every three years",
        "renewal.none": "does not renew",
        "renewal.manual": "renewed on request",
        "renewal.auto_vendor": "renews automatically",
        "renewal.auto_hub": "renewed by us automatically",
        "status.active": "active",
        "status.lapsed": "ended",
    },
    "it": {
        "vendor": "Fornitore",
        "category": "Categoria",
        "account_number": "Numero cliente",
        "product": "Servizio",
        "sku": "Codice",
        "quantity": "Quantità",
        "who_pays": "Chi paga",
        "unit_price": "Prezzo unitario",
        "period_price": "Prezzo per periodo",
        "billing_period": "Fatturazione",
        "monthly": "Al mese",
        "yearly": "All'anno",
        "currency": "Valuta",
        "starts_on": "Inizio",
        "ends_on": "Scadenza",
        "cancel_by": "Disdetta entro",
        "renewal": "Rinnovo",
        "status": "Stato",
        "total": "Totale",
        "pays.vendor": "Voi, al fornitore",
        "pays.msp": "Tramite noi",
        "pays.included": "Incluso nel servizio",
        "included": "incluso",
        "period.monthly": "mensile",
        "period.quarterly": "trimestrale",
        "period.semiannual": "semestrale",
        "period.yearly": "annuale",
        "period.biennial": "biennale",
        "period.triennial": "triennale",
        "renewal.none": "non si rinnova",
        "renewal.manual": "rinnovo su richiesta",
        "renewal.auto_vendor": "rinnovo automatico",
        "renewal.auto_hub": "rinnovato da noi automaticamente",
        "status.active": "attivo",
        "status.lapsed": "scaduto",
    },
}


def _client_price(value: str | None, pays: str, locale: str, words: dict[str, str]) -> str:
    if pays == "included":
        return words["included"]
    return localefmt.amount(Decimal(value), locale) if value is not None else ""


def _client_row(line: Mapping[str, Any], locale: str, words: dict[str, str]) -> list[Any]:
    pays = line["pays"]
    return [
        line["vendor"]["name"],
        line["category"].replace("_", " ").capitalize(),
        line["account"]["account_number"],
        line["product"],
        line["sku"] or "",
        line["quantity"],
        words[f"pays.{pays}"],
        _client_price(line["unit_price"], pays, locale, words),
        _client_price(line["period_price"], pays, locale, words),
        words.get(f"period.{line['billing_period']}", line["billing_period"]),
        _client_price(line["monthly"], pays, locale, words),
        _client_price(line["yearly"], pays, locale, words),
        line["currency"],
        localefmt.day(_date(line["starts_on"]), locale),
        localefmt.day(_date(line["ends_on"]), locale),
        localefmt.day(_date(line["cancel_by"]), locale),
        words.get(f"renewal.{line['renewal_type']}", line["renewal_type"]),
        words["status.lapsed" if line["lapsed"] else "status.active"],
    ]


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def client_spend_csv(report: Mapping[str, Any]) -> str:
    """The client's "who do we pay for what" (a `hub.terms.client_view.project_spend`
    report) for a spreadsheet: labels in the client's language, numbers and dates in its
    locale (`;` between cells where the decimal sign is a comma), one totals row per
    currency, no internal ids, no true/false. Starts with a BOM so spreadsheets read UTF-8."""
    locale = report["client"].get("locale") or "en"
    words = LABELS[localefmt.language(locale)]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=localefmt.csv_delimiter(locale), lineterminator="\r\n")
    writer.writerow([words[c] for c in CLIENT_COLUMNS])
    for line in report["lines"]:
        writer.writerow(safe_row(_client_row(line, locale, words)))
    for total in report["totals"]:
        row: list[Any] = [""] * len(CLIENT_COLUMNS)
        row[0] = f"{words['total']} {total['currency']}"
        row[CLIENT_COLUMNS.index("monthly")] = localefmt.amount(Decimal(total["monthly"]), locale)
        row[CLIENT_COLUMNS.index("yearly")] = localefmt.amount(Decimal(total["yearly"]), locale)
        row[CLIENT_COLUMNS.index("currency")] = total["currency"]
        writer.writerow(safe_row(row))
    return "\ufeff" + out.getvalue()
