"""The `hub` command: noun-verb groups over the same services the API uses."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from hub.kit.console import fail, progress_bar
from hub.kit.lazy_cli import LazyCommands

if TYPE_CHECKING:
    from hub.settings import Settings

T = TypeVar("T")

# Every command group is imported only when it runs: `hub --help` lists them from here
# without importing the ORM, FastAPI or the adapters (tests/cli/test_startup.py).
# One line per group: name, `module:attribute` (a typer.Typer, or a command function),
# the line `hub --help` shows. See CONTRIBUTING.md ("a `hub` command").
commands = LazyCommands()
app = typer.Typer(
    help="Vendor hub: the MSP's single point of contact with every vendor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=commands.group_class(),
)
db_app = typer.Typer(help="Database schema (Alembic).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
export_app = typer.Typer(help="Export reports.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tokens_app, name="tokens")
app.add_typer(export_app, name="export")


def _connections_app() -> typer.Typer:
    """`hub connections`, with `sync` from the sync module (connection cannot import sync)."""
    from hub.connection.cli import connections_app
    from hub.sync.cli import sync_connection

    connections_app.command("sync")(sync_connection)
    return connections_app


commands.add("import", "hub.importer.cli:app", "Import vendors, clients and subscriptions from CSV.")
commands.add("check", "hub.check.cli:app", "Mail, DNS, block-list, expiry and firmware checks.")
commands.add("jobs", "hub.jobs.cli:app", "Background jobs: list, show, retry, cancel, workers.")
commands.add(
    "worker",
    "hub.jobs.cli:worker",
    "Run background jobs (no API) until SIGTERM; in-flight jobs finish or are released.",
)
commands.add("adapters", "hub.connection.cli:adapters_app", "Installed vendor adapters.")
commands.add("schemas", "hub.connection.cli:schemas_app", "JSON Schemas of adapter records and configs.")
commands.add("connections", _connections_app, "Vendor connections: list, create, test, sync, delete.")
commands.add("secrets", "hub.connection.cli:secrets_app", "Encrypted secrets at rest.")
commands.add("renewals", "hub.renewal.cli:app", "Automatic renewals: plan, run, list, pause.")
commands.add(
    "subscriptions",
    "hub.link.cli:app",
    "Subscriptions: link them to the vendor subscriptions connections see.",
)
commands.add("notify", "hub.notify.cli:app", "Reminders: run now, or test a channel.")
commands.add(
    "warranties", "hub.warranty.cli:app", "Warranties: the quarterly review, and the daily vendor lookup."
)


commands.add(
    "who", "hub.card.cli:who", "Who to call: a client's vendor cards, found by vendor, domain, serial, IP."
)
commands.add("lines", "hub.line.cli:app", "ISP lines: list, add, show, probe, import.")
commands.add("cases", "hub.case.cli:app", "Vendor cases: list, show, open, reply, log, close.")
commands.add("reports", "hub.report.cli:app", "Coverage snapshots for the quarterly review: take, backfill.")

err = Console(stderr=True)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]


def _settings() -> Settings:
    from hub.settings import Settings

    return Settings()


# --- serve ------------------------------------------------------------------------------


def _serve(
    settings: Settings, host: str, port: int, worker_concurrency: int | None = None, processes: int = 1
) -> None:
    import uvicorn

    from hub.runtime import HubSettings

    hub_settings = HubSettings.from_env(settings)
    if worker_concurrency is None:
        worker_concurrency = hub_settings.jobs.embedded_concurrency
    if processes > 1 and settings.is_sqlite:
        fail(
            f"--workers {processes}: several API processes need PostgreSQL (HUB_DATABASE_URL); "
            "SQLite takes one writer at a time, so serve it with one process (the default)",
            code=2,
        )
    problems = hub_settings.problems()
    if worker_concurrency and problems:
        fail("refusing to run jobs with these settings:\n- " + "\n- ".join(problems), code=2)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": settings.log_level,
        "proxy_headers": False,
        "server_header": False,
    }
    if processes > 1:
        _serve_processes(settings, processes, worker_concurrency, options)
        return
    from hub.app import create_app
    from hub.settings import KeyConfigurationError

    try:
        # The app owns its runtime: built here, closed by the app's lifespan.
        application = create_app(settings=hub_settings, worker_concurrency=worker_concurrency)
    except KeyConfigurationError as exc:
        fail(str(exc))
    uvicorn.run(application, **options)


def _serve_processes(
    settings: Settings, processes: int, worker_concurrency: int, options: dict[str, Any]
) -> None:
    """uvicorn's supervisor and `processes` children, each building its own app (and
    runtime) from the environment: the embedded worker's concurrency is passed that way."""
    import uvicorn

    from hub.settings import KeyConfigurationError, load_keyring

    try:
        load_keyring(settings)  # a key problem is one line here, not a traceback per child
    except KeyConfigurationError as exc:
        fail(str(exc))
    os.environ["HUB_JOBS_EMBEDDED_CONCURRENCY"] = str(worker_concurrency)
    uvicorn.run("hub.app:app_from_environment", factory=True, workers=processes, **options)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (HUB_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (HUB_PORT)")] = None,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="run background jobs in this process too")
    ] = True,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="jobs the embedded worker runs at once (HUB_JOBS_EMBEDDED_CONCURRENCY)"),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="API processes (PostgreSQL only when more than one); each runs its own embedded "
            "job worker unless --no-worker",
        ),
    ] = 1,
) -> None:
    """Serve the API (OpenAPI at /docs) with an embedded job worker (--no-worker: API only,
    when `hub worker` processes run the jobs)."""
    settings = _settings()
    _serve(settings, host or settings.host, port or settings.port, concurrency if worker else 0, workers)


