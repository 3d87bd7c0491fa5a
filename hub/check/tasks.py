"""Background jobs of the checks: one run of one check (`check.run`, deduplicated per
check) and the minute tick that queues the due ones (`check.schedule`)."""

from __future__ import annotations

from hub.check import service
from hub.check.schemas import RunCheck, ScheduleChecks
from hub.jobs import JobContext, task
from hub.models.check import Check


@task(RunCheck, max_attempts=3, timeout_seconds=600)
async def run_check(ctx: JobContext, payload: RunCheck) -> None:
    """Read the check (short read), run the engine with no transaction open, then store
    the result and the job's fenced completion in one short write: a worker that lost
    its lease records nothing, so a run is never stored twice."""
    async with ctx.session(write=False) as session:
        plan = await service.plan_run(session, payload.check_id)
    if plan is None:
        return  # deleted or disabled meanwhile: nothing to do
    started = ctx.runtime.now()
    result = await service.execute(plan, ctx.runtime.settings.check)
    async with ctx.finish() as session:
        check = await session.get(Check, payload.check_id)
        if check is not None:
            await service.record_run(
                session, check, result, started_at=started, finished_at=ctx.runtime.now()
            )


@task(ScheduleChecks, cron="* * * * *", max_attempts=2)
async def schedule_checks(ctx: JobContext, payload: ScheduleChecks) -> None:
    """Every minute: queue a run of each due check (in the tick's fenced transaction)."""
    async with ctx.finish() as session:
        await service.schedule_due(session)
