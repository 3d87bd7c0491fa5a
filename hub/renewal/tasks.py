"""Background jobs of automatic renewal: plan the due terms (hourly), advance one
renewal (`renewal.advance`, one job per renewal, deduplicated), the minute tick that
queues the renewals whose next action is due, and the deadline sweeper."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.jobs import JobContext, task
from hub.renewal import planner, sweeper
from hub.renewal.executor import Executor, follow_up
from hub.renewal.planner import queue_due
from hub.renewal.schemas import AdvanceRenewal, PlanRenewals, SweepRenewals, TickRenewals


@task(AdvanceRenewal, max_attempts=5, timeout_seconds=300)
async def advance(ctx: JobContext, payload: AdvanceRenewal) -> None:
    await Executor(ctx, payload.renewal_id).run()
    if ctx.finished:  # the run's last write completed the job (a confirmation)
        return

    async def then(session: AsyncSession) -> None:
        await follow_up(session, payload.renewal_id)

    async with ctx.finish(then=then):
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
