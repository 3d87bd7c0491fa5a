"""The job system's own periodic work: pruning finished jobs and dead worker rows."""

from __future__ import annotations

from datetime import timedelta

from hub.jobs import queue
from hub.jobs.context import JobContext
from hub.jobs.registry import task
from hub.jobs.schemas import PruneJobs


@task(PruneJobs, cron="17 * * * *", max_attempts=3)
async def prune_finished_jobs(ctx: JobContext, payload: PruneJobs) -> None:
    """Hourly: delete succeeded/cancelled jobs past the retention, failed ones later, in
    short batches so the table stays small and no transaction holds the lock for long."""
    settings = ctx.runtime.settings.jobs
    now = ctx.runtime.now()
    while True:
        async with ctx.session() as session:
            deleted = await queue.prune(
                session,
                succeeded_before=now - timedelta(days=settings.retention_days),
                failed_before=now - timedelta(days=settings.failed_retention_days),
                workers_before=now - timedelta(days=1),
            )
        if deleted == 0:
            return
