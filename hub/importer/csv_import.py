"""Spreadsheet (CSV) import of vendors, clients and subscriptions.

Two phases over one transaction. First the whole file is read, converted and validated
with the API's own Create schemas plus the database lookups (existing slugs and names,
the client and vendor a subscription names), collecting EVERY error with the line the
spreadsheet shows. Only a clean file reaches the second phase, which writes the rows
through the module services, so the rules and the audit trail are the API's. Nothing
here commits: the caller commits only a clean, non-dry run.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import re
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hub.account.schemas import VendorAccountCreate
from hub.account.service import VendorAccountService
from hub.audit.service import record
from hub.auth.principal import Principal
from hub.client.schemas import ClientCreate
from hub.client.service import ClientService
from hub.errors import HubError
from hub.kit.schema import Input
from hub.link import service as link_service
from hub.models import Client, Connection, Vendor, VendorAccount
from hub.models.enums import AuditAction, ClientStatus, RecordSource, Role, SupportChannelKind
from hub.subscription.schemas import SubscriptionCreate
from hub.subscription.service import SubscriptionService
from hub.vendor.schemas import VendorCreate
from hub.vendor.service import VendorService

IMPORT_PRINCIPAL = Principal(actor="cli:import", role=Role.admin)
HEADER_LINE = 1
# Keeps IN (...) lists well under every driver's bound-parameter limit.
_LOOKUP_CHUNK = 500

InputT = TypeVar("InputT", bound=Input)
ProgressFn = Callable[[int, int], None]  # (rows written, total)
Step = Callable[[AsyncSession], Awaitable[None]]


class ImportKind(enum.StrEnum):
    vendors = "vendors"
    clients = "clients"
    subscriptions = "subscriptions"


@dataclass(frozen=True)
class RowError:
    line: int
    field: str | None  # None: the row (or the file) as a whole
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


@dataclass
class ImportResult:
    kind: ImportKind
    dry_run: bool
    # Rows written; on a dry run, the rows that would be written.
    created: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "kind": self.kind.value,
            "dry_run": self.dry_run,
            "created": self.created if self.ok else dict.fromkeys(self.created, 0),
            "errors": [e.as_dict() for e in self.errors],
        }


# --- reading the file -----------------------------------------------------------------


@dataclass(frozen=True)
class CsvRow:
    line: int
    cells: dict[str, str]  # only the non-empty cells, stripped: empty means "not given"


@dataclass(frozen=True)
class CsvTable:
    delimiter: str
    columns: tuple[str, ...]
    rows: tuple[CsvRow, ...]
    sha256: str
    # Rows too malformed to validate; they fail the import with the other row errors.
    row_errors: tuple[RowError, ...] = ()

    @property
    def decimal_comma(self) -> bool:
        # Spreadsheets in locales with a decimal comma (Italy among them) export with ';'
        # precisely because ',' is taken by the numbers.
        return self.delimiter == ";"


Parser = Callable[[str, CsvTable], object]


def _text(value: str, table: CsvTable) -> object:
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DMY_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_date(value: str) -> date:
    """ISO `YYYY-MM-DD`, or `DD/MM/YYYY` (the Italian spreadsheet default; never the US
    month-first order, which would silently swap day and month)."""
    dmy = _DMY_DATE.match(value)
    try:
        if dmy:
            return date(int(dmy[3]), int(dmy[2]), int(dmy[1]))
        if _ISO_DATE.match(value):
            return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid date") from None
    raise ValueError(f"'{value}' is not a date; use YYYY-MM-DD or DD/MM/YYYY")


def _date(value: str, table: CsvTable) -> object:
    return parse_date(value)


_PLAIN_COMMA = re.compile(r"^[+-]?\d+,\d+$")  # 11,70
_GROUPED_COMMA = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+,\d+$")  # 1.234,56
_GROUPED_DOT_ONLY = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+$")  # 1.234: thousands or decimals?


def parse_amount(value: str, *, decimal_comma: bool) -> Decimal:
    """An exact Decimal from the text (never through float). With a decimal comma,
    `11,70` and `1.234,56` are read; `1.234` is refused as ambiguous rather than guessed,
    because money must not be off by a factor of a thousand."""
    text = value
    if decimal_comma:
        if _GROUPED_COMMA.match(text):
            text = text.replace(".", "").replace(",", ".")
        elif _PLAIN_COMMA.match(text):
            text = text.replace(",", ".")
        elif _GROUPED_DOT_ONLY.match(text):
            raise ValueError(
                f"'{value}' is ambiguous (thousands separator or decimal point?); "
                f"write {value.replace('.', '')} for a whole amount or {value.replace('.', ',')} "
                "for a decimal one"
            )
    elif "," in text:
        raise ValueError(
            f"'{value}': use a decimal point in a comma-separated file (e.g. 11.70), "
            "or save the file with ';' as the separator to use decimal commas"
        )
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"'{value}' is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"'{value}' is not an amount")
    return amount


def _amount(value: str, table: CsvTable) -> object:
    return parse_amount(value, decimal_comma=table.decimal_comma)


@dataclass(frozen=True)
class Column:
    required: bool = False
    parse: Parser = _text


# Column order here is the documented order (and the order the samples use).
COLUMNS: dict[ImportKind, dict[str, Column]] = {
    ImportKind.vendors: {
        "name": Column(required=True),
        "category": Column(required=True),
        "website": Column(),
        "support_phone": Column(),
        "support_email": Column(),
        "support_portal": Column(),
        "default_response_sla_hours": Column(),
        "notes": Column(),
    },
    ImportKind.clients: {
        "name": Column(required=True),
        "slug": Column(required=True),
        "tier": Column(),
        "timezone": Column(),
        "default_currency": Column(),
        "notes": Column(),
    },
    ImportKind.subscriptions: {
        "client_slug": Column(required=True),
        "vendor_name": Column(required=True),
        "account_number": Column(required=True),
        "product": Column(required=True),
        "sku": Column(),
        "category": Column(),
        "kind": Column(),
        "quantity": Column(),
        "unit_cost": Column(required=True, parse=_amount),
        "client_unit_price": Column(parse=_amount),
        "currency": Column(),
        "billing_period": Column(required=True),
        "payer": Column(required=True),
        "starts_on": Column(required=True, parse=_date),
        "ends_on": Column(parse=_date),
        "renewal_type": Column(),
        "notice_days": Column(),
        "notes": Column(),
        # The vendor link (both or neither): the connection's id or its (unique) name, and
        # the vendor's id of the subscription as the connection's sync lists it.
        "connection": Column(),
        "external_id": Column(),
    },
}


def _decode(data: bytes) -> tuple[str | None, list[RowError]]:
    try:
        # utf-8-sig drops the byte-order mark Excel writes at the start of "CSV UTF-8".
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [
            RowError(line, None, "the file is not UTF-8 text; save it as 'CSV UTF-8' from the spreadsheet")
        ]


def sniff_delimiter(text: str) -> str:
    """';' or ',', whichever the header line uses: column names contain neither, so the
    header is unambiguous where data rows (decimal commas, quoted notes) are not."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _header_name(raw: str) -> str:
    # "Client Slug" and "client-slug" are what people type for client_slug.
    return re.sub(r"[\s-]+", "_", raw.strip().lower())


