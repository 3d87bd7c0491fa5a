"""`hub notify run | test` as a user runs them: the installed script, this test's database
and a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from tests import factories as f
from tests.notify.conftest import add_user

HUB_EXE = Path(sys.executable).parent / "hub"


async def hub(settings, smtp, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it: its environment names the database and the
    SMTP server on loopback."""
    env = {
        **os.environ,
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_DATA_DIR": str(settings.data_dir),
        "HUB_SECRET_KEY": settings.secret_key.get_secret_value(),
        "HUB_SMTP_HOST": "127.0.0.1",
        "HUB_SMTP_PORT": str(smtp.port),
        "HUB_SMTP_FROM": "hub@msp.example",
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    return await asyncio.to_thread(
        subprocess.run,
        [str(HUB_EXE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_notify_run_records_and_mails_once(app, api, settings, smtp):
    owner = await add_user(app, "tech@msp.example")
    c = await f.client(api, owner_user_id=owner)
    a = await f.account(api, c["id"], (await f.vendor(api))["id"])
    soon = (date.today() + timedelta(days=6)).isoformat()
    await f.subscription(
        api, a["id"], starts_on=(date.today() - timedelta(days=300)).isoformat(), ends_on=soon
    )

    first = await hub(settings, smtp, "notify", "run", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["issued"] == 1 and report["emails"]["messages"] == 1
    again = json.loads((await hub(settings, smtp, "notify", "run", "--json")).stdout)
    assert again["issued"] == 0 and again["emails"]["messages"] == 0
    assert len(smtp.to("tech@msp.example")) == 1


async def test_notify_test_says_whether_the_mail_went_through(settings, smtp):
    ok = await hub(settings, smtp, "notify", "test", "--to", "tech@msp.example")
    assert ok.returncode == 0 and "delivered" in ok.stdout
    assert len(smtp.to("tech@msp.example")) == 1
    bad = await hub(settings, smtp, "notify", "test", "--to", "not-an-address")
    assert bad.returncode == 2 and "to" in bad.stderr
