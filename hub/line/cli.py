"""`hub lines list|add|show|probe|import`: a client's ISP lines from the terminal."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub.kit.console import fail

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.runtime import HubRuntime

app = typer.Typer(help="ISP lines: circuits, addresses, reachability probes.", no_args_is_help=True)
out = Console()

STATE_STYLE = {"up": "green", "degraded": "yellow", "down": "bold red", "unknown": "dim"}
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]


def parse_probe(text: str) -> dict[str, Any]:
    """`host:port[,port...]`, `[v6]:port[,port]`."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        ports = rest.removeprefix(":")
    else:
        host, _, ports = text.rpartition(":")
    if not host or not ports:
        fail(f"--probe {text!r}: write host:port[,port...] ([v6]:port for IPv6)")
    try:
        return {"host": host, "ports": [int(p) for p in ports.split(",") if p.strip()]}
    except ValueError:
        fail(f"--probe {text!r}: ports are numbers")


async def _client_id(session: AsyncSession, slug: str) -> uuid.UUID:
    from sqlalchemy import select

    from hub.models import Client

    found = (await session.execute(select(Client.id).where(Client.slug == slug))).scalar_one_or_none()
    if found is None:
        fail(f"no client with slug '{slug}'")
    return found


async def _account_id(session: AsyncSession, client_id: uuid.UUID, ref: str) -> uuid.UUID:
    """The client's vendor account by id or account number."""
    from sqlalchemy import select

    from hub.models import VendorAccount

    try:
        return uuid.UUID(ref)
    except ValueError:
        pass
    rows = list(
        (
            await session.execute(
                select(VendorAccount.id).where(
                    VendorAccount.client_id == client_id, VendorAccount.account_number == ref
                )
            )
        ).scalars()
    )
    if len(rows) != 1:
        fail(f"the client has {'no' if not rows else 'several'} vendor account(s) numbered '{ref}'")
    return rows[0]


async def _line(session: AsyncSession, ref: str) -> Any:
    from hub.line.service import find_line

    line = await find_line(session, ref)
    if line is None:
        fail(f"no line with id or circuit id '{ref}' (or several with that circuit id: use the id)")
    return line


def _dump(line: Any) -> dict[str, Any]:
    from hub.line.schemas import LineRead

    return LineRead.model_validate(line).model_dump(mode="json")


