"""`hub import csv FILE --kind vendors|clients|subscriptions [--dry-run] [--json]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from hub.importer.csv_import import CsvTable, ImportKind, ImportResult, RowError, import_table, read_csv
from hub.kit.console import progress_bar

app = typer.Typer(help="Import data from spreadsheets.", no_args_is_help=True)

# The table of errors shows this many rows; --json always carries all of them.
MAX_SHOWN_ERRORS = 200


@app.callback()
def _group() -> None:
    """Import data from spreadsheets (CSV: comma or semicolon separated, UTF-8)."""
    # A callback keeps `csv` a named subcommand even while it is the only one.


class _Rollback(Exception):
    """Carries the result out of the unit of work so that it rolls back (a dry run, or a
    file with errors) instead of committing."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__("rolled back")
        self.result = result


_CSV_HELP = (
    "Import vendors, clients or subscriptions from a spreadsheet, all or nothing.\n\n"
    "Every row is checked first and every bad row is reported with its line; if any row is bad, "
    "nothing is written. Import vendors and clients before the subscriptions that name them; "
    "a subscription's vendor account is created when it does not exist yet. "
    "The formats are documented by the samples in hub/importer/samples/."
)


@app.command("csv", help=_CSV_HELP)
def import_csv(
    file: Annotated[Path, typer.Argument(help="the CSV file, header on line 1", dir_okay=False)],
    kind: Annotated[ImportKind, typer.Option("--kind", help="what the rows are", case_sensitive=False)],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate against the database, write nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable result on stdout")] = False,
) -> None:
    err = Console(stderr=True)
    try:
        data = file.read_bytes()
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot read {escape(str(file))}: {escape(exc.strerror or str(exc))}")
        raise typer.Exit(1) from None
    table, errors = read_csv(data, kind)
    if table is None:
        result = ImportResult(kind, dry_run, errors=errors)
    else:
        result = _run(kind, table, source=file.name, dry_run=dry_run, err=err)
    _report(result, file, as_json=as_json, err=err)
    if not result.ok:
        raise typer.Exit(1)


def _run(kind: ImportKind, table: CsvTable, *, source: str, dry_run: bool, err: Console) -> ImportResult:
    from hub.runtime import run_in_unit

    with progress_bar(err, transient=True) as bar:
        task = bar.add_task(f"importing {kind.value}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async def _import(session: AsyncSession) -> ImportResult:
            result = await import_table(
                session, kind, table, dry_run=dry_run, source=source, progress=progress
            )
            if dry_run or not result.ok:
                raise _Rollback(result)
            return result

        try:
            return run_in_unit(_import)
        except _Rollback as rollback:
            return rollback.result


def _report(result: ImportResult, file: Path, *, as_json: bool, err: Console) -> None:
    if result.errors:
        err.print(_error_table(result.errors, file.name))
        if len(result.errors) > MAX_SHOWN_ERRORS:
            err.print(f"... and {len(result.errors) - MAX_SHOWN_ERRORS} more errors (--json lists all)")
    err.print(_summary(result, file.name), soft_wrap=True)
    if as_json:
        print(json.dumps(result.as_json()))


def _error_table(errors: list[RowError], name: str) -> Table:
    table = Table(title="errors", title_justify="left")
    # file:line, as compilers write it: editors and terminals jump to it.
    table.add_column("where", no_wrap=True)
    table.add_column("field")
    table.add_column("reason")
    for e in errors[:MAX_SHOWN_ERRORS]:
        table.add_row(escape(f"{name}:{e.line}"), escape(e.field or ""), escape(e.message))
    return table


def _counts(created: dict[str, int]) -> str:
    return ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in created.items())


def _summary(result: ImportResult, name: str) -> str:
    name = escape(name)
    if not result.ok:
        lines = len({e.line for e in result.errors})
        return f"[red]{len(result.errors)} error(s) on {lines} line(s) of {name}; nothing was imported[/red]"
    if result.dry_run:
        return f"dry run of {name}: would create {_counts(result.created)}; nothing was written"
    return f"[green]imported {name}:[/green] created {_counts(result.created)}"
