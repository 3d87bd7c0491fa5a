"""Which auto-renew subscriptions are due, and the Renewal row each due term gets.

Planning is idempotent: the row is unique per (subscription, term end), so planning
again, on any number of workers, adds nothing. The order reference is minted here and
committed with the row, long before anything is sent.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, and_, cast, func, literal, literal_column, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from hub.jobs.queue import DEFAULT_MAX_ATTEMPTS, bring_forward
from hub.jobs.registry import get_task
from hub.kit.time import utcnow
from hub.models import Client, Job, Renewal, Subscription
from hub.models.enums import Payer, RenewalState, RenewalType, SubscriptionStatus
from hub.models.job import JobState
from hub.renewal.policy import Policy
from hub.renewal.schemas import AdvanceRenewal
from hub.renewal.service import get_controls
from hub.renewal.states import ACTIVE

# The longest lead time a policy may ask for (PolicyOverrides.lead_days); the SQL
# prefilter uses it, the exact per-item lead is applied after.
MAX_LEAD_DAYS = 365
BATCH = 5000


@dataclass(frozen=True)
class DueItem:
    subscription_id: uuid.UUID
    client_id: uuid.UUID
    client_name: str
    product: str
    ends_on: date
    quantity: int
    unit_cost: Decimal
    currency: str
    payer: Payer
    connection_id: uuid.UUID | None
    lead_days: int
    planned: bool
    renewal_state: RenewalState | None

    @property
    def total(self) -> Decimal:
        return self.unit_cost * self.quantity

    @property
    def order_on(self) -> date:
        return self.ends_on - timedelta(days=self.lead_days)


def mint_reference() -> str:
    """Our order reference: short enough for vendors' reference fields, unguessable."""
    return "hub-" + secrets.token_hex(10)


async def due_items(session: AsyncSession, today: date, *, within_days: int | None = None) -> list[DueItem]:
    """Auto-renew (by the hub) subscriptions whose term ends within their lead time (or
    within `within_days` when given), with the renewal already planned for that term."""
    return await _due_items(session, today, within_days=within_days)


async def _due_items(
    session: AsyncSession,
    today: date,
    *,
    within_days: int | None = None,
    only: ColumnElement[bool] | None = None,
) -> list[DueItem]:
    controls = await get_controls(session)
    base = Policy(lead_days=controls.lead_days)
    horizon = today + timedelta(days=within_days if within_days is not None else MAX_LEAD_DAYS)
    query = (
        select(
            Subscription.id,
            Subscription.client_id,
            Client.name,
            Subscription.product,
            Subscription.ends_on,
            Subscription.quantity,
            Subscription.unit_cost,
            Subscription.currency,
            Subscription.payer,
            Subscription.connection_id,
            Subscription.renewal_policy,
            Client.renewal_policy,
            Renewal.state,
        )
        .join(Client, Client.id == Subscription.client_id)
        .outerjoin(
            Renewal,
            and_(Renewal.subscription_id == Subscription.id, Renewal.term_ends_on == Subscription.ends_on),
        )
        .where(*_auto_renewed(today, horizon))
        .order_by(Subscription.ends_on, Subscription.id)
    )
    if only is not None:
        query = query.where(only)
    rows = await session.execute(query)
    leads: dict[tuple[str, str], int] = {}
    items = []
    for sid, cid, cname, product, ends_on, qty, unit, cur, payer, conn, sub_pol, client_pol, state in rows:
        assert ends_on is not None  # filtered in SQL
        if not client_pol and not sub_pol:  # most: no override, no key to build
            lead = base.lead_days
        else:
            key = (json.dumps(client_pol or {}, sort_keys=True), json.dumps(sub_pol or {}, sort_keys=True))
            if key not in leads:  # thousands of subscriptions share a handful of policies
                leads[key] = base.overridden(client_pol).overridden(sub_pol).lead_days
            lead = leads[key]
        if within_days is None and ends_on - timedelta(days=lead) > today:
            continue
        items.append(
            DueItem(
                sid, cid, cname, product, ends_on, qty, unit, cur, payer, conn, lead, state is not None, state
            )
        )
    return items


def _auto_renewed(today: date, horizon: date) -> list[ColumnElement[bool]]:
    """Auto-renewed by the hub, active, of a client not archived, ending from yesterday
    to `horizon` (the query joins Client)."""
    return [
        Subscription.renewal_type == RenewalType.auto_hub,
        Subscription.status == SubscriptionStatus.active,
        Subscription.cancelled_at.is_(None),
        Subscription.ends_on.is_not(None),
        Subscription.ends_on >= today - timedelta(days=1),
        Subscription.ends_on <= horizon,
        Client.archived_at.is_(None),
    ]


def _no_override(column: Any) -> ColumnElement[bool]:
    """No policy override, as SQL: NULL, JSON null or `{}` as the hub writes them. Any
    other spelling counts as an override and takes the exact path (Policy in Python)."""
    return or_(column.is_(None), cast(column, Text).in_(("{}", "null")))


