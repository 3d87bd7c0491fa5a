"""`hub reports snapshot|backfill`: the coverage history behind the quarterly review."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer

app = typer.Typer(help="Reports: coverage snapshots for the quarterly review.", no_args_is_help=True)


def _day(value: str | None, option: str) -> date | None:
    from hub.kit.console import fail

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: '{value}' is not a date (YYYY-MM-DD)")
        raise  # fail exits; this line is for the type checker


async def _client_id(session: Any, slug: str | None) -> Any:
    from sqlalchemy import select

    from hub.kit.console import fail
    from hub.models import Client

    if slug is None:
        return None
    found = (await session.execute(select(Client.id).where(Client.slug == slug))).scalar_one_or_none()
    if found is None:
        fail(f"--client: no client with slug '{slug}'")
    return found


async def demo_history(runtime: Any) -> int:
    """`hub demo`: the coverage since the start of the previous quarter, so that the demo's
    quarterly reviews compare two quarters (a second run adds only what is missing), for
    the demo's own clients only."""
    from sqlalchemy import select

    from hub.demo.catalogue import CLIENTS
    from hub.models import Client
    from hub.report.snapshots import seed_history

    async with runtime.unit_of_work() as session:
        demo_clients = (
            await session.execute(select(Client.id).where(Client.slug.in_([c.slug for c in CLIENTS])))
        ).scalars()
        return await seed_history(session, runtime.today(), runtime.now(), list(demo_clients))


@app.command("snapshot")
def snapshot(
    client: Annotated[
        str | None, typer.Option("--client", help="client slug (default: every client)")
    ] = None,
) -> None:
    """Take today's coverage snapshot now (what the daily job does; a day already taken
    is kept)."""
    from hub.report.snapshots import take_daily
    from hub.runtime import HubRuntime, run_command

    async def run(runtime: HubRuntime) -> int:
        async with runtime.unit_of_work() as session:
            return await take_daily(
                session, runtime.today(), runtime.now(), await _client_id(session, client)
            )

    created = run_command(run)
    print(f"{created} snapshot(s) taken")


@app.command("backfill")
def backfill(
    since: Annotated[
        str | None, typer.Option(help="first day, YYYY-MM-DD (default: ~2 quarters ago)")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="last day, YYYY-MM-DD, before today (default: yesterday)")
    ] = None,
    client: Annotated[
        str | None, typer.Option("--client", help="client slug (default: every client)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Derive past days' coverage from the dates the hub keeps (warranty windows,
    subscription terms, check runs, case timestamps). Days already snapshotted are kept;
    seats in use, and expiries or firmware with no check run on a day, stay unknown."""
    from hub.errors import InvalidInput
    from hub.kit.console import fail
    from hub.report import snapshots
    from hub.runtime import HubRuntime, run_command

    first, last = _day(since, "--since"), _day(until, "--until")

    async def run(runtime: HubRuntime) -> dict[str, Any]:
        try:
            window = snapshots.backfill_window(first, last, runtime.today())
        except InvalidInput as exc:
            problem = (exc.errors or [{"field": "since", "message": exc.detail}])[0]
            fail(f"--{problem['field']}: {problem['message']}")
        async with runtime.unit_of_work() as session:
            found = await snapshots.backfill(
                session,
                since=window[0],
                until=window[1],
                now=runtime.now(),
                client_id=await _client_id(session, client),
            )
        return {**found, "since": window[0].isoformat(), "until": window[1].isoformat()}

    result = run_command(run)
    if as_json:
        print(json.dumps(result))
        return
    print(
        f"{result['created']} snapshot(s) added for {result['clients']} client(s), "
        f"{result['days']} day(s) from {result['since']} to {result['until']}"
    )
