"""`hub renewals plan|run|list|pause|resume|approve|decline|resolve|confirm` and
`hub renewals routes show|set|clear`."""

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


@app.command("plan")
def plan(
    days: Annotated[int, typer.Option(help="look this many days ahead", min=1, max=3650)] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """What would be renewed automatically in the next N days, and at what cost (at
    today's price), and which of them will escalate instead of ordering (no vendor
    connection, no vendor subscription id, an adapter that cannot order). Changes nothing."""
    from hub.kit.money import format_amount
    from hub.kit.time import today as today_utc
    from hub.renewal.planner import DueItem, due_items
    from hub.renewal.route_check import route_problems

    today = today_utc()
    from hub.runtime import run_in_unit

    async def read(session: Any) -> tuple[list[DueItem], dict[Any, str]]:
        found = await due_items(session, today, within_days=days)
        return found, await route_problems(session, (i.subscription_id for i in found))

    items, problems = run_in_unit(read, write=False)
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
                "route_problem": problems.get(i.subscription_id),
            }
            for i in items
        ]
        print(
            json.dumps(
                {
                    "days": days,
                    "items": rows,
                    "totals": {k: format_amount(v) for k, v in totals.items()},
                    "will_escalate": len(problems),
                },
                indent=2,
            )
        )
        return
    title = f"Automatic renewals in the next {days} days (nothing was changed)"
    columns = ("client", "product", "ends", "orders on", "qty", "total", "payer", "renewal", "route")
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
                problems.get(i.subscription_id, "ok"),
            )
        )
    if len(cells) <= PLAIN_ABOVE:
        table = Table(title=title)
        for column in columns:
            table.add_column(
                column, justify="right" if column in ("qty", "total") else "left", overflow="fold"
            )
        for row in cells:
            table.add_row(*row)
        out.print(table)
    else:
        _print_plain(title, columns, cells, right={"qty", "total"})
    for currency, total in sorted(totals.items()):
        out.print(f"  total {currency}: {total:,.2f}")
    if problems:
        out.print(
            f"[yellow]{len(problems)} automatic renewal(s) will escalate instead of ordering: "
            "see the route column[/yellow]"
        )


@app.command("run")
def run(
    concurrency: Annotated[int, typer.Option(help="renewals in flight at once", min=1, max=64)] = 4,
    timeout: Annotated[float, typer.Option(help="give up waiting after this many seconds")] = 600.0,
) -> None:
    """Plan every due term now, then work the renewals in this process until none is
    due (the worker does this on its own every minute; this is for operators)."""
    from sqlalchemy import func, select

    from hub.jobs.worker import Worker
    from hub.models import Job, Renewal
    from hub.models.job import JobState
    from hub.renewal import planner
    from hub.renewal.planner import ADVANCE, queue_due
    from hub.renewal.states import ACTIVE
    from hub.runtime import HubRuntime, run_command

    async def work(runtime: HubRuntime) -> dict[str, int]:
        now = runtime.now()
        async with runtime.unit_of_work() as session:
            planned = await planner.plan(session, now.date(), now=now)
            await queue_due(session, now=now)
        err.print(f"planned {planned} new renewal(s)")
        stop = asyncio.Event()
        worker = Worker(runtime, concurrency=concurrency)
        runner = asyncio.create_task(worker.run(stop))
        deadline = asyncio.get_running_loop().time() + timeout
        with progress_bar(err) as bar:
            task = bar.add_task("renewals", total=None)
            while asyncio.get_running_loop().time() < deadline:
                async with runtime.unit_of_work() as session:
                    await queue_due(session, now=runtime.now())
                async with runtime.unit_of_work(write=False) as session:
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
                                Renewal.state.in_(ACTIVE), Renewal.next_action_at <= runtime.now()
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
        async with runtime.unit_of_work(write=False) as session:
            rows = await session.execute(select(Renewal.state, func.count()).group_by(Renewal.state))
            return {state.value: count for state, count in rows}

    counts = run_command(work)
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

    from hub.runtime import run_in_unit

    try:
        rows = run_in_unit(fetch, write=False)
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
    from hub.auth.principal import CLI
    from hub.kit.time import utcnow
    from hub.renewal import service

    async def change(session: Any) -> None:
        await service.update_controls(session, CLI, {"paused": paused, "paused_reason": reason}, utcnow())

    from hub.runtime import run_in_unit

    run_in_unit(change)


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


