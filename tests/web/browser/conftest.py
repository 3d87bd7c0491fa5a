"""A real browser (Debian's chromium, driven by Playwright) against a real hub served by
uvicorn on a loopback port, with a small world made through its API. One browser for the
whole session, a page per test. Playwright never downloads a browser here: the tests use
/usr/bin/chromium (`.ci/run` installs it) and skip, saying so, when it is missing."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet
from pydantic import SecretStr

from hub import migrate
from hub.auth import users
from hub.auth.principal import CLI
from hub.auth.tokens import issue_token
from hub.models.enums import Role
from hub.runtime import HubRuntime
from hub.settings import Settings
from tests.web.conftest import PASSWORD, build_world

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent.parent / "vendor" / "axe-4.14.1.min.js"


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does it)")
    return {
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Hub:
    url: str
    token: str
    world: Any
    totp_secret: str
    settings: Any = None  # the hub's Settings: a test opens its own runtime on the same database


async def _prepare(settings: Settings, url: str) -> tuple[str, str]:
    async with HubRuntime.open(settings) as runtime, runtime.unit_of_work() as session:
        issued = await issue_token(session, name="browser tests", role=Role.admin)
        for email, role in (("admin@msp.example", Role.admin), ("tech@msp.example", Role.technician)):
            user = await users.create_user(
                session, CLI, email=email, name=email.split("@")[0].title(), role=role, client_id=None
            )
            users.set_password(user, PASSWORD, runtime.now())
        totp_user = await users.create_user(
            session, CLI, email="totp@msp.example", name="Totp", role=Role.technician, client_id=None
        )
        users.set_password(totp_user, PASSWORD, runtime.now())
        from hub.auth import totp

        enrolment = users.begin_totp(session, totp_user)
        users.confirm_totp(
            session, totp_user, totp.code_at(enrolment.secret, totp.step_of(runtime.now()) - 1), runtime.now()
        )
        return issued.token, enrolment.secret


@pytest.fixture(scope="package")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data = tmp_path_factory.mktemp("browser-hub")
    db = f"sqlite+aiosqlite:///{data / 'hub.db'}"
    migrate.upgrade(db)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=db, data_dir=data, secret_key=SecretStr(Fernet.generate_key().decode()))
    token, secret = asyncio.run(_prepare(settings, url))
    from hub.app import create_app
    from hub.runtime import HubSettings

    hub_settings = HubSettings.from_env(settings)
    hub_settings = hub_settings.with_(notify=hub_settings.notify.model_copy(update={"public_url": url}))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings=hub_settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.05)

    async def seed() -> Any:
        async with (
            httpx.AsyncClient(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}) as api,
            HubRuntime.open(settings) as runtime,
        ):
            world = await build_world(api, runtime)
            async with runtime.unit_of_work() as session:
                await users.create_user(
                    session,
                    CLI,
                    email="boss@alfa.example",
                    name="Boss",
                    role=Role.client_admin,
                    client_id=__import__("uuid").UUID(world.a),
                )
                user = await users.by_email(session, "boss@alfa.example")
                users.set_password(user, PASSWORD, runtime.now())
            return world

    world = asyncio.run(seed())
    try:
        yield Hub(url, token, world, secret, settings)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    return {"locale": "en-GB"}


@pytest.fixture
def watched(hub: Hub, page: Any) -> Any:
    """The page, with console errors collected and every request off loopback aborted
    (and noted: a page of the hub must ask for nothing outside it)."""
    page.errors = []
    page.outside = []
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))

    def guard(route: Any) -> None:
        request_url = route.request.url
        if request_url.startswith(("http://127.0.0.1", "http://localhost", "data:", "about:")):
            route.continue_()
        else:
            page.outside.append(request_url)
            route.abort()

    page.route("**/*", guard)
    page.set_default_timeout(10_000)
    return page


def keep_screenshot(page: Any, name: str) -> None:
    """With HUB_SCREENSHOT_DIR set, saves the page as shown as `<name>.png` there: the
    README's pictures are retaken by the tests that walk those pages
    (`HUB_SCREENSHOT_DIR=docs/screenshots pytest tests/web/browser`)."""
    folder = os.environ.get("HUB_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as shown."""
    # Evaluated through the browser's debugging protocol rather than an inline <script>:
    # the hub's pages forbid inline scripts (CSP), and the audit must not weaken that.
    page.evaluate(AXE.read_text() + "\n;undefined")
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def vendored_axe_is_as_pinned() -> bool:
    import hashlib

    manifest = json.loads((AXE.parent / "VENDORED.json").read_text())
    return hashlib.sha256(AXE.read_bytes()).hexdigest() == manifest[AXE.name]["sha256"]


@pytest.fixture(scope="session")
def base_url() -> None:
    """pytest-base-url's own fixture (a plugin of pytest-playwright) warns under this
    pytest; the tests give full URLs."""
    return None


# pytest-playwright keeps its (synchronous) Playwright running for the whole session, with
# an event loop running in the main thread; every later test that runs its own loop would
# fail. Here it lives as long as this package's tests: one browser for all of them.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Any, browser_name: str) -> Any:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: dict[str, Any], browser_type: Any) -> Any:
    return lambda **kwargs: browser_type.launch(**{**browser_type_launch_args, **kwargs})


@pytest.fixture(scope="package")
def browser(launch_browser: Any) -> Iterator[Any]:
    opened = launch_browser()
    yield opened
    opened.close()
