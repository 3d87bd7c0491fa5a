"""Background jobs of ISP lines: one probe round of one line (`line.probe`, deduplicated
per line) and the minute tick that queues the due ones and trims the history
(`line.schedule`)."""

from __future__ import annotations

from hub.jobs import JobContext, task
from hub.line import service
from hub.line.probe import probe_round
from hub.line.schemas import ProbeLine, ScheduleLineProbes
from hub.models import IspLine


@task(ProbeLine, max_attempts=2, timeout_seconds=120)
async def probe_line(ctx: JobContext, payload: ProbeLine) -> None:
    """Short read, the TCP connects with no transaction open, then the history rows, the
    state and the job's fenced completion in one short write (a worker that lost its lease
    records nothing, so a round is never stored twice)."""
    async with ctx.session(write=False) as session:
        plan = await service.plan_probe(session, payload.line_id)
    if plan is None:
        return  # deleted meanwhile, or nothing to connect to
    settings = ctx.runtime.settings.line
    results = await probe_round(
        plan.targets, timeout_seconds=settings.connect_timeout_seconds, concurrency=settings.concurrency
    )
    async with ctx.finish() as session:
        line = await session.get(IspLine, payload.line_id)
        if line is not None:
            await service.record_round(session, line, results, ctx.runtime.now())


@task(ScheduleLineProbes, cron="* * * * *", max_attempts=2)
async def schedule_line_probes(ctx: JobContext, payload: ScheduleLineProbes) -> None:
    async with ctx.finish() as session:
        await service.schedule_due(session, ctx.runtime.now(), ctx.runtime.settings.line)