# --- db ---------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the latest schema (safe to repeat)."""
    from hub import migrate

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url, revision)
    err.print(f"database at {revision}: {_redact_url(settings.resolved_database_url)}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate down to REVISION ('base' empties the database)."""
    from hub import migrate

    migrate.downgrade(_settings().resolved_database_url, revision)


@db_app.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    from alembic.util.exc import CommandError

    from hub import migrate

    try:
        migrate.check(_settings().resolved_database_url)
    except CommandError as exc:  # includes AutogenerateDiffsDetected
        fail(f"models and migrations disagree: {exc}")
    err.print("models and migrations agree")


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- tokens -----------------------------------------------------------------------------


class RoleName(StrEnum):
    admin = "admin"
    technician = "technician"
    client_viewer = "client_viewer"


async def _client_id_by_slug(session: Any, slug: str) -> Any:
    from sqlalchemy import select

    from hub.models import Client

    client_id = (await session.execute(select(Client.id).where(Client.slug == slug))).scalar_one_or_none()
    if client_id is None:
        fail(f"no client with slug '{slug}'")
    return client_id


def parse_lifetime(text: str) -> timedelta | None:
    """`90d`, `12h`, `30m`, `2w`, `1y` or `never` (None)."""
    import re

    value = text.strip().lower()
    if value == "never":
        return None
    found = re.fullmatch(r"(\d{1,5})\s*([mhdwy])", value)
    if not found or int(found.group(1)) == 0:
        fail(
            f"--expires-in: '{text}' is not a lifetime; "
            "use a number and a unit (30m, 12h, 90d, 2w, 1y) or 'never'"
        )
    unit = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}[found.group(2)]
    return timedelta(seconds=int(found.group(1)) * unit)


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="what the token is for")],
    role: Annotated[RoleName, typer.Option(help="admin, technician or client_viewer")] = RoleName.admin,
    client: Annotated[str | None, typer.Option(help="client slug (client_viewer only)")] = None,
    expires_in: Annotated[
        str | None,
        typer.Option(
            "--expires-in",
            help="lifetime: 30m, 12h, 90d, 2w, 1y, or 'never' (default: HUB_AUTH_TOKEN_DAYS, 90 days)",
        ),
    ] = None,
) -> None:
    """Create an API token. The token is printed once, alone on the last line of stdout."""
    from hub.auth.tokens import issue_token
    from hub.errors import HubError
    from hub.models.enums import Role
    from hub.runtime import run_command

    lifetime = parse_lifetime(expires_in) if expires_in is not None else None

    async def _create(runtime: Any) -> tuple[str, Any]:
        default = timedelta(days=runtime.settings.auth.token_days)
        expires_at = (
            None if expires_in is not None and lifetime is None else runtime.now() + (lifetime or default)
        )
        async with runtime.unit_of_work() as session:
            client_id = await _client_id_by_slug(session, client) if client else None
            issued = await issue_token(
                session, name=name, role=Role(role.value), client_id=client_id, expires_at=expires_at
            )
            return issued.token, expires_at

    try:
        token, expires_at = run_command(_create)
    except HubError as exc:
        fail(exc.detail)
    err.print("Store this token now: it cannot be shown again.")
    err.print(f"It expires {expires_at:%Y-%m-%d %H:%M} UTC." if expires_at else "It never expires.")
    print(token)


