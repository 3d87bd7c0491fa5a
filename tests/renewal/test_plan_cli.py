"""`hub renewals plan` lists every renewal due in the window, also when there are
thousands (a rich table took over a minute for 30,000 rows; long listings are plain
aligned columns), and the planner plans each due term once, counting what it added."""

from __future__ import annotations

import asyncio
import time

import pytest
from typer.testing import CliRunner

from hub.cli import app as hub_app
from hub.db import create_engine, make_sessionmaker, session_scope
from hub.kit.time import utcnow
from hub.renewal import planner
from hub.renewal.cli import PLAIN_ABOVE
from hub.settings import Settings
from tests.renewal import storm


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HUB_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    # PostgreSQL needs the key set (every process must share it); SQLite too, here.
    monkeypatch.setenv("HUB_SECRET_KEY", settings.secret_key.get_secret_value())
    return settings


def _plan(settings: Settings) -> int:
    async def go() -> int:
        engine = create_engine(settings)
        try:
            async with session_scope(make_sessionmaker(engine)) as session:
                return await planner.plan(session, utcnow().date(), now=utcnow())
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_a_long_plan_is_listed_in_full_as_plain_columns(cli_env: Settings) -> None:
    n = PLAIN_ABOVE + 100
    storm.seed(cli_env.resolved_database_url, "http://127.0.0.1:9", storm.planner_subs(n, all_due=True))
    assert _plan(cli_env) == n
    assert _plan(cli_env) == 0  # planning again adds nothing
    started = time.perf_counter()
    result = CliRunner().invoke(hub_app, ["renewals", "plan", "--days", "30"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Automatic renewals in the next 30 days")
    assert lines[1].split() == [
        "client",
        "product",
        "ends",
        "orders",
        "on",
        "qty",
        "total",
        "payer",
        "renewal",
        "route",
    ]
    rows = [line for line in lines[3:] if line.startswith("Planner Client")]
    assert len(rows) == n and all(row.split()[-2:] == ["planned", "ok"] for row in rows)
    assert time.perf_counter() - started < 10
