"""`hub jobs list|show|retry|cancel` (the typer app hub/cli.py mounts as `hub jobs`)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hub.jobs.cli import main
from hub.settings import Settings
from tests.jobs import helpers as h


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HUB_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    # PostgreSQL needs the key set (every process must share it); SQLite too, here.
    monkeypatch.setenv("HUB_SECRET_KEY", settings.secret_key.get_secret_value())
    return settings


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, ["jobs", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_jobs_commands_list_show_cancel_and_retry(cli_env: Settings) -> None:
    engine = h.sync_engine(cli_env.resolved_database_url)
    h.bulk_enqueue(engine, "testing.noop", [{"n": 1}, {"n": 2}], max_attempts=3)
    engine.dispose()
    listed = json.loads(_run("list", "--json"))
    assert listed["total"] == 2 and listed["queue"]["depth"] == 2
    job_id = listed["items"][0]["id"]
    assert json.loads(_run("show", str(job_id), "--json"))["state"] == "queued"
    assert json.loads(_run("cancel", str(job_id), "--json"))["state"] == "cancelled"
    assert json.loads(_run("list", "--state", "cancelled", "--json"))["total"] == 1
    assert json.loads(_run("retry", str(job_id), "--json"))["state"] == "queued"
    table = _run("list")
    assert "testing.noop" in table


def test_retrying_a_queued_job_is_refused_with_a_reason(cli_env: Settings) -> None:
    engine = h.sync_engine(cli_env.resolved_database_url)
    h.bulk_enqueue(engine, "testing.noop", [{}])
    engine.dispose()
    result = CliRunner().invoke(main, ["jobs", "retry", "1"])
    assert result.exit_code == 1
    assert "only failed or cancelled jobs can be retried" in result.output
    missing = CliRunner().invoke(main, ["jobs", "show", "999"])
    assert missing.exit_code == 1 and "not found" in missing.output
