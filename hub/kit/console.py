"""Terminal output shared by the CLI commands: one progress bar style everywhere, and one
way to end a command with an error."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress


def progress_bar(console: Console, *, transient: bool = False, auto_refresh: bool = True) -> Progress:
    """A bar on `console` (stderr in the CLI, so stdout stays machine-readable). Rich
    draws nothing when the console is not a terminal, so pipes and logs get no noise.
    `auto_refresh=False`: no refresh thread (the caller calls `refresh()`), for a command
    that forks worker processes while the bar is shown."""
    # Imported here: `hub --help` and commands without a bar do not pay for it.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
        auto_refresh=auto_refresh,
        disable=not console.is_terminal,
    )


def fail(message: str, code: int = 1) -> NoReturn:
    """End a CLI command with a one-line error on stderr (never a traceback)."""
    # soft_wrap: a long message is not cut into lines at the terminal (or pipe) width.
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)