def _check_header(names: list[str], kind: ImportKind) -> list[RowError]:
    known = COLUMNS[kind]
    errors: list[RowError] = []
    seen: set[str] = set()
    for name in names:
        if not name:
            errors.append(RowError(HEADER_LINE, None, "a column has no name"))
        elif name in seen:
            errors.append(RowError(HEADER_LINE, name, "column appears twice"))
        elif name not in known:
            errors.append(
                RowError(HEADER_LINE, name, f"unknown column; the {kind} columns are {', '.join(known)}")
            )
        seen.add(name)
    for name, column in known.items():
        if column.required and name not in seen:
            errors.append(RowError(HEADER_LINE, name, "required column is missing"))
    return errors


def _records(text: str, delimiter: str) -> tuple[list[list[str]], list[RowError]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return list(reader), []
    except csv.Error as exc:
        # Only damage the reader cannot step over (a NUL byte, a gigantic cell) lands here.
        return [], [RowError(reader.line_num, None, f"the file cannot be read as CSV: {exc}")]


def _row(line: int, record_: list[str], columns: tuple[str, ...]) -> CsvRow | RowError | None:
    cells = [c.strip() for c in record_]
    if not any(cells):
        return None  # blank rows at the end of a sheet export as ";;;;"
    if len(cells) > len(columns) and any(cells[len(columns) :]):
        return RowError(line, None, f"the row has {len(cells)} cells but the header names {len(columns)}")
    return CsvRow(line, {c: v for c, v in zip(columns, cells, strict=False) if v})


def read_csv(data: bytes, kind: ImportKind) -> tuple[CsvTable | None, list[RowError]]:
    """The file as rows of non-empty cells keyed by column, or (no table) the errors that
    make it unreadable: encoding, CSV structure, header. Lines are spreadsheet row
    numbers: the header is line 1, and a quoted cell spanning two text lines is one row."""
    text, errors = _decode(data)
    if text is None:
        return None, errors
    if not text.strip():
        return None, [RowError(HEADER_LINE, None, "the file is empty; line 1 must name the columns")]
    delimiter = sniff_delimiter(text)
    records, errors = _records(text, delimiter)
    columns = tuple(_header_name(c) for c in records[0]) if records else ()
    errors = errors or _check_header(list(columns), kind)
    if errors:
        return None, errors
    rows: list[CsvRow] = []
    shape_errors: list[RowError] = []
    for line, record_ in enumerate(records[1:], start=HEADER_LINE + 1):
        row = _row(line, record_, columns)
        if isinstance(row, RowError):
            shape_errors.append(row)
        elif row is not None:
            rows.append(row)
    digest = hashlib.sha256(data).hexdigest()
    return CsvTable(delimiter, columns, tuple(rows), digest, tuple(shape_errors)), []


# --- validation helpers ----------------------------------------------------------------


def _convert(row: CsvRow, kind: ImportKind, table: CsvTable) -> tuple[dict[str, Any], list[RowError]]:
    """Cells parsed into Python values (dates, Decimals); text stays text for pydantic."""
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for name, text in row.cells.items():
        try:
            values[name] = COLUMNS[kind][name].parse(text, table)
        except ValueError as exc:
            errors.append(RowError(row.line, name, str(exc)))
    return values, errors


FieldOf = Callable[[tuple[int | str, ...]], str | None]


def _top_field(loc: tuple[int | str, ...]) -> str | None:
    return str(loc[0]) if loc else None


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "a value is required"
    message = str(error["msg"])
    # pydantic prefixes the text of our own ValueErrors; the reader needs only the reason.
    return message.removeprefix("Value error, ")


def _merge(conversion: list[RowError], schema: list[RowError]) -> list[RowError]:
    """A cell that could not be converted is left out of the values, so pydantic would
    also call it missing; keep only the conversion error, which says what was wrong."""
    failed = {e.field for e in conversion}
    return conversion + [e for e in schema if e.field not in failed]


def _validate(
    schema: type[InputT], values: dict[str, Any], line: int, field_of: FieldOf = _top_field
) -> tuple[InputT | None, list[RowError]]:
    try:
        return schema.model_validate(values), []
    except ValidationError as exc:
        return None, [
            RowError(line, field_of(tuple(e["loc"])), _message(e)) for e in exc.errors(include_url=False)
        ]


async def _existing(
    session: AsyncSession, column: InstrumentedAttribute[Any], values: Iterable[Any]
) -> set[Any]:
    """Which of `values` are already stored in `column`."""
    wanted = list(values)
    found: set[Any] = set()
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        found.update((await session.execute(select(column).where(column.in_(chunk)))).scalars())
    return found


async def _rows_by(
    session: AsyncSession, column: InstrumentedAttribute[Any], values: Iterable[Any]
) -> list[Any]:
    wanted = list(values)
    model = column.class_
    rows: list[Any] = []
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        rows.extend((await session.execute(select(model).where(column.in_(chunk)))).scalars())
    return rows


@dataclass
class Plan:
    """What a clean file will write: ordered steps, each tied to its line."""

    created: dict[str, int]
    steps: list[tuple[int, Step]] = field(default_factory=list)


def _duplicate(first_line: dict[str, int], key: str, line: int, column: str, what: str) -> RowError | None:
    if key in first_line:
        return RowError(line, column, f"{what} '{key}' is already on line {first_line[key]} of this file")
    first_line[key] = line
    return None


# --- clients -------------------------------------------------------------------------


async def _plan_clients(session: AsyncSession, table: CsvTable) -> tuple[Plan, list[RowError]]:
    errors: list[RowError] = []
    valid: list[tuple[int, ClientCreate]] = []
    first_line: dict[str, int] = {}
    for row in table.rows:
        values, row_errors = _convert(row, ImportKind.clients, table)
        data, schema_errors = _validate(ClientCreate, values, row.line)
        errors += _merge(row_errors, schema_errors)
        if data is None or row_errors:
            continue
        dup = _duplicate(first_line, data.slug, row.line, "slug", "slug")
        if dup:
            errors.append(dup)
            continue
        valid.append((row.line, data))
    stored = {c.slug: c for c in await _rows_by(session, Client.slug, first_line)}
    for line, data in valid:
        if data.slug in stored:
            archived = " (archived)" if stored[data.slug].status is ClientStatus.archived else ""
            errors.append(
                RowError(line, "slug", f"a client with slug '{data.slug}' already exists{archived}")
            )
    plan = Plan(created={"clients": len(valid)})
    service = ClientService()
    for line, data in valid:
        plan.steps.append((line, _create_step(service, data)))
    return plan, errors


def _create_step(service: Any, data: Input) -> Step:
    async def step(session: AsyncSession) -> None:
        await service.create(session, IMPORT_PRINCIPAL, data)

    return step


# --- vendors -------------------------------------------------------------------------

_CHANNEL_COLUMNS = {
    "support_phone": SupportChannelKind.phone,
    "support_email": SupportChannelKind.email,
    "support_portal": SupportChannelKind.portal,
}


def _vendor_values(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Folds the support_* columns into support_channels entries; the list says which
    column each entry came from, so an error in entry i points at its column."""
    channels: list[dict[str, Any]] = []
    sources: list[str] = []
    for column, kind in _CHANNEL_COLUMNS.items():
        if column in values:
            channels.append({"kind": kind.value, "value": values.pop(column)})
            sources.append(column)
    if channels:
        values["support_channels"] = channels
    return values, sources


def _vendor_field_of(sources: Sequence[str]) -> FieldOf:
    def field_of(loc: tuple[int | str, ...]) -> str | None:
        if len(loc) >= 2 and loc[0] == "support_channels" and isinstance(loc[1], int):
            return sources[loc[1]]
        return _top_field(loc)

    return field_of


async def _plan_vendors(session: AsyncSession, table: CsvTable) -> tuple[Plan, list[RowError]]:
    errors: list[RowError] = []
    valid: list[tuple[int, VendorCreate]] = []
    first_line: dict[str, int] = {}
    for row in table.rows:
        values, row_errors = _convert(row, ImportKind.vendors, table)
        values, sources = _vendor_values(values)
        data, schema_errors = _validate(VendorCreate, values, row.line, _vendor_field_of(sources))
        errors += _merge(row_errors, schema_errors)
        if data is None or row_errors:
            continue
        dup = _duplicate(first_line, data.name, row.line, "name", "vendor")
        if dup:
            errors.append(dup)
            continue
        valid.append((row.line, data))
    stored = await _existing(session, Vendor.name, first_line)
    for line, data in valid:
        if data.name in stored:
            errors.append(RowError(line, "name", f"a vendor named '{data.name}' already exists"))
    plan = Plan(created={"vendors": len(valid)})
    service = VendorService()
    for line, data in valid:
        plan.steps.append((line, _create_step(service, data)))
    return plan, errors


# --- subscriptions -------------------------------------------------------------------

AccountKey = tuple[uuid.UUID, uuid.UUID, str]  # client, vendor, account number
# Stands in for the vendor account id while validating: the account may not exist yet.
_PENDING_ACCOUNT = uuid.UUID(int=0)
_REFERENCE_COLUMNS = ("client_slug", "vendor_name", "account_number")
_LINK_COLUMNS = ("connection", "external_id")
_LINK_FIELDS = link_service.LinkFields(connection="connection", external_id="external_id")


class _ImportedSubscriptions(SubscriptionService):
    """The subscription service, marking what it creates as imported (source=import),
    so reports and syncs can tell spreadsheet rows from hand-entered ones."""

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        values = await super().prepare_create(session, principal, values)
        values["source"] = RecordSource.import_
        return values


@dataclass
class _References:
    """Clients, vendors and vendor accounts the file names, loaded in bulk."""

    clients: dict[str, Client]
    vendors: dict[str, Vendor]
    accounts: dict[AccountKey, uuid.UUID]
    vendor_hints: dict[str, str]  # missing name -> stored name differing only in case


async def _load_references(session: AsyncSession, rows: Sequence[CsvRow]) -> _References:
    slugs = {r.cells["client_slug"] for r in rows if "client_slug" in r.cells}
    names = {r.cells["vendor_name"] for r in rows if "vendor_name" in r.cells}
    clients = {c.slug: c for c in await _rows_by(session, Client.slug, slugs)}
    vendors = {v.name: v for v in await _rows_by(session, Vendor.name, names)}
    accounts: dict[AccountKey, uuid.UUID] = {
        (a.client_id, a.vendor_id, a.account_number): a.id
        for a in await _rows_by(session, VendorAccount.client_id, (c.id for c in clients.values()))
    }
    hints: dict[str, str] = {}
    for name in names - vendors.keys():
        stmt = select(Vendor.name).where(func.lower(Vendor.name) == name.lower()).limit(1)
        found = (await session.execute(stmt)).scalar_one_or_none()
        if found is not None:
            hints[name] = found
    return _References(clients, vendors, accounts, hints)


def _resolve(row: CsvRow, refs: _References) -> tuple[AccountKey | None, list[RowError]]:
    """The (client, vendor, account number) a row belongs to; client and vendor must be
    stored already (import clients and vendors first)."""
    missing = [c for c in _REFERENCE_COLUMNS if c not in row.cells]
    errors = [RowError(row.line, c, "a value is required") for c in missing]
    if missing:
        return None, errors
    slug, name = row.cells["client_slug"], row.cells["vendor_name"]
    client, vendor = refs.clients.get(slug), refs.vendors.get(name)
    if client is None:
        errors.append(RowError(row.line, "client_slug", f"no client with slug '{slug}'"))
    elif client.status is ClientStatus.archived:
        errors.append(RowError(row.line, "client_slug", f"client '{slug}' is archived; restore it first"))
    if vendor is None:
        hint = f"; did you mean '{refs.vendor_hints[name]}'?" if name in refs.vendor_hints else ""
        errors.append(RowError(row.line, "vendor_name", f"no vendor named '{name}'{hint}"))
    if errors or client is None or vendor is None:
        return None, errors
    return (client.id, vendor.id, row.cells["account_number"]), []


@dataclass
class _SubscriptionRow:
    line: int
    account: AccountKey
    data: SubscriptionCreate
    # (connection cell, external id cell) when the row names a vendor link
    link_cells: tuple[str, str] | None = None
    link: tuple[uuid.UUID, str] | None = None


def _subscription_row(
    row: CsvRow, table: CsvTable, refs: _References, new_accounts: dict[AccountKey, VendorAccountCreate]
) -> tuple[_SubscriptionRow | None, list[RowError]]:
    values, conversion_errors = _convert(row, ImportKind.subscriptions, table)
    for column in (*_REFERENCE_COLUMNS, *_LINK_COLUMNS):
        values.pop(column, None)
    link_cells, link_errors = _link_cells(row)
    conversion_errors += link_errors
    values["vendor_account_id"] = _PENDING_ACCOUNT
    data, schema_errors = _validate(SubscriptionCreate, values, row.line)
    key, ref_errors = _resolve(row, refs)
    errors = _merge(conversion_errors, schema_errors) + ref_errors
    if key is not None and key not in refs.accounts and key not in new_accounts:
        account, account_errors = _validate(
            VendorAccountCreate,
            {"client_id": key[0], "vendor_id": key[1], "account_number": key[2]},
            row.line,
        )
        errors += account_errors
        if account is not None:
            new_accounts[key] = account
    if data is None or key is None or errors:
        return None, errors
    return _SubscriptionRow(row.line, key, data, link_cells), []


def _link_cells(row: CsvRow) -> tuple[tuple[str, str] | None, list[RowError]]:
    given = [c for c in _LINK_COLUMNS if c in row.cells]
    if not given:
        return None, []
    if len(given) == 1:
        other = next(c for c in _LINK_COLUMNS if c not in given)
        return None, [RowError(row.line, other, "a vendor link needs both connection and external_id")]
    return (row.cells["connection"], row.cells["external_id"]), []


async def _connections_named(session: AsyncSession, cells: set[str]) -> dict[str, list[Connection]]:
    """The connections each cell may name: the one with that id, else those with that name
    (names are not unique: two of them is an error the row reports)."""
    found: dict[str, list[Connection]] = {}
    by_name: dict[str, list[Connection]] = defaultdict(list)
    for conn in await _rows_by(session, Connection.name, cells):
        by_name[conn.name].append(conn)
    for cell in cells:
        try:
            conn = await session.get(Connection, uuid.UUID(cell))
        except ValueError:
            conn = None
        found[cell] = [conn] if conn is not None else by_name.get(cell, [])
    return found


async def _check_links(session: AsyncSession, rows: list[_SubscriptionRow]) -> list[RowError]:
    """Each named link as the API would check it (the connection sees that vendor
    subscription, in a tenant of the row's client, held by nobody else), and no vendor
    subscription named twice in the file."""
    named = [r for r in rows if r.link_cells is not None]
    if not named:
        return []
    connections = await _connections_named(session, {r.link_cells[0] for r in named if r.link_cells})
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for row in named:
        assert row.link_cells is not None
        cell, external_id = row.link_cells
        candidates = connections.get(cell, [])
        if len(candidates) != 1:
            reason = f"no connection with id or name '{cell}'"
            if candidates:
                reason = f"{len(candidates)} connections are named '{cell}'; use its id"
            errors.append(RowError(row.line, "connection", reason))
            continue
        connection_id = candidates[0].id
        dup = _duplicate(
            first_line, f"{connection_id}:{external_id}", row.line, "external_id", "vendor subscription"
        )
        if dup:
            errors.append(RowError(row.line, "external_id", dup.message.replace(f"{connection_id}:", "")))
            continue
        try:
            await link_service.check_link(
                session,
                IMPORT_PRINCIPAL,
                client_id=row.account[0],
                connection_id=connection_id,
                external_id=external_id,
                fields=_LINK_FIELDS,
            )
        except HubError as exc:
            errors += (
                _hub_error(row.line, exc) if exc.errors else [RowError(row.line, "external_id", exc.detail)]
            )
            continue
        row.link = (connection_id, external_id)
    return errors


async def _plan_subscriptions(session: AsyncSession, table: CsvTable) -> tuple[Plan, list[RowError]]:
    refs = await _load_references(session, table.rows)
    new_accounts: dict[AccountKey, VendorAccountCreate] = {}
    errors: list[RowError] = []
    valid: list[_SubscriptionRow] = []
    for row in table.rows:
        parsed, row_errors = _subscription_row(row, table, refs, new_accounts)
        errors += row_errors
        if parsed is not None:
            valid.append(parsed)
    errors += await _check_links(session, valid)
    plan = Plan(created={"subscriptions": len(valid), "vendor_accounts": 0})
    account_ids = dict(refs.accounts)
    scheduled: set[AccountKey] = set()
    for sub in valid:
        if sub.account in new_accounts and sub.account not in scheduled:
            # The first row naming a new account creates it; later rows reuse its id.
            scheduled.add(sub.account)
            plan.steps.append((sub.line, _account_step(new_accounts[sub.account], sub.account, account_ids)))
        plan.steps.append((sub.line, _subscription_step(sub, account_ids)))
    plan.created["vendor_accounts"] = len(scheduled)
    return plan, errors


def _account_step(
    data: VendorAccountCreate, key: AccountKey, account_ids: dict[AccountKey, uuid.UUID]
) -> Step:
    async def step(session: AsyncSession) -> None:
        account = await VendorAccountService().create(session, IMPORT_PRINCIPAL, data)
        account_ids[key] = account.id

    return step


def _subscription_step(sub: _SubscriptionRow, account_ids: dict[AccountKey, uuid.UUID]) -> Step:
    async def step(session: AsyncSession) -> None:
        data = sub.data.model_copy(update={"vendor_account_id": account_ids[sub.account]})
        created = await _ImportedSubscriptions().create(session, IMPORT_PRINCIPAL, data)
        if sub.link is not None:
            await link_service.link(
                session,
                IMPORT_PRINCIPAL,
                created,
                connection_id=sub.link[0],
                external_id=sub.link[1],
                version=created.version,
                fields=_LINK_FIELDS,
            )

    return step


# --- running an import ---------------------------------------------------------------

_PLANNERS: dict[ImportKind, Callable[[AsyncSession, CsvTable], Awaitable[tuple[Plan, list[RowError]]]]] = {
    ImportKind.clients: _plan_clients,
    ImportKind.vendors: _plan_vendors,
    ImportKind.subscriptions: _plan_subscriptions,
}


def _hub_error(line: int, exc: HubError) -> list[RowError]:
    if exc.errors:
        return [RowError(line, e.get("field"), str(e.get("message", exc.detail))) for e in exc.errors]
    return [RowError(line, None, exc.detail)]


async def _write(session: AsyncSession, plan: Plan, progress: ProgressFn | None) -> list[RowError]:
    """Runs the steps in order; the first failure stops the import (the caller rolls back
    everything, so a half-imported file never stays behind)."""
    total = len(plan.steps)
    for done, (line, step) in enumerate(plan.steps, start=1):
        try:
            await step(session)
        except HubError as exc:
            return _hub_error(line, exc)
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            return [RowError(line, None, f"the database refused the row: {reason}")]
        if progress is not None:
            progress(done, total)
    return []


async def import_table(
    session: AsyncSession,
    kind: ImportKind,
    table: CsvTable,
    *,
    dry_run: bool = False,
    source: str = "",
    progress: ProgressFn | None = None,
) -> ImportResult:
    """Validates every row, then (unless it is a dry run or a row is bad) writes them all.
    Never commits; commit only when the result is ok and it is not a dry run."""
    plan, errors = await _PLANNERS[kind](session, table)
    errors = sorted([*table.row_errors, *errors], key=lambda e: e.line)
    result = ImportResult(kind, dry_run, plan.created, errors)
    if not result.ok or dry_run:
        return result
    result.errors = await _write(session, plan, progress)
    if result.ok:
        _record_import(session, kind, table, source, plan.created)
    return result


def _record_import(
    session: AsyncSession, kind: ImportKind, table: CsvTable, source: str, created: dict[str, int]
) -> None:
    # One event for the import as a whole ties the per-row create events to a file.
    record(
        session,
        IMPORT_PRINCIPAL,
        AuditAction.import_,
        subject_type="import",
        subject_id=uuid.uuid4(),
        client_id=None,
        meta={"kind": kind.value, "file": source, "sha256": table.sha256, "created": created},
    )
