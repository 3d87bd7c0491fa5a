"""`hub warranties review|refresh`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Warranties: the quarterly review, and the daily vendor lookup.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@app.command("review")
def review(
    client: Annotated[
        str | None, typer.Option("--client", help="client slug (default: every client)")
    ] = None,
    days: Annotated[int, typer.Option(help="also warranties ending within N days", min=0, max=3650)] = 90,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Assets out of warranty, ending within N days or with none known, per client."""
    from sqlalchemy import select

    from hub.auth.principal import CLI
    from hub.models import Client
    from hub.warranty.service import review as review_items

    async def run(session: Any) -> list[dict[str, Any]] | None:
        client_id = None
        if client is not None:
            client_id = (
                await session.execute(select(Client.id).where(Client.slug == client))
            ).scalar_one_or_none()
            if client_id is None:
                return None
        items, _ = await review_items(session, CLI, days=days, client_id=client_id)
        return items

    from hub.runtime import run_in_unit

    items = run_in_unit(run, write=False)
    if items is None:
        err.print(f"[red]error:[/red] no client with slug '{client}'")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps({"days": days, "items": items}, indent=2))
        return
    if not items:
        out.print(f"No asset is out of warranty or ending within {days} days.")
        return
    table = Table(title=f"Warranty review: out of warranty or ending within {days} days")
    for column in ("client", "asset", "manufacturer", "model", "serial", "ends", "days", "status"):
        table.add_column(column)
    for i in items:
        table.add_row(
            i["client"]["slug"],
            i["name"],
            i["manufacturer"],
            i["model"] or "",
            i["serial"] or "",
            i["warranty_ends_on"] or "unknown",
            "" if i["days_left"] is None else str(i["days_left"]),
            i["status"],
        )
    out.print(table)


@app.command("refresh")
def refresh() -> None:
    """Queue a warranty lookup of every warranty connection now (a worker runs them)."""
    from hub.runtime import run_in_unit
    from hub.warranty.service import queue_lookups

    queued = run_in_unit(queue_lookups)
    out.print(f"{queued} warranty lookup(s) queued")
