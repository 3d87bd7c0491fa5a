"""Background jobs of the reminders.

- `notify.remind` (hourly): records the reminders due now in the ledger and queues their
  deliveries, in the job's fenced transaction (a worker that lost its lease records
  nothing; a second run finds everything recorded). Hourly so that each client's day
  starts in its own time zone; the ledger makes the extra runs free.
- `notify.digest` (daily, 07:00 UTC): one e-mail per recipient with what is queued.
- `notify.deliver` (every minute): webhook deliveries due now, with retries.
"""

from __future__ import annotations

from hub.jobs import JobContext, task
from hub.notify import delivery, ledger
from hub.notify.schemas import DeliverWebhooks, RunReminders, SendDigests


@task(RunReminders, cron="7 * * * *", max_attempts=3, timeout_seconds=900)
async def remind(ctx: JobContext, payload: RunReminders) -> None:
    async with ctx.finish() as session:
        await ledger.run_reminders(session, ctx.runtime.now(), ctx.runtime.settings.notify)


@task(SendDigests, cron="0 7 * * *", max_attempts=3, timeout_seconds=900)
async def digest(ctx: JobContext, payload: SendDigests) -> None:
    await delivery.send_digests(ctx.session, ctx.runtime.now(), ctx.runtime.settings.notify)
    async with ctx.finish():
        pass


@task(DeliverWebhooks, cron="* * * * *", max_attempts=2, timeout_seconds=300)
async def deliver(ctx: JobContext, payload: DeliverWebhooks) -> None:
    await delivery.deliver_webhooks(ctx.session, ctx.runtime.now(), ctx.runtime.settings.notify)
    async with ctx.finish():
        pass
