"""`hub --help` drawn with a few rich parts: the listing every user sees first.

typer's own help renderer (`typer.rich_utils`) imports rich's Markdown parser, its
tracebacks and its syntax highlighter at module level: about 0.2 s of the 0.5 s that
`hub --help` took, for a listing that needs a panel and a two-column table. This draws
the same panels (usage, description, Options, Commands) from rich's console, panel and
table alone. A command's own help (`hub cases --help`) still goes through typer.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from typer import _click as click
    from typer.core import TyperGroup

# The same styles as typer's panels, so `hub --help` and `hub cases --help` look alike.
BORDER = "dim"
OPTION = "bold cyan"
COMMAND = "bold cyan"
USAGE = "yellow"


def one_line(text: str | None) -> str:
    """A command's first paragraph on one line: docstrings wrap at the source's width."""
    if not text:
        return ""
    first = text.strip().split("\n\n", 1)[0]
    return " ".join(first.split())


def _console() -> Console:
    # typer honours TERMINAL_WIDTH (tests set it) and _TYPER_FORCE_DISABLE_TERMINAL.
    width = os.environ.get("TERMINAL_WIDTH")
    force = None if os.environ.get("_TYPER_FORCE_DISABLE_TERMINAL") is None else False
    return Console(width=int(width) if width else None, force_terminal=force, highlight=False)


def _grid() -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1), expand=True)
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    return table


def render_listing(group: TyperGroup, ctx: click.Context, commands: list[tuple[str, str]]) -> None:
    """Print the group's usage, description, options and `commands` (name, one-line help)."""
    console = _console()
    usage = " ".join(group.collect_usage_pieces(ctx))
    parts: list[Text | Padding | Panel] = [
        Padding(Text.assemble(("Usage: ", USAGE), (f"{ctx.command_path} ", "bold"), usage), (1, 1, 0, 1)),
    ]
    if group.help:
        parts.append(Padding(Text(one_line(group.help)), (1, 1, 1, 1)))

    options = _grid()
    for param in group.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None:
            options.add_row(Text(record[0], style=OPTION), Text(one_line(record[1])))
    parts.append(Panel(options, title="Options", title_align="left", border_style=BORDER, box=box.ROUNDED))

    listing = _grid()
    for name, help_line in commands:
        listing.add_row(Text(name, style=COMMAND), Text(help_line))
    parts.append(Panel(listing, title="Commands", title_align="left", border_style=BORDER, box=box.ROUNDED))
    console.print(Group(*parts))
