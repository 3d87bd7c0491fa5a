"""The queue's database operations: enqueue, claim, heartbeat, fenced completion and
failure, sweep of stalled leases, periodic slots, operator commands and statistics.

Every state change of a running job is fenced: `WHERE id = ? AND attempt = ? AND
lease_owner = ? AND state = 'running'`. A worker whose lease was swept (crash, pause,
network partition) changes nothing, whatever it believes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    and_,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import Conflict, NotFound
from hub.jobs import sqlite_claim
from hub.jobs.payload import KIND_PATTERN, JobPayload, PayloadError, parse_payload
from hub.jobs.registry import get_task
from hub.jobs.schedule import backoff_delay
from hub.kit.time import utcnow
from hub.models.job import TERMINAL_STATES, Job, JobCounter, JobState, JobWorker

MAX_PAYLOAD_BYTES = 16_384
MAX_ERROR_CHARS = 4_000
DEFAULT_MAX_ATTEMPTS = 5

RECLAIMED = "reclaimed"
EXHAUSTED = "failed"


def _in_state(column: Any, state: JobState) -> Any:
    """`column = 'state'` with the state written into the SQL, not bound: a planner uses a
    partial index (`WHERE state = 'queued'`) only when the query's predicate visibly
    implies it. With a parameter SQLite never does (the claim then sorted every queued
    row: its cost grew with the queue), nor does a generic PostgreSQL plan."""
    return column == literal_column(f"'{state.value}'")


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _insert(session: AsyncSession) -> Any:
    # INSERT ... ON CONFLICT DO NOTHING (no target: any unique index, partial ones too).
    return (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(Job)


# The enqueue statement, built once per dialect and executed with its values as
# parameters: no statement construction or cache-key walk per job, and a Core insert
# (the table, not the mapped class) skips the ORM's bulk-insert bookkeeping.
_ENQUEUE = {
    name: dialect.insert(Job.__table__).on_conflict_do_nothing().returning(Job.__table__.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


# --- enqueue ----------------------------------------------------------------------------


async def bring_forward(session: AsyncSession, dedupe_keys: list[str], run_at: datetime) -> int:
    """Move the queued jobs holding these dedupe keys to `run_at` when they were due later
    (something they waited for happened sooner); returns how many moved."""
    if not dedupe_keys:
        return 0
    stmt = (
        update(Job)
        .where(Job.dedupe_key.in_(dedupe_keys), Job.state == JobState.queued, Job.run_at > run_at)
        .values(run_at=run_at)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(await session.execute(stmt))


async def enqueue(
    session: AsyncSession,
    payload: JobPayload,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    priority: int | None = None,
    max_attempts: int | None = None,
    lock_key: str | None = None,
) -> int | None:
    """Add a job of `payload.kind` in the caller's transaction: it exists if and only if
    the caller commits.

    Returns the job id, or None when a queued or running job already holds `dedupe_key`
    (the database decides, so concurrent callers cannot both add one). On SQLite the
    caller's unit of work should be a writer (`begin_write`), as every writer is.
    """
    return await enqueue_raw(
        session,
        payload.kind,
        payload.model_dump(mode="json", exclude_defaults=True),
        run_at=run_at,
        dedupe_key=dedupe_key,
        priority=priority,
        max_attempts=max_attempts,
        lock_key=lock_key,
    )


async def enqueue_or_join(
    session: AsyncSession, payload: JobPayload, *, dedupe_key: str, priority: int | None = None
) -> tuple[int, bool] | None:
    """An on-demand job: (its id, True) when added, or (the id, False) of the queued or
    running job already holding `dedupe_key`. None when the holder kept finishing between
    the two statements three times over (the caller says "try again")."""
    for _ in range(3):
        job_id = await enqueue(session, payload, dedupe_key=dedupe_key, priority=priority)
        if job_id is not None:
            return job_id, True
        holder = (
            await session.execute(
                select(Job.id).where(
                    Job.dedupe_key == dedupe_key, Job.state.in_([JobState.queued, JobState.running])
                )
            )
        ).scalar_one_or_none()
        if holder is not None:
            return int(holder), False
        # The holder finished between the two statements: ask again.
    return None


async def enqueue_raw(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    priority: int | None = None,
    max_attempts: int | None = None,
    lock_key: str | None = None,
) -> int | None:
    """`enqueue` for a kind given by name (tests, operators): when a task is registered
    for `kind`, the payload must parse as its model."""
    if not KIND_PATTERN.match(kind):
        raise ValueError(f"job kind {kind!r} must look like 'module.action'")
    payload = payload or {}
    if len(json.dumps(payload, separators=(",", ":"))) > MAX_PAYLOAD_BYTES:
        raise ValueError("job payloads carry ids, not objects: this one is too large")
    registered = get_task(kind)
    if registered is not None:
        try:
            parse_payload(registered.payload, payload)
        except PayloadError as exc:
            raise ValueError(str(exc)) from None
    now = utcnow()
    values: dict[str, Any] = {
        "kind": kind,
        "payload": payload,
        "state": JobState.queued,
        "priority": priority if priority is not None else (registered.priority if registered else 0),
        "run_at": run_at or now,
        "attempt": 0,
        "max_attempts": max_attempts
        or (registered.max_attempts if registered and registered.max_attempts else DEFAULT_MAX_ATTEMPTS),
        "dedupe_key": dedupe_key,
        "lock_key": lock_key,
        "reclaims": 0,
        "created_at": now,
    }
    return cast(int | None, (await session.execute(_ENQUEUE[_dialect(session)], values)).scalar_one_or_none())


async def offer_slot(
    session: AsyncSession, schedule: str, kind: str, slot: datetime, max_attempts: int
) -> bool:
    """Enqueue the job of one periodic slot unless it (or a later slot) already exists.

    Any number of workers may offer the same slot: the unique (schedule, slot) constraint
    keeps one. The NOT EXISTS on later slots stops a worker with a slow clock from
    re-adding an old slot, and the prune job always keeps each schedule's latest row.
    """
    already = select(Job.id).where(Job.schedule == schedule, Job.slot >= slot).exists()
    found = (await session.execute(select(already))).scalar()
    if found:
        return False
    now = utcnow()
    stmt = (
        _insert(session)
        .values(
            kind=kind,
            payload={"slot": slot.isoformat()},
            state=JobState.queued,
            priority=0,
            run_at=slot,
            attempt=0,
            max_attempts=max_attempts,
            schedule=schedule,
            slot=slot,
            reclaims=0,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(Job.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


# --- claim, heartbeat, completion --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int


async def claim(
    session: AsyncSession, owner: str, kinds: list[str], limit: int, lease: timedelta
) -> list[Claimed]:
    """Lease up to `limit` due jobs of the given kinds to `owner`.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint rows without
    waiting. SQLite: the caller's BEGIN IMMEDIATE already serialises claimers, and the
    claim is one `UPDATE OR IGNORE ... RETURNING` (`sqlite_claim.claim_sql`). A job whose
    lock key is held by a running job is skipped; two workers racing for one lock key are
    stopped by the unique partial index on running lock keys, and the loser simply claims
    again later.
    """
    if limit <= 0 or not kinds:
        return []
    now = utcnow()
    if _dialect(session) == "sqlite":
        # One statement (`sqlite_claim.claim_sql`), the same text a worker runs on its lane.
        conn = await session.connection()
        result = await conn.exec_driver_sql(
            sqlite_claim.claim_sql(len(kinds)), sqlite_claim.claim_params(owner, kinds, limit, lease, now)
        )
        return claimed_from(result.all())
    running = Job.__table__.alias("holder")
    lock_free = or_(
        Job.lock_key.is_(None),
        ~exists().where(_in_state(running.c.state, JobState.running), running.c.lock_key == Job.lock_key),
    )
    queued = _in_state(Job.state, JobState.queued)
    candidates = (
        select(Job.id, Job.lock_key)
        .where(queued, Job.run_at <= now, Job.kind.in_(kinds), lock_free)
        .order_by(Job.priority, Job.run_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Job)
    )
    claimed, keyed = await _claim_lock_free(session, candidates, owner, now, lease)
    if not keyed or len(claimed) >= limit:
        return claimed
    # Some of the first candidates carry lock keys: those go the two-statement way below
    # (in Python, one per key per batch; a race under a savepoint).
    return sorted(
        [
            *claimed,
            *await _claim_rows(session, candidates.limit(limit - len(claimed)), owner, now, lease),
        ],
        key=lambda c: c.id,
    )


def claimed_from(rows: Any) -> list[Claimed]:
    """SQLite's claimed rows (`sqlite_claim.claim_sql`, payload as JSON text), by id."""
    return sorted(
        (
            Claimed(int(job_id), kind, sqlite_claim.payload_of(payload), int(attempt), int(most))
            for job_id, kind, payload, attempt, most in rows
        ),
        key=lambda c: c.id,
    )


