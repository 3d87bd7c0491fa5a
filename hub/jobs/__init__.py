"""Durable background jobs in the hub's own database (DESIGN.md §6).

Declare a payload model and its task next to the module (`hub/<module>/tasks.py`):
`@task(AdvanceRenewal)` over `async def advance(ctx, payload: AdvanceRenewal)`, and add work
with `enqueue(session, AdvanceRenewal(renewal_id=...), dedupe_key=...)` in the same
transaction as the decision that causes it.
"""

from hub.jobs.context import JobContext, LeaseLost
from hub.jobs.payload import JobPayload, PeriodicPayload
from hub.jobs.queue import enqueue, enqueue_or_join
from hub.jobs.registry import task

__all__ = ["JobContext", "JobPayload", "LeaseLost", "PeriodicPayload", "enqueue", "enqueue_or_join", "task"]
