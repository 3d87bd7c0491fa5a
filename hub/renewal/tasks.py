"""Background jobs of automatic renewal: plan the due terms (hourly), advance one
renewal (`renewal.advance`, one job per renewal, deduplicated), the minute tick that
queues the renewals whose next action is due, and the deadline sweeper."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.jobs import JobContext, enqueue, task
from hub.models import Renewal
from hub.renewal import planner, sweeper
from hub.renewal.executor import Executor
from hub.renewal.planner import dedupe_key, queue_due
from hub.renewal.schemas import AdvanceRenewal, PlanRenewals, SweepRenewals, TickRenewals
from hub.renewal.states import ACTIVE


@task(AdvanceRenewal, max_attempts=5, timeout_seconds=300)
async def advance(ctx: JobContext, payload: AdvanceRenewal) -> None:
    await Executor(ctx, payload.renewal_id).run()

    async def follow_up(session: AsyncSession) -> None:
        # The next step at its own time (a lost answer reconciled once its in-flight grace
        # has passed, a read-back a minute later), not at the next minute tick.
        renewal = await session.get(Renewal, payload.renewal_id)
        if renewal is not None and renewal.state in ACTIVE and renewal.next_action_at is not None:
            await enqueue(session, payload, run_at=renewal.next_action_at, dedupe_key=dedupe_key(renewal.id))

    async with ctx.finish(then=follow_up):
        pass


@task(PlanRenewals, cron="7 * * * *", max_attempts=3)
async def plan_due(ctx: JobContext, payload: PlanRenewals) -> None:
    now = ctx.runtime.now()
    async with ctx.finish() as session:
        await planner.plan(session, now.date(), now=now)
        await queue_due(session, now=now)


@task(TickRenewals, cron="* * * * *", max_attempts=2)
async def tick(ctx: JobContext, payload: TickRenewals) -> None:
    async with ctx.finish() as session:
        await queue_due(session, now=ctx.runtime.now())


@task(SweepRenewals, cron="*/15 * * * *", max_attempts=3)
async def sweep(ctx: JobContext, payload: SweepRenewals) -> None:
    now = ctx.runtime.now()
    async with ctx.finish() as session:
        await sweeper.sweep(session, now.date(), now=now)