async def claim_and_complete_on(
    lane: sqlite_claim.Lane,
    owner: str,
    done: list[tuple[int, int]],
    kinds: list[str],
    limit: int,
    lease: timedelta,
) -> tuple[set[int], list[Claimed]]:
    """SQLite, a worker's batch: `complete_many` then `claim` as one transaction in one
    call on the worker's own connection (`sqlite_claim.transaction`). Returns the ids whose
    completion was recorded and the jobs claimed."""
    held, rows = await lane.run(sqlite_claim.transaction, owner, done, kinds, max(0, limit), lease)
    return set(held), claimed_from(rows)


async def _claim_lock_free(
    session: AsyncSession, candidates: Any, owner: str, now: datetime, lease: timedelta
) -> tuple[list[Claimed], int]:
    """PostgreSQL: the claim in one statement, `WITH cand AS (SELECT ... FOR UPDATE SKIP
    LOCKED LIMIT n), claimed AS (UPDATE jobs ... FROM cand WHERE cand.lock_key IS NULL
    RETURNING ...)`: the candidates without a lock key are leased at once (no unique
    running-lock index can refuse them, so no savepoint). Also returns how many of the
    candidates carry a lock key (left queued, still locked by this transaction) for the
    caller to claim the careful way."""
    cand = candidates.cte("cand")
    claimed = (
        update(Job)
        .where(Job.id == cand.c.id, cand.c.lock_key.is_(None), Job.state == JobState.queued)
        .values(
            state=JobState.running,
            attempt=Job.attempt + 1,
            lease_owner=owner,
            lease_expires_at=now + lease,
            started_at=now,
        )
        .returning(Job.id, Job.kind, Job.payload, Job.attempt, Job.max_attempts)
        .cte("claimed")
    )
    # One row even when nothing was claimed: the count, left-joined to what was claimed.
    keyed = (
        select(func.count().label("keyed")).select_from(cand).where(cand.c.lock_key.is_not(None)).subquery()
    )
    stmt = select(
        claimed.c.id,
        claimed.c.kind,
        claimed.c.payload,
        claimed.c.attempt,
        claimed.c.max_attempts,
        keyed.c.keyed,
    ).select_from(keyed.outerjoin(claimed, true()))
    rows = (await session.execute(stmt)).all()
    jobs = sorted((Claimed(*row[:5]) for row in rows if row[0] is not None), key=lambda c: c.id)
    return jobs, int(rows[0][5]) if rows else 0