@tokens_app.command("list")
def tokens_list(as_json: JsonOpt = False) -> None:
    """List tokens (prefixes only; secrets are never stored), with the client a viewer
    token is bound to and when each expires."""
    from rich.table import Table
    from sqlalchemy import select

    from hub.models import ApiToken, Client
    from hub.runtime import run_in_unit

    async def _list(session: Any) -> list[dict[str, Any]]:
        stmt = (
            select(ApiToken, Client.slug)
            .outerjoin(Client, Client.id == ApiToken.client_id)
            .order_by(ApiToken.created_at)
        )
        return [
            {
                "prefix": t.prefix,
                "name": t.name,
                "role": t.role.value,
                "client_id": str(t.client_id) if t.client_id else None,
                "client": slug,
                "created_at": t.created_at.isoformat(),
                "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked": t.revoked_at is not None,
            }
            for t, slug in (await session.execute(stmt)).all()
        ]

    rows = run_in_unit(_list)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    # The prefix is what `hub tokens revoke` needs: never cut, whatever the terminal width.
    table = Table("prefix", "name", "role", "client", "expires", "last used", "revoked")
    table.columns[0].no_wrap = True
    table.columns[0].min_width = 12
    for r in rows:
        table.add_row(
            r["prefix"],
            r["name"],
            r["role"],
            r["client"] or "",
            (r["expires_at"] or "never")[:10],
            (r["last_used_at"] or "")[:16],
            "yes" if r["revoked"] else "",
        )
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(prefix: str) -> None:
    """Revoke a token by its prefix (hub_xxxxxxxx)."""
    from hub.auth.tokens import revoke_token
    from hub.errors import HubError
    from hub.runtime import run_in_unit

    try:
        run_in_unit(lambda s: revoke_token(s, prefix))
    except HubError as exc:
        fail(exc.detail)
    err.print(f"revoked {prefix}")


# --- export -----------------------------------------------------------------------------


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


@export_app.command("spend")
def export_spend(
    client: Annotated[str, typer.Option(help="client slug")],
    format: Annotated[ExportFormat, typer.Option("--format", help="csv or json")] = ExportFormat.csv,
    output: Annotated[Path | None, typer.Option("--out", help="file (default: stdout)")] = None,
) -> None:
    """Who do we pay for what, for one client, as CSV or JSON."""
    from hub.auth.principal import SYSTEM
    from hub.report.csv_export import spend_csv
    from hub.report.service import spend_report
    from hub.runtime import run_in_unit

    async def _report(session: Any) -> dict[str, Any]:
        return await spend_report(session, SYSTEM, await _client_id_by_slug(session, client))

    report = run_in_unit(_report)
    text = spend_csv(report) if format is ExportFormat.csv else json.dumps(report, indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(report['lines'])} lines to {output}")
    else:
        sys.stdout.write(text)


# --- demo and seed ------------------------------------------------------------------------


class Scale(StrEnum):
    # The names of hub.seed.generator.SCALES (not imported here: `hub --help` stays light).
    small = "small"
    tenth = "tenth"
    half = "half"
    large = "large"


