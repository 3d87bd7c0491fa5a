"""The task registry: `@task(PayloadModel)` next to the module's code.

A task is an async function `(ctx: JobContext, payload: PayloadModel) -> None`; the
payload model names the job kind stored in the table, so renaming a kind orphans its
queued jobs (they stay queued and visible, no worker claims a kind it does not know).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from hub.jobs.payload import KIND_PATTERN, JobPayload, PeriodicPayload

if TYPE_CHECKING:
    from hub.jobs.context import JobContext

P = TypeVar("P", bound=JobPayload)
TaskFn = Callable[["JobContext", Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Task:
    kind: str
    payload: type[JobPayload]
    fn: TaskFn
    max_attempts: int | None
    priority: int
    # Cron expression in UTC (5 fields, or 6 with seconds last) for a periodic task.
    cron: str | None
    timeout_seconds: float | None


_TASKS: dict[str, Task] = {}


def task(
    payload: type[P],
    *,
    max_attempts: int | None = None,
    priority: int = 0,
    cron: str | None = None,
    timeout_seconds: float | None = None,
) -> Callable[[Callable[[JobContext, P], Awaitable[None]]], Callable[[JobContext, P], Awaitable[None]]]:
    """Register the task that runs jobs of `payload.kind`. With `cron`, every worker offers
    each slot of the schedule and the database keeps exactly one job per slot (a periodic
    kind's payload is a `PeriodicPayload`: its slot, nothing else required)."""
    kind = payload.kind
    if not KIND_PATTERN.match(kind):
        raise ValueError(f"job kind {kind!r} must look like 'module.action'")
    if cron is not None:
        from hub.jobs.schedule import validate_cron

        validate_cron(cron)
        if not issubclass(payload, PeriodicPayload):
            raise TypeError(f"periodic kind {kind!r} needs a PeriodicPayload (its jobs carry their slot)")

    def register(
        fn: Callable[[JobContext, P], Awaitable[None]],
    ) -> Callable[[JobContext, P], Awaitable[None]]:
        existing = _TASKS.get(kind)
        if existing is not None and existing.fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"job kind {kind!r} is registered twice")
        _TASKS[kind] = Task(kind, payload, fn, max_attempts, priority, cron, timeout_seconds)
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