# Ids and order references drawn by the database for the set-based insert, from its
# strong random source: PostgreSQL's gen_random_uuid() (core since 13, pg_strong_random)
# and SQLite's randomblob() (ChaCha20 seeded from the OS). The reference is 80 random bits
# in 20 hex digits, as `mint_reference`; the id is a version 4 UUID (Uuid() keeps 32 hex
# digits on SQLite).
_NEW_ID = {
    "postgresql": "gen_random_uuid()",
    "sqlite": (
        "lower(hex(randomblob(6))) || '4' || substr(lower(hex(randomblob(2))), 2)"
        " || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(8))), 2)"
    ),
}
_NEW_REFERENCE = {
    "postgresql": (
        "'hub-' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 12)"
        " || substr(replace(gen_random_uuid()::text, '-', ''), 1, 8)"
    ),
    "sqlite": "'hub-' || lower(hex(randomblob(10)))",
}


async def plan(session: AsyncSession, today: date, *, now: datetime) -> int:
    """Create the Renewal rows of every due term; returns how many were new (or planned
    again: see `_replan_declined`).

    Two paths. The subscriptions with no policy override anywhere (nearly all) are due by
    the hub's lead time alone: one `INSERT ... SELECT ... ON CONFLICT DO NOTHING` plans
    them all, ids and order references drawn by the database (per row in Python it was
    9 s for 30,000 on a loaded machine). The few with an override, and the due terms whose
    renewal the hub declined, go through `due_items` (the policy is applied in Python).
    Either way the unique (subscription, term end) has the last word, so planning again,
    or on two workers at once, plans nothing twice."""
    controls = await get_controls(session)
    base_lead = min(Policy(lead_days=controls.lead_days).lead_days, MAX_LEAD_DAYS)
    table = Renewal.__table__.c
    dialect = session.get_bind().dialect.name
    fast = _no_override(Subscription.renewal_policy) & _no_override(Client.renewal_policy)

    exact = await _due_items(session, today, only=~fast | (Renewal.state == RenewalState.declined))
    revived = await _replan_declined(
        session, [item for item in exact if item.renewal_state == RenewalState.declined], now
    )
    new_rows = select(
        literal_column(_NEW_ID[dialect], table.id.type),
        Subscription.id,
        Subscription.client_id,
        Subscription.ends_on,
        literal(RenewalState.planned, table.state.type),
        literal_column(_NEW_REFERENCE[dialect], table.idempotency_key.type),
        Subscription.connection_id,
        Subscription.quantity,
        Subscription.unit_cost,
        Subscription.currency,
        literal([], table.approvals.type),
        literal(0, table.attempts.type),
        literal(0, table.reconcile_attempts.type),
        literal(now, table.next_action_at.type),
        literal(now, table.created_at.type),
        literal(now, table.updated_at.type),
        literal(1, table.version.type),
    ).join(Client, Client.id == Subscription.client_id)
    columns = [
        "id", "subscription_id", "client_id", "term_ends_on", "state", "idempotency_key",
        "connection_id", "quantity", "previous_unit_cost", "currency", "approvals", "attempts",
        "reconcile_attempts", "next_action_at", "created_at", "updated_at", "version",
    ]  # fmt: skip
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await (await session.connection()).execute(
        insert(Renewal)
        .from_select(
            columns,
            new_rows.where(*_auto_renewed(today, today + timedelta(days=base_lead)), fast),
        )
        .on_conflict_do_nothing()
        # Kept at execution: PostgreSQL's async cursor forgets it once closed.
        .execution_options(preserve_rowcount=True)
    )
    # No `NOT EXISTS` for the terms already planned: the unique (subscription, term end)
    # skips them, one index probe each. With it, PostgreSQL planned an anti-join that
    # scanned the renewals table once per due row when the table had no statistics yet
    # (7 s for the first 30,000). One statement: its row count is the rows it added.
    created = result.rowcount or 0
    return (
        created + await _insert_planned(session, [i for i in exact if not i.planned], now, dialect) + revived
    )


