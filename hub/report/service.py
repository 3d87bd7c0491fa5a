"""Queries behind the reports. Plain column selects, not ORM entities: these are the
hot read paths and need no identity map."""

from __future__ import annotations

import functools
import heapq
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.errors import NotFound
from hub.kit.money import format_amount, monthly
from hub.kit.time import today as current_day
from hub.models import (
    Asset,
    Client,
    Domain,
    Endpoint,
    Subscription,
    Vendor,
    VendorAccount,
    Warranty,
)
from hub.models.enums import ClientStatus, RenewalType, SubscriptionStatus
from hub.renewal.route_check import route_problems
from hub.report.engine import build_spend
from hub.terms.client_view import figures
from hub.terms.engine import cancel_by

_SPEND_COLUMNS = (
    Subscription.id,
    Subscription.product,
    Subscription.sku,
    Subscription.kind,
    Subscription.category,
    Subscription.quantity,
    Subscription.unit_cost,
    Subscription.client_unit_price,
    Subscription.currency,
    Subscription.billing_period,
    Subscription.payer,
    Subscription.starts_on,
    Subscription.ends_on,
    Subscription.renewal_type,
    Subscription.notice_days,
    VendorAccount.id,
    VendorAccount.account_number,
    Vendor.id,
    Vendor.name,
    Vendor.category,
)


def client_summary(client: Client) -> dict[str, Any]:
    return {
        "id": str(client.id),
        "name": client.name,
        "slug": client.slug,
        "tier": client.tier.value,
        "status": client.status.value,
        "default_currency": client.default_currency,
        "timezone": client.timezone,
        "locale": client.locale,
    }


def refuse_unless_visible(principal: Principal, client_id: uuid.UUID) -> None:
    """A client user sees its own client only; any other is "not found", as a missing one."""
    if principal.client_id is not None and principal.client_id != client_id:
        raise NotFound(f"client {client_id} not found")