@app.command()
def seed(
    scale: Annotated[
        Scale,
        typer.Option(
            help="small: 50 clients; large: 2,000 clients, 30k subscriptions, 100k assets, 20k domains;"
            " tenth and half: 1/10 and 1/2 of large"
        ),
    ] = Scale.small,
    as_json: JsonOpt = False,
) -> None:
    """Fill the database with synthetic data (for benchmarks and trying things out)."""
    import time

    from hub import migrate
    from hub.seed.generator import seed_database
    from hub.settings import sync_database_url

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    started = time.perf_counter()
    tasks: dict[str, Any] = {}
    with progress_bar(err) as bar:

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        try:
            summary = seed_database(
                sync_database_url(settings.resolved_database_url), scale.value, progress=progress
            )
        except ValueError as exc:
            fail(str(exc))
    elapsed = time.perf_counter() - started
    result = {**_asdict(summary), "seconds": round(elapsed, 2)}
    if as_json:
        print(json.dumps(result))
    else:
        err.print(
            f"seeded ({scale.value}) in {elapsed:.1f} s: "
            + ", ".join(f"{k}={v}" for k, v in result.items() if k != "seconds")
        )


def _asdict(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else dict(obj)


DEMO_TOKEN_FILE = "demo-admin-token"


def ensure_demo_token(settings: Settings) -> str:
    """The local admin token `make run` prints: reused while valid, so running it again
    does not pile up tokens. Kept in the data directory with mode 0600."""
    from hub.auth.tokens import authenticate, issue_token
    from hub.db import runtime_of
    from hub.errors import HubError
    from hub.models.enums import Role
    from hub.runtime import run_in_unit

    path = settings.data_dir / DEMO_TOKEN_FILE

    async def _ensure(session: Any) -> str:
        if path.exists():
            token = path.read_text().strip()
            try:
                await authenticate(session, token)
            except HubError:
                pass
            else:
                return token
        expires_at = runtime_of(session).now() + timedelta(days=runtime_of(session).settings.auth.token_days)
        issued = await issue_token(
            session, name="demo admin (make run)", role=Role.admin, expires_at=expires_at
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(issued.token + "\n")
        return issued.token

    return run_in_unit(_ensure, settings)


def _demo_environment() -> None:
    """The demo's vendors are simulators on loopback: allowed for this process only (a
    technician may point a connection at them), never by default (hub.connection.policy).
    The demo is for looking around: its docs and metrics are on unless turned off."""
    allowed = os.environ.get("HUB_ADAPTER_ALLOW_HOSTS", "")
    if "127.0.0.1" not in allowed.split(","):
        os.environ["HUB_ADAPTER_ALLOW_HOSTS"] = ",".join(filter(None, [allowed, "127.0.0.1"]))
    os.environ.setdefault("HUB_API_DOCS", "true")
    os.environ.setdefault("HUB_METRICS", "true")


def _print_addresses(base: str | None, logins: list[dict[str, Any]], logins_file: Path) -> None:
    """Where to go next; `base` None: --no-serve serves nothing, so no address is printed."""
    if base:
        err.print(f"\n  Console: {base}/  (sign in with one of these)")
    else:
        err.print("\n  Sign-ins for the console (`hub serve` serves it):")
    _print_logins(logins)
    err.print(f"  (also in {logins_file}, mode 0600)")
    if base:
        err.print(f"\n  API:   {base}/api/v1\n  Docs:  {base}/docs\n")


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the API afterwards")] = True,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    dns_port: Annotated[
        int, typer.Option(min=0, max=65535, help="port of the demo DNS server on 127.0.0.1 (0: any free one)")
    ] = 0,
) -> None:
    """Migrate, load the demo dataset (safe to repeat: nothing is duplicated or
    overwritten), start the demo world (DNS and registry servers and the vendor simulators
    on loopback), run the demo's checks against it, connect to and sync each simulated
    vendor, run the due renewals and the reminder ledger once, and serve it."""
    import signal

    from hub import migrate
    from hub.demo import live as demo_live
    from hub.demo.cases import ensure_demo_cases
    from hub.demo.checks import check_rows, start_checks, stop_checks
    from hub.demo.dataset import load_demo
    from hub.demo.logins import LOGINS_FILE, ensure_logins
    from hub.demo.pins import ensure_support_pins
    from hub.demo.renewals import renewal_rows
    from hub.demo.vendors import SERVICES as VENDOR_SERVICES
    from hub.demo.vendors import connection_rows
    from hub.demo.world import DemoWorld, environment
    from hub.runtime import run_command, run_in_unit

    _demo_environment()
    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    summary = run_in_unit(load_demo, settings)
    run_in_unit(ensure_support_pins, settings)  # encrypted: needs the runtime's keyring
    token = ensure_demo_token(settings)
    logins = run_in_unit(lambda s: ensure_logins(s, settings.data_dir), settings)
    host, port = host or settings.host, port or settings.port
    err.print(f"demo data: {', '.join(f'{k}={v}' for k, v in _asdict(summary).items())}")
    plan = run_command(_demo_world_plan, settings)
    live = run_command(lambda rt: demo_live.prepare(rt, plan, rt.today()), settings)
    world = DemoWorld.for_demo(plan, dns_port=dns_port)
    demo_live.add_services(live, world)
    try:
        world.start()
    except OSError as exc:
        fail(f"cannot start the demo world: {exc}")
    check_ids: list[Any] = []
    try:
        err.print(f"demo world: DNS {world.nameserver} (UDP and TCP), RDAP {world.rdap_url}/rdap/")
        err.print(
            "demo vendors: "
            + ", ".join(f"{name} {world.addresses[name]['url']}" for name in VENDOR_SERVICES),
            soft_wrap=True,
        )
        checks = run_command(
            lambda rt: start_checks(rt.sessionmaker, world.plan, world.check_settings()), settings
        )
        check_ids = checks.ids
        err.print(
            f"demo checks: {len(checks.ids)} (created {checks.created}, resumed {checks.resumed}), run once"
        )
        _print_check_summary(run_in_unit(lambda s: check_rows(s, check_ids), settings, write=False))
        outcome = run_command(lambda rt: demo_live.start(rt, live, world), settings)
        connection_ids = outcome.connections.ids
        err.print(
            f"demo connections: {len(connection_ids)} (created {outcome.connections.created}, "
            f"resumed {outcome.connections.resumed}), synced once"
        )
        _print_connections(run_in_unit(lambda s: connection_rows(s, connection_ids), settings, write=False))
        _print_renewals(run_in_unit(renewal_rows, settings, write=False))
        _print_cases(run_command(lambda rt: ensure_demo_cases(rt, world), settings))
        from hub.report.cli import demo_history

        err.print(f"coverage snapshots: {run_command(demo_history, settings)} added (the quarterly reviews)")
        err.print(
            f"reminders: {outcome.notices} queued now, {outcome.notices_skipped} past thresholds recorded "
            "(GET /api/v1/notices)"
        )
        _print_addresses(
            f"http://{host}:{port}" if serve_after else None, logins, settings.data_dir / LOGINS_FILE
        )
        err.print("  Admin token (Authorization: Bearer ...):")
        print(token, flush=True)
        if serve_after:
            with environment(world.environment()) as previous:
                for key, value in previous.items():
                    if value:
                        err.print(
                            f"  {key}={value} is set aside while the demo serves (the demo world's is used)"
                        )
                # uvicorn re-raises SIGTERM once shut down; turn it into an exception so the
                # world is torn down before the process ends.
                signal.signal(signal.SIGTERM, _raise_terminated)
                try:
                    # Settings read again: the demo world's environment is in force now.
                    _serve(_settings(), host, port)
                except _Terminated:
                    terminated = True
                else:
                    terminated = False
        else:
            terminated = False
    finally:
        if check_ids:
            run_command(lambda rt: stop_checks(rt.sessionmaker, check_ids), settings)
        if live.connection_ids:
            run_command(lambda rt: demo_live.stop(rt, live), settings)
        world.stop()
        err.print(
            "demo world stopped; the demo checks are paused and the demo connections disabled "
            "until the next `hub demo`"
        )
    if terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)  # end "killed by SIGTERM", as uvicorn would


