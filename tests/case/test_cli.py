"""`hub cases`: a technician lists, opens, reads, answers, logs and closes cases from the
terminal, on the same database the API writes."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from typer.testing import CliRunner, Result

from hub.cli import app
from hub.settings import Settings
from tests import factories as f
from tests.case.helpers import blank_case, vendor_world

runner = CliRunner()


async def hub(args: list[str]) -> Result:
    """`hub ...` in a thread of its own: the command runs its own event loop."""
    return await asyncio.to_thread(runner.invoke, app, args)


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_DATA_DIR": str(settings.data_dir),
        "HUB_SECRET_KEY": settings.secret_key.get_secret_value(),
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(key, value)


async def test_a_technician_works_a_case_from_the_terminal(api: httpx.AsyncClient, cli_env: None) -> None:
    w = await vendor_world(api)
    asset = await f.asset(api, w["client"]["id"], model="R650", serial="CLI0001")
    draft = await blank_case(api, w, title="Printer offline")

    opened = await hub(
        ["cases", "open", "--account", w["account"]["account_number"], "--asset", asset["id"], "--json"]
    )
    assert opened.exit_code == 0, opened.output
    token = json.loads(opened.stdout)["token"]
    assert json.loads(opened.stdout)["status"] == "waiting_vendor"

    listed = await hub(["cases", "list", "--client", w["client"]["slug"], "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["token"]: (r["title"], r["status"]) for r in json.loads(listed.stdout)}
    assert rows == {
        token: ("Support for Dell R650 CLI0001", "waiting_vendor"),
        draft["token"]: ("Printer offline", "draft"),
    }
    table = await hub(["cases", "list", "--state", "draft"])
    assert table.exit_code == 0 and "Vendor cases" in table.stdout, table.output

    assert (await hub(["cases", "reply", f"HUB-{token}", "Any news?"])).exit_code == 0
    logged = await hub(["cases", "log", token, "--minutes", "25", "--visible"])
    assert logged.exit_code == 0 and "25 min" in logged.stdout, logged.output
    shown = await hub(["cases", "show", token, "--json"])
    data = json.loads(shown.stdout)
    assert data["minutes_charged"] == 25
    assert [e["kind"] for e in data["timeline"]].count("email_out") == 2
    assert "Support for Dell R650 CLI0001" in (await hub(["cases", "show", token])).stdout

    refused = await hub(["cases", "close", draft["token"], "--resolve"])
    assert refused.exit_code == 1 and "a draft case cannot become resolved" in refused.stderr
    closed = await hub(["cases", "close", token, "--note", "done by phone"])
    assert closed.exit_code == 0 and "closed" in closed.stdout, closed.output
    queued = data["mails"][0]
    assert queued["state"] == "queued"
    not_lost = await hub(["cases", "resend", token, str(queued["id"])])
    assert not_lost.exit_code == 1 and "only an unknown or dead message is resent" in not_lost.stderr
    missing = await hub(["cases", "show", "HUB-ZZZZZ"])
    assert missing.exit_code == 1 and "no case HUB-ZZZZZ" in missing.stderr