async def visible_client(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> Client:
    refuse_unless_visible(principal, client_id)
    client = await session.get(Client, client_id)
    if client is None:
        raise NotFound(f"client {client_id} not found")
    return client


def _fingerprint_statement() -> Any:
    client_id = bindparam("client_id", type_=Client.id.type)
    rows = (
        select(
            func.count(Subscription.id).label("subscriptions"),
            func.sum(Subscription.version).label("versions"),
            func.max(Subscription.updated_at).label("updated"),
            func.sum(VendorAccount.version).label("account_versions"),
            func.sum(Vendor.version).label("vendor_versions"),
        )
        .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
        .join(Vendor, Vendor.id == VendorAccount.vendor_id)
        .where(Subscription.client_id == client_id)
        .subquery("rows")
    )
    # One row per existing client (the aggregate always has one), none for a missing one.
    return (
        select(Client.version, *rows.c).select_from(Client).join(rows, true()).where(Client.id == client_id)
    )


_FINGERPRINT = _fingerprint_statement()  # built once: this is the cached report's only read


async def spend_fingerprint(session: AsyncSession, client_id: uuid.UUID, day: date) -> tuple[Any, ...] | None:
    """Changes whenever anything the client's spend report shows changes; None when there
    is no such client.

    Every ORM write bumps a row's version (optimistic concurrency) and updated_at, and
    a new or removed subscription changes the count, so one aggregate over the client's
    rows (and the client's own version) tells whether a cached report is still exact, at
    a fraction of building it.
    """
    conn = await session.connection()
    row = (await conn.execute(_FINGERPRINT, {"client_id": client_id})).first()
    return None if row is None else (day, *row)


async def spend_report(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, *, today: date | None = None
) -> dict[str, Any]:
    client = await visible_client(session, principal, client_id)
    return await build_spend_report(session, client, today or current_day())


async def build_spend_report(session: AsyncSession, client: Client, day: date) -> dict[str, Any]:
    stmt = (
        select(*_SPEND_COLUMNS)
        .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
        .join(Vendor, Vendor.id == VendorAccount.vendor_id)
        .where(Subscription.client_id == client.id, Subscription.status == SubscriptionStatus.active)
        .order_by(Vendor.name, Subscription.product, Subscription.id)
    )
    # Through the connection, not the ORM session: plain rows, no identity-map work.
    conn = await session.connection()
    lines, totals = build_spend((await conn.execute(stmt)).all(), day)
    return {"client": client_summary(client), "as_of": day.isoformat(), "lines": lines, "totals": totals}


# --- what ends soon -------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One kind of thing that ends: the rows to show, and what counting them needs."""

    rows: Any  # Select of the displayed columns
    model: Any
    client_col: Any
    ends: Any  # the end-date column
    table_id: Any
    extra: tuple[Any, ...] = ()

    def count(self, window: tuple[Any, ...], scope: Any) -> Any:
        """A scalar expression: the rows in the window, leaving out archived clients.

        Counting through a join to clients costs one lookup per row (5 ms for 6,000
        rows on SQLite, measured); instead count the covering index alone and subtract
        what archived clients (few) hold, found by IN (archived ids) so that their rows
        come straight from the client_id index.
        """
        where = (*self.extra, *window)
        if scope is not None:
            mine = select(func.count()).select_from(self.model).where(self.client_col == scope, *where)
            return mine.scalar_subquery()
        everyone = select(func.count()).select_from(self.model).where(*where).scalar_subquery()
        archived_ids = select(Client.id).where(Client.status == ClientStatus.archived)
        archived = (
            select(func.count())
            .select_from(self.model)
            .where(self.client_col.in_(archived_ids), *where)
            .scalar_subquery()
        )
        return everyone - archived


def _sources(scope: Any) -> dict[str, _Source]:
    """Scoped to one client when `scope` (its id, or a bind parameter) is not None."""
    active_client = Client.status != ClientStatus.archived
    client_cols = (
        Client.id.label("client_id"),
        Client.name.label("client_name"),
        Client.slug.label("client_slug"),
    )
    active_sub = Subscription.status == SubscriptionStatus.active
    subs = (
        select(
            Subscription.id,
            Subscription.ends_on.label("ends_on"),
            *client_cols,
            Vendor.id.label("vendor_id"),
            Vendor.name.label("vendor_name"),
            Subscription.product,
            Subscription.category,
            Subscription.quantity,
            Subscription.unit_cost,
            Subscription.client_unit_price,
            Subscription.currency,
            Subscription.billing_period,
            Subscription.payer,
            Subscription.renewal_type,
            Subscription.notice_days,
        )
        .join(Client, Client.id == Subscription.client_id)
        .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
        .join(Vendor, Vendor.id == VendorAccount.vendor_id)
        .where(active_client, active_sub)
    )
    warranties = (
        select(
            Warranty.id,
            Warranty.ends_on.label("ends_on"),
            *client_cols,
            Warranty.level,
            Asset.id.label("asset_id"),
            Asset.name.label("asset_name"),
            Asset.manufacturer,
            Asset.model,
            Asset.serial,
        )
        .join(Client, Client.id == Warranty.client_id)
        .join(Asset, Asset.id == Warranty.asset_id)
        .where(active_client)
    )
    domains = (
        select(
            Domain.id,
            Domain.expires_on.label("ends_on"),
            *client_cols,
            Domain.name,
            Vendor.id.label("vendor_id"),
            Vendor.name.label("vendor_name"),
        )
        .join(Client, Client.id == Domain.client_id)
        .outerjoin(VendorAccount, VendorAccount.id == Domain.registrar_account_id)
        .outerjoin(Vendor, Vendor.id == VendorAccount.vendor_id)
        .where(active_client)
    )
    endpoints = (
        select(Endpoint.id, Endpoint.expires_on.label("ends_on"), *client_cols, Endpoint.host, Endpoint.port)
        .join(Client, Client.id == Endpoint.client_id)
        .where(active_client)
    )

    out = {
        "subscription": _Source(
            subs, Subscription, Subscription.client_id, Subscription.ends_on, Subscription.id, (active_sub,)
        ),
        "warranty": _Source(warranties, Warranty, Warranty.client_id, Warranty.ends_on, Warranty.id),
        "domain": _Source(domains, Domain, Domain.client_id, Domain.expires_on, Domain.id),
        "endpoint": _Source(endpoints, Endpoint, Endpoint.client_id, Endpoint.expires_on, Endpoint.id),
    }
    if scope is not None:
        out = {k: replace(src, rows=src.rows.where(Client.id == scope)) for k, src in out.items()}
    return out


def _item(kind: str, row: Any, day: date, client_view: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": kind,
        "id": str(row.id),
        "ends_on": row.ends_on.isoformat(),
        "days_left": (row.ends_on - day).days,
        "client": {"id": str(row.client_id), "name": row.client_name, "slug": row.client_slug},
        "vendor": None,
        "title": "",
        "category": None,
        "cost": None,
        "currency": None,
        "billing_period": None,
        "monthly": None,
        "payer": None,
        "renewal_type": None,
        "cancel_by": None,
        "renewal_route_problem": None,
    }
    if kind == "subscription":
        cost: Decimal | None = row.unit_cost * row.quantity
        per_month = monthly(cost, row.billing_period) if cost is not None else None
        if client_view:  # what the client pays, never the MSP's cost (hub.terms.client_view)
            f = figures(row.payer, row.unit_cost, row.client_unit_price, row.quantity, row.billing_period)
            cost, per_month = f.period_price, f.monthly
        item.update(
            vendor={"id": str(row.vendor_id), "name": row.vendor_name},
            title=row.product,
            category=row.category.value,
            cost=format_amount(cost) if cost is not None else None,
            currency=row.currency,
            billing_period=row.billing_period.value,
            monthly=format_amount(per_month) if per_month is not None else None,
            payer=row.payer.value,
            renewal_type=row.renewal_type.value,
            cancel_by=cancel_by(row.ends_on, row.notice_days).isoformat(),  # type: ignore[union-attr]
        )
    elif kind == "warranty":
        serial = f" (serial {row.serial})" if row.serial else ""
        item.update(
            title=f"{row.level}: {row.asset_name}, {row.manufacturer} {row.model or ''}".strip() + serial,
            category="warranty",
        )
    elif kind == "domain":
        item.update(
            title=row.name,
            category="domain",
            vendor={"id": str(row.vendor_id), "name": row.vendor_name} if row.vendor_id else None,
        )
    else:
        item.update(title=f"TLS certificate {row.host}:{row.port}", category="certificate")
    return item


_KINDS = ("subscription", "warranty", "domain", "endpoint")


@dataclass(frozen=True)
class _UpcomingStatements:
    count: Any  # every kind's count in the window, one column each
    keys: Any  # (ends_on, kind, id) of one page across the kinds, soonest first
    details: dict[str, Any]  # per kind: its rows with id IN (ids)
    every: list[tuple[str, Any]]  # per kind: all its rows in the window, in order (CSV)


@functools.cache
def _upcoming_statements(scoped: bool, kinds: frozenset[str], limit_each: bool) -> _UpcomingStatements:
    """The statements of the upcoming list, built once per shape with the window, the
    client, the page and the ids as parameters (start, end, scope, page_limit,
    page_offset, page_end, ids): building them per request was a quarter of the page's
    CPU.

    A page is found first by its keys alone: each kind's first offset+limit keys in end
    order, merged, ordered and cut to the page in the database, in one statement; then
    only the page's rows are read with their joins. Reading each kind's first
    offset+limit joined rows and merging them here read four times the page (profiled:
    926 UUIDs parsed for a 100-row page).
    """
    scope: Any = bindparam("scope") if scoped else None
    sources = {k: src for k, src in _sources(scope).items() if k in kinds}
    windows = {
        k: (src.ends >= bindparam("start"), src.ends <= bindparam("end")) for k, src in sources.items()
    }
    # Every count in one statement: each round trip through the driver costs more than
    # one of these index-only counts (measured on SQLite: ~0.5 ms against ~0.3 ms).
    count = select(*(src.count(windows[k], scope).label(k) for k, src in sources.items()))
    archived_ids = select(Client.id).where(Client.status == ClientStatus.archived)
    arms = []
    for kind, src in sources.items():
        # A scoped list has checked its one client is not archived (see `upcoming`).
        whose = src.client_col == scope if scoped else src.client_col.not_in(archived_ids)
        label: Any = literal_column(f"'{kind}'").label("kind")
        arm: Any = select(src.ends.label("ends_on"), label, src.table_id.label("id")).where(
            *src.extra, *windows[kind], whose
        )
        if limit_each:
            # PostgreSQL sorts the whole window of a bare UNION (18 ms on the large seed);
            # each kind limited to the page's end on its own is an index range scan that
            # stops there (3.8 ms). SQLite merges the bare UNION's index scans itself and
            # stops after the page (0.32 ms; limited arms: 0.76 ms).
            limited = arm.order_by(src.ends, src.table_id).limit(bindparam("page_end")).subquery(kind)
            arm = select(limited.c.ends_on, limited.c.kind, limited.c.id)
        arms.append(arm)
    keys = (
        union_all(*arms)
        .order_by(literal_column("ends_on"), literal_column("kind"), literal_column("id"))
        .limit(bindparam("page_limit"))
        .offset(bindparam("page_offset"))
    )
    details = {
        kind: src.rows.where(src.table_id.in_(bindparam("ids", expanding=True)))
        for kind, src in sources.items()
    }
    every = [
        (kind, src.rows.where(*windows[kind]).order_by(src.ends, src.table_id))
        for kind, src in sources.items()
    ]
    return _UpcomingStatements(count, keys, details, every)


async def _archived(conn: Any, client_id: uuid.UUID) -> bool:
    status = (await conn.execute(select(Client.status).where(Client.id == client_id))).scalar_one_or_none()
    return status is ClientStatus.archived


async def upcoming(
    session: AsyncSession,
    principal: Principal,
    *,
    within_days: int,
    lapsed_days: int = 0,
    kinds: set[str] | None = None,
    client_id: uuid.UUID | None = None,
    limit: int | None = 100,
    offset: int = 0,
    today: date | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Everything ending in [today - lapsed_days, today + within_days], soonest first.

    A page costs the window's counts, its keys (the kinds' index range scans merged in
    the database, stopping after the page) and its own rows (`_upcoming_statements`).
    """
    day = today or current_day()
    start, end = day - timedelta(days=lapsed_days), day + timedelta(days=within_days)
    conn = await session.connection()
    # The principal's client always wins over the one asked for in the query.
    scope = principal.client_id or client_id
    if scope is not None and await _archived(conn, scope):
        return [], 0
    wanted = frozenset(k for k in _KINDS if not kinds or k in kinds)
    if not wanted:
        return [], 0
    statements = _upcoming_statements(scope is not None, wanted, conn.dialect.name != "sqlite")
    params: dict[str, Any] = {"start": start, "end": end}
    if scope is not None:
        params["scope"] = scope
    total = sum(int(n or 0) for n in (await conn.execute(statements.count, params)).one())
    if limit is None:  # everything in the window (CSV): each kind in order, merged
        streams = []
        for kind, rows_in_order in statements.every:
            rows = (await conn.execute(rows_in_order, params)).all()
            # (end, kind, id): ids compare as their text does, without formatting them.
            streams.append([((r.ends_on, kind, r.id), kind, r) for r in rows])
        page = [(kind, row) for _, kind, row in heapq.merge(*streams, key=lambda t: t[0])]
    else:
        paging = {"page_limit": limit, "page_offset": offset, "page_end": offset + limit}
        keys = (await conn.execute(statements.keys, {**params, **paging})).all()
        ids_by_kind: dict[str, list[Any]] = {}
        for key in keys:
            ids_by_kind.setdefault(key.kind, []).append(key.id)
        found: dict[tuple[str, Any], Any] = {}
        for kind, ids in ids_by_kind.items():
            for row in (await conn.execute(statements.details[kind], {**params, "ids": ids})).all():
                found[(kind, row.id)] = row
        # A row changed or deleted between the two reads drops out of this page.
        page = [(k.kind, found[(k.kind, k.id)]) for k in keys if (k.kind, k.id) in found]
    items = [_item(kind, row, day, principal.is_client) for kind, row in page]
    if principal.is_client:
        return items, int(total)  # how the MSP orders its renewals is its own business
    # Weeks ahead, not at the deadline: an auto-renewal with no route to order it says so.
    auto = [
        i for i in items if i["kind"] == "subscription" and i["renewal_type"] == RenewalType.auto_hub.value
    ]
    problems = await route_problems(session, (uuid.UUID(i["id"]) for i in auto))
    for item in auto:
        item["renewal_route_problem"] = problems.get(uuid.UUID(item["id"]))
    return items, int(total)