async def _claim_rows(
    session: AsyncSession, candidates: Any, owner: str, now: datetime, lease: timedelta
) -> list[Claimed]:
    """The claim in two statements: read the candidates (locked), lease them by id."""
    rows = (await session.execute(candidates)).all()
    ids: list[int] = []
    keys: set[str] = set()
    for job_id, lock_key in rows:
        # One job per lock key per batch: the second would violate the running-lock index.
        if lock_key is not None:
            if lock_key in keys:
                continue
            keys.add(lock_key)
        ids.append(job_id)
    if not ids:
        return []
    stmt = (
        update(Job)
        .where(Job.id.in_(ids), Job.state == JobState.queued)
        .values(
            state=JobState.running,
            attempt=Job.attempt + 1,
            lease_owner=owner,
            lease_expires_at=now + lease,
            started_at=now,
        )
        .returning(Job.id, Job.kind, Job.payload, Job.attempt, Job.max_attempts)
        .execution_options(synchronize_session=False)
    )
    if keys and _dialect(session) == "postgresql":
        # Two workers may race for one lock key (PostgreSQL only; SQLite claimers are
        # serialised): the loser's update breaks the running-lock index. A savepoint keeps
        # the rest of the caller's transaction (the completions it carries) intact.
        try:
            async with session.begin_nested():
                result = (await session.execute(stmt)).all()
        except IntegrityError:
            return []  # lost the race: nothing was claimed, the next claim tries again
    else:
        result = (await session.execute(stmt)).all()
    return sorted((Claimed(*row) for row in result), key=lambda c: c.id)


