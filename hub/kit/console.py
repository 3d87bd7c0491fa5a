"""Terminal output shared by the CLI commands: one progress bar style everywhere."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def progress_bar(console: Console, *, transient: bool = False) -> Progress:
    """A bar on `console` (stderr in the CLI, so stdout stays machine-readable). Rich
    draws nothing when the console is not a terminal, so pipes and logs get no noise."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
        disable=not console.is_terminal,
    )
