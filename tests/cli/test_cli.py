"""The `hub` command as an operator uses it: tokens, exports, demo, seed, db, import.

Most tests invoke the Typer app in-process (typer's CliRunner keeps stdout and stderr
apart); a few run the installed `hub` executable, as a person or a script would.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

import hub.importer
from hub import migrate
from hub.auth.tokens import authenticate
from hub.cli import DEMO_TOKEN_FILE, app
from hub.demo.dataset import load_demo
from hub.errors import Unauthorized
from hub.models import Base, Client, Subscription
from hub.models.enums import Role, SubscriptionStatus
from hub.runtime import run_in_unit
from hub.settings import Settings, sync_database_url

TOKEN_RE = re.compile(r"hub_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}")
HUB_EXE = Path(sys.executable).with_name("hub")
SAMPLES = Path(hub.importer.__file__).parent / "samples"
# A demo client billed in two currencies (EUR, and CHF for its Swiss site).
TWO_CURRENCY_CLIENT = "gallo-hotels"

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment that points `hub` at this test's database and data directory."""
    env = {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_DATA_DIR": str(settings.data_dir),
        "HUB_SECRET_KEY": settings.secret_key.get_secret_value(),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def run_hub(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The installed console script, with the (monkeypatched) environment of the test."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [str(HUB_EXE), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def words(text: str) -> str:
    """Text with rich's line wrapping undone."""
    return " ".join(text.split())


def row_counts(settings: Settings) -> dict[str, int]:
    engine = sa.create_engine(sync_database_url(settings.resolved_database_url))
    try:
        with engine.connect() as conn:
            return {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def query(settings: Settings, stmt: Any) -> list[Any]:
    engine = sa.create_engine(sync_database_url(settings.resolved_database_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(stmt).all())
    finally:
        engine.dispose()


def add_client(settings: Settings, slug: str, name: str | None = None) -> None:
    async def _add(session: Any) -> None:
        session.add(Client(name=name or slug.title(), slug=slug))

    run_in_unit(_add, settings)


def token_parts(token: str) -> tuple[str, str]:
    """(public prefix hub_xxxxxxxx, secret)."""
    _, ident, secret = token.split("_", 2)
    return f"hub_{ident}", secret


# --- tokens -----------------------------------------------------------------------------


def test_token_create_list_revoke_with_the_real_executable(cli_env: dict[str, str], settings: Settings):
    created = run_hub("tokens", "create", "--name", "ci", "--role", "admin")
    assert created.returncode == 0, created.stderr
    token = created.stdout.splitlines()[-1]
    assert TOKEN_RE.fullmatch(token), created.stdout
    assert "cannot be shown again" in created.stderr and token not in created.stderr

    principal, _ = run_in_unit(lambda s: authenticate(s, token), settings)
    assert principal.role is Role.admin and principal.client_id is None

    prefix, secret = token_parts(token)
    table = run_hub("tokens", "list")
    assert table.returncode == 0, table.stderr
    assert prefix in table.stdout and "ci" in table.stdout
    assert secret not in table.stdout + table.stderr
    listed = invoke("tokens", "list", "--json")
    assert secret not in listed.output
    (row,) = [r for r in json.loads(listed.stdout) if r["prefix"] == prefix]
    assert (row["name"], row["role"], row["revoked"]) == ("ci", "admin", False)

    revoked = run_hub("tokens", "revoke", prefix)
    assert revoked.returncode == 0, revoked.stderr
    with pytest.raises(Unauthorized, match="revoked"):
        run_in_unit(lambda s: authenticate(s, token), settings)
    (row,) = [r for r in json.loads(invoke("tokens", "list", "--json").stdout) if r["prefix"] == prefix]
    assert row["revoked"] is True

    unknown = invoke("tokens", "revoke", "hub_00000000")
    assert unknown.exit_code != 0 and "no token with prefix hub_00000000" in words(unknown.stderr)


def test_client_viewer_token_is_bound_to_the_named_client(cli_env: dict[str, str], settings: Settings):
    add_client(settings, "rossi")
    result = invoke(
        "tokens", "create", "--name", "rossi portal", "--role", "client_viewer", "--client", "rossi"
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[-1]
    principal, _ = run_in_unit(lambda s: authenticate(s, token), settings)
    (client_id,) = query(settings, sa.select(Client.id).where(Client.slug == "rossi"))[0]
    assert principal.role is Role.client_viewer and principal.client_id == client_id


def test_client_viewer_token_without_client_is_refused_clearly(cli_env: dict[str, str], settings: Settings):
    result = invoke("tokens", "create", "--name", "portal", "--role", "client_viewer")
    assert result.exit_code != 0
    assert "client_viewer token needs exactly one client" in words(result.stderr)
    assert not TOKEN_RE.search(result.stdout + result.stderr)
    assert row_counts(settings)["api_tokens"] == 0


def test_token_for_an_unknown_client_slug_is_refused_clearly(cli_env: dict[str, str], settings: Settings):
    result = invoke("tokens", "create", "--name", "portal", "--role", "client_viewer", "--client", "nope")
    assert result.exit_code != 0
    assert "no client with slug 'nope'" in words(result.stderr)
    assert not TOKEN_RE.search(result.stdout + result.stderr)
    assert row_counts(settings)["api_tokens"] == 0


# --- export -----------------------------------------------------------------------------


@pytest.fixture
def demo_loaded(cli_env: dict[str, str], settings: Settings) -> Settings:
    run_in_unit(load_demo, settings)
    return settings


def _active_subscription_ids(settings: Settings, slug: str) -> set[str]:
    rows = query(
        settings,
        sa.select(Subscription.id)
        .join(Client, Client.id == Subscription.client_id)
        .where(Client.slug == slug, Subscription.status == SubscriptionStatus.active),
    )
    return {str(r[0]) for r in rows}


def test_export_spend_csv_has_a_header_and_one_row_per_subscription(demo_loaded: Settings):
    result = invoke("export", "spend", "--client", TWO_CURRENCY_CLIENT, "--format", "csv")
    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert reader.fieldnames is not None
    assert {"vendor", "product", "quantity", "currency", "monthly", "yearly", "payer"} <= set(
        reader.fieldnames
    )
    rows = list(reader)
    expected = _active_subscription_ids(demo_loaded, TWO_CURRENCY_CLIENT)
    assert len(rows) == len(expected) > 0
    assert {r["subscription_id"] for r in rows} == expected
    assert {r["currency"] for r in rows} == {"EUR", "CHF"}


def test_export_spend_json_totals_are_the_sums_of_the_lines(demo_loaded: Settings, tmp_path: Path):
    result = invoke("export", "spend", "--client", TWO_CURRENCY_CLIENT, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["client"]["slug"] == TWO_CURRENCY_CLIENT
    lines = report["lines"]
    assert {line["subscription_id"] for line in lines} == _active_subscription_ids(
        demo_loaded, TWO_CURRENCY_CLIENT
    )
    currencies = {line["currency"] for line in lines}
    assert currencies == {"EUR", "CHF"}
    assert [t["currency"] for t in report["totals"]] == sorted(currencies)
    for total in report["totals"]:
        mine = [line for line in lines if line["currency"] == total["currency"]]
        assert total["lines"] == len(mine)
        for key in ("monthly", "yearly"):
            assert Decimal(total[key]) == sum((Decimal(line[key]) for line in mine), Decimal(0)), key

    # --out writes the same document to a file instead of stdout.
    out = tmp_path / "spend.json"
    to_file = invoke(
        "export", "spend", "--client", TWO_CURRENCY_CLIENT, "--format", "json", "--out", str(out)
    )
    assert to_file.exit_code == 0 and to_file.stdout == ""
    assert json.loads(out.read_text()) == report


def test_export_spend_for_an_unknown_client_fails_clearly(demo_loaded: Settings):
    result = invoke("export", "spend", "--client", "nope", "--format", "json")
    assert result.exit_code != 0 and result.stdout == ""
    assert "no client with slug 'nope'" in words(result.stderr)


# --- demo -------------------------------------------------------------------------------


def _clients(settings: Settings) -> list[tuple[Any, ...]]:
    cols = (Client.id, Client.slug, Client.name, Client.version, Client.updated_at)
    return sorted(tuple(r) for r in query(settings, sa.select(*cols)))


APPENDED_BY_EACH_DEMO = ("check_runs", "audit_events")


def _without(counts: dict[str, int], tables: tuple[str, ...]) -> dict[str, int]:
    return {name: n for name, n in counts.items() if name not in tables}


def test_demo_twice_duplicates_nothing_reuses_the_token_and_keeps_user_data(
    cli_env: dict[str, str], settings: Settings
):
    first = invoke("demo", "--no-serve")
    assert first.exit_code == 0, first.output
    assert "API:" not in first.output and "Docs:" not in first.output, first.output  # nothing served
    token = first.stdout.splitlines()[-1]
    assert TOKEN_RE.fullmatch(token)
    token_file = settings.data_dir / DEMO_TOKEN_FILE
    assert token_file.read_text().strip() == token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    principal, _ = run_in_unit(lambda s: authenticate(s, token), settings)
    assert principal.role is Role.admin
    after_first = row_counts(settings)
    assert after_first["clients"] == 12 and after_first["api_tokens"] == 1

    # Meanwhile the user adds a client of their own and edits a demo client.
    add_client(settings, "added-by-hand", "Added By Hand S.r.l.")

    async def _rename(session: Any) -> None:
        client = (await session.execute(sa.select(Client).where(Client.slug == "gallo-hotels"))).scalar_one()
        client.name = "Gallo Hotels (edited by the user)"

    run_in_unit(_rename, settings)
    before_second = row_counts(settings)
    clients_before = _clients(settings)

    second = invoke("demo", "--no-serve")
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[-1] == token
    assert "clients_created=0" in words(second.stderr) and "subscriptions_created=0" in words(second.stderr)
    assert "created 0, resumed" in words(second.stderr)
    # Every demo run runs the demo's checks again: their runs and the audit of it are
    # appended; nothing else is added, and no check twice.
    assert _without(row_counts(settings), APPENDED_BY_EACH_DEMO) == _without(
        before_second, APPENDED_BY_EACH_DEMO
    )
    # The first demo also re-ran one check: the re-verification of its resolved DMARC case.
    assert row_counts(settings)["check_runs"] == 2 * before_second["check_runs"] - 1 > 0
    assert _clients(settings) == clients_before
    assert "Gallo Hotels (edited by the user)" in {c[2] for c in clients_before}
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


# --- seed -------------------------------------------------------------------------------


def test_seed_small_on_a_fresh_database_then_refuses_to_seed_again(
    cli_env: dict[str, str], settings: Settings
):
    first = run_hub("seed", "--scale", "small", "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.splitlines()[-1])
    counts = row_counts(settings)
    assert summary["clients"] == counts["clients"] == 50
    assert summary["subscriptions"] == counts["subscriptions"] > 0
    assert counts["assets"] > 0 and counts["domains"] > 0

    again = run_hub("seed", "--scale", "small")
    assert again.returncode != 0
    assert "already holds seed data" in words(again.stderr)
    assert "Traceback" not in again.stderr
    assert row_counts(settings) == counts


# --- db ---------------------------------------------------------------------------------


def _alembic_version(settings: Settings) -> list[str]:
    return [r[0] for r in query(settings, sa.text("SELECT version_num FROM alembic_version"))]


def test_db_upgrade_is_idempotent_and_check_passes(cli_env: dict[str, str], settings: Settings):
    for _ in range(2):
        result = invoke("db", "upgrade")
        assert result.exit_code == 0, result.output
        assert _alembic_version(settings) == [migrate.head_revision()]
    check = invoke("db", "check")
    assert check.exit_code == 0, check.output
    assert "models and migrations agree" in check.stderr


def test_db_upgrade_creates_the_sqlite_file_under_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
):
    data_dir = tmp_path / "fresh-data"
    monkeypatch.setenv("HUB_DATABASE_URL", "")
    monkeypatch.setenv("HUB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HUB_SECRET_KEY", settings.secret_key.get_secret_value())
    fresh = Settings()
    assert fresh.is_sqlite and not (data_dir / "hub.db").exists()

    upgraded = run_hub("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (data_dir / "hub.db").is_file() and _alembic_version(fresh) == [migrate.head_revision()]
    again = invoke("db", "upgrade")
    assert again.exit_code == 0, again.output
    assert _alembic_version(fresh) == [migrate.head_revision()]
    assert invoke("db", "check").exit_code == 0

    # And the check does fail when the schema drifts from the models.
    engine = sa.create_engine(sync_database_url(fresh.resolved_database_url))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_vendors_category"))
    finally:
        engine.dispose()
    drifted = run_hub("db", "check")
    assert drifted.returncode != 0 and "ix_vendors_category" in drifted.stderr


# --- import -----------------------------------------------------------------------------


def test_import_clients_csv_dry_run_then_for_real(cli_env: dict[str, str], settings: Settings):
    sample = str(SAMPLES / "clients.csv")
    dry = invoke("import", "csv", sample, "--kind", "clients", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    outcome = json.loads(dry.stdout)
    assert outcome["ok"] is True and outcome["dry_run"] is True and outcome["errors"] == []
    assert outcome["created"] == {"clients": 3}
    assert row_counts(settings)["clients"] == 0

    real = invoke("import", "csv", sample, "--kind", "clients", "--json")
    assert real.exit_code == 0, real.output
    assert json.loads(real.stdout)["created"] == {"clients": 3}
    slugs = {r[0] for r in query(settings, sa.select(Client.slug))}
    assert slugs == {"officina-galli", "studio-marino", "hotel-bellavista"}
