"""Where the master keys come from, as an operator meets it: PostgreSQL without a key
fails fast with what to set (several processes must share one key, none makes its own), a
key file can live anywhere (outside the data volume), and an embedded install keeps its
database and its generated key readable by the owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.fernet import Fernet
from typer.testing import CliRunner

from hub.cli import app as cli

runner = CliRunner()


def _run(*args: str, env: dict[str, str]):  # type: ignore[no-untyped-def]
    base = {"HUB_SECRET_KEY": "", "HUB_SECRET_KEY_FILE": "", "HUB_DATABASE_URL": ""}
    return runner.invoke(cli, list(args), env={**base, **env})


def test_postgresql_without_a_key_fails_fast_saying_what_to_set(tmp_path: Path) -> None:
    # Nothing listens on port 1: the refusal comes before any connection is tried.
    env = {"HUB_DATABASE_URL": "postgresql://hub@127.0.0.1:1/hub", "HUB_DATA_DIR": str(tmp_path)}
    result = _run("tokens", "list", env=env)
    assert result.exit_code == 1, result.output
    assert "HUB_SECRET_KEY" in result.output and "PostgreSQL" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "secret.key").exists()


def test_a_missing_key_file_is_named_and_a_malformed_key_refused(tmp_path: Path) -> None:
    missing = tmp_path / "keys" / "hub.key"
    env = {"HUB_SECRET_KEY_FILE": str(missing), "HUB_DATA_DIR": str(tmp_path / "data")}
    result = _run("tokens", "list", env=env)
    assert result.exit_code == 1 and str(missing) in result.output, result.output
    bad = _run("tokens", "list", env={"HUB_SECRET_KEY": "not-a-key", "HUB_DATA_DIR": str(tmp_path / "d")})
    assert bad.exit_code == 1 and "Fernet key" in bad.output, bad.output


def test_a_key_file_outside_the_data_directory_is_used_and_none_is_made_there(tmp_path: Path) -> None:
    keys = tmp_path / "secrets" / "hub.key"
    keys.parent.mkdir()
    keys.write_text(Fernet.generate_key().decode() + "\n")
    data = tmp_path / "data"
    env = {"HUB_SECRET_KEY_FILE": str(keys), "HUB_DATA_DIR": str(data)}
    assert _run("db", "upgrade", env=env).exit_code == 0
    result = _run("tokens", "list", "--json", env=env)
    assert result.exit_code == 0, result.output
    assert not (data / "secret.key").exists()


def test_an_embedded_install_keeps_its_database_and_key_file_private(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = {"HUB_DATA_DIR": str(data)}
    assert _run("db", "upgrade", env=env).exit_code == 0
    assert _run("tokens", "create", "--name", "t", env=env).exit_code == 0
    for name in ("hub.db", "secret.key"):
        mode = stat.S_IMODE((data / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"
    # An existing database left readable by others is tightened.
    (data / "hub.db").chmod(0o644)
    assert _run("tokens", "list", env=env).exit_code == 0
    assert stat.S_IMODE((data / "hub.db").stat().st_mode) == 0o600
