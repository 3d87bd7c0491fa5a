"""`hub renewals plan|run|list|pause|resume`."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub.kit.console import progress_bar

app = typer.Typer(help="Automatic renewals: plan, run, list, pause.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


# A rich table measures every cell to lay itself out (about 3 ms a row: 30,000 due
# renewals took over a minute); longer listings are printed as plain aligned columns.
PLAIN_ABOVE = 200


def _print_plain(
    title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]], *, right: set[str]
) -> None:
    widths = [max(len(column), *(len(row[n]) for row in rows)) for n, column in enumerate(columns)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(w) if column in right else cell.ljust(w)
            for cell, w, column in zip(cells, widths, columns, strict=True)
        ).rstrip()

    print(title)
    print(line(columns))
    print("  ".join("-" * w for w in widths))
    print("\n".join(line(row) for row in rows))


def _settings() -> Any:
    from hub.config import Settings

    return Settings()


async def _with_session(fn: Any, *, write: bool = False) -> Any:
    from hub.db import create_engine, make_sessionmaker, session_scope
    from hub.kit.crypto import load_secret_box

    settings = _settings()
    engine = create_engine(settings)
    try:
        async with session_scope(
            make_sessionmaker(engine, load_secret_box(settings)), write=write
        ) as session:
            return await fn(session)
    finally:
        await engine.dispose()


@app.command("plan")
def plan(
    days: Annotated[int, typer.Option(help="look this many days ahead", min=1, max=3650)] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """What would be renewed automatically in the next N days, and at what cost (at
    today's price). Changes nothing."""
    from hub.kit.money import format_amount
    from hub.kit.time import utcnow
    from hub.renewal.planner import due_items

    today = utcnow().date()
    items = asyncio.run(_with_session(lambda s: due_items(s, today, within_days=days)))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        totals[item.currency] += item.total
    if as_json:
        rows = [
            {
                "subscription_id": str(i.subscription_id),
                "client": i.client_name,
                "product": i.product,
                "ends_on": i.ends_on.isoformat(),
                "order_on": i.order_on.isoformat(),
                "quantity": i.quantity,
                "unit_cost": format_amount(i.unit_cost),
                "total": format_amount(i.total),
                "currency": i.currency,
                "payer": i.payer.value,
                "renewal": i.renewal_state.value if i.renewal_state else None,
            }
            for i in items
        ]
        print(
            json.dumps(
                {"days": days, "items": rows, "totals": {k: format_amount(v) for k, v in totals.items()}},
                indent=2,
            )
        )
        return
    title = f"Automatic renewals in the next {days} days (nothing was changed)"
    columns = ("client", "product", "ends", "orders on", "qty", "total", "payer", "renewal")
    cells: list[tuple[str, ...]] = []
    for i in items:
        when = "now" if i.order_on <= today else i.order_on.isoformat()
        state = (
            i.renewal_state.value if i.renewal_state else ("would plan" if i.order_on <= today else "later")
        )
        cells.append(
            (
                i.client_name,
                i.product,
                i.ends_on.isoformat(),
                when,
                str(i.quantity),
                f"{i.total:,.2f} {i.currency}",
                i.payer.value,
                state,
            )
        )
    if len(cells) <= PLAIN_ABOVE:
        table = Table(title=title)
        for column in columns:
            table.add_column(column, justify="right" if column in ("qty", "total") else "left")
        for row in cells:
            table.add_row(*row)
        out.print(table)
    else:
        _print_plain(title, columns, cells, right={"qty", "total"})
    for currency, total in sorted(totals.items()):
        out.print(f"  total {currency}: {total:,.2f}")


@app.command("run")
def run(
    concurrency: Annotated[int, typer.Option(help="renewals in flight at once", min=1, max=64)] = 4,
    timeout: Annotated[float, typer.Option(help="give up waiting after this many seconds")] = 600.0,
) -> None:
    """Plan every due term now, then work the renewals in this process until none is
    due (the worker does this on its own every minute; this is for operators)."""
    from sqlalchemy import func, select

    from hub.db import create_engine, make_sessionmaker, session_scope
    from hub.jobs.worker import Worker
    from hub.kit.crypto import load_secret_box
    from hub.kit.time import utcnow
    from hub.models import Job, Renewal
    from hub.models.job import JobState
    from hub.renewal import planner
    from hub.renewal.executor import ACTIVE
    from hub.renewal.tasks import ADVANCE, queue_due

    async def main() -> dict[str, int]:
        settings = _settings()
        engine = create_engine(settings)
        maker = make_sessionmaker(engine, load_secret_box(settings))
        try:
            async with session_scope(maker, write=True) as session:
                planned = await planner.plan(session, utcnow().date())
                await queue_due(session)
            err.print(f"planned {planned} new renewal(s)")
            stop = asyncio.Event()
            worker = Worker(settings, concurrency=concurrency, sessionmaker=maker)
            runner = asyncio.create_task(worker.run(stop))
            deadline = asyncio.get_running_loop().time() + timeout
            with progress_bar(err) as bar:
                task = bar.add_task("renewals", total=None)
                while asyncio.get_running_loop().time() < deadline:
                    async with session_scope(maker, write=True) as session:
                        await queue_due(session)
                    async with session_scope(maker, write=False) as session:
                        pending_jobs = (
                            await session.execute(
                                select(func.count()).where(
                                    Job.kind == ADVANCE, Job.state.in_([JobState.queued, JobState.running])
                                )
                            )
                        ).scalar_one()
                        due = (
                            await session.execute(
                                select(func.count()).where(
                                    Renewal.state.in_(ACTIVE), Renewal.next_action_at <= utcnow()
                                )
                            )
                        ).scalar_one()
                        total = (await session.execute(select(func.count(Renewal.id)))).scalar_one()
                    bar.update(task, total=total, completed=total - due - pending_jobs)
                    if not pending_jobs and not due:
                        break
                    await asyncio.sleep(0.5)
            stop.set()
            await runner
            async with session_scope(maker, write=False) as session:
                rows = await session.execute(select(Renewal.state, func.count()).group_by(Renewal.state))
                return {state.value: count for state, count in rows}
        finally:
            await engine.dispose()

    counts = asyncio.run(main())
    table = Table(title="Renewals by state")
    table.add_column("state")
    table.add_column("count", justify="right")
    for state, count in sorted(counts.items()):
        table.add_row(state, str(count))
    out.print(table)


@app.command("list")
def list_renewals(
    state: Annotated[str | None, typer.Option(help="only this state")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Renewals with their state and the reason they wait, newest term first."""
    from sqlalchemy import select

    from hub.models import Client, Renewal, Subscription
    from hub.models.enums import RenewalState

    async def fetch(session: Any) -> list[Any]:
        query = (
            select(Renewal, Client.name, Subscription.product)
            .join(Client, Client.id == Renewal.client_id)
            .join(Subscription, Subscription.id == Renewal.subscription_id)
            .order_by(Renewal.term_ends_on.desc())
            .limit(500)
        )
        if state:
            query = query.where(Renewal.state == RenewalState(state))
        return list((await session.execute(query)).all())

    try:
        rows = asyncio.run(_with_session(fetch))
    except ValueError:
        err.print(f"[red]unknown state {state!r}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": str(r.id),
                        "client": c,
                        "product": p,
                        "term_ends_on": r.term_ends_on.isoformat(),
                        "state": r.state.value,
                        "reason": r.reason,
                        "order": r.vendor_order_ref,
                    }
                    for r, c, p in rows
                ],
                indent=2,
            )
        )
        return
    table = Table(title="Renewals")
    for column in ("client", "product", "term ends", "state", "reason / order"):
        table.add_column(column)
    for renewal, client, product in rows:
        table.add_row(
            client,
            product,
            renewal.term_ends_on.isoformat(),
            renewal.state.value,
            renewal.reason or renewal.vendor_order_ref or "",
        )
    out.print(table)


def _set_pause(paused: bool, reason: str | None) -> None:
    from hub.kit.time import utcnow
    from hub.models import RenewalControls

    async def change(session: Any) -> None:
        controls = await session.get(RenewalControls, 1)
        if controls is None:
            controls = RenewalControls(id=1, lead_days=14, price_cap_pct=Decimal(10), cap_currency="EUR")
            session.add(controls)
        controls.paused = paused
        controls.paused_reason = reason if paused else None
        controls.paused_at = utcnow() if paused else None
        controls.paused_by = "cli" if paused else None

    asyncio.run(_with_session(change, write=True))


@app.command("pause")
def pause(reason: Annotated[str, typer.Option(help="why (shown to everyone)")]) -> None:
    """Stop every automatic renewal at its next step (nothing new is ordered)."""
    _set_pause(True, reason)
    err.print("automatic renewals paused")


@app.command("resume")
def resume() -> None:
    """Let automatic renewals go on."""
    _set_pause(False, None)
    err.print("automatic renewals resumed")
