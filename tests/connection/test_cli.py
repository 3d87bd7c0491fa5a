"""`hub connections ...` and `hub secrets rotate` as an operator runs them."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from hub.cli import app as cli
from tests.conftest import TEST_KEY

runner = CliRunner()


def _env(settings, key: str = TEST_KEY) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_SECRET_KEY": key,
        "HUB_DATA_DIR": str(settings.data_dir),
        # The test adapter, loaded the way an adapter being developed is.
        "HUB_ADAPTER_EXTRA": "tests.sync.testvendor:spec",
        "HUB_ADAPTER_ALLOW_HOSTS": "127.0.0.1",
    }


async def invoke(settings, *args: str, key: str = TEST_KEY, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(runner.invoke, cli, list(args), env=_env(settings, key), input=stdin)


async def test_create_test_sync_list_and_delete_from_the_command_line(app, api, settings, vendor):
    vendor.sim.partner("P1", tenants=[{"id": "T1", "name": "One"}])
    config = vendor.config("P1")
    created = await invoke(
        settings,
        "connections",
        "create",
        "--adapter",
        "testvendor",
        "--name",
        "Partner",
        "--config",
        "-",
        stdin=json.dumps(config),
    )
    assert created.exit_code == 0, created.output
    connection_id = created.stdout.strip()
    tested = await invoke(settings, "connections", "test", connection_id)
    assert tested.exit_code == 0 and "account P1" in tested.stdout
    synced = await invoke(settings, "connections", "sync", connection_id, "--now")
    assert synced.exit_code == 0 and "synced" in synced.stdout, synced.output
    listed = await invoke(settings, "connections", "list", "--json")
    [row] = json.loads(listed.stdout)
    assert row["health"] == "ok" and row["config"]["client_secret"]["set"] is True
    assert config["client_secret"] not in listed.stdout + tested.stdout + synced.stdout
    queued = await invoke(settings, "connections", "sync", connection_id)
    assert queued.exit_code == 0 and "queued" in queued.stdout
    again = await invoke(
        settings,
        "connections",
        "create",
        "--adapter",
        "testvendor",
        "--name",
        "Dup",
        "--config",
        "-",
        stdin=json.dumps(config),
    )
    assert again.exit_code == 1 and "already connects" in again.output
    deleted = await invoke(settings, "connections", "delete", connection_id)
    assert deleted.exit_code == 0
    assert (await api.get(f"/connections/{connection_id}")).status_code == 404