def _fence(job_id: int, attempt: int, owner: str) -> Any:
    return and_(
        Job.id == job_id,
        Job.attempt == attempt,
        Job.lease_owner == owner,
        Job.state == JobState.running,
    )


async def heartbeat(
    session: AsyncSession, owner: str, jobs: list[tuple[int, int]], lease: timedelta
) -> set[int]:
    """Extend the leases of (job id, attempt) pairs; returns the ids still held (a job
    missing from the answer was swept or cancelled: its worker should stop).

    On PostgreSQL a row another transaction has locked is skipped, not waited for: most
    often it is the job's own fenced write, which may wait on a vendor, and a heartbeat
    queued behind it would hold every other in-flight row locked meanwhile (a storm
    convoyed on exactly that). A skipped row keeps its lease until the next beat; a plain
    read of the committed state says whether it is still ours."""
    if not jobs:
        return set()
    now = utcnow()
    stmt = (
        update(Job)
        .where(Job.id.in_(_locked_in_order(owner, jobs, skip_locked=True)))
        .values(lease_expires_at=now + lease)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    kept = set((await session.execute(stmt)).scalars())
    if len(kept) < len(jobs) and _dialect(session) == "postgresql":
        missing = [(job_id, attempt) for job_id, attempt in jobs if job_id not in kept]
        still_ours = select(Job.id).where(
            tuple_(Job.id, Job.attempt).in_(missing),
            Job.lease_owner == owner,
            Job.state == JobState.running,
        )
        kept |= set((await session.execute(still_ours)).scalars())
    return kept


def _locked_in_order(owner: str, jobs: list[tuple[int, int]], *, skip_locked: bool = False) -> Any:
    """The ids of these (job id, attempt) pairs still running under `owner`, their rows
    locked in id order (PostgreSQL). Every statement that locks several job rows takes
    them in this one order, so the heartbeat, the batched completion and the sweep never
    deadlock one another (the sweep and the heartbeat also skip rows already locked)."""
    return (
        select(Job.id)
        .where(
            tuple_(Job.id, Job.attempt).in_(jobs),
            Job.lease_owner == owner,
            Job.state == JobState.running,
        )
        .order_by(Job.id)
        .with_for_update(of=Job, skip_locked=skip_locked)
    )


async def hold_lease(session: AsyncSession, job_id: int, attempt: int, owner: str) -> datetime | None:
    """Lock this worker's job row for the caller's transaction if its lease is still held
    and unexpired; returns the lease end (None: the job is no longer ours). While the row
    is locked the sweeper cannot hand the job to another worker."""
    stmt = (
        update(Job)
        .where(_fence(job_id, attempt, owner), Job.lease_expires_at > utcnow())
        .values(lease_owner=owner)
        .returning(Job.lease_expires_at)
        .execution_options(synchronize_session=False)
    )
    found = (await session.execute(stmt)).scalar_one_or_none()
    return _as_utc(found) if found is not None else None


async def complete(session: AsyncSession, job_id: int, attempt: int, owner: str) -> bool:
    """Fenced success: True if this worker still held the job."""
    stmt = (
        update(Job)
        .where(_fence(job_id, attempt, owner))
        .values(
            state=JobState.succeeded,
            finished_at=utcnow(),
            lease_owner=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(await session.execute(stmt)) == 1


async def complete_many(session: AsyncSession, owner: str, jobs: list[tuple[int, int]]) -> set[int]:
    """Fenced success for several (job id, attempt) pairs in one statement (a worker
    batches the completions of tasks that wrote no effect through `ctx.finish()`); returns
    the ids this worker still held. A batch that never commits (the worker died) leaves
    its jobs running: their leases expire and they run again, so tasks completed this way
    must have idempotent effects, as every task must (at-least-once)."""
    if not jobs:
        return set()
    if _dialect(session) == "sqlite":
        conn = await session.connection()
        result = await conn.exec_driver_sql(
            sqlite_claim.complete_sql(len(jobs)), sqlite_claim.complete_params(owner, jobs, utcnow())
        )
        return {int(job_id) for (job_id,) in result.all()}
    stmt = (
        update(Job)
        .where(Job.id.in_(_locked_in_order(owner, jobs)))
        .values(
            state=JobState.succeeded,
            finished_at=utcnow(),
            lease_owner=None,
            lease_expires_at=None,
        )
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return set((await session.execute(stmt)).scalars())


async def fail(
    session: AsyncSession,
    job: Claimed,
    owner: str,
    error: str,
    *,
    backoff_base: float,
    backoff_max: float,
    final: bool = False,
) -> JobState | None:
    """Fenced failure: re-queue after a backoff, or `failed` when out of attempts (or
    `final`: retrying cannot help). Returns the new state, or None if the lease had been
    lost."""
    now = utcnow()
    exhausted = final or job.attempt >= job.max_attempts
    values: dict[str, Any] = {
        "last_error": error[:MAX_ERROR_CHARS],
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if exhausted:
        values.update(state=JobState.failed, finished_at=now)
    else:
        delay = backoff_delay(job.attempt, base=backoff_base, cap=backoff_max)
        values.update(state=JobState.queued, run_at=now + delay)
    stmt = (
        update(Job)
        .where(_fence(job.id, job.attempt, owner))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(await session.execute(stmt)) != 1:
        return None
    if exhausted:
        await bump_counter(session, EXHAUSTED, 1)
    return JobState.failed if exhausted else JobState.queued


async def release(session: AsyncSession, job: Claimed, owner: str) -> bool:
    """Give an unfinished job back on shutdown: queued again at once. The attempt stays
    counted (fencing tokens never go back) but the budget is raised by one, since the
    job did not fail."""
    stmt = (
        update(Job)
        .where(_fence(job.id, job.attempt, owner))
        .values(
            state=JobState.queued,
            run_at=utcnow(),
            max_attempts=Job.max_attempts + 1,
            lease_owner=None,
            lease_expires_at=None,
            last_error="released: the worker shut down before the job finished",
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(await session.execute(stmt)) == 1


async def sweep(session: AsyncSession, *, backoff_base: float, backoff_max: float, batch: int = 1_000) -> int:
    """Take back jobs whose lease expired (their worker died or stalled): re-queued with
    the attempt counted, or `failed` if that was the last one. Any worker may sweep.

    The expired rows are locked first, in id order, skipping rows another transaction
    holds (a heartbeat renewing the lease, a completion, a concurrent sweep): the sweep
    never waits, so it cannot deadlock, and a row renewed meanwhile no longer matches
    (PostgreSQL re-checks the predicate on the newest row version). Bounded per call."""
    now = utcnow()
    message = "lease expired: the worker stopped heartbeating (crashed or stalled)"
    expired = and_(_in_state(Job.state, JobState.running), Job.lease_expires_at < now)
    rows = (
        await session.execute(
            select(Job.id, Job.attempt, Job.max_attempts)
            .where(expired)
            .order_by(Job.id)
            .limit(batch)
            .with_for_update(skip_locked=True, of=Job)
        )
    ).all()
    if not rows:
        return 0
    last = [job_id for job_id, attempt, most in rows if attempt >= most]
    again = [job_id for job_id, attempt, most in rows if attempt < most]
    failed = requeued = 0
    if last:
        failed = _rowcount(
            await session.execute(
                update(Job)
                .where(Job.id.in_(last), expired)
                .values(
                    state=JobState.failed,
                    finished_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    reclaims=Job.reclaims + 1,
                    last_error=message,
                )
                .execution_options(synchronize_session=False)
            )
        )
    if again:
        # One backoff for the whole sweep: crashes are rare and the jitter is per sweep.
        delay = backoff_delay(1, base=backoff_base, cap=backoff_max)
        requeued = _rowcount(
            await session.execute(
                update(Job)
                .where(Job.id.in_(again), expired)
                .values(
                    state=JobState.queued,
                    run_at=now + delay,
                    lease_owner=None,
                    lease_expires_at=None,
                    reclaims=Job.reclaims + 1,
                    last_error=message,
                )
                .execution_options(synchronize_session=False)
            )
        )
    if failed or requeued:
        await bump_counter(session, RECLAIMED, failed + requeued)
    if failed:
        await bump_counter(session, EXHAUSTED, failed)
    return failed + requeued


async def bump_counter(session: AsyncSession, name: str, by: int) -> None:
    insert_ = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    stmt = insert_(JobCounter).values(name=name, value=by)
    stmt = stmt.on_conflict_do_update(index_elements=[JobCounter.name], set_={"value": JobCounter.value + by})
    await session.execute(stmt)


# --- worker registry ---------------------------------------------------------------------


async def beat_worker(
    session: AsyncSession, owner: str, *, hostname: str, pid: int, concurrency: int, running: int
) -> None:
    now = utcnow()
    result = await session.execute(
        update(JobWorker).where(JobWorker.id == owner).values(heartbeat_at=now, running=running)
    )
    if _rowcount(result) == 0:
        await session.execute(
            insert(JobWorker).values(
                id=owner,
                hostname=hostname,
                pid=pid,
                concurrency=concurrency,
                running=running,
                started_at=now,
                heartbeat_at=now,
            )
        )


async def forget_worker(session: AsyncSession, owner: str) -> None:
    await session.execute(delete(JobWorker).where(JobWorker.id == owner))


# --- operator commands ------------------------------------------------------------------


async def get_job(session: AsyncSession, job_id: int) -> Job:
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


async def retry(session: AsyncSession, job_id: int) -> Job:
    """Queue a failed or cancelled job again now, with one more attempt allowed."""
    job = await get_job(session, job_id)
    if job.state not in (JobState.failed, JobState.cancelled):
        raise Conflict(f"job {job_id} is {job.state.value}: only failed or cancelled jobs can be retried")
    job.state = JobState.queued
    job.run_at = utcnow()
    job.finished_at = None
    job.max_attempts = max(job.max_attempts, job.attempt + 1)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"job {job_id}: another job with its dedupe key is already queued or running") from exc
    return job


async def cancel(session: AsyncSession, job_id: int) -> Job:
    """Cancel a queued or running job. A running job's worker is fenced out: its result
    is not recorded and its next heartbeat tells it to stop."""
    job = await get_job(session, job_id)
    if job.state in TERMINAL_STATES:
        raise Conflict(f"job {job_id} is already {job.state.value}")
    job.state = JobState.cancelled
    job.finished_at = utcnow()
    job.lease_owner = None
    job.lease_expires_at = None
    await session.flush()
    return job


async def list_jobs(
    session: AsyncSession,
    *,
    state: JobState | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Job], int]:
    conditions = []
    if state is not None:
        conditions.append(Job.state == state)
    if kind is not None:
        conditions.append(Job.kind == kind)
    total = (await session.execute(select(func.count()).select_from(Job).where(*conditions))).scalar_one()
    rows = (
        await session.execute(
            select(Job).where(*conditions).order_by(Job.id.desc()).limit(limit).offset(offset)
        )
    ).scalars()
    return list(rows), int(total)


# --- statistics -------------------------------------------------------------------------


@dataclass(slots=True)
class QueueStats:
    queued_by_kind: dict[str, int]
    due: int
    oldest_queued_age_seconds: float
    running: int
    failed: int
    reclaimed_total: int
    failed_total: int
    workers_alive: int
    oldest_worker_heartbeat_age_seconds: float

    @property
    def depth(self) -> int:
        return sum(self.queued_by_kind.values())


async def queue_stats(session: AsyncSession, *, alive_within: timedelta) -> QueueStats:
    """Cheap aggregate reads: the queued and running counts use the partial indexes."""
    now = utcnow()
    by_kind = {
        kind: int(n)
        for kind, n in (
            await session.execute(
                select(Job.kind, func.count()).where(_in_state(Job.state, JobState.queued)).group_by(Job.kind)
            )
        ).all()
    }
    due, oldest = (
        await session.execute(
            select(func.count(), func.min(Job.run_at)).where(
                _in_state(Job.state, JobState.queued), Job.run_at <= now
            )
        )
    ).one()
    running = (
        await session.execute(
            select(func.count()).select_from(Job).where(_in_state(Job.state, JobState.running))
        )
    ).scalar_one()
    failed = (
        await session.execute(select(func.count()).select_from(Job).where(Job.state == JobState.failed))
    ).scalar_one()
    counters = {
        name: value
        for name, value in (await session.execute(select(JobCounter.name, JobCounter.value))).all()
    }
    beats = list(
        (
            await session.execute(
                select(JobWorker.heartbeat_at).where(JobWorker.heartbeat_at >= now - alive_within)
            )
        ).scalars()
    )
    oldest_age = 0.0
    if oldest is not None:
        # func.min() skips the column type, so SQLite hands back the stored text.
        oldest_at = _as_utc(oldest)
        oldest_age = max(0.0, (now - oldest_at).total_seconds())
    return QueueStats(
        queued_by_kind=by_kind,
        due=int(due),
        oldest_queued_age_seconds=oldest_age,
        running=int(running),
        failed=int(failed),
        reclaimed_total=int(counters.get(RECLAIMED, 0)),
        failed_total=int(counters.get(EXHAUSTED, 0)),
        workers_alive=len(beats),
        oldest_worker_heartbeat_age_seconds=max(((now - b).total_seconds() for b in beats), default=0.0),
    )


def _as_utc(value: Any) -> datetime:
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- pruning ----------------------------------------------------------------------------


async def prune(
    session: AsyncSession,
    *,
    succeeded_before: datetime,
    failed_before: datetime,
    workers_before: datetime,
    batch: int = 5_000,
) -> int:
    """Delete one batch of old finished jobs (bounded, so a SQLite writer never holds the
    lock for long); the caller loops in separate transactions. Each schedule's latest job
    is kept: it is what stops an old slot from being offered again."""
    latest = Job.__table__.alias("latest")
    newer_exists = exists().where(latest.c.schedule == Job.schedule, latest.c.slot > Job.slot)
    old = or_(
        and_(Job.state.in_([JobState.succeeded, JobState.cancelled]), Job.finished_at < succeeded_before),
        and_(Job.state == JobState.failed, Job.finished_at < failed_before),
    )
    ids = select(Job.id).where(old, or_(Job.schedule.is_(None), newer_exists)).limit(batch)
    victims = list((await session.execute(ids)).scalars())
    if victims:
        await session.execute(
            delete(Job).where(Job.id.in_(victims)).execution_options(synchronize_session=False)
        )
    await session.execute(delete(JobWorker).where(JobWorker.heartbeat_at < workers_before))
    return len(victims)
