"""Job kinds used by the job-system tests (imported by workers via HUB_JOBS_IMPORTS).

`testing.effect` records each execution in `job_test_effects` inside `ctx.finish()`, the
same transaction as its fenced completion: a worker that lost its lease writes nothing.
The table has no unique key on purpose, so a double execution shows as two rows.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from sqlalchemy import text

from hub.jobs import JobContext, JobPayload, LeaseLost, PeriodicPayload, task
from hub.kit.time import utcnow

EFFECTS_DDL = (
    "CREATE TABLE IF NOT EXISTS job_test_effects ("
    " job_id BIGINT NOT NULL, attempt INTEGER NOT NULL, owner VARCHAR(100) NOT NULL,"
    " recorded_at VARCHAR(40) NOT NULL)"
)


# `testing.idempotent`: every run is logged in job_test_runs; its effect (one row per job in
# job_test_once) is idempotent, written in a transaction of its own, so the worker batches
# the job's completion.
ONCE_DDL = (
    "CREATE TABLE IF NOT EXISTS job_test_once (job_id BIGINT PRIMARY KEY, attempt INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS job_test_runs (job_id BIGINT NOT NULL, attempt INTEGER NOT NULL,"
    " pid INTEGER NOT NULL)",
)


class Effect(JobPayload, kind="testing.effect"):
    sleep: float = 0
    fail_times: int = 0
    # where the attempt writes its outcome (a file per attempt), for the pause test
    report: str | None = None


class Noop(JobPayload, kind="testing.noop"):
    n: int | None = None
    i: int | None = None
    blob: str | None = None


class Idempotent(JobPayload, kind="testing.idempotent"):
    # attempt 1 of this job kills its worker before the batch holding its completion commits
    die_before_completion: bool = False


class Fail(JobPayload, kind="testing.fail"):
    pass


class Tick(PeriodicPayload, kind="testing.tick"):
    pass


@task(Effect, max_attempts=1000)
async def record_effect(ctx: JobContext, payload: Effect) -> None:
    body = _effect(ctx, payload)
    if payload.report:
        # Shielded: a heartbeat that notices the lost lease must not stop this attempt
        # before it reaches its fenced update, which is what the pause test looks at.
        await asyncio.shield(asyncio.ensure_future(body))
    else:
        await body


async def _effect(ctx: JobContext, payload: Effect) -> None:
    await asyncio.sleep(payload.sleep)
    if ctx.attempt <= payload.fail_times:
        raise RuntimeError(f"planned failure on attempt {ctx.attempt}")
    outcome = "committed"
    try:
        async with ctx.finish() as session:
            await session.execute(
                text(
                    "INSERT INTO job_test_effects (job_id, attempt, owner, recorded_at)"
                    " VALUES (:j, :a, :o, :t)"
                ),
                {"j": ctx.job_id, "a": ctx.attempt, "o": ctx.owner, "t": utcnow().isoformat()},
            )
    except LeaseLost:
        outcome = "fenced"
        raise
    finally:
        if payload.report:
            # a few bytes on local disk, after the outcome is known: blocking is harmless
            Path(f"{payload.report}.{ctx.attempt}").write_text(outcome)  # noqa: ASYNC240


@task(Noop)
async def noop(ctx: JobContext, payload: Noop) -> None:
    return None


@task(Idempotent, max_attempts=1000)
async def idempotent(ctx: JobContext, payload: Idempotent) -> None:
    async with ctx.session() as session:
        await session.execute(
            text("INSERT INTO job_test_runs (job_id, attempt, pid) VALUES (:j, :a, :p)"),
            {"j": ctx.job_id, "a": ctx.attempt, "p": os.getpid()},
        )
        await session.execute(
            text(
                "INSERT INTO job_test_once (job_id, attempt) VALUES (:j, :a) ON CONFLICT (job_id) DO NOTHING"
            ),
            {"j": ctx.job_id, "a": ctx.attempt},
        )
    if payload.die_before_completion and ctx.attempt == 1:

        async def die(name: str) -> None:
            if name == "jobs.complete_batch":
                os.kill(os.getpid(), signal.SIGKILL)

        ctx.runtime.failpoints.hook = die


@task(Fail, max_attempts=3)
async def always_fail(ctx: JobContext, payload: Fail) -> None:
    raise ValueError("this job always fails")


# The periodic test kind exists only where a test asks for it, so that the other tests'
# workers do not fill their queues with ticks.
if os.environ.get("HUB_TEST_TICK_CRON"):

    @task(Tick, cron=os.environ["HUB_TEST_TICK_CRON"])
    async def tick(ctx: JobContext, payload: Tick) -> None:
        return None
