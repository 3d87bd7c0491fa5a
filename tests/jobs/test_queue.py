"""The queue's database semantics, in process, on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import session_scope
from hub.errors import Conflict
from hub.jobs import enqueue, queue, sqlite_claim
from hub.jobs.schedule import backoff_delay, current_slot
from hub.jobs.settings import JobSettings
from hub.jobs.worker import Worker
from hub.kit.time import utcnow
from hub.models.job import Job, JobState
from hub.runtime import HubRuntime
from tests.jobs import kinds

LEASE = timedelta(seconds=30)
FAST = JobSettings(
    lease_seconds=1.0,
    heartbeat_seconds=0.25,
    sweep_seconds=0.2,
    poll_seconds=0.05,
    schedule_seconds=60,
    backoff_base_seconds=0.02,
    backoff_max_seconds=0.05,
    imports="tests.jobs.kinds",
)

SM = async_sessionmaker[AsyncSession]


async def _count(sm: SM, *where: object) -> int:
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(Job).where(*where))).scalar_one())  # type: ignore[arg-type]


async def _job(sm: SM, job_id: int) -> Job:
    async with sm() as s:
        job = await s.get(Job, job_id)
        assert job is not None
        return job


# --- pure helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 2.5, 5.0), (2, 5.0, 10.0), (3, 10.0, 20.0), (10, 30.0, 60.0)],
)
def test_backoff_doubles_per_attempt_with_jitter_and_a_cap(attempt: int, low: float, high: float) -> None:
    rng = random.Random(7)
    delays = [backoff_delay(attempt, base=5, cap=60, rng=rng).total_seconds() for _ in range(200)]
    assert all(low <= d <= high for d in delays)
    assert max(delays) - min(delays) > (high - low) / 2  # jittered, not constant


@pytest.mark.parametrize(
    ("cron", "now", "slot"),
    [
        ("0 * * * *", datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC), datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        ("0 * * * *", datetime(2026, 3, 1, 10, 59, 59, tzinfo=UTC), datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        # after three days of downtime the daily job is offered once, for the last slot
        ("0 3 * * *", datetime(2026, 3, 4, 9, 0, tzinfo=UTC), datetime(2026, 3, 4, 3, 0, tzinfo=UTC)),
        (
            "* * * * * */2",
            datetime(2026, 3, 1, 10, 0, 3, 5, tzinfo=UTC),
            datetime(2026, 3, 1, 10, 0, 2, tzinfo=UTC),
        ),
    ],
)
def test_current_slot_is_the_latest_slot_not_after_now(cron: str, now: datetime, slot: datetime) -> None:
    assert current_slot(cron, now) == slot


# --- enqueue and dedupe -----------------------------------------------------------------


async def test_a_job_exists_only_if_the_enqueuing_transaction_commits(sessionmaker: SM) -> None:
    async def decide_and_fail() -> None:
        async with session_scope(sessionmaker) as s:
            await enqueue(s, kinds.Noop(n=1))
            raise RuntimeError("the decision failed")

    with pytest.raises(RuntimeError, match="the decision failed"):
        await decide_and_fail()
    assert await _count(sessionmaker) == 0
    async with session_scope(sessionmaker) as s:
        job_id = await enqueue(s, kinds.Noop(n=2))
    job = await _job(sessionmaker, job_id or 0)
    assert (job.state, job.payload, job.attempt) == (JobState.queued, {"n": 2}, 0)


async def test_enqueue_refuses_bad_kinds_and_large_payloads(sessionmaker: SM) -> None:
    async with session_scope(sessionmaker) as s:
        with pytest.raises(ValueError, match=r"module\.action"):
            await queue.enqueue_raw(s, "NoDot", {})
        with pytest.raises(ValueError, match="ids, not objects"):
            await enqueue(s, kinds.Noop(blob="x" * 20_000))


async def test_concurrent_enqueues_with_one_dedupe_key_leave_one_job(sessionmaker: SM) -> None:
    async def one(i: int) -> int | None:
        async with session_scope(sessionmaker) as s:
            return await enqueue(s, kinds.Noop(i=i), dedupe_key="domain:42")

    ids = await asyncio.gather(*(one(i) for i in range(100)))
    assert len([i for i in ids if i is not None]) == 1
    assert await _count(sessionmaker, Job.dedupe_key == "domain:42") == 1


async def test_a_dedupe_key_is_free_again_once_its_job_finished(sessionmaker: SM) -> None:
    async with session_scope(sessionmaker) as s:
        first = await enqueue(s, kinds.Noop(), dedupe_key="sync:c1")
        assert await enqueue(s, kinds.Noop(), dedupe_key="sync:c1") is None
    async with session_scope(sessionmaker) as s:
        (claimed,) = await queue.claim(s, "w1", ["testing.noop"], 10, LEASE)
        assert claimed.id == first
        # still running: a second job for the same subject is refused
        assert await enqueue(s, kinds.Noop(), dedupe_key="sync:c1") is None
    async with session_scope(sessionmaker) as s:
        assert await queue.complete(s, claimed.id, claimed.attempt, "w1")
        assert await enqueue(s, kinds.Noop(), dedupe_key="sync:c1") is not None


async def test_the_database_refuses_a_second_live_job_per_dedupe_key(sessionmaker: SM) -> None:
    async with session_scope(sessionmaker) as s:
        await enqueue(s, kinds.Noop(), dedupe_key="k")

    async def insert_a_second_live_job() -> None:
        async with session_scope(sessionmaker) as s:
            s.add(Job(kind="testing.noop", payload={}, dedupe_key="k", state=JobState.queued))
            await s.flush()

    with pytest.raises(IntegrityError):
        await insert_a_second_live_job()


# --- claim, fencing, sweep ----------------------------------------------------------------


async def test_claim_takes_due_jobs_by_priority_and_skips_future_and_unknown_kinds(sessionmaker: SM) -> None:
    async with session_scope(sessionmaker) as s:
        late = await enqueue(s, kinds.Noop(), priority=5)
        urgent = await enqueue(s, kinds.Noop(), priority=-1)
        await enqueue(s, kinds.Noop(), run_at=utcnow() + timedelta(hours=1))
        await queue.enqueue_raw(s, "other.kind")
    async with session_scope(sessionmaker) as s:
        claimed = await queue.claim(s, "w1", ["testing.noop"], 10, LEASE)
    assert sorted(c.id for c in claimed) == sorted([late, urgent])  # type: ignore[type-var]
    assert all(c.attempt == 1 for c in claimed)
    job = await _job(sessionmaker, urgent or 0)
    assert (job.state, job.lease_owner) == (JobState.running, "w1")


async def test_completion_is_fenced_to_the_current_attempt_and_owner(sessionmaker: SM) -> None:
    async with session_scope(sessionmaker) as s:
        await enqueue(s, kinds.Noop())
    async with session_scope(sessionmaker) as s:
        (old,) = await queue.claim(s, "w-paused", ["testing.noop"], 1, LEASE)
    # the paused worker's lease expires, the sweep takes the job back, another worker claims it
    async with session_scope(sessionmaker) as s:
        await s.execute(update(Job).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        assert await queue.sweep(s, backoff_base=0, backoff_max=0) == 1
        await s.execute(update(Job).values(run_at=utcnow() - timedelta(seconds=1)))
    async with session_scope(sessionmaker) as s:
        (new,) = await queue.claim(s, "w-live", ["testing.noop"], 1, LEASE)
    assert new.attempt == old.attempt + 1
    async with session_scope(sessionmaker) as s:
        assert not await queue.complete(s, old.id, old.attempt, "w-paused")
        assert await queue.fail(s, old, "w-paused", "late", backoff_base=0, backoff_max=0) is None
        assert await queue.heartbeat(s, "w-paused", [(old.id, old.attempt)], LEASE) == set()
        assert await queue.complete(s, new.id, new.attempt, "w-live")
    job = await _job(sessionmaker, new.id)
    assert (job.state, job.attempt, job.reclaims) == (JobState.succeeded, 2, 1)


async def test_sweep_fails_a_stalled_job_on_its_last_attempt(sessionmaker: SM) -> None:
    async with session_scope(sessionmaker) as s:
        job_id = await enqueue(s, kinds.Noop(), max_attempts=1)
    async with session_scope(sessionmaker) as s:
        await queue.claim(s, "w1", ["testing.noop"], 1, timedelta(seconds=-1))
        assert await queue.sweep(s, backoff_base=0, backoff_max=0) == 1
    job = await _job(sessionmaker, job_id or 0)
    assert job.state == JobState.failed
    assert job.last_error and "lease expired" in job.last_error


async def test_one_lock_key_runs_one_job_at_a_time(sessionmaker: SM) -> None:
    async with session_scope(sessionmaker) as s:
        a = await enqueue(s, kinds.Noop(), lock_key="subscription:9")
        b = await enqueue(s, kinds.Noop(), lock_key="subscription:9")
        c = await enqueue(s, kinds.Noop(), lock_key="subscription:10")
    async with session_scope(sessionmaker) as s:
        first = await queue.claim(s, "w1", ["testing.noop"], 10, LEASE)
    assert sorted(j.id for j in first) == sorted([a, c])  # type: ignore[type-var]
    async with session_scope(sessionmaker) as s:
        assert await queue.claim(s, "w2", ["testing.noop"], 10, LEASE) == []
        held = next(j for j in first if j.id == a)
        assert await queue.complete(s, held.id, held.attempt, "w1")
    async with session_scope(sessionmaker) as s:
        (second,) = await queue.claim(s, "w2", ["testing.noop"], 10, LEASE)
    assert second.id == b


# --- periodic slots, operator commands, pruning -------------------------------------------


async def test_each_slot_is_enqueued_once_and_an_older_slot_never_again(sessionmaker: SM) -> None:
    slot = datetime(2026, 3, 1, 10, tzinfo=UTC)

    async def offer(at: datetime) -> bool:
        async with session_scope(sessionmaker) as s:
            return await queue.offer_slot(s, "testing.tick", "testing.tick", at, 3)

    results = await asyncio.gather(*(offer(slot) for _ in range(10)))
    assert results.count(True) == 1
    assert await offer(slot + timedelta(hours=1))
    assert not await offer(slot)  # a slow clock cannot re-add a past slot
    assert await _count(sessionmaker, Job.schedule == "testing.tick") == 2


async def test_retry_and_cancel_follow_the_job_lifecycle(sessionmaker: SM) -> None:
    async with session_scope(sessionmaker) as s:
        job_id = await enqueue(s, kinds.Noop(), max_attempts=1)
    async with session_scope(sessionmaker) as s:
        (c,) = await queue.claim(s, "w1", ["testing.noop"], 1, LEASE)
        assert await queue.fail(s, c, "w1", "boom", backoff_base=0, backoff_max=0) == JobState.failed
    async with session_scope(sessionmaker) as s:
        with pytest.raises(Conflict):
            await queue.cancel(s, job_id or 0)
        job = await queue.retry(s, job_id or 0)
        assert (job.state, job.max_attempts) == (JobState.queued, 2)
    async with session_scope(sessionmaker) as s:
        (again,) = await queue.claim(s, "w1", ["testing.noop"], 1, LEASE)
        await queue.cancel(s, job_id or 0)
    async with session_scope(sessionmaker) as s:
        # the cancelled job's worker is fenced out
        assert not await queue.complete(s, again.id, again.attempt, "w1")
        with pytest.raises(Conflict):
            await queue.cancel(s, job_id or 0)
    assert (await _job(sessionmaker, job_id or 0)).state == JobState.cancelled


async def test_prune_removes_old_finished_jobs_but_keeps_each_schedules_latest(sessionmaker: SM) -> None:
    old = utcnow() - timedelta(days=60)
    async with session_scope(sessionmaker) as s:
        for state in (JobState.succeeded, JobState.failed, JobState.cancelled):
            s.add(Job(kind="testing.noop", payload={}, state=state, finished_at=old))
        for hour in (1, 2):
            slot = datetime(2026, 1, 1, hour, tzinfo=UTC)
            s.add(
                Job(
                    kind="testing.tick",
                    payload={},
                    state=JobState.succeeded,
                    finished_at=old,
                    schedule="t",
                    slot=slot,
                )
            )
        s.add(Job(kind="testing.noop", payload={}, state=JobState.succeeded, finished_at=utcnow()))
        s.add(Job(kind="testing.noop", payload={}, state=JobState.queued))
    now = utcnow()
    async with session_scope(sessionmaker) as s:
        deleted = await queue.prune(
            s,
            succeeded_before=now - timedelta(days=7),
            failed_before=now - timedelta(days=30),
            workers_before=now,
        )
    assert deleted == 4
    async with sessionmaker() as s:
        left = (await s.execute(select(Job.kind, Job.state, Job.slot).order_by(Job.id))).all()
    assert [(k, st) for k, st, _ in left] == [
        ("testing.tick", JobState.succeeded),
        ("testing.noop", JobState.succeeded),
        ("testing.noop", JobState.queued),
    ]
    assert left[0][2] == datetime(2026, 1, 1, 2, tzinfo=UTC)


# --- an in-process worker -------------------------------------------------------------------


async def test_a_failing_job_backs_off_and_ends_failed_and_visible(
    runtime: HubRuntime, sessionmaker: SM
) -> None:
    async with session_scope(sessionmaker) as s:
        bad = await enqueue(s, kinds.Fail())
        ok = await enqueue(s, kinds.Effect(fail_times=2))
        await s.execute(text(kinds.EFFECTS_DDL))
    stop = asyncio.Event()
    runtime.use_settings(jobs=FAST)
    worker = Worker(runtime, concurrency=2)
    runner = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(200):
            done = Job.state.in_([JobState.failed, JobState.succeeded])
            if await _count(sessionmaker, done, Job.id.in_([bad, ok])) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await runner
    failed, done = await _job(sessionmaker, bad or 0), await _job(sessionmaker, ok or 0)
    assert (failed.state, failed.attempt) == (JobState.failed, 3)
    assert failed.last_error and "this job always fails" in failed.last_error
    assert (done.state, done.attempt) == (JobState.succeeded, 3)
    async with sessionmaker() as s:
        stats = await queue.queue_stats(s, alive_within=timedelta(seconds=5))
    assert (stats.failed, stats.failed_total, stats.running) == (1, 1, 0)


# --- typed payloads -------------------------------------------------------------------------


async def test_a_payload_that_does_not_fit_its_kind_is_refused_naming_the_field(sessionmaker: SM) -> None:
    async with session_scope(sessionmaker) as s:
        with pytest.raises(ValueError, match=r"payload does not match testing\.effect: sleep: .*number"):
            await queue.enqueue_raw(s, "testing.effect", {"sleep": "soon"})
        with pytest.raises(ValueError, match=r"testing\.noop: colour: Extra inputs are not permitted"):
            await queue.enqueue_raw(s, "testing.noop", {"colour": "red"})
    assert await _count(sessionmaker) == 0


async def test_a_stored_payload_that_no_longer_parses_fails_its_job_once_and_the_worker_goes_on(
    runtime: HubRuntime, sessionmaker: SM
) -> None:
    """A job written by another version of the hub (its payload no longer fits the model):
    failed at once with the reason, not retried, and the worker keeps running the others."""
    async with session_scope(sessionmaker) as s:
        await s.execute(text(kinds.EFFECTS_DDL))
        good = await enqueue(s, kinds.Effect())
        old = Job(
            kind="testing.effect",
            payload={"sleep": "a while"},
            state=JobState.queued,
            run_at=utcnow(),
            attempt=0,
            max_attempts=5,
            priority=0,
            reclaims=0,
            created_at=utcnow(),
        )
        s.add(old)
        await s.flush()
        old_id = old.id
    runtime.use_settings(jobs=FAST)
    stop = asyncio.Event()
    runner = asyncio.create_task(Worker(runtime, concurrency=2).run(stop))
    try:
        for _ in range(200):
            if await _count(sessionmaker, Job.state.in_([JobState.failed, JobState.succeeded])) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await runner
    failed, done = await _job(sessionmaker, old_id), await _job(sessionmaker, good or 0)
    assert (failed.state, failed.attempt) == (JobState.failed, 1)
    assert failed.last_error and "payload does not match testing.effect: sleep:" in failed.last_error
    assert done.state is JobState.succeeded


async def test_a_batch_of_completions_records_only_the_jobs_still_held(sessionmaker: SM) -> None:
    async with session_scope(sessionmaker) as s:
        for _ in range(3):
            await enqueue(s, kinds.Noop())
    async with session_scope(sessionmaker) as s:
        a, b, c = await queue.claim(s, "w1", ["testing.noop"], 3, LEASE)
    async with session_scope(sessionmaker) as s:
        await queue.cancel(s, c.id)  # an operator cancelled c meanwhile
    async with session_scope(sessionmaker) as s:
        # b's attempt is stale (a paused worker's memory), c is no longer running
        pairs = [(a.id, a.attempt), (b.id, b.attempt + 1), (c.id, c.attempt)]
        held = await queue.complete_many(s, "w1", pairs)
        assert await queue.complete_many(s, "w2", [(b.id, b.attempt)]) == set()  # not w2's
    assert held == {a.id}
    assert [(await _job(sessionmaker, j.id)).state for j in (a, b, c)] == [
        JobState.succeeded,
        JobState.running,
        JobState.cancelled,
    ]


async def _three_claimed_on_postgresql(sm: SM, database: Any, lease: timedelta) -> list[queue.Claimed]:
    """Three jobs claimed by "w1" with `lease`, for the row-lock tests (PostgreSQL only)."""
    if database.kind != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite has one writer)")
    async with session_scope(sm) as s:
        for _ in range(3):
            await enqueue(s, kinds.Noop())
    async with session_scope(sm) as s:
        return list(await queue.claim(s, "w1", ["testing.noop"], 3, lease))


async def test_the_sweep_skips_a_row_another_transaction_holds_instead_of_waiting(
    sessionmaker: SM, database: Any
) -> None:
    a, b, c = await _three_claimed_on_postgresql(sessionmaker, database, timedelta(seconds=-1))
    async with sessionmaker() as holder:
        # e.g. a heartbeat or a completion of b in flight
        await holder.execute(select(Job.id).where(Job.id == b.id).with_for_update())
        async with session_scope(sessionmaker) as s:
            swept = await asyncio.wait_for(queue.sweep(s, backoff_base=0, backoff_max=0), 5)
        await holder.rollback()
    assert swept == 2
    states = [(await _job(sessionmaker, j.id)).state for j in (a, b, c)]
    assert states == [JobState.queued, JobState.running, JobState.queued]
    async with session_scope(sessionmaker) as s:
        assert await queue.sweep(s, backoff_base=0, backoff_max=0) == 1  # b, once free


async def test_a_heartbeat_skips_a_row_its_job_holds_and_still_counts_it_as_held(
    sessionmaker: SM, database: Any
) -> None:
    """A job's own fenced write may hold its row while it waits on a vendor: the heartbeat
    must not queue behind it (holding every other in-flight row meanwhile), nor tell the
    worker that job's lease was lost. A job cancelled meanwhile is still reported lost."""
    a, b, c = await _three_claimed_on_postgresql(sessionmaker, database, LEASE)
    leases_before = {j.id: (await _job(sessionmaker, j.id)).lease_expires_at for j in (a, b, c)}
    async with session_scope(sessionmaker) as s:
        await s.execute(update(Job).where(Job.id == c.id).values(state=JobState.cancelled))
    held = [(j.id, j.attempt) for j in (a, b, c)]
    async with sessionmaker() as holder:
        assert await queue.hold_lease(holder, b.id, b.attempt, "w1") is not None  # b's write
        async with session_scope(sessionmaker) as s:
            kept = await asyncio.wait_for(queue.heartbeat(s, "w1", held, timedelta(minutes=5)), 5)
        await holder.rollback()
    assert kept == {a.id, b.id}
    after = {j.id: (await _job(sessionmaker, j.id)).lease_expires_at for j in (a, b)}
    assert after[a.id] > leases_before[a.id]  # extended
    assert after[b.id] == leases_before[b.id]  # skipped this beat, extended by the next
    async with session_scope(sessionmaker) as s:
        assert await queue.heartbeat(s, "w1", held, timedelta(minutes=5)) == {a.id, b.id}
    assert (await _job(sessionmaker, b.id)).lease_expires_at > leases_before[b.id]


