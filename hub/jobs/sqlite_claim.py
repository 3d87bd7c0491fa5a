"""SQLite: the claim and the batched completion as plain SQL, and a worker's claim
transaction in one call on the connection's own thread.

Through SQLAlchemy and aiosqlite every statement costs three or four hand-offs between the
event loop and aiosqlite's thread (cursor, execute, fetch, close) plus the ORM's statement
building, and a claim transaction had five statements (BEGIN IMMEDIATE, the batched
completion, the claim's SELECT and UPDATE, COMMIT): with no-op jobs that, not SQLite, was
the worker's time. Here the claim is one statement and the worker runs its whole
transaction (`transaction`) as one function on aiosqlite's thread (`Lane`): one hand-off
per batch. `queue.claim` and `queue.complete_many` run the same SQL in a session's
transaction, so there is one text of each statement.

The fencing is the same as on PostgreSQL: a claim only takes `queued` rows and a
completion only rows still `running` under this owner at this attempt. On SQLite the
transaction's BEGIN IMMEDIATE serialises every writer, so no row lock is needed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.kit.time import utcnow
from hub.kit.types import UTCDateTime

T = TypeVar("T")

# Instants written exactly as the ORM writes them (UTCDateTime on SQLite): the claim
# compares `run_at` with this text, so both must use one format.
_DIALECT = sqlite.dialect()
_to_text = UTCDateTime().dialect_impl(_DIALECT).bind_processor(_DIALECT)


def instant(value: datetime) -> str:
    text = _to_text(value) if _to_text is not None else value
    assert isinstance(text, str)
    return text


# A claimed row: id, kind, payload (JSON text), attempt, max_attempts.
ClaimedRow = tuple[int, str, Any, int, int]


@cache
def claim_sql(kinds: int) -> str:
    """Lease up to `limit` due jobs of `kinds` kinds in one statement.

    The candidates are the queued, due, lock-free rows in claim order: `likely()` tells
    SQLite most rows match `state = 'queued'` (written as a literal: a bound state keeps
    the planner off the partial index), so it walks `ix_jobs_priority_run_at_id` and stops
    after `limit` (`EXPLAIN QUERY PLAN`: SCAN j USING INDEX ix_jobs_priority_run_at_id,
    then SEARCH jobs USING INTEGER PRIMARY KEY). `+state` keeps the outer UPDATE on the
    primary key instead of an index of every queued row.

    OR IGNORE: two candidates with one lock key would both become `running` and break
    the unique running-lock index; IGNORE skips the second (it stays queued, a later
    claim takes it) instead of failing the batch. That index is the only constraint these
    SET values can meet (state, attempt, lease and start time touch no other)."""
    marks = ", ".join("?" * kinds)
    # Only placeholders are formatted in (their count); every value is a parameter.
    return (
        "UPDATE OR IGNORE jobs SET state = 'running', attempt = attempt + 1, lease_owner = ?,"  # noqa: S608
        " lease_expires_at = ?, started_at = ?"
        " WHERE id IN (SELECT j.id FROM jobs AS j"
        " WHERE likely(j.state = 'queued') AND j.run_at <= ?"
        f" AND j.kind IN ({marks})"
        " AND (j.lock_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs AS holder"
        " WHERE holder.state = 'running' AND holder.lock_key = j.lock_key))"
        " ORDER BY j.priority, j.run_at, j.id LIMIT ?)"
        " AND +state = 'queued'"
        " RETURNING id, kind, payload, attempt, max_attempts"
    )


def claim_params(
    owner: str, kinds: Sequence[str], limit: int, lease: timedelta, now: datetime
) -> tuple[Any, ...]:
    at = instant(now)
    return (owner, instant(now + lease), at, at, *kinds, limit)


@cache
def complete_sql(jobs: int) -> str:
    """Fenced success for `jobs` (id, attempt) pairs; returns the ids still held. The ids
    find the rows by primary key, the pairs check the attempt."""
    ids = ", ".join("?" * jobs)
    pairs = ", ".join(["(?, ?)"] * jobs)
    return (
        "UPDATE jobs SET state = 'succeeded', finished_at = ?, lease_owner = NULL,"  # noqa: S608
        " lease_expires_at = NULL"
        f" WHERE id IN ({ids}) AND (id, attempt) IN (VALUES {pairs})"
        " AND lease_owner = ? AND +state = 'running'"
        " RETURNING id"
    )


def complete_params(owner: str, jobs: Sequence[tuple[int, int]], now: datetime) -> tuple[Any, ...]:
    return (
        instant(now),
        *(job_id for job_id, _ in jobs),
        *(value for pair in jobs for value in pair),
        owner,
    )


def payload_of(raw: Any) -> dict[str, Any]:
    """The stored payload (JSON text on SQLite) as the ORM's JSON type would read it."""
    value = json.loads(raw) if isinstance(raw, str | bytes) else raw
    return value if isinstance(value, dict) else {}


def transaction(
    conn: sqlite3.Connection,
    owner: str,
    done: Sequence[tuple[int, int]],
    kinds: Sequence[str],
    limit: int,
    lease: timedelta,
) -> tuple[list[int], list[ClaimedRow]]:
    """A worker's claim transaction, run on the connection's thread: record the batched
    completions, then claim up to `limit` jobs; commits both or neither. Returns the ids
    whose completion was recorded and the claimed rows."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        # The time is read once the write lock is held (as a session's claim does): a wait
        # on the lock must not shorten the lease granted.
        now = utcnow()
        held = (
            [row[0] for row in conn.execute(complete_sql(len(done)), complete_params(owner, done, now))]
            if done
            else []
        )
        rows: list[ClaimedRow] = []
        if limit > 0 and kinds:
            rows = conn.execute(
                claim_sql(len(kinds)), claim_params(owner, kinds, limit, lease, now)
            ).fetchall()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return held, rows


class Lane:
    """A worker's own SQLite connection, checked out of the engine's pool and kept, on which
    a whole transaction runs as one call on aiosqlite's thread (`run`): one hand-off
    between the event loop and that thread instead of several per statement.

    The function gets the `sqlite3.Connection` (autocommit mode, set up by `hub.db`:
    WAL, foreign keys, busy timeout) and must leave no transaction open. A failure gives
    the connection back to the pool; the next call checks one out again."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._driver: Any = None

    @staticmethod
    def supported(engine: AsyncEngine) -> bool:
        """aiosqlite runs callables on its thread through `Connection._execute` (private,
        stable since 0.11); without it the worker keeps the session path."""
        if engine.dialect.name != "sqlite" or engine.dialect.driver != "aiosqlite":
            return False
        import aiosqlite

        return callable(getattr(aiosqlite.Connection, "_execute", None))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._conn is None:
            conn = await self._engine.connect()
            try:
                raw = await conn.get_raw_connection()
            except BaseException:
                await conn.close()
                raise
            self._conn, self._driver = conn, raw.driver_connection
        driver = self._driver
        try:
            result: T = await driver._execute(lambda: fn(driver._conn, *args))
        except BaseException:
            await self.close()
            raise
        return result

    async def close(self) -> None:
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            await conn.close()
