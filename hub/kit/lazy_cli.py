"""A typer group whose sub-commands are imported only when one of them runs.

`hub --help` lists every command with its one-line help without importing any of them
(the ORM, FastAPI and the adapters cost about a second to import); `hub check domains`
imports the checks and nothing else. Each command group is registered with one line:

    commands.add("check", "hub.check.cli:app", "Mail, DNS, block-list, expiry and firmware checks.")

The target is `module:attribute` naming a `typer.Typer` (a group) or a command function
(a single command), or a function of no argument returning a `typer.Typer` (to assemble a
group from several modules).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import typer
import typer.core
import typer.main

# typer carries its own copy of click (typer._click): its groups, contexts and errors are
# of those classes, not of the `click` package's.
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

Target = str | Callable[[], typer.Typer]


@dataclass
class _Entry:
    name: str
    target: Target
    help: str
    loaded: click.Command | None = None

    def load(self) -> click.Command:
        if self.loaded is None:
            self.loaded = _to_click(self.name, _resolve(self.target))
            # The listing shows the registered line, loaded or not.
            self.loaded.short_help = self.help
        return self.loaded

    def placeholder(self) -> click.Command:
        """What the listing shows: the name and the help, nothing imported."""
        return TyperCommand(self.name, help=self.help, short_help=self.help)


def _resolve(target: Target) -> Any:
    if not isinstance(target, str):
        return target()
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _to_click(name: str, obj: Any) -> click.Command:
    if isinstance(obj, typer.Typer):
        group = typer.main.get_group(obj)
        group.name = name
        return group
    if callable(obj):
        single = typer.Typer()
        single.command(name)(obj)
        return typer.main.get_command(single)
    raise TypeError(f"command {name!r}: {obj!r} is neither a typer.Typer nor a function")


@dataclass
class LazyCommands:
    """The registry of lazily imported commands of one typer app (`group_class()` is its
    `cls=`)."""

    entries: dict[str, _Entry] = field(default_factory=dict)

    def add(self, name: str, target: Target, help: str) -> None:
        if name in self.entries:
            raise ValueError(f"command {name!r} is registered twice")
        self.entries[name] = _Entry(name, target, help)

    def group_class(self) -> type[TyperGroup]:
        registry = self

        class LazyGroup(TyperGroup):
            _listing = False

            def list_commands(self, ctx: click.Context) -> list[str]:
                return sorted({*super().list_commands(ctx), *registry.entries})

            def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
                command = super().get_command(ctx, cmd_name)
                entry = registry.entries.get(cmd_name)
                if command is not None or entry is None:
                    return command
                return entry.placeholder() if self._listing else entry.load()

            def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
                # Only the listing sees placeholders; running or asking a command for its
                # own help imports it.
                self._listing = True
                try:
                    if self.rich_markup_mode is None or not typer.core.HAS_RICH:
                        super().format_help(ctx, formatter)
                        return
                    from hub.kit.help_panels import one_line, render_listing

                    listed = []
                    for name in self.list_commands(ctx):
                        command = self.get_command(ctx, name)
                        if command is not None and not command.hidden:
                            listed.append((name, command.short_help or one_line(command.help)))
                    render_listing(self, ctx, listed)
                finally:
                    self._listing = False

            def resolve_command(
                self, ctx: click.Context, args: list[str]
            ) -> tuple[str | None, click.Command | None, list[str]]:
                try:
                    return super().resolve_command(ctx, args)
                except click.exceptions.UsageError as exc:
                    # typer suggests only among the eager commands: add the lazy ones.
                    if args and "Did you mean" not in exc.message:
                        import difflib

                        matches = difflib.get_close_matches(args[0], self.list_commands(ctx))
                        if matches:
                            suggestions = ", ".join(f"{m!r}" for m in matches)
                            exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
                    raise

        return LazyGroup