async def test_a_sqlite_worker_batch_is_one_fenced_transaction_on_its_own_connection(
    runtime: HubRuntime, database: Any
) -> None:
    """SQLite workers record completions and claim in one call on a connection of their own
    (`sqlite_claim.Lane`): the same fencing as the session path, one lock key per batch,
    and both halves commit together or not at all."""
    if database.kind != "sqlite":
        pytest.skip("the lane is SQLite's (PostgreSQL workers claim through a session)")
    assert sqlite_claim.Lane.supported(runtime.engine)  # else workers fall back, slowly
    sm = runtime.sessionmaker
    async with session_scope(sm) as s:
        for _ in range(3):
            await enqueue(s, kinds.Noop())
        k1 = await enqueue(s, kinds.Noop(), lock_key="subscription:9")
        k2 = await enqueue(s, kinds.Noop(), lock_key="subscription:9")
    lane = sqlite_claim.Lane(runtime.engine)
    try:
        held, claimed = await queue.claim_and_complete_on(lane, "w1", [], ["testing.noop"], 10, LEASE)
        assert held == set()
        assert k1 in {j.id for j in claimed} and k2 not in {j.id for j in claimed}
        assert len(claimed) == 4 and all(j.attempt == 1 and j.payload == {} for j in claimed)
        a, b, c, keyed = claimed
        async with session_scope(sm) as s:
            await queue.cancel(s, c.id)
        # b's attempt is stale, c was cancelled, keyed is w1's: only a and keyed complete;
        # the lock key is free again in the same transaction, so its second job is claimed
        pairs = [(a.id, a.attempt), (b.id, b.attempt + 1), (c.id, c.attempt), (keyed.id, keyed.attempt)]
        held, again = await queue.claim_and_complete_on(lane, "w1", pairs, ["testing.noop"], 10, LEASE)
        assert held == {a.id, keyed.id}
        assert [j.id for j in again] == [k2]
        states = [(await _job(sm, j.id)).state for j in (a, b, c, keyed)]
        assert states == [JobState.succeeded, JobState.running, JobState.cancelled, JobState.succeeded]
        job = await _job(sm, k2)
        assert (job.state, job.lease_owner, job.attempt) == (JobState.running, "w1", 1)
        assert job.lease_expires_at and job.lease_expires_at - utcnow() > LEASE - timedelta(seconds=5)

        # The claim fails after the completion was written: neither is kept.
        async with session_scope(sm) as s:
            await enqueue(s, kinds.Noop())
            await s.execute(
                text(
                    "CREATE TRIGGER refuse_claims BEFORE UPDATE OF state ON jobs"
                    " WHEN NEW.state = 'running' BEGIN SELECT RAISE(ABORT, 'no claims now'); END"
                )
            )
        with pytest.raises(Exception, match="no claims now"):
            await queue.claim_and_complete_on(lane, "w1", [(b.id, b.attempt)], ["testing.noop"], 10, LEASE)
        assert (await _job(sm, b.id)).state is JobState.running
        async with session_scope(sm) as s:
            await s.execute(text("DROP TRIGGER refuse_claims"))
        # The lane takes a connection again and goes on.
        held, last = await queue.claim_and_complete_on(
            lane, "w1", [(b.id, b.attempt)], ["testing.noop"], 10, LEASE
        )
        assert held == {b.id} and len(last) == 1
    finally:
        await lane.close()
