"""Background jobs of automatic renewal: plan the due terms (hourly), advance one
renewal (`renewal.advance`, one job per renewal, deduplicated), the minute tick that
queues the renewals whose next action is due, and the deadline sweeper."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from hub.jobs import JobContext, enqueue, task
from hub.kit.time import utcnow
from hub.models import Job, Renewal
from hub.models.job import JobState
from hub.renewal import planner, sweeper
from hub.renewal.executor import ACTIVE, Executor

ADVANCE = "renewal.advance"
TICK_BATCH = 2000


def dedupe_key(renewal_id: uuid.UUID | str) -> str:
    return f"renewal:{renewal_id}"


@task(ADVANCE, max_attempts=5, timeout_seconds=300)
async def advance(ctx: JobContext, payload: dict[str, Any]) -> None:
    await Executor(ctx, uuid.UUID(str(payload["renewal_id"]))).run()
    async with ctx.finish():
        pass


async def queue_due(session: Any, *, limit: int = TICK_BATCH) -> int:
    """Queue an advance job for each renewal whose next action is due (deduplicated).

    Renewals whose job is already queued or running are skipped up front (one read of
    the live dedupe keys) rather than through one INSERT each that the dedupe index
    turns away: in a storm most due renewals are already waiting for a worker."""
    ids = (
        (
            await session.execute(
                select(Renewal.id)
                .where(Renewal.state.in_(ACTIVE), Renewal.next_action_at <= utcnow())
                .order_by(Renewal.next_action_at)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    live = set(
        (
            await session.execute(
                select(Job.dedupe_key).where(
                    Job.kind == ADVANCE,
                    Job.state.in_([JobState.queued, JobState.running]),
                    Job.dedupe_key.is_not(None),
                )
            )
        ).scalars()
    )
    queued = 0
    for renewal_id in ids:
        if dedupe_key(renewal_id) in live:
            continue
        if await enqueue(
            session, ADVANCE, {"renewal_id": str(renewal_id)}, dedupe_key=dedupe_key(renewal_id)
        ):
            queued += 1
    return queued


@task("renewal.plan", cron="7 * * * *", max_attempts=3)
async def plan_due(ctx: JobContext, payload: dict[str, Any]) -> None:
    async with ctx.finish() as session:
        await planner.plan(session, utcnow().date())
        await queue_due(session)


@task("renewal.tick", cron="* * * * *", max_attempts=2)
async def tick(ctx: JobContext, payload: dict[str, Any]) -> None:
    async with ctx.finish() as session:
        await queue_due(session)


@task("renewal.sweep", cron="*/15 * * * *", max_attempts=3)
async def sweep(ctx: JobContext, payload: dict[str, Any]) -> None:
    async with ctx.finish() as session:
        await sweeper.sweep(session, utcnow().date())
