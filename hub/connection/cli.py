"""`hub adapters list` and `hub schemas export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from hub.kit.textfile import STDIN, FileProblem, load_json, read_text

adapters_app = typer.Typer(help="Installed vendor adapters.", no_args_is_help=True)
schemas_app = typer.Typer(help="JSON Schemas of adapter records and configs.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

DEFAULT_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@adapters_app.command("list")
def list_adapters(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every adapter registered through the `vendor_hub.adapters` entry points."""
    import json

    from hub.sdk.registry import discover

    registry = discover()  # what is installed, whether or not this hub's runtime uses it
    if as_json:
        print(
            json.dumps(
                {
                    "adapters": [
                        {
                            "slug": slug,
                            "vendor": spec.manifest.vendor,
                            "category": spec.manifest.category,
                            "version": spec.manifest.version,
                            "capabilities": sorted(spec.manifest.capabilities),
                        }
                        for slug, spec in registry.specs.items()
                    ],
                    "broken": registry.broken,
                },
                indent=2,
            )
        )
        return
    table = Table(title="Adapters")
    for column in ("slug", "vendor", "category", "version", "capabilities"):
        table.add_column(column)
    for slug, spec in registry.specs.items():
        m = spec.manifest
        table.add_row(slug, m.vendor, m.category, m.version, ", ".join(sorted(m.capabilities)))
    out.print(table)
    for name, problem in registry.broken.items():
        err.print(f"[red]broken adapter {name}[/red]: {problem}")


@schemas_app.command("export")
def export_schemas(
    root: Annotated[Path, typer.Option("--dir", help="where the schemas live")] = DEFAULT_SCHEMAS,
    check: Annotated[
        bool, typer.Option("--check", help="fail if the files are stale, write nothing")
    ] = False,
) -> None:
    """Write schemas/records/*.json and schemas/adapters/*.config.json."""
    from hub.sdk import schemas
    from hub.sdk.registry import discover

    registry = discover()
    if check:
        stale = schemas.stale(root, registry)
        for path in stale:
            err.print(f"stale: {path}")
        raise typer.Exit(1 if stale else 0)
    changed = schemas.export(root, registry)
    err.print(f"{len(changed)} schema file(s) written or removed under {root}")
    for path in changed:
        err.print(f"  {path}")


# --- hub connections ----------------------------------------------------------------------

connections_app = typer.Typer(
    help="Vendor connections: list, create, test, sync, delete.", no_args_is_help=True
)
secrets_app = typer.Typer(help="Encrypted secrets at rest.", no_args_is_help=True)

CLI_ACTOR = "cli"


def _run(fn: Any) -> Any:
    """Run `fn(runtime)` with a runtime of this command's own."""
    from hub.runtime import run_command

    return run_command(fn)


def _principal() -> Any:
    from hub.auth.principal import Principal
    from hub.models.enums import Role

    return Principal(actor=CLI_ACTOR, role=Role.admin)


def _fail(message: str) -> NoReturn:
    from hub.kit.console import fail

    fail(message)


