"""Background jobs of warranties: the daily refresh (`warranty.refresh`, 04:15 UTC) that
queues one lookup per warranty connection (`warranty.lookup`), so that one slow or failing
vendor only ever holds its own job."""

from __future__ import annotations

from hub.jobs import JobContext, task
from hub.sdk.errors import TemporaryFailure
from hub.warranty import service
from hub.warranty.schemas import LookupWarranties, RefreshWarranties


@task(RefreshWarranties, cron="15 4 * * *", max_attempts=2)
async def refresh_warranties(ctx: JobContext, payload: RefreshWarranties) -> None:
    async with ctx.finish() as session:
        await service.queue_lookups(session)


@task(LookupWarranties, max_attempts=3, timeout_seconds=1800)
async def lookup_warranties(ctx: JobContext, payload: LookupWarranties) -> None:
    """Short read, vendor calls with no transaction open, then the warranties, the audit
    event and the job's fenced completion in one short write."""
    async with ctx.session(write=False) as session:
        lp = await service.plan_lookup(session, payload.connection_id, ctx.runtime.today())
    if lp is None:
        return  # deleted, disabled, or no longer a warranty adapter
    try:
        records = await service.call_vendor(lp, ctx.runtime)
    except Exception as raised:
        exc: Exception = raised
        while isinstance(exc, ExceptionGroup):
            exc = exc.exceptions[0]
        async with ctx.session() as session:
            message = await service.store_lookup_failure(session, lp, exc, actor=payload.actor)
        if ctx.is_last_attempt or not isinstance(exc, TemporaryFailure | TimeoutError):
            # Audited; refused credentials or a bug are not retried (a vendor may lock out
            # a key that keeps failing): tomorrow's refresh asks again.
            async with ctx.finish():
                return
        raise RuntimeError(f"warranty lookup failed: {message}") from None
    async with ctx.finish() as session:
        await service.store_lookup(session, lp, records, actor=payload.actor)
