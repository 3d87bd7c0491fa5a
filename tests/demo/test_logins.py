"""The demo's sign-ins: an admin, a technician and a client admin per demo client (none for
a client the user added), written with mode 0600, the same on a second run, and each signs in."""

from __future__ import annotations

import json
import stat

from hub.demo.catalogue import CLIENTS
from hub.demo.logins import LOGINS_FILE, ensure_logins
from tests import factories as f
from tests.web.conftest import browser, sign_in


async def test_demo_logins_are_kept_private_stable_and_work(app, api, runtime, tmp_path):
    demo = CLIENTS[0]
    await f.client(api, name=demo.name, slug=demo.slug)
    await f.client(api, name="Added By Hand Srl", slug="added-by-hand")
    async with runtime.unit_of_work() as session:
        first = await ensure_logins(session, tmp_path)
    async with runtime.unit_of_work() as session:
        second = await ensure_logins(session, tmp_path)
    path = tmp_path / LOGINS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first == second == json.loads(path.read_text())["logins"]
    assert [login["role"] for login in first] == ["admin", "technician", "client_admin"]
    assert first[2]["email"] == f"portal@{demo.slug}.example"
    for login, home in zip(first, ("/console", "/console", "/portal"), strict=True):
        async with browser(app) as web:
            r = await sign_in(web, login["email"], login["password"])
            assert r.status_code == 303 and r.headers["location"] == home
