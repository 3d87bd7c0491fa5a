"""`hub connections sync`: queue a sync of one connection, or run it in this process.

Registered under `hub connections` by `hub/cli.py` (sync owns syncing; the connections
group is where people look for it)."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)

CLI_ACTOR = "cli"


def _principal() -> Any:
    from hub.auth.principal import Principal
    from hub.models.enums import Role

    return Principal(actor=CLI_ACTOR, role=Role.admin)


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def sync_connection(
    connection_id: str,
    now: Annotated[
        bool, typer.Option("--now", help="sync in this process instead of queueing a job")
    ] = False,
) -> None:
    """Queue a sync of the connection (a worker runs it), or run it now with --now."""
    import uuid

    from hub.connection.service import connections
    from hub.errors import HubError
    from hub.runtime import run_command
    from hub.sync import service

    cid = uuid.UUID(connection_id)

    async def _queue(runtime: Any) -> str:
        async with runtime.unit_of_work() as session:
            conn = await connections.get(session, _principal(), cid)
            job_id, already = await service.request_sync(
                session, conn, actor=CLI_ACTOR, audit_as=_principal()
            )
            return f"job {job_id}" + (" (already queued)" if already else " queued")

    async def _inline(runtime: Any) -> str:
        async with runtime.sessionmaker() as session:
            await connections.get(session, _principal(), cid)
            plan = await service.plan(session, cid)
        if plan is None:
            return "nothing to sync (disabled, or its adapter is not installed)"
        collected, error = await service.run_collect(plan, runtime)
        async with runtime.unit_of_work() as session:
            if error is not None or collected is None:
                await service.store_failure(session, plan, error or RuntimeError(), actor=CLI_ACTOR)
                return "sync failed; see `hub connections list` for the health and error"
            stats = await service.store(session, plan, collected, actor=CLI_ACTOR)
            return f"synced: {stats}"

    try:
        out.print(run_command(_inline if now else _queue))
    except HubError as exc:
        _fail(exc.detail)
