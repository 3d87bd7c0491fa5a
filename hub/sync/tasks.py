"""Background jobs of sync: one sync of one connection (`sync.connection`, deduplicated
per connection, so one failing or slow vendor only ever holds its own job) and the minute
tick that queues the due ones (`sync.schedule`)."""

from __future__ import annotations

from hub.jobs import JobContext, task
from hub.sync import service
from hub.sync.schemas import ScheduleSyncs, SyncConnection


@task(SyncConnection, max_attempts=3, timeout_seconds=1800)
async def sync_connection(ctx: JobContext, payload: SyncConnection) -> None:
    """Short read, vendor calls with no transaction open, then the records, the health
    and the job's fenced completion in one short write."""
    async with ctx.session(write=False) as session:
        plan = await service.plan(session, payload.connection_id)
    if plan is None:
        return  # deleted, disabled or its adapter uninstalled meanwhile
    collected, error = await service.run_collect(plan, ctx.runtime)
    async with ctx.finish() as session:
        if error is not None or collected is None:
            await service.store_failure(
                session, plan, error or RuntimeError("nothing collected"), actor=payload.actor
            )
        else:
            await service.store(session, plan, collected, actor=payload.actor)


@task(ScheduleSyncs, cron="* * * * *", max_attempts=2)
async def schedule_syncs(ctx: JobContext, payload: ScheduleSyncs) -> None:
    """Every minute: queue a sync of each due connection."""
    async with ctx.finish() as session:
        await service.schedule_due(session, ctx.runtime.settings.sync)
