"""The task registry: `@task("module.action")` next to the module's code.

A task is an async function `(ctx: JobContext, payload: dict) -> None`. Its name is the
job kind stored in the table, so renaming a task orphans its queued jobs (they stay
queued and visible, no worker claims a kind it does not know).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.jobs.context import JobContext

TaskFn = Callable[["JobContext", dict[str, Any]], Awaitable[None]]

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True, slots=True)
class Task:
    kind: str
    fn: TaskFn
    max_attempts: int | None
    priority: int
    # Cron expression in UTC (5 fields, or 6 with seconds last) for a periodic task.
    cron: str | None
    timeout_seconds: float | None


_TASKS: dict[str, Task] = {}


def task(
    kind: str,
    *,
    max_attempts: int | None = None,
    priority: int = 0,
    cron: str | None = None,
    timeout_seconds: float | None = None,
) -> Callable[[TaskFn], TaskFn]:
    """Register a job kind. With `cron`, every worker offers each slot of the schedule and
    the database keeps exactly one job per slot."""
    if not KIND_PATTERN.match(kind):
        raise ValueError(f"job kind {kind!r} must look like 'module.action'")
    if cron is not None:
        from hub.jobs.schedule import validate_cron

        validate_cron(cron)

    def register(fn: TaskFn) -> TaskFn:
        existing = _TASKS.get(kind)
        if existing is not None and existing.fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"job kind {kind!r} is registered twice")
        _TASKS[kind] = Task(kind, fn, max_attempts, priority, cron, timeout_seconds)
        return fn

    return register


def get_task(kind: str) -> Task | None:
    return _TASKS.get(kind)


def all_tasks() -> dict[str, Task]:
    return dict(_TASKS)


def load_tasks(extra_modules: list[str] | None = None) -> dict[str, Task]:
    """Import every `hub.<package>.tasks` module (and the extra ones) so their @task
    declarations run; a worker calls this before claiming anything."""
    import hub

    for info in pkgutil.iter_modules(hub.__path__):
        if info.ispkg:
            name = f"hub.{info.name}.tasks"
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
    for module in extra_modules or []:
        importlib.import_module(module)
    return all_tasks()