@connections_app.command("list")
def list_connections(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every connection with its health (secrets are never shown)."""
    import json

    from hub.connection.schemas import ConnectionFilters
    from hub.connection.service import connections, to_read

    async def _list(runtime: Any) -> list[dict[str, Any]]:
        async with runtime.sessionmaker() as session:
            rows, _ = await connections.list(session, _principal(), ConnectionFilters(limit=1000))
            return [to_read(session, r).model_dump(mode="json") for r in rows]

    rows = _run(_list)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="Connections")
    for column in ("id", "name", "adapter", "scope", "health", "last success", "last error"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["id"],
            r["name"],
            r["adapter_slug"],
            r["scope"],
            r["health"],
            r["last_success_at"] or "-",
            (r["last_error"] or "")[:60],
        )
    out.print(table)


@connections_app.command("create")
def create_connection(
    adapter: Annotated[str, typer.Option(help="adapter slug (hub adapters list)")],
    name: Annotated[str, typer.Option(help="a name for people")],
    config: Annotated[
        Path, typer.Option(help="JSON file with the config ('-': stdin; never on the command line)")
    ],
    client: Annotated[str | None, typer.Option(help="client slug for a client-scoped connection")] = None,
) -> None:
    """Create a connection; the config is validated by the adapter and stored encrypted."""
    import sys

    from rich.markup import escape
    from sqlalchemy import select

    from hub.connection.schemas import ConnectionCreate
    from hub.connection.service import connections
    from hub.errors import HubError
    from hub.models import Client

    name = "<stdin>" if str(config) == STDIN else str(config)
    try:
        data, lines = load_json(read_text(config, stdin=sys.stdin.buffer), name)
        if not isinstance(data, dict):
            raise FileProblem(name, 1, "the config must be a JSON object of the adapter's fields")
    except FileProblem as exc:
        _fail(escape(str(exc)))

    async def _create(runtime: Any) -> str:
        async with runtime.unit_of_work() as session:
            client_id = None
            if client:
                client_id = (await session.execute(select(Client.id).where(Client.slug == client))).scalar()
                if client_id is None:
                    _fail(f"no client with slug {client!r}")
            body = ConnectionCreate(name=name, adapter_slug=adapter, client_id=client_id, config=data)
            created = await connections.create(session, _principal(), body)
            return str(created.id)

    try:
        created_id = _run(_create)
    except HubError as exc:
        field = str(exc.errors[0].get("field", "")) if exc.errors else ""
        if field == "config" or field.startswith("config."):
            # A refused field of the file: its line, as for a file that does not parse.
            key = field.removeprefix("config").removeprefix(".").split(".", 1)[0]
            _fail(escape(str(FileProblem(name, lines.get(key, 1), exc.detail))))
        _fail(escape(exc.detail))
    print(created_id)


@connections_app.command("test")
def test_connection(connection_id: str) -> None:
    """Ask the vendor whether the credentials work; updates the health (audited)."""
    import uuid

    from hub.connection.service import verify
    from hub.errors import HubError

    try:
        result = _run(lambda runtime: verify(runtime, _principal(), uuid.UUID(connection_id)))
    except (HubError, ValueError) as exc:
        _fail(getattr(exc, "detail", str(exc)))
    if result.ok:
        out.print(f"[green]ok[/green]: account {result.account_ref} ({result.account_name})")
    else:
        out.print(f"[red]{result.health.value}[/red]: {result.error}")
        raise typer.Exit(2)


@connections_app.command("delete")
def delete_connection(connection_id: str) -> None:
    """Delete a connection and what sync stored for it (audited)."""
    import uuid

    from hub.connection.service import connections
    from hub.errors import HubError

    async def _delete(runtime: Any) -> None:
        async with runtime.unit_of_work() as session:
            await connections.delete(session, _principal(), uuid.UUID(connection_id))

    try:
        _run(_delete)
    except HubError as exc:
        _fail(exc.detail)
    err.print("deleted")


@secrets_app.command("rotate")
def rotate_secrets() -> None:
    """Re-encrypt every stored secret (every encrypted column: connection configs, OAuth
    tokens, support PINs, webhook secrets) under the newest key of HUB_SECRET_KEY, each
    under its own purpose's key. Put the new key first, keep the old ones after it, run
    this, then drop the old keys."""
    from hub.connection.rotate import rotate_all
    from hub.kit.console import progress_bar

    with progress_bar(err) as bar:
        task = bar.add_task("re-encrypting", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        counts = _run(lambda runtime: rotate_all(runtime.sessionmaker, progress))
    err.print("re-encrypted:")
    for what, c in counts.items():
        err.print(f"  {c.rotated} {what}", soft_wrap=True)
    legacy = sum(c.legacy for c in counts.values())
    if legacy:
        err.print(
            f"{legacy} value(s) were under a bare master key (before per-purpose keys); none is now: "
            "HUB_SECRET_LEGACY_READS=false may be set",
            soft_wrap=True,
        )
