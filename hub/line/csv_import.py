"""CSV import of ISP lines: all or nothing, every error with the line the spreadsheet shows.

Columns (`;` or `,`
separated, decimal commas with `;`): client (slug), isp_account (the client's account
number with the ISP), name, circuit_id, technology, and optionally bandwidth_down_mbps,
bandwidth_up_mbps, address_blocks and probe_targets (several separated by spaces; a probe
target is `host:port[,port]` or `[v6]:port`), monthly_cost, cost_currency, contract_ref,
contract_ends_on, notes.

Rows are converted and validated with the API's `LineCreate`, then written through
`LineService` (its rules, the address checks and the audit trail). Nothing here commits.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.errors import HubError
from hub.importer import IMPORT_PRINCIPAL, RowError, parse_amount, parse_date
from hub.importer.csv_import import sniff_delimiter
from hub.line.schemas import LineCreate
from hub.line.service import LineService
from hub.models import Client, VendorAccount

REQUIRED = ("client", "isp_account", "name", "circuit_id", "technology")
OPTIONAL = (
    "bandwidth_down_mbps",
    "bandwidth_up_mbps",
    "address_blocks",
    "probe_targets",
    "monthly_cost",
    "cost_currency",
    "contract_ref",
    "contract_ends_on",
    "notes",
)
_AMOUNTS = ("bandwidth_down_mbps", "bandwidth_up_mbps", "monthly_cost")


@dataclass
class LineImport:
    created: int
    errors: list[RowError]


def parse_probe_target(text: str) -> dict[str, Any]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        ports = rest.removeprefix(":")
    else:
        host, _, ports = text.rpartition(":")
    if not host or not ports:
        raise ValueError(f"'{text}': write host:port[,port...] ([v6]:port for IPv6)")
    try:
        return {"host": host, "ports": [int(p) for p in ports.split(",") if p]}
    except ValueError:
        raise ValueError(f"'{text}': ports are numbers") from None


def _convert(cells: dict[str, str], decimal_comma: bool) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    values: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for key, text in cells.items():
        try:
            if key in _AMOUNTS:
                values[key] = parse_amount(text, decimal_comma=decimal_comma)
            elif key == "contract_ends_on":
                values[key] = parse_date(text)
            elif key == "address_blocks":
                values[key] = text.split()
            elif key == "probe_targets":
                values[key] = [parse_probe_target(t) for t in text.split()]
            elif key not in ("client", "isp_account"):
                values[key] = text
        except ValueError as exc:
            errors.append((key, str(exc)))
    return values, errors


async def _references(
    session: AsyncSession, rows: list[dict[str, str]]
) -> dict[tuple[str, str], tuple[Any, Any]]:
    slugs = {r["client"] for r in rows if "client" in r}
    found = await session.execute(
        select(Client.slug, Client.id, VendorAccount.account_number, VendorAccount.id)
        .join(VendorAccount, VendorAccount.client_id == Client.id)
        .where(Client.slug.in_(slugs))
    )
    return {(slug, number): (client_id, account_id) for slug, client_id, number, account_id in found}


async def import_lines(
    session: AsyncSession, data: bytes, principal: Principal = IMPORT_PRINCIPAL
) -> LineImport:
    """Validates every row, then (only when all are valid) creates the lines."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return LineImport(0, [RowError(line, None, "the file is not UTF-8 text; save it as 'CSV UTF-8'")])
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as exc:
        return LineImport(0, [RowError(reader.line_num, None, f"the file cannot be read as CSV: {exc}")])
    if not records:
        return LineImport(0, [RowError(1, None, "the file is empty")])
    header = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in records[0]]
    errors = [RowError(1, h or None, "unknown column") for h in header if h not in REQUIRED + OPTIONAL]
    errors += [RowError(1, h, "required column is missing") for h in REQUIRED if h not in header]
    if errors:
        return LineImport(0, errors)
    rows = [
        (n, {h: c.strip() for h, c in zip(header, record, strict=False) if c.strip()})
        for n, record in enumerate(records[1:], start=2)
        if any(c.strip() for c in record)
    ]
    refs = await _references(session, [cells for _, cells in rows])
    bodies: list[tuple[int, LineCreate]] = []
    for n, cells in rows:
        values, problems = _convert(cells, delimiter == ";")
        errors += [RowError(n, key, message) for key, message in problems]
        ref = refs.get((cells.get("client", ""), cells.get("isp_account", "")))
        if ref is None:
            errors.append(RowError(n, "isp_account", "no such account number for that client slug"))
            continue
        values["client_id"], values["vendor_account_id"] = ref
        try:
            bodies.append((n, LineCreate.model_validate(values)))
        except ValidationError as exc:
            converted = {key for key, _ in problems}  # already reported, not "missing" again
            errors += [
                RowError(n, ".".join(str(p) for p in e["loc"]) or None, e["msg"])
                for e in exc.errors()
                if not e["loc"] or e["loc"][0] not in converted
            ]
    if errors:
        return LineImport(0, errors)
    service = LineService()
    for n, body in bodies:
        try:
            await service.create(session, principal, body)
        except HubError as exc:
            errors.append(RowError(n, getattr(exc, "field", None), str(exc)))
    return LineImport(0 if errors else len(bodies), errors)


__all__ = ["LineImport", "import_lines", "parse_probe_target"]
