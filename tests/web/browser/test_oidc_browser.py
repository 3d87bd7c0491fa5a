"""OIDC sign-in in a real browser: the sign-in page's single sign-on button, the provider's
own page (oidc-provider-mock on loopback), and back at the hub on the console, with the
session cookie set by the callback. A hub of its own, configured for the provider (the
package's `hub` is not), on a fresh SQLite file."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet
from pydantic import SecretStr

from hub import migrate
from hub.auth import users
from hub.auth.principal import CLI
from hub.models.enums import Role
from hub.runtime import HubRuntime, HubSettings
from hub.settings import Settings
from tests.web.browser.conftest import _free_port, axe_violations
from tests.web.test_oidc import provider

__all__ = ["provider"]
pytestmark = [
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated:DeprecationWarning"),
]


@pytest.fixture
def oidc_hub(tmp_path: Any, provider: tuple[str, Any]) -> Iterator[str]:
    issuer, _recorder = provider
    db = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    key = SecretStr(Fernet.generate_key().decode())
    settings = Settings(database_url=db, data_dir=tmp_path, secret_key=key)

    async def technician() -> None:
        async with HubRuntime.open(settings) as runtime, runtime.unit_of_work() as session:
            await users.create_user(
                session, CLI, email="jo@msp.example", name="Jo Tech", role=Role.technician, client_id=None
            )

    def prepare() -> None:
        migrate.upgrade(db)
        asyncio.run(technician())

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    setup = threading.Thread(target=prepare)
    setup.start()
    setup.join(60)
    from hub.app import create_app

    base = HubSettings.from_env(settings)
    hub_settings = base.with_(
        auth=base.auth.model_copy(
            update={
                "oidc_issuer": issuer,
                "oidc_client_id": "vendor-hub",
                "oidc_client_secret": SecretStr("s3cret"),
                "oidc_allowed_domains": "msp.example",
            }
        ),
        notify=base.notify.model_copy(update={"public_url": url}),
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings=hub_settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_technician_signs_in_through_the_identity_provider_in_a_browser(
    oidc_hub: str, provider: tuple[str, Any], page: Any
) -> None:
    issuer, recorder = provider
    # The provider's user: the mock takes the claims through its own API.
    assert httpx.put(f"{issuer}/users/jo-123", json={"email": "jo@msp.example", "name": "Jo Tech"}).is_success
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def guard(route: Any) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "data:", "about:")):
            route.continue_()
        else:  # never off loopback (the mock provider's page links a stylesheet on a CDN)
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.set_default_timeout(10_000)

    page.goto(oidc_hub + "/")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Single sign-on").click()
    page.wait_for_url(re.compile(re.escape(issuer) + r"/oauth2/authorize\?"))
    page.get_by_placeholder("sub").fill("jo-123")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(oidc_hub + "/console")
    assert page.locator("header.top").get_by_role("link", name="Jo Tech").is_visible()  # signed in as Jo
    assert page.get_by_role("heading", level=1).is_visible()

    authorize = next(params for path, params in recorder.requests if path == "/oauth2/authorize")
    assert authorize["code_challenge_method"] == ["S256"] and authorize["state"] and authorize["nonce"]
    assert errors == []
    # Only the provider's own page asked off loopback, and it was refused.
    assert all(not url.startswith(oidc_hub) and "127.0.0.1" not in url for url in outside)
