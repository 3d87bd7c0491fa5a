"""`hub adapters list` and `hub schemas export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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

    registry = discover()
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
