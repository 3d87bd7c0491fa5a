"""Every `hub` command that reads a file, fed malformed files (binary garbage, another
encoding, nothing, the wrong columns): it exits non-zero with one message naming the file
and the line, never a traceback. The commands are found by walking the CLI, so a new
command that reads a file fails here until it has its cases."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hub.cli import app
from hub.settings import Settings

runner = CliRunner()

BINARY = bytes(range(256)) * 4  # NUL on line 1, bytes that are not UTF-8 on line 2
LATIN1 = "line one is fine\ncafé.test\n".encode("latin-1")  # not UTF-8 on line 2
EMPTY = b""
# Nothing is looked up (every case stops at its file), but nothing could leave loopback.
NS = ["-n", "127.0.0.1:9", "--timeout", "0.05"]


@dataclass(frozen=True)
class FileInput:
    """A command's file parameter: its arguments with `{file}` where the file goes (the
    other files valid), and content with the wrong columns with the line that is wrong."""

    args: list[str]
    wrong: bytes
    wrong_line: int


def _files(tmp: Path) -> dict[str, Path]:
    """Valid companions for the commands that take two files."""
    out = {"domains": tmp / "ok-domains.txt", "zones": tmp / "ok-zones.json"}
    out["domains"].write_text("example.test\n")
    out["zones"].write_text(json.dumps([{"zone": "bl.test"}]))
    return out


# (command path, parameter name) -> the file input's cases. Outputs are listed apart.
INPUTS: dict[tuple[str, ...], Callable[[dict[str, Path], Path], FileInput]] = {
    ("check", "domains", "file"): lambda o, out: FileInput(
        ["check", "domains", "{file}", "--out", str(out), "--no-rdap", *NS],
        b"# domain, client\nexample.test\nexample.org,acme\n",
        3,
    ),
    ("check", "domains", "dkim_selectors"): lambda o, out: FileInput(
        [
            "check",
            "domains",
            str(o["domains"]),
            "--out",
            str(out),
            "--dkim-selectors",
            "{file}",
            "--no-rdap",
            *NS,
        ],
        b"selector1\nexample.test s1 s@2\n",
        2,
    ),
    ("check", "dnsbl", "file"): lambda o, out: FileInput(
        ["check", "dnsbl", "{file}", "--zones", str(o["zones"]), "--out", str(out), *NS],
        b"192.0.2.1\n192.0.2.2\tlisted\n",
        2,
    ),
    ("check", "dnsbl", "zones_path"): lambda o, out: FileInput(
        ["check", "dnsbl", str(o["domains"]), "--zones", "{file}", "--out", str(out), *NS],
        b'[\n  {"zone": "bl.test"},\n  {"kind": "ip"}\n]\n',
        3,
    ),
    ("import", "csv", "file"): lambda o, out: FileInput(
        ["import", "csv", "{file}", "--kind", "clients", "--dry-run"],
        b"name,slug\nAcme,acme,extra\n",
        2,
    ),
    ("connections", "create", "config"): lambda o, out: FileInput(
        ["connections", "create", "--adapter", "pax8", "--name", "P", "--config", "{file}"],
        b'{\n  "client_id": "abc",\n  "client_secret": "s",\n  "order_email": "o@msp.example",\n'
        b'  "page_size": "many"\n}\n',
        5,
    ),
    ("lines", "import", "path"): lambda o, out: FileInput(
        ["lines", "import", "{file}", "--dry-run"],
        b"client,isp_account,name,circuit_id,technology,colour\n",
        1,
    ),
}
# Files the commands write, not read.
OUTPUTS = {("check", "domains", "out_path"), ("check", "dnsbl", "out_path"), ("export", "spend", "output")}
OUTPUTS |= {("schemas", "export", "root")}


def _path_params(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """(command path..., parameter) of every file parameter (typer has its own click)."""
    if hasattr(command, "list_commands"):
        # Through the group's own lookup: `hub` loads its command groups lazily.
        ctx = type(command).context_class(command)
        for name in command.list_commands(ctx):
            yield from _path_params(command.get_command(ctx, name), (*prefix, name))
        return
    for param in command.params:
        if _is_file(param) and param.name:
            yield (*prefix, param.name)


def _is_file(param: object) -> bool:
    """A `Path` (or typer file) parameter, however this typer describes its type."""
    described = getattr(param, "type_descriptor", None)
    if described is not None:
        annotation = described.annotation
        return described.file_annotation is not None or (
            isinstance(annotation, type) and issubclass(annotation, Path)
        )
    return type(getattr(param, "type", None)).__name__ in ("Path", "File")


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HUB_SECRET_KEY", settings.secret_key.get_secret_value())


def test_every_file_the_cli_reads_has_its_malformed_cases() -> None:
    found = set(_path_params(typer.main.get_command(app)))
    assert found - OUTPUTS == set(INPUTS)


CASES = [(key, kind) for key in INPUTS for kind in ("binary", "encoding", "empty", "wrong columns")]


@pytest.mark.parametrize(("key", "kind"), CASES, ids=[f"{' '.join(k)}: {kind}" for k, kind in CASES])
def test_a_malformed_file_is_one_error_naming_file_and_line(
    key: tuple[str, ...], kind: str, tmp_path: Path, cli_env: None
) -> None:
    case = INPUTS[key](_files(tmp_path), tmp_path / "out.jsonl")
    content, line = {
        "binary": (BINARY, None),
        "encoding": (LATIN1, 2),
        "empty": (EMPTY, 1),
        "wrong columns": (case.wrong, case.wrong_line),
    }[kind]
    bad = tmp_path / "input.bad"
    bad.write_bytes(content)

    result = runner.invoke(app, [str(bad) if a == "{file}" else a for a in case.args])

    output = result.stdout + result.stderr
    assert result.exit_code != 0, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    where = re.findall(rf"{re.escape(bad.name)}:(\d+)", output)
    assert where, output
    if line is not None:
        assert str(line) in where, output
