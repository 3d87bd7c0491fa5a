"""Coverage snapshots: read a client's facts, count them with the pure
`hub.report.coverage.figures`, and keep one row per client per day.

- `take_daily` (the `report.snapshot` job, every day): today's figures as observed.
- `backfill` (`hub reports backfill`, `POST /reports/backfill`): past days derived from the
  dates the hub keeps (see `hub.report.coverage` for what cannot be derived).

Both insert with "on conflict do nothing" on (client, day): running either twice, or both
for the same day, leaves one row, and an observed day is never overwritten by a derived one."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import InvalidInput
from hub.models import (
    Asset,
    Check,
    CheckRun,
    Client,
    CoverageSnapshot,
    Domain,
    Endpoint,
    Subscription,
    SubscriptionTerm,
    VendorCase,
    Warranty,
)
from hub.models.enums import SubscriptionStatus, VendorCategory
from hub.report.coverage import (
    AssetFact,
    CaseFact,
    CheckFact,
    ExpiryFact,
    Facts,
    Run,
    SeatFact,
    end_of,
    figures,
)

DAILY = "daily"
BACKFILL = "backfill"
# How far back a backfill goes when not told: the current quarter and the one before.
DEFAULT_BACKFILL_DAYS = 200
MAX_BACKFILL_DAYS = 3 * 366


async def active_clients(session: AsyncSession, client_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    query = select(Client.id).where(Client.archived_at.is_(None)).order_by(Client.name, Client.id)
    if client_id is not None:
        query = query.where(Client.id == client_id)
    return list((await session.execute(query)).scalars())


async def _assets(session: AsyncSession, client_id: uuid.UUID) -> list[AssetFact]:
    windows: dict[uuid.UUID, list[tuple[date, date]]] = defaultdict(list)
    for asset_id, starts, ends in await session.execute(
        select(Warranty.asset_id, Warranty.starts_on, Warranty.ends_on).where(Warranty.client_id == client_id)
    ):
        windows[asset_id].append((starts, ends))
    rows = await session.execute(
        select(Asset.id, Asset.kind, Asset.firmware_version, Asset.firmware_latest).where(
            Asset.client_id == client_id
        )
    )
    return [
        AssetFact(
            id=str(i),
            kind=kind.value,
            warranties=tuple(windows.get(i, ())),
            firmware_current=(version == latest) if version and latest else None,
        )
        for i, kind, version, latest in rows
    ]


async def _seats(session: AsyncSession, client_id: uuid.UUID) -> list[SeatFact]:
    subs = (
        await session.execute(
            select(
                Subscription.id,
                Subscription.status,
                Subscription.cancelled_at,
                Subscription.starts_on,
                Subscription.ends_on,
                Subscription.quantity,
                Subscription.seats_used,
            ).where(Subscription.client_id == client_id, Subscription.category == VendorCategory.antivirus)
        )
    ).all()
    terms: dict[uuid.UUID, list[tuple[date, date | None, int]]] = defaultdict(list)
    if subs:
        for sub_id, starts, ends, quantity in await session.execute(
            select(
                SubscriptionTerm.subscription_id,
                SubscriptionTerm.starts_on,
                SubscriptionTerm.ends_on,
                SubscriptionTerm.quantity,
            ).where(SubscriptionTerm.subscription_id.in_([s.id for s in subs]))
        ):
            terms[sub_id].append((starts, ends, quantity))
    return [
        SeatFact(
            active=s.status is SubscriptionStatus.active and s.cancelled_at is None,
            starts_on=s.starts_on,
            ends_on=s.ends_on,
            quantity=s.quantity,
            seats_used=s.seats_used,
            terms=tuple(terms.get(s.id, ())),
        )
        for s in subs
    ]


async def _checks(session: AsyncSession, client_id: uuid.UUID, until: date | None) -> list[CheckFact]:
    """Enabled checks; with `until`, each with its run history up to the end of that day."""
    checks = (
        await session.execute(
            select(Check.id, Check.kind, Check.target_ref, Check.status).where(
                Check.client_id == client_id, Check.enabled.is_(True)
            )
        )
    ).all()
    runs: dict[uuid.UUID, list[Run]] = defaultdict(list)
    if until is not None and checks:
        for check_id, at, status in await session.execute(
            select(CheckRun.check_id, CheckRun.started_at, CheckRun.status)
            .where(CheckRun.check_id.in_([c.id for c in checks]), CheckRun.started_at < end_of(until))
            .order_by(CheckRun.started_at, CheckRun.id)
        ):
            runs[check_id].append(Run(at, status.value))
    return [CheckFact(kind, ref, status.value, tuple(runs.get(i, ()))) for i, kind, ref, status in checks]


async def facts_of(
    session: AsyncSession, client_id: uuid.UUID, *, history_until: date | None = None
) -> Facts:
    """Everything the figures count for one client (check runs only for a backfill)."""
    domains = await session.execute(select(Domain.id, Domain.expires_on).where(Domain.client_id == client_id))
    endpoints = await session.execute(
        select(Endpoint.id, Endpoint.expires_on).where(Endpoint.client_id == client_id)
    )
    cases = await session.execute(
        select(VendorCase.opened_at, VendorCase.resolved_at).where(VendorCase.client_id == client_id)
    )
    return Facts(
        assets=await _assets(session, client_id),
        seats=await _seats(session, client_id),
        domains=[ExpiryFact(str(i), e) for i, e in domains],
        endpoints=[ExpiryFact(str(i), e) for i, e in endpoints],
        checks=await _checks(session, client_id, history_until),
        cases=[CaseFact(o, r) for o, r in cases],
    )


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CoverageSnapshot)


async def _store(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose (client, day) has none yet; how many were new."""
    new = 0
    for start in range(0, len(rows), 500):
        batch = rows[start : start + 500]
        stmt = _insert(session).values(batch).on_conflict_do_nothing().returning(CoverageSnapshot.id)
        new += len((await session.execute(stmt)).all())
    return new


