"""CSV renderings of the reports (spreadsheets are where owners read costs)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

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
        # Spreadsheet apps execute cells starting with = + - @ : neutralise them.
        writer.writerow({k: _safe(v) for k, v in row.items()})
    return out.getvalue()


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, str) and value.startswith("-") and not _is_number(value):
        return "'" + value
    return "" if value is None else value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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
)


def forecast_csv(lines: Iterable[Mapping[str, Any]]) -> str:
    return _render(FORECAST_COLUMNS, ({k: line[k] for k in FORECAST_COLUMNS} for line in lines))