# -- a person's decisions (the same services as the API, audited as the CLI) -------------------


def _decide_by_cli(renewal_id: str, version: int | None, act: Any) -> None:
    """Read the renewal, check the version the person saw (default: the current one), run
    `act(session, renewal, version)`; a refusal ends the command with its reason."""
    import uuid

    from hub.auth.principal import CLI
    from hub.errors import HubError
    from hub.kit.console import fail
    from hub.renewal.service import renewals
    from hub.runtime import run_in_unit

    try:
        rid = uuid.UUID(renewal_id)
    except ValueError:
        fail(f"renewal: '{renewal_id}' is not an id (a UUID)")

    async def do(session: Any) -> str:
        renewal = await renewals.get(session, CLI, rid)
        done = await act(session, renewal, version or renewal.version)
        detail = f" ({done.resolution.value})" if done.resolution else ""
        return f"renewal {done.id} is {done.state.value}{detail}"

    try:
        err.print(run_in_unit(do))
    except HubError as exc:
        fail(exc.detail)


VersionOpt = Annotated[
    int | None, typer.Option("--version", min=1, help="the version you read (default: the current one)")
]
NoteOpt = Annotated[str | None, typer.Option("--note", help="why (kept with the decision)")]


@app.command("approve")
def approve(renewal_id: str, note: NoteOpt = None, version: VersionOpt = None) -> None:
    """Approve a renewal waiting for approval: it is ordered at its next step."""
    from hub.auth.principal import CLI
    from hub.kit.time import utcnow
    from hub.renewal import service

    async def act(session: Any, renewal: Any, v: int) -> Any:
        return await service.decide(session, CLI, renewal, version=v, approve=True, note=note, now=utcnow())

    _decide_by_cli(renewal_id, version, act)


@app.command("decline")
def decline(renewal_id: str, note: NoteOpt = None, version: VersionOpt = None) -> None:
    """Decline a renewal that has not been sent: nothing is ordered for this term."""
    from hub.auth.principal import CLI
    from hub.kit.time import utcnow
    from hub.renewal import service

    async def act(session: Any, renewal: Any, v: int) -> Any:
        return await service.decide(session, CLI, renewal, version=v, approve=False, note=note, now=utcnow())

    _decide_by_cli(renewal_id, version, act)


