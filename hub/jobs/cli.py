"""`hub worker` and `hub jobs list|show|retry|cancel|workers`.

`app` is the `hub jobs` group and `worker` the `hub worker` command, registered by
hub/cli.py; `python -m hub.jobs.cli` runs both without the rest of the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import runtime_of
from hub.errors import HubError
from hub.jobs import queue
from hub.jobs.schemas import JobRead
from hub.kit.console import fail
from hub.models.job import JobState, JobWorker

T = TypeVar("T")

app = typer.Typer(help="Background jobs: inspect, retry, cancel.", no_args_is_help=True)
err = Console(stderr=True)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]


def _run(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from hub.runtime import run_in_unit

    try:
        return run_in_unit(fn)
    except HubError as exc:
        fail(exc.detail)


def _job_dict(job: Any) -> dict[str, Any]:
    return JobRead.model_validate(job).model_dump(mode="json")


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


@app.command("list")
def list_jobs(
    state: Annotated[JobState | None, typer.Option(help="only jobs in this state")] = None,
    kind: Annotated[str | None, typer.Option(help="only jobs of this kind")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Newest jobs first, with the queue's depth and the oldest queued age."""

    async def fetch(session: AsyncSession) -> dict[str, Any]:
        rows, total = await queue.list_jobs(session, state=state, kind=kind, limit=limit)
        stats = await queue.queue_stats(
            session, alive_within=timedelta(seconds=runtime_of(session).settings.jobs.lease_seconds)
        )
        return {
            "items": [_job_dict(j) for j in rows],
            "total": total,
            "queue": {
                "depth": stats.depth,
                "due": stats.due,
                "oldest_queued_age_seconds": round(stats.oldest_queued_age_seconds, 3),
                "running": stats.running,
                "failed": stats.failed,
                "reclaimed_total": stats.reclaimed_total,
                "workers_alive": stats.workers_alive,
            },
        }

    result = _run(fetch)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    table = Table("id", "kind", "state", "attempts", "run at", "last error")
    for j in result["items"]:
        table.add_row(
            str(j["id"]),
            j["kind"],
            j["state"],
            f"{j['attempt']}/{j['max_attempts']}",
            j["run_at"][:19],
            (j["last_error"] or "")[:60],
        )
    out.print(table)
    q = result["queue"]
    err.print(
        f"{result['total']} job(s) shown by filter; queue depth {q['depth']} ({q['due']} due, oldest waiting "
        f"{_age(q['oldest_queued_age_seconds'])}), running {q['running']}, failed {q['failed']}, "
        f"reclaimed {q['reclaimed_total']}, live workers {q['workers_alive']}"
    )


@app.command("show")
def show_job(job_id: int, as_json: JsonOpt = False) -> None:
    """Everything about one job, its last error in full."""

    async def fetch(session: AsyncSession) -> dict[str, Any]:
        return _job_dict(await queue.get_job(session, job_id))

    job = _run(fetch)
    if as_json:
        print(json.dumps(job, indent=2))
        return
    table = Table("field", "value", show_header=False)
    for key, value in job.items():
        if key != "last_error":
            table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    out.print(table)
    if job["last_error"]:
        out.print("[bold]last error[/bold]")
        out.print(job["last_error"], markup=False, highlight=False)


@app.command("retry")
def retry_job(job_id: int, as_json: JsonOpt = False) -> None:
    """Queue a failed or cancelled job again now (one more attempt)."""

    async def act(session: AsyncSession) -> dict[str, Any]:
        return _job_dict(await queue.retry(session, job_id))

    job = _run(act)
    if as_json:
        print(json.dumps(job, indent=2))
    else:
        err.print(f"job {job_id} queued again (attempt {job['attempt'] + 1} of {job['max_attempts']})")


@app.command("cancel")
def cancel_job(job_id: int, as_json: JsonOpt = False) -> None:
    """Cancel a queued or running job (a running job's result will not be recorded)."""

    async def act(session: AsyncSession) -> dict[str, Any]:
        return _job_dict(await queue.cancel(session, job_id))

    job = _run(act)
    if as_json:
        print(json.dumps(job, indent=2))
    else:
        err.print(f"job {job_id} cancelled")


@app.command("workers")
def list_workers(as_json: JsonOpt = False) -> None:
    """Worker processes and their last heartbeat."""

    async def fetch(session: AsyncSession) -> list[dict[str, Any]]:
        rows = (await session.execute(select(JobWorker).order_by(JobWorker.started_at))).scalars()
        return [
            {
                "id": w.id,
                "hostname": w.hostname,
                "pid": w.pid,
                "concurrency": w.concurrency,
                "running": w.running,
                "started_at": w.started_at.isoformat(),
                "heartbeat_at": w.heartbeat_at.isoformat(),
            }
            for w in rows
        ]

    rows = _run(fetch)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "pid", "concurrency", "running", "last heartbeat")
    for w in rows:
        table.add_row(
            w["id"], str(w["pid"]), str(w["concurrency"]), str(w["running"]), w["heartbeat_at"][:19]
        )
    out.print(table)


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", min=1, help="jobs run at once (HUB_JOBS_WORKER_CONCURRENCY)"),
    ] = None,
) -> None:
    """Run background jobs (no API) until SIGTERM; in-flight jobs finish or are released."""
    from hub.jobs.worker import UnsafeSettings, configure_logging, run_worker
    from hub.runtime import HubSettings

    settings = HubSettings.from_env()
    configure_logging(settings.core.log_level)
    from hub.settings import KeyConfigurationError

    try:
        run_worker(settings, concurrency=concurrency or settings.jobs.worker_concurrency)
    except UnsafeSettings as exc:
        fail(str(exc), code=2)
    except KeyConfigurationError as exc:
        fail(str(exc))


main = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
main.command("worker")(worker)
main.add_typer(app, name="jobs")

if __name__ == "__main__":
    main()
