"""`hub --help` starts at once: it lists every command with its help without importing
any command group (the ORM, FastAPI, the adapters), and a listed command is the one that
runs. Deterministic: what is imported, not how long it takes (tests/bench/bench_startup.py
times it)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app, commands

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "fastapi", "starlette", "alembic", "httpx", "jinja2", "adapters")

HELP_IN_A_FRESH_INTERPRETER = """
import json, sys
from typer.testing import CliRunner
from hub.cli import app
result = CliRunner().invoke(app, ["--help"], terminal_width=200)
print(json.dumps({
    "exit": result.exit_code,
    "output": result.output,
    "heavy": sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:])),
    "hub": sorted(m for m in sys.modules if m.startswith("hub.")),
    "modules": sorted(m for m in sys.modules if m.startswith(("typer", "rich"))),
}))
"""


def _help_in_fresh_interpreter() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", HELP_IN_A_FRESH_INTERPRETER, *HEAVY],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _listed(output: str, name: str) -> str | None:
    """The (first line of the) help shown for `name` in the "Commands" panel."""
    found = re.search(rf"^│ {re.escape(name)} +(\S.*?)\s*│$", output, re.M)
    return found.group(1) if found else None


def test_help_lists_every_command_without_importing_any_group() -> None:
    seen = _help_in_fresh_interpreter()
    assert seen["exit"] == 0
    assert seen["heavy"] == []
    # hub.cli itself and the helpers it needs to print; no command group's module.
    listing = {"hub.cli", "hub.kit", "hub.kit.console", "hub.kit.lazy_cli", "hub.kit.help_panels"}
    assert set(seen["hub"]) <= listing
    # typer's own help renderer imports rich's Markdown parser, tracebacks and syntax
    # highlighting: the listing is drawn without it (hub.kit.help_panels).
    assert "typer.rich_utils" not in seen["modules"]
    output = str(seen["output"])
    for name, entry in commands.entries.items():
        shown = _listed(output, name)
        # A long line folds onto the next: its first line is shown on the command's.
        assert shown and len(shown) > 20 and entry.help.startswith(shown), (name, shown)
    for eager in ("serve", "db", "tokens", "export", "seed", "demo", "worker", "check", "renewals"):
        assert _listed(output, eager), eager
    # The options panel is there too, and a docstring's line breaks are not carried over.
    assert _listed(output, "--help") == "Show this message and exit."
    assert (_listed(output, "demo") or "").startswith("Migrate, load the demo dataset (safe to repeat:")


@pytest.mark.parametrize("name", sorted(commands.entries))
def test_a_listed_command_loads_and_shows_its_own_help(name: str) -> None:
    """The registered target exists, and `hub NAME --help` shows the real command (its
    options or sub-commands), not the listing's placeholder."""
    result = CliRunner().invoke(app, [name, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"Usage: root {name} [OPTIONS]" in result.output
    assert "Options" in result.output
    shown = commands.entries[name].load()
    assert shown.params or getattr(shown, "commands", None), name


def test_a_mistyped_command_suggests_a_lazy_one() -> None:
    result = CliRunner().invoke(app, ["chek"])
    assert result.exit_code == 2
    assert "Did you mean 'check'?" in result.output
