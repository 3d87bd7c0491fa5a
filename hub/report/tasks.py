"""Background jobs of the reports: the daily coverage snapshot (`report.snapshot`, 23:50
UTC, so the row tells how the day ended) behind the quarterly business review."""

from __future__ import annotations

from hub.jobs import JobContext, task
from hub.report.schemas import SnapshotCoverage
from hub.report.snapshots import take_daily


@task(SnapshotCoverage, cron="50 23 * * *", max_attempts=3, timeout_seconds=1800)
async def snapshot_coverage(ctx: JobContext, payload: SnapshotCoverage) -> None:
    """One row per active client for today; a row already there (a retry, a second run by
    hand) is kept, so the job is idempotent per client and day."""
    async with ctx.finish() as session:
        await take_daily(session, ctx.runtime.today(), ctx.runtime.now())
