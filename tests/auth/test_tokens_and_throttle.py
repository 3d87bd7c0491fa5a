"""API tokens expire (a default lifetime, `--expires-in`, `never` on request), and failed
authentication is rate limited per address and per token prefix with a 429 and
Retry-After, counted in the database so every API process sees the same counts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hub.app import create_app
from hub.auth import token_throttle as throttle
from hub.cli import app as cli
from hub.cli import parse_lifetime
from hub.models import ApiToken
from hub.runtime import HubRuntime
from tests.conftest import TEST_KEY, client_for, make_token

runner = CliRunner()


def _env(settings: Any, **extra: str) -> dict[str, str]:
    return {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_SECRET_KEY": TEST_KEY,
        "HUB_DATA_DIR": str(settings.data_dir),
        **extra,
    }


async def _cli(settings: Any, *args: str, **extra: str):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(runner.invoke, cli, list(args), env=_env(settings, **extra))


@pytest.mark.parametrize(
    ("text", "lifetime"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("90d", timedelta(days=90)),
        ("2w", timedelta(weeks=2)),
        ("1y", timedelta(days=365)),
        ("never", None),
    ],
)
def test_lifetimes(text: str, lifetime: timedelta | None) -> None:
    assert parse_lifetime(text) == lifetime


async def test_new_tokens_expire_by_default_and_on_request_and_expired_ones_are_refused(
    app, settings, runtime
):
    default = await _cli(settings, "tokens", "create", "--name", "default")
    short = await _cli(settings, "tokens", "create", "--name", "short", "--expires-in", "1h")
    forever = await _cli(settings, "tokens", "create", "--name", "forever", "--expires-in", "never")
    bad = await _cli(settings, "tokens", "create", "--name", "bad", "--expires-in", "soon")
    assert default.exit_code == short.exit_code == forever.exit_code == 0, default.output
    assert bad.exit_code != 0 and "--expires-in" in bad.output
    assert "It never expires" in forever.output
    async with runtime.sessionmaker() as session:
        rows = {t.name: t for t in (await session.execute(select(ApiToken))).scalars()}
    now = datetime.now(UTC)
    assert rows["default"].expires_at is not None
    assert abs(rows["default"].expires_at - (now + timedelta(days=90))) < timedelta(minutes=5)
    assert rows["short"].expires_at is not None and rows["short"].expires_at - now < timedelta(
        hours=1, minutes=5
    )
    assert rows["forever"].expires_at is None
    token = short.stdout.strip().splitlines()[-1]
    async with client_for(app, token) as http:
        assert (await http.get("/clients")).status_code == 200
        real = runtime.clock
        runtime.clock = lambda: real() + timedelta(hours=2)
        try:
            r = await http.get("/clients")
        finally:
            runtime.clock = real
    assert r.status_code == 401 and "expired" in r.json()["detail"]


async def test_the_token_list_shows_a_viewers_client_and_the_whole_prefix_at_80_columns(app, api, settings):
    c = (await api.post("/clients", json={"name": "Alfa Srl", "slug": "alfa"})).json()
    made = await _cli(
        settings, "tokens", "create", "--name", "portal", "--role", "client_viewer", "--client", "alfa"
    )
    token = made.stdout.strip().splitlines()[-1]
    prefix = "_".join(token.split("_")[:2])
    listed = await _cli(settings, "tokens", "list", COLUMNS="80")
    assert listed.exit_code == 0, listed.output
    assert prefix in listed.output and "alfa" in listed.output
    as_json = json.loads((await _cli(settings, "tokens", "list", "--json")).stdout)
    [row] = [r for r in as_json if r["prefix"] == prefix]
    assert row["client"] == "alfa" and row["client_id"] == c["id"] and row["expires_at"]


def test_windows() -> None:
    now = datetime(2026, 12, 7, 10, 2, 30, tzinfo=UTC)
    assert throttle.window_start(now, 300) == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert throttle.retry_after(now, 300) == 150
    assert throttle.limits("203.0.113.9", "hub_1a2b3c4d", 30, 0) == [
        throttle.Limit("address:203.0.113.9", 30)
    ]


async def test_failed_authentication_from_one_address_gets_429_with_retry_after_then_recovers(app, runtime):
    runtime.use_settings(
        auth={"failures_per_address": 3, "failures_per_token": 0, "failure_window_seconds": 60}
    )
    good = await make_token(app)
    async with client_for(app, "hub_00000000_" + "x" * 43) as wrong:
        statuses = [(await wrong.get("/clients")).status_code for _ in range(5)]
        limited = await wrong.get("/clients")
    assert statuses == [401, 401, 401, 429, 429]
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "too many failed authentications" in limited.json()["detail"]
    # The lock is on the address: a valid token from it waits too, until the window ends.
    async with client_for(app, good) as http:
        assert (await http.get("/clients")).status_code == 429
        real = runtime.clock
        runtime.clock = lambda: real() + timedelta(seconds=61)
        try:
            assert (await http.get("/clients")).status_code == 200
        finally:
            runtime.clock = real


async def test_failures_against_one_token_prefix_are_limited_from_any_address(app, runtime, settings):
    runtime.use_settings(
        auth={"failures_per_address": 0, "failures_per_token": 2, "failure_window_seconds": 300}
    )
    good = await make_token(app)
    hub_, public, secret = good.split("_", 2)
    wrong = f"{hub_}_{public}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"
    # A second API process on the same database sees the same counts.
    async with HubRuntime.open(settings, secrets=runtime.secrets) as other_runtime:
        other_runtime.use_settings(auth=runtime.settings.auth.model_dump())
        other = create_app(other_runtime)
        async with client_for(app, wrong) as one, client_for(other, wrong) as two:
            assert (await one.get("/clients")).status_code == 401
            assert (await two.get("/clients")).status_code == 401
            assert (await one.get("/clients")).status_code == 429
            assert (await two.get("/clients")).status_code == 429
    # Other tokens are not affected.
    async with client_for(app, await make_token(app)) as other_token:
        assert (await other_token.get("/clients")).status_code == 200
