"""`hub reports snapshot|backfill`: the coverage history from the command line, once per
client and day however often it runs; bad dates are one line naming the option."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from hub.kit.time import today
from hub.models import CoverageSnapshot
from hub.settings import Settings
from tests.cli.test_cli import add_client, cli_env, invoke, query

__all__ = ["cli_env"]  # the fixture pointing `hub` at this test's database


def _rows(settings: Settings) -> list[tuple[str, str]]:
    return [
        (str(day), source)
        for day, source in query(
            settings, sa.select(CoverageSnapshot.day, CoverageSnapshot.source).order_by(CoverageSnapshot.day)
        )
    ]


def test_snapshot_and_backfill_add_each_client_day_once(cli_env: dict[str, str], settings: Settings):
    add_client(settings, "gamma")
    first, again = invoke("reports", "snapshot"), invoke("reports", "snapshot", "--client", "gamma")
    assert first.exit_code == 0 and "1 snapshot(s) taken" in first.stdout, first.output
    assert again.exit_code == 0 and "0 snapshot(s) taken" in again.stdout, again.output
    since = (today() - timedelta(days=5)).isoformat()
    filled = invoke("reports", "backfill", "--since", since, "--json")
    assert filled.exit_code == 0, filled.output
    assert '"created": 5' in filled.stdout and '"days": 5' in filled.stdout
    assert invoke("reports", "backfill", "--since", since).stdout.startswith("0 snapshot(s) added")
    rows = _rows(settings)
    assert len(rows) == 6 and rows[-1] == (today().isoformat(), "daily")
    assert {source for _, source in rows[:-1]} == {"backfill"}


def test_bad_dates_and_clients_are_one_line_naming_the_option(cli_env: dict[str, str], settings: Settings):
    for args, named in (
        (("--since", "yesterday"), "--since"),
        (("--until", today().isoformat()), "--until"),
        (("--since", "2026-06-02", "--until", "2026-06-01"), "--since"),
        (("--client", "nobody"), "--client"),
    ):
        result = invoke("reports", "backfill", *args)
        assert result.exit_code != 0 and named in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert _rows(settings) == []