async def take_daily(
    session: AsyncSession, day: date, now: datetime, client_id: uuid.UUID | None = None
) -> int:
    """Today's figures of every active client (or one), observed; how many rows were new
    (0 when today was already taken)."""
    rows = []
    for cid in await active_clients(session, client_id):
        found = figures(await facts_of(session, cid), day, live=True)
        rows.append({"client_id": cid, "day": day, "source": DAILY, "taken_at": now, "figures": found})
    return await _store(session, rows)


async def backfill(
    session: AsyncSession,
    *,
    since: date,
    until: date,
    now: datetime,
    client_id: uuid.UUID | None = None,
) -> dict[str, int]:
    """Derive every day from `since` to `until` (both included; `until` before today) for
    every active client (or one); days already snapshotted are left as they are.
    Answers {"clients", "days", "created"}."""
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    created = 0
    clients = await active_clients(session, client_id)
    for cid in clients:
        facts = await facts_of(session, cid, history_until=until)
        rows = [
            {
                "client_id": cid,
                "day": d,
                "source": BACKFILL,
                "taken_at": now,
                "figures": figures(facts, d, live=False),
            }
            for d in days
        ]
        created += await _store(session, rows)
    return {"clients": len(clients), "days": len(days), "created": created}


async def seed_history(
    session: AsyncSession, today: date, now: datetime, client_ids: Sequence[uuid.UUID] | None = None
) -> int:
    """The history a new installation (the demo) starts with: every day since the start of
    the quarter before the current one, derived, and today observed, for the given clients
    (the demo's own: a client a person added is left to its own backfill) or every active
    one. Rows added."""
    quarter_start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    previous = (
        date(quarter_start.year - 1, 10, 1)
        if quarter_start.month == 1
        else quarter_start.replace(month=quarter_start.month - 3)
    )
    created = 0
    for client_id in [None] if client_ids is None else client_ids:
        if previous < today:
            window = await backfill(
                session, since=previous, until=today - timedelta(days=1), now=now, client_id=client_id
            )
            created += window["created"]
        created += await take_daily(session, today, now, client_id)
    return created


def backfill_window(since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """The days a backfill covers, checked: both before today, `since` first, at most
    MAX_BACKFILL_DAYS. Errors name the field."""
    last = until or today - timedelta(days=1)
    first = since or last - timedelta(days=DEFAULT_BACKFILL_DAYS - 1)
    if last >= today:
        raise InvalidInput("until", "must be before today (today is taken by the daily snapshot)")
    if first > last:
        raise InvalidInput("since", "must not be after until")
    if (last - first).days + 1 > MAX_BACKFILL_DAYS:
        raise InvalidInput("since", f"at most {MAX_BACKFILL_DAYS} days at a time")
    return first, last


async def snapshots_between(
    session: AsyncSession, client_id: uuid.UUID, first: date, last: date
) -> list[CoverageSnapshot]:
    return list(
        (
            await session.execute(
                select(CoverageSnapshot)
                .where(
                    CoverageSnapshot.client_id == client_id,
                    CoverageSnapshot.day >= first,
                    CoverageSnapshot.day <= last,
                )
                .order_by(CoverageSnapshot.day)
            )
        ).scalars()
    )


__all__ = [
    "BACKFILL",
    "DAILY",
    "DEFAULT_BACKFILL_DAYS",
    "MAX_BACKFILL_DAYS",
    "active_clients",
    "backfill",
    "backfill_window",
    "facts_of",
    "seed_history",
    "snapshots_between",
    "take_daily",
]