@app.command("resolve")
def resolve(
    renewal_id: str,
    renewed_outside: Annotated[
        bool, typer.Option("--renewed-outside", help="someone renewed it by hand (or the vendor did)")
    ] = False,
    will_not_renew: Annotated[
        bool, typer.Option("--will-not-renew", help="the subscription ends with this term")
    ] = False,
    ends_on: Annotated[str | None, typer.Option("--ends-on", help="the new term's end (YYYY-MM-DD)")] = None,
    starts_on: Annotated[
        str | None, typer.Option("--starts-on", help="default: the day after the old term")
    ] = None,
    quantity: Annotated[int | None, typer.Option("--quantity", min=0)] = None,
    unit_cost: Annotated[str | None, typer.Option("--unit-cost")] = None,
    by_vendor: Annotated[
        bool, typer.Option("--by-vendor", help="the vendor renewed it on its own (default: by hand)")
    ] = False,
    note: NoteOpt = None,
    version: VersionOpt = None,
) -> None:
    """Close a renewal the hub will not finish: --renewed-outside records the new term and
    moves the subscription onto it; --will-not-renew turns its auto-renew off. Its alerts
    are acknowledged."""
    from datetime import date
    from decimal import Decimal, InvalidOperation

    from hub.auth.principal import CLI
    from hub.kit.console import fail
    from hub.kit.time import utcnow
    from hub.models.enums import RenewalResolution, TermRenewedBy
    from hub.renewal import service

    if renewed_outside == will_not_renew:
        fail("say what happened: --renewed-outside or --will-not-renew (one of them)")

    def day(value: str | None, option: str) -> date | None:
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            fail(f"{option}: '{value}' is not a date (YYYY-MM-DD)")

    try:
        cost = Decimal(unit_cost) if unit_cost is not None else None
    except InvalidOperation:
        fail(f"--unit-cost: '{unit_cost}' is not an amount")
    if cost is not None and (not cost.is_finite() or cost < 0):
        fail(f"--unit-cost: '{unit_cost}' is not an amount of zero or more")
    term = service.NewTerm(
        ends_on=day(ends_on, "--ends-on"),
        starts_on=day(starts_on, "--starts-on"),
        quantity=quantity,
        unit_cost=cost,
        renewed_by=TermRenewedBy.auto_vendor if by_vendor else TermRenewedBy.manual,
    )
    outcome = RenewalResolution.renewed_outside if renewed_outside else RenewalResolution.will_not_renew

    async def act(session: Any, renewal: Any, v: int) -> Any:
        return await service.resolve(
            session, CLI, renewal, version=v, outcome=outcome, term=term, note=note, now=utcnow()
        )

    _decide_by_cli(renewal_id, version, act)


@app.command("confirm")
def confirm(
    renewal_id: str,
    ends_on: Annotated[str, typer.Option("--ends-on", help="the renewed term's end (YYYY-MM-DD)")],
    note: NoteOpt = None,
    version: VersionOpt = None,
) -> None:
    """Confirm a renewal ordered by e-mail purchase order (the distributor confirmed it):
    the new term is recorded and the order's thread resolved."""
    from datetime import date

    from hub.auth.principal import CLI
    from hub.kit.console import fail
    from hub.kit.time import utcnow
    from hub.renewal import po_mail

    try:
        end = date.fromisoformat(ends_on)
    except ValueError:
        fail(f"--ends-on: '{ends_on}' is not a date (YYYY-MM-DD)")

    async def act(session: Any, renewal: Any, v: int) -> Any:
        return await po_mail.confirm_by_person(
            session, CLI, renewal, version=v, ends_on=end, note=note, now=utcnow()
        )

    _decide_by_cli(renewal_id, version, act)


# -- renewal routes -------------------------------------------------------------------------

routes_app = typer.Typer(
    help="Where a subscription's renewals are ordered (a connection, or a purchase order by e-mail), "
    "registered and confirmed.",
    no_args_is_help=True,
)
app.add_typer(routes_app, name="routes")


def _subscription_id(value: str) -> Any:
    import uuid

    from hub.kit.console import fail

    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"subscription: '{value}' is not an id (a UUID)")


def _show_route(route: Any, subscription_id: Any) -> None:
    from hub.kit.money import format_amount

    fields = {
        "subscription": str(subscription_id),
        "order_by": route.order_by,
        "order_connection_id": route.order_connection_id,
        "order_ref": route.order_ref,
        "order_tenant_ref": route.tenant_ref or None,
        "confirm_connection_id": route.confirm_connection_id,
        "confirm_ref": route.confirm_ref,
        "register_connection_id": route.register_connection_id,
        "register_serial": route.register_serial,
        "po_email": route.po_email,
        "po_account_id": route.po_account_id,
        "po_unit_price": format_amount(route.po_unit_price) if route.po_unit_price is not None else None,
        "explicit": route.explicit,
        "problem": route.problem,
    }
    plain = {k: str(v) if v is not None and not isinstance(v, bool) else v for k, v in fields.items()}
    out.print_json(json.dumps(plain))


