"""Durable background jobs in the hub's own database (DESIGN.md §6).

Declare a task next to its module (`hub/<module>/tasks.py`) with `@task("module.action")`,
and add work with `enqueue(session, "module.action", {"id": ...}, dedupe_key=...)` in the
same transaction as the decision that causes it.
"""

from hub.jobs.context import JobContext, LeaseLost
from hub.jobs.queue import enqueue
from hub.jobs.registry import task

__all__ = ["JobContext", "LeaseLost", "enqueue", "task"]