def _print_logins(logins: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
    for column in ("role", "e-mail", "password", "client"):
        table.add_column(column)
    for login in logins:
        table.add_row(login["role"], login["email"], login["password"], login["client"] or "")
    err.print(table)


class _Terminated(Exception):
    pass


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


async def _demo_world_plan(runtime: Any) -> Any:
    from hub.demo.checks import world_plan

    async with runtime.unit_of_work(write=False) as session:
        return await world_plan(session, runtime.today())


_HEALTH_STYLE = {"ok": "green", "degraded": "yellow", "needs_reauth": "red", "misconfigured": "red"}
_RENEWAL_STYLE = {"confirmed": "green", "awaiting_approval": "yellow", "escalated": "red"}


def _print_connections(rows: list[Any]) -> None:
    """One line per connection: its health and what its sync brought in."""
    for row in rows:
        style = _HEALTH_STYLE.get(row.health, "magenta")
        records = ", ".join(f"{kind} {n}" for kind, n in row.records.items()) or "no records"
        extra = f"; tenants {row.mapped}/{row.tenants} mapped" if row.tenants else ""
        if row.discrepancies:
            extra += f"; {row.discrepancies} discrepancies"
        if row.last_error:
            extra += f"; {row.last_error}"
        err.print(
            f"  [{style}]{row.health:<8}[/{style}] {row.name}: {records}{extra}",
            highlight=False,
            soft_wrap=True,
        )


def _print_cases(outcome: Any) -> None:
    from rich.table import Table

    table = Table("client", "vendor", "case", "state", "vendor's no.", title="Demo vendor cases")
    for row in outcome.rows:
        state = row.status + (f" ({row.channel})" if row.channel != "email" else "")
        if row.breaching:
            state += f", [red]breaching[/red], {row.chasers} chaser(s) sent"
        table.add_row(row.client, row.vendor, row.title, state, row.vendor_case_number or "")
    if table.row_count:
        Console(stderr=True, width=None if err.is_terminal else 160).print(table)
    err.print(
        f"cases: {outcome.created} opened now, {outcome.triage_open} message(s) in triage "
        "(GET /api/v1/cases, GET /api/v1/triage)"
        + (f"; not in this database, so not shown: {', '.join(outcome.skipped)}" if outcome.skipped else "")
    )


def _print_renewals(rows: list[Any]) -> None:
    from rich.table import Table

    table = Table("client", "subscription", "term ends", "state", "why / new term", title="Demo renewals")
    for row in rows:
        style = _RENEWAL_STYLE.get(row.state, "")
        state = f"[{style}]{row.state}[/{style}]" if style else row.state
        why = f"renewed to {row.new_term_ends_on}" if row.new_term_ends_on else (row.reason or "")
        table.add_row(row.client, row.product, str(row.term_ends_on), state, why)
    if table.row_count:
        Console(stderr=True, width=None if err.is_terminal else 160).print(table)


_STATUS_STYLE = {"fail": "red", "unknown": "magenta", "warn": "yellow", "ok": "green", "pending": "dim"}


def _print_check_summary(rows: list[Any]) -> None:
    """Every check that is not ok (the rest are counted): what a technician would open."""
    from collections import Counter

    from rich.table import Table

    counts = Counter(row.status.value for row in rows)
    table = Table("client", "target", "kind", "status", title="Demo checks needing attention")
    # Codes are never cut with an ellipsis: at 80 columns they fold onto the next line.
    table.add_column("findings", overflow="fold", ratio=1)
    for row in rows:
        if row.status.value == "ok":
            continue
        style = _STATUS_STYLE.get(row.status.value, "")
        status = f"[{style}]{row.status.value}[/{style}]" if style else row.status.value
        table.add_row(row.client, row.target, row.kind, status, ", ".join(row.codes) or row.error or "")
    if table.row_count:
        # Piped into a log, rich would wrap at 80 columns; a terminal keeps its own width.
        Console(stderr=True, width=None if err.is_terminal else 140).print(table)
    err.print(
        "checks: " + ", ".join(f"{status} {counts[status]}" for status in _STATUS_STYLE if counts[status])
    )


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
