"""Background jobs of vendor cases.

- `case.outbox` (every minute, and queued with each new message): send what is due.
- `case.poll` (every minute): file new mail of the cases mailbox.
- `case.verify`: re-run the check a case was opened from (close the loop).
- `case.chase` (every 5 minutes): chasers for silent vendors past their targets.
- `case.alerts` (every 5 minutes): breaching and unowned cases to the client's technician.
- `case.api_poll` (every 5 minutes): the vendors' case APIs, their updates onto the timelines.
- `case.api_status`: tell the vendor's case API that we closed or reopened a case.
- `case.api_evidence`: a failed re-check's finding and evidence file, through the vendor's API.
- `renewal.purchase_order` / `renewal.purchase_order_settled`: a renewal's purchase order
  by e-mail put in the outbox (once), and its thread resolved once the renewal is confirmed.
"""

from __future__ import annotations

from hub.case import alerts, api_poll, chasers, desk, outage, outbox, poller, purchase_order, verify
from hub.case.schemas import (
    ChaseVendors,
    MirrorCaseStatus,
    OpenOutageCases,
    PollCaseDesks,
    PollCaseMailbox,
    RaiseCaseAlerts,
    SendCaseEvidence,
    SendCaseMail,
    VerifyCase,
)
from hub.check import service as checks
from hub.jobs import JobContext, task
from hub.renewal.schemas import SendPurchaseOrder, SettlePurchaseOrder
from hub.sdk.records import CaseStatusChange


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
    now = ctx.runtime.now()
    # The api channel first, in short writes of its own with no transaction held across
    # the vendor calls; then the mail chasers, queued in the job's own transaction.
    await chasers.chase_api(ctx.runtime, now, ctx.runtime.settings.case)
    async with ctx.finish() as session:
        await chasers.chase(session, now, ctx.runtime.settings.case)


@task(OpenOutageCases, cron="* * * * *", max_attempts=2, timeout_seconds=300)
async def open_outage_cases(ctx: JobContext, payload: OpenOutageCases) -> None:
    async with ctx.finish() as session:
        await outage.open_outage_cases(session, ctx.runtime.now())


@task(RaiseCaseAlerts, cron="*/5 * * * *", max_attempts=2, timeout_seconds=300)
async def raise_alerts(ctx: JobContext, payload: RaiseCaseAlerts) -> None:
    async with ctx.finish() as session:
        settings = ctx.runtime.settings
        await alerts.raise_alerts(session, ctx.runtime.now(), settings.case, settings.notify)


@task(PollCaseDesks, cron="*/5 * * * *", max_attempts=2, timeout_seconds=600)
async def poll_case_desks(ctx: JobContext, payload: PollCaseDesks) -> None:
    """Each case is read with no transaction open and filed in a short write of its own
    (idempotent by the vendor's update ids, so a job run again files nothing twice); a
    vendor fault is recorded on its case and connection, and the job still succeeds."""
    await api_poll.poll_all(ctx.runtime, ctx.session)
    async with ctx.finish():
        pass


@task(MirrorCaseStatus, max_attempts=3, timeout_seconds=300)
async def mirror_status(ctx: JobContext, payload: MirrorCaseStatus) -> None:
    await desk.mirror_status(ctx.runtime, payload.case_id, CaseStatusChange(payload.status))
    async with ctx.finish():
        pass


@task(SendCaseEvidence, max_attempts=1, timeout_seconds=300)
async def send_evidence(ctx: JobContext, payload: SendCaseEvidence) -> None:
    """One attempt: the message is idempotent by its reference, but a file sent twice
    would show twice at vendors that do not name files; a failure is on the timeline."""
    await desk.send_evidence(ctx.runtime, payload.case_id, payload.attachment_id, payload.message)
    async with ctx.finish():
        pass


@task(SendPurchaseOrder, max_attempts=5, timeout_seconds=120)
async def send_purchase_order(ctx: JobContext, payload: SendPurchaseOrder) -> None:
    async with ctx.finish() as session:
        await purchase_order.send(session, payload.renewal_id, ctx.runtime.now(), ctx.runtime.settings.case)


@task(SettlePurchaseOrder, max_attempts=5, timeout_seconds=120)
async def settle_purchase_order(ctx: JobContext, payload: SettlePurchaseOrder) -> None:
    async with ctx.finish() as session:
        await purchase_order.settle(session, payload.renewal_id, ctx.runtime.now())
