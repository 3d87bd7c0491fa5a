"""Background jobs of vendor cases.

- `case.outbox` (every minute, and queued with each new message): send what is due.
- `case.poll` (every minute): file new mail of the cases mailbox.
- `case.verify`: re-run the check a case was opened from (close the loop).
- `case.chase` (every 5 minutes): chasers for silent vendors past their targets.
- `case.alerts` (every 5 minutes): breaching and unowned cases to the client's technician.
- `renewal.purchase_order` / `renewal.purchase_order_settled`: a renewal's purchase order
  by e-mail put in the outbox (once), and its thread resolved once the renewal is confirmed.
"""

from __future__ import annotations

from hub.case import alerts, chasers, outage, outbox, poller, purchase_order, verify
from hub.case.schemas import (
    ChaseVendors,
    OpenOutageCases,
    PollCaseMailbox,
    RaiseCaseAlerts,
    SendCaseMail,
    VerifyCase,
)
from hub.check import service as checks
from hub.jobs import JobContext, task
from hub.renewal.schemas import SendPurchaseOrder, SettlePurchaseOrder


@task(SendCaseMail, cron="* * * * *", max_attempts=2, timeout_seconds=300)
async def send_mail(ctx: JobContext, payload: SendCaseMail) -> None:
    await outbox.send_due(ctx.session, ctx.runtime.now(), ctx.runtime.settings.case)
    async with ctx.finish():
        pass


@task(PollCaseMailbox, cron="* * * * *", max_attempts=2, timeout_seconds=600)
async def poll_mailbox(ctx: JobContext, payload: PollCaseMailbox) -> None:
    await poller.poll(ctx.session, ctx.runtime.now, ctx.runtime.settings.case)
    async with ctx.finish():
        pass


@task(VerifyCase, max_attempts=3, timeout_seconds=600)
async def verify_case(ctx: JobContext, payload: VerifyCase) -> None:
    """Read (short), run the check with no transaction open, then store the run and act
    on it with the job's fenced completion."""
    async with ctx.session(write=False) as session:
        plan = await verify.plan(session, payload.case_id)
    if plan is None:
        async with ctx.finish():
            return
    started = ctx.runtime.now()
    result = await checks.execute(plan, ctx.runtime.settings.check)
    async with ctx.finish() as session:
        await verify.apply(
            session,
            payload.case_id,
            plan.check_id,
            result,
            started,
            ctx.runtime.now(),
            ctx.runtime.settings.case,
        )


@task(ChaseVendors, cron="*/5 * * * *", max_attempts=2, timeout_seconds=300)
async def chase(ctx: JobContext, payload: ChaseVendors) -> None:
    async with ctx.finish() as session:
        await chasers.chase(session, ctx.runtime.now(), ctx.runtime.settings.case)


@task(OpenOutageCases, cron="* * * * *", max_attempts=2, timeout_seconds=300)
async def open_outage_cases(ctx: JobContext, payload: OpenOutageCases) -> None:
    async with ctx.finish() as session:
        await outage.open_outage_cases(session, ctx.runtime.now())


@task(RaiseCaseAlerts, cron="*/5 * * * *", max_attempts=2, timeout_seconds=300)
async def raise_alerts(ctx: JobContext, payload: RaiseCaseAlerts) -> None:
    async with ctx.finish() as session:
        settings = ctx.runtime.settings
        await alerts.raise_alerts(session, ctx.runtime.now(), settings.case, settings.notify)


@task(SendPurchaseOrder, max_attempts=5, timeout_seconds=120)
async def send_purchase_order(ctx: JobContext, payload: SendPurchaseOrder) -> None:
    async with ctx.finish() as session:
        await purchase_order.send(session, payload.renewal_id, ctx.runtime.now(), ctx.runtime.settings.case)


@task(SettlePurchaseOrder, max_attempts=5, timeout_seconds=120)
async def settle_purchase_order(ctx: JobContext, payload: SettlePurchaseOrder) -> None:
    async with ctx.finish() as session:
        await purchase_order.settle(session, payload.renewal_id, ctx.runtime.now())
