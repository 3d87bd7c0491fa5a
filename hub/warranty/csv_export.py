"""The warranty review as CSV (it is read in a spreadsheet, with the client)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from hub.kit.csvsafe import safe_row

COLUMNS = (
    "client",
    "client_slug",
    "asset",
    "kind",
    "manufacturer",
    "model",
    "serial",
    "warranty_ends_on",
    "days_left",
    "status",
    "warranty_level",
    "warranty_source",
    "asset_id",
)


def review_csv(items: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for i in items:
        row = (
            i["client"]["name"],
            i["client"]["slug"],
            i["name"],
            i["kind"],
            i["manufacturer"],
            i["model"] or "",
            i["serial"] or "",
            i["warranty_ends_on"] or "",
            "" if i["days_left"] is None else i["days_left"],
            i["status"],
            i["warranty_level"] or "",
            i["warranty_source"] or "",
            i["id"],
        )
        writer.writerow(safe_row(row))
    return out.getvalue()