@app.command("list")
def list_lines(
    client: Annotated[str | None, typer.Option("--client", help="client slug")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Lines with their state, worst first."""
    from sqlalchemy import select

    from hub.models import Client, IspLine

    async def run(session: AsyncSession) -> list[tuple[Any, str]]:
        stmt = select(IspLine, Client.slug).join(Client, Client.id == IspLine.client_id)
        if client:
            stmt = stmt.where(IspLine.client_id == await _client_id(session, client))
        return [
            (line, slug) for line, slug in await session.execute(stmt.order_by(Client.slug, IspLine.name))
        ]

    from hub.runtime import run_in_unit

    rows = run_in_unit(run, write=False)
    order = ["down", "degraded", "unknown", "up"]
    rows.sort(key=lambda r: order.index(r[0].state.value))
    if as_json:
        print(json.dumps([{**_dump(line), "client": slug} for line, slug in rows], indent=2))
        return
    if not rows:
        out.print("No line.")
        return
    table = Table(title="ISP lines")
    for column in ("client", "line", "circuit", "technology", "down/up Mbps", "addresses", "state", "since"):
        table.add_column(column)
    for line, slug in rows:
        speed = "/".join(
            "?" if v is None else f"{v.normalize():f}"
            for v in (line.bandwidth_down_mbps, line.bandwidth_up_mbps)
        )
        since = line.state_changed_at.strftime("%Y-%m-%d %H:%M") if line.state_changed_at else ""
        style = STATE_STYLE[line.state.value]
        table.add_row(
            slug,
            line.name,
            line.circuit_id,
            line.technology.value,
            speed,
            ", ".join(line.address_blocks),
            f"[{style}]{line.state.value}[/{style}]",
            since,
        )
    out.print(table)


@app.command("add")
def add(
    client: Annotated[str, typer.Option("--client", help="client slug")],
    account: Annotated[str, typer.Option("--account", help="the client's ISP account (number or id)")],
    name: Annotated[str, typer.Option("--name", help="e.g. 'Milan office fibre'")],
    circuit: Annotated[str, typer.Option("--circuit", help="the ISP's circuit id")],
    technology: Annotated[str, typer.Option("--technology", help="ftth, fttc, vdsl, fwa, ...")],
    down: Annotated[str | None, typer.Option("--down", help="download Mbps")] = None,
    up: Annotated[str | None, typer.Option("--up", help="upload Mbps")] = None,
    block: Annotated[list[str] | None, typer.Option("--block", help="public address block (repeat)")] = None,
    probe: Annotated[
        list[str] | None, typer.Option("--probe", help="probe target host:port[,port] (repeat)")
    ] = None,
    monthly_cost: Annotated[str | None, typer.Option("--monthly-cost", help="what it costs the MSP")] = None,
    currency: Annotated[str | None, typer.Option("--currency")] = None,
    contract: Annotated[str | None, typer.Option("--contract", help="contract reference")] = None,
    failures_for_down: Annotated[int, typer.Option(help="rounds with no answer before 'down'")] = 3,
    notes: Annotated[str, typer.Option("--notes")] = "",
) -> None:
    """Add a line (its addresses get PTR and block-list checks; probed from the next tick)."""
    from pydantic import ValidationError

    from hub.auth.principal import CLI
    from hub.errors import HubError
    from hub.line.schemas import LineCreate
    from hub.line.service import LineService

    targets = [parse_probe(p) for p in probe or []]

    async def run(session: AsyncSession) -> dict[str, Any]:
        client_id = await _client_id(session, client)
        raw = {
            "client_id": client_id,
            "vendor_account_id": await _account_id(session, client_id, account),
            "name": name,
            "circuit_id": circuit,
            "technology": technology,
            "bandwidth_down_mbps": down,
            "bandwidth_up_mbps": up,
            "address_blocks": block or [],
            "probe_targets": targets,
            "monthly_cost": monthly_cost,
            "cost_currency": currency,
            "contract_ref": contract,
            "failures_for_down": failures_for_down,
            "notes": notes,
        }
        try:
            body = LineCreate.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
        try:
            return _dump(await LineService().create(session, CLI, body))
        except HubError as exc:
            fail(str(exc))

    from hub.runtime import run_in_unit

    line = run_in_unit(run)
    out.print(f"line {line['id']} added: {line['name']} ({line['circuit_id']})")
    if line["checked_addresses"]:
        out.print("address checks: " + ", ".join(line["checked_addresses"]))


@app.command("show")
def show(
    line_ref: Annotated[str, typer.Argument(help="line id or circuit id")], as_json: JsonOpt = False
) -> None:
    """A line, the checks of its addresses and its latest probe rounds."""
    from sqlalchemy import select

    from hub.line.service import checks_of
    from hub.models import LineProbe

    async def run(session: AsyncSession) -> dict[str, Any]:
        line = await _line(session, line_ref)
        probes = (
            await session.execute(
                select(LineProbe)
                .where(LineProbe.line_id == line.id)
                .order_by(LineProbe.probed_at.desc(), LineProbe.id.desc())
                .limit(30)
            )
        ).scalars()
        return {
            **_dump(line),
            "checks": [
                {"kind": c.kind, "address": c.target_ref, "status": c.status.value}
                for c in await checks_of(session, line)
            ],
            "probes": [
                {
                    "probed_at": p.probed_at.isoformat(),
                    "target": f"{p.host}:{p.port}",
                    "ok": p.ok,
                    "latency_ms": p.latency_ms,
                    "error": p.error,
                }
                for p in probes
            ],
        }

    from hub.runtime import run_in_unit

    data = run_in_unit(run, write=False)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    style = STATE_STYLE[data["state"]]
    out.print(
        f"[bold]{data['name']}[/bold]  circuit {data['circuit_id']}  [{style}]{data['state']}[/{style}]"
    )
    out.print(
        f"technology {data['technology']}, {data['bandwidth_down_mbps']}/{data['bandwidth_up_mbps']} Mbps"
    )
    out.print("addresses: " + (", ".join(data["address_blocks"]) or "none"))
    if data["monthly_cost"] is not None:
        cost = f"{data['monthly_cost']} {data['cost_currency']}/month"
        out.print(f"cost {cost}, contract {data['contract_ref'] or '-'}")
    for c in data["checks"]:
        out.print(f"  check {c['kind']:<6} {c['address']:<40} {c['status']}")
    table = Table(title="latest probes")
    for column in ("at", "target", "ok", "ms", "error"):
        table.add_column(column)
    for p in data["probes"]:
        ms = "" if p["latency_ms"] is None else f"{p['latency_ms']:.1f}"
        table.add_row(
            p["probed_at"], p["target"], "yes" if p["ok"] else "[red]no[/red]", ms, p["error"] or ""
        )
    out.print(table)


@app.command("probe")
def probe_now(
    line_ref: Annotated[str, typer.Argument(help="line id or circuit id")], as_json: JsonOpt = False
) -> None:
    """Probe a line now from this machine, record the round and print it."""
    from hub.line.probe import probe_round
    from hub.line.service import plan_probe, record_round
    from hub.models import IspLine

    async def run(runtime: HubRuntime) -> dict[str, Any]:
        async with runtime.unit_of_work(write=False) as session:
            line_id = (await _line(session, line_ref)).id
            plan = await plan_probe(session, line_id)
        if plan is None:
            fail("the line has no probe target: add one with PATCH /lines/{id} (probe_targets)")
        settings = runtime.settings.line
        results = await probe_round(
            plan.targets, timeout_seconds=settings.connect_timeout_seconds, concurrency=settings.concurrency
        )
        async with runtime.unit_of_work() as session:
            line = await session.get(IspLine, line_id)
            if line is None:
                fail("the line was deleted meanwhile")
            state = await record_round(session, line, results, runtime.now())
        return {
            "state": state.value,
            "results": [
                {"target": f"{r.host}:{r.port}", "ok": r.ok, "latency_ms": r.latency_ms, "error": r.error}
                for r in results
            ],
        }

    from hub.runtime import run_command

    data = run_command(run)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    for r in data["results"]:
        shown = f"ok {r['latency_ms']:.1f} ms" if r["ok"] else f"[red]failed[/red]: {r['error']}"
        out.print(f"{r['target']:<45} {shown}")
    style = STATE_STYLE[data["state"]]
    out.print(f"state: [{style}]{data['state']}[/{style}]")


@app.command("import")
def import_csv(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate only, write nothing")] = False,
) -> None:
    """Import lines from CSV, all or nothing (columns: `hub.line.csv_import`)."""
    from hub.line.csv_import import import_lines

    async def run(runtime: HubRuntime) -> tuple[int, list[str]]:
        async with runtime.unit_of_work() as session:
            result = await import_lines(session, path.read_bytes())
            if result.errors or dry_run:
                await session.rollback()
            return result.created, [
                f"{path.name}:{e.line}:{f' [{e.field}]' if e.field else ''} {e.message}"
                for e in result.errors
            ]

    from hub.runtime import run_command

    created, errors = run_command(run)
    if errors:
        err = Console(stderr=True, soft_wrap=True)
        for message in errors:
            err.print(message, highlight=False, markup=False)
        fail(f"{len(errors)} problem(s); nothing was imported")
    out.print(f"{created} line(s) {'would be imported (dry run)' if dry_run else 'imported'}")