@routes_app.command("show")
def route_show(subscription_id: str) -> None:
    """The route in effect (the subscription's own connection unless a route says otherwise)."""
    from hub.auth.principal import CLI
    from hub.errors import HubError
    from hub.kit.console import fail
    from hub.renewal import routes
    from hub.runtime import run_in_unit

    sid = _subscription_id(subscription_id)

    async def read(session: Any) -> Any:
        route, _ = await routes.route_for(session, CLI, sid)
        return route

    try:
        _show_route(run_in_unit(read, write=False), sid)
    except HubError as exc:
        fail(exc.detail)


@routes_app.command("set")
def route_set(
    subscription_id: str,
    order_ref: Annotated[
        str,
        typer.Option("--order-ref", help="the vendor subscription to renew; by e-mail: the article ordered"),
    ],
    order_by: Annotated[str, typer.Option("--order-by", help="api or email")] = "api",
    order_connection: Annotated[
        str | None, typer.Option("--order-connection", help="api: the connection")
    ] = None,
    order_tenant_ref: Annotated[str | None, typer.Option("--order-tenant-ref")] = None,
    confirm_connection: Annotated[
        str | None, typer.Option("--confirm-connection", help="read the new term back here")
    ] = None,
    confirm_ref: Annotated[str | None, typer.Option("--confirm-ref")] = None,
    register_connection: Annotated[str | None, typer.Option("--register-connection")] = None,
    register_serial: Annotated[str | None, typer.Option("--register-serial")] = None,
    po_email: Annotated[
        str | None,
        typer.Option("--po-email", help="email: where the order goes (default: the mail profile's)"),
    ] = None,
    po_account: Annotated[
        str | None, typer.Option("--po-account", help="email: the client's account at the distributor")
    ] = None,
    po_unit_price: Annotated[
        str | None, typer.Option("--po-unit-price", help="email: price per unit (default: the last term's)")
    ] = None,
) -> None:
    """Create or replace a subscription's renewal route (audited). By e-mail:
    `--order-by email --po-account ACCOUNT --order-ref ARTICLE [--po-email ADDR]`."""
    from pydantic import ValidationError

    from hub.auth.principal import CLI
    from hub.errors import HubError
    from hub.kit.console import fail
    from hub.renewal import routes
    from hub.renewal.schemas import RouteUpdate
    from hub.runtime import run_in_unit

    sid = _subscription_id(subscription_id)
    given = {
        "order_by": order_by,
        "order_connection_id": order_connection,
        "order_ref": order_ref,
        "order_tenant_ref": order_tenant_ref,
        "confirm_connection_id": confirm_connection,
        "confirm_ref": confirm_ref,
        "register_connection_id": register_connection,
        "register_serial": register_serial,
        "po_email": po_email,
        "po_account_id": po_account,
        "po_unit_price": po_unit_price,
    }
    try:
        body = RouteUpdate.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "route"
        fail(f"--{name.replace('_id', '').replace('_', '-')}: {first['msg']}")

    async def change(session: Any) -> Any:
        await routes.set_route(session, CLI, sid, body.model_dump())
        route, _ = await routes.route_for(session, CLI, sid)
        return route

    try:
        _show_route(run_in_unit(change), sid)
    except HubError as exc:
        fail(exc.detail)


@routes_app.command("clear")
def route_clear(subscription_id: str) -> None:
    """Order and confirm at the subscription's own connection again (audited)."""
    from hub.auth.principal import CLI
    from hub.errors import HubError
    from hub.kit.console import fail
    from hub.renewal import routes
    from hub.runtime import run_in_unit

    sid = _subscription_id(subscription_id)

    async def change(session: Any) -> None:
        await routes.clear_route(session, CLI, sid)

    try:
        run_in_unit(change)
    except HubError as exc:
        fail(exc.detail)
    err.print(f"subscription {sid}: no renewal route (its own connection orders)")