async def _insert_planned(session: AsyncSession, items: list[DueItem], now: datetime, dialect: str) -> int:
    """The Renewal rows of due terms chosen in Python (a policy override); returns how
    many were added."""
    if not items:
        return 0
    added = select(func.count(Renewal.id)).where(Renewal.created_at == now)
    before = (await session.execute(added)).scalar_one()
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Renewal)
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        values: list[dict[str, Any]] = [
            {
                "id": uuid.uuid4(),
                "subscription_id": item.subscription_id,
                "client_id": item.client_id,
                "term_ends_on": item.ends_on,
                "state": RenewalState.planned,
                "idempotency_key": mint_reference(),
                "connection_id": item.connection_id,
                "quantity": item.quantity,
                "previous_unit_cost": item.unit_cost,
                "currency": item.currency,
                "approvals": [],
                "attempts": 0,
                "reconcile_attempts": 0,
                "next_action_at": now,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for item in chunk
        ]
        # No RETURNING: with it, each batch became one statement of thousands of
        # parameters that psycopg parsed anew every time (21 s for 30,000 due terms on
        # PostgreSQL, 7 s without). The rows added carry this call's `now`.
        await (await session.connection()).execute(insert.on_conflict_do_nothing(), values)
    return int((await session.execute(added)).scalar_one() - before)


async def _replan_declined(session: AsyncSession, items: list[DueItem], now: datetime) -> int:
    """A due term whose renewal the hub declined by itself (auto-renew was off, the
    subscription cancelled, or its end date elsewhere) while the subscription, as it is
    now, is auto-renewed again for that very term: plan it again, under the same order
    reference (a declined renewal never sent anything). A person's decline
    (`decided_by` set) stands."""
    if not items:
        return 0
    revived = 0
    for item in items:
        result = await session.execute(
            update(Renewal)
            .where(
                Renewal.subscription_id == item.subscription_id,
                Renewal.term_ends_on == item.ends_on,
                Renewal.state == RenewalState.declined,
                Renewal.decided_by.is_(None),
            )
            .values(
                state=RenewalState.planned,
                reason="planned again: the subscription is auto-renewed for this term",
                next_action_at=now,
                updated_at=now,
                version=Renewal.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        revived += result.rowcount or 0  # type: ignore[attr-defined]
    return revived


# -- queueing the renewals whose next step is due ---------------------------------------------

ADVANCE = AdvanceRenewal.kind
TICK_BATCH = 2000


def dedupe_key(renewal_id: uuid.UUID | str) -> str:
    return f"renewal:{renewal_id}"


async def queue_due(session: AsyncSession, *, now: datetime, limit: int = TICK_BATCH) -> int:
    """Queue an advance job for each renewal whose next action is due (deduplicated).

    Set-based: one read of the due renewals (`ix_renewals_state_next_action_at`), one of
    which of them already have a live job (by their dedupe keys, through the unique
    partial index on live keys: in a storm most due renewals are already waiting for a
    worker), then one INSERT ... ON CONFLICT DO NOTHING for the rest (the unique index
    still has the last word when two ticks race). A queued follow-up scheduled for later
    than the renewal is now due (its renewal was brought forward, or the clocks disagree)
    is moved to now: the tick is the safety net."""
    ids = (
        (
            await session.execute(
                select(Renewal.id)
                .where(Renewal.state.in_(ACTIVE), Renewal.next_action_at <= now)
                .order_by(Renewal.next_action_at)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return 0
    keys = {renewal_id: dedupe_key(renewal_id) for renewal_id in ids}
    live: set[str] = set()
    wanted = list(keys.values())
    for start in range(0, len(wanted), KEY_BATCH):
        found = await session.execute(
            select(Job.dedupe_key).where(
                Job.dedupe_key.in_(wanted[start : start + KEY_BATCH]),
                LIVE_JOB,
            )
        )
        live.update(key for key in found.scalars() if key is not None)
    queued = await _enqueue_advances(session, [i for i, key in keys.items() if key not in live], keys)
    await bring_forward(session, [key for key in wanted if key in live], utcnow())
    return queued


KEY_BATCH = 900  # bound parameters per IN list (SQLite's limit is far above, but bounded)
# The predicate of the unique partial index on live dedupe keys, as written there: SQLite
# uses a partial index only for a query that repeats its WHERE with the same literals
# (with bound states it searched every live job by state instead).
LIVE_JOB = text("jobs.state IN ('queued', 'running')")


async def _enqueue_advances(session: AsyncSession, ids: list[uuid.UUID], keys: dict[uuid.UUID, str]) -> int:
    """What `hub.jobs.enqueue(session, AdvanceRenewal(...), dedupe_key=...)` adds, for many
    renewals in one statement (executemany, no RETURNING); returns how many were added.
    The rows are the ones `enqueue` writes: the kind's registered priority and attempts."""
    if not ids:
        return 0
    registered = get_task(ADVANCE)
    at = utcnow()
    # The payload as `enqueue` dumps it (checked on the first: the model is one id).
    assert AdvanceRenewal(renewal_id=ids[0]).model_dump(mode="json", exclude_defaults=True) == {
        "renewal_id": str(ids[0])
    }
    rows = [
        {
            "kind": ADVANCE,
            "payload": {"renewal_id": str(renewal_id)},
            "state": JobState.queued,
            "priority": registered.priority if registered else 0,
            "run_at": at,
            "attempt": 0,
            "max_attempts": (registered.max_attempts if registered else None) or DEFAULT_MAX_ATTEMPTS,
            "dedupe_key": keys[renewal_id],
            "lock_key": None,
            "reclaims": 0,
            "created_at": at,
        }
        for renewal_id in ids
    ]
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Job)
    await session.execute(insert.on_conflict_do_nothing(), rows)
    # Counted by their keys rather than through RETURNING (see `plan`): the live jobs of
    # these keys are the ones just added, plus any a concurrent tick added meanwhile.
    added = 0
    wanted = [keys[renewal_id] for renewal_id in ids]
    for start in range(0, len(wanted), KEY_BATCH):
        added += (
            await session.execute(
                select(func.count()).where(
                    Job.dedupe_key.in_(wanted[start : start + KEY_BATCH]),
                    LIVE_JOB,
                    Job.created_at == at,
                )
            )
        ).scalar_one()
    return int(added)
