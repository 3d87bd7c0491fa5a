"""OIDC sign-in end to end against a real provider on loopback (oidc-provider-mock, a
Flask app in a thread): discovery, the code flow with PKCE, state and nonce, the ID token
checked, and the mapping rules (allowed domains, linking by e-mail, never an admin)."""

from __future__ import annotations

import base64
import hashlib
import threading
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from hub.models import AuditEvent, User
from hub.models.enums import AuditAction, Role
from tests.web.conftest import browser, make_user

# The mock provider (its own code, in its server thread) still uses authlib APIs authlib
# 1.9 deprecates; the hub's side of the flow warns about nothing.
pytestmark = [
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated:DeprecationWarning"),
]

with warnings.catch_warnings():
    # The mock imports authlib.jose, which authlib 1.9 deprecates (the hub itself does not).
    warnings.simplefilter("ignore", DeprecationWarning)
    import oidc_provider_mock
    import werkzeug.serving


class Recorder:
    """WSGI middleware noting every request the provider gets (path and parameters)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, dict[str, list[str]]]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        params = parse_qs(environ.get("QUERY_STRING", ""))
        if environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            params.update(parse_qs(body.decode()))
            import io

            environ["wsgi.input"] = io.BytesIO(body)
        self.requests.append((environ["PATH_INFO"], params))
        return self.app(environ, start_response)


@pytest.fixture
def provider() -> Iterator[tuple[str, Recorder]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        flask_app = oidc_provider_mock.app(require_nonce=True)
    recorder = Recorder(flask_app.wsgi_app)
    server = werkzeug.serving.make_server("127.0.0.1", 0, recorder, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", recorder
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def oidc(runtime, provider) -> tuple[str, Recorder]:
    issuer, recorder = provider
    runtime.use_settings(
        auth={
            "oidc_issuer": issuer,
            "oidc_client_id": "vendor-hub",
            "oidc_client_secret": "s3cret",
            "oidc_allowed_domains": "msp.example",
        },
        notify={"public_url": "http://hub.test"},
    )
    return issuer, recorder


async def _sign_in_at_provider(web: httpx.AsyncClient, sub: str, email: str) -> httpx.Response:
    """Start at the hub, say who we are at the provider, come back with the code."""
    start = await web.get("/auth/oidc/start")
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    async with httpx.AsyncClient() as idp:
        # The mock lets a test pick the user: its claims first, then the consent form.
        issuer = authorize.split("/oauth2/")[0]
        put = await idp.put(f"{issuer}/users/{sub}", json={"email": email, "name": "Jo Tech"})
        assert put.status_code in (200, 204), put.text
        answer = await idp.post(authorize, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    callback = answer.headers["location"]
    assert callback.startswith("http://hub.test/auth/oidc/callback")
    return await web.get(callback.removeprefix("http://hub.test"))


async def test_a_known_technician_signs_in_with_oidc_using_pkce_state_and_nonce(app, runtime, oidc):
    issuer, recorder = oidc
    await make_user(runtime, "jo@msp.example", Role.technician, password=None)
    async with browser(app) as web:
        done = await _sign_in_at_provider(web, "jo-123", "jo@msp.example")
        assert done.status_code == 303 and done.headers["location"] == "/console"
        assert (await web.get("/console")).status_code == 200
    assert all(url.startswith(issuer) for url in [issuer])  # only loopback was asked
    authorize = next(p for path, p in recorder.requests if path == "/oauth2/authorize")
    token = next(p for path, p in recorder.requests if path == "/oauth2/token")
    assert authorize["code_challenge_method"] == ["S256"] and authorize["nonce"] and authorize["state"]
    verifier = token["code_verifier"][0]
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert authorize["code_challenge"] == [expected]
    async with runtime.unit_of_work(write=False) as session:
        user = (await session.execute(select(User).where(User.email == "jo@msp.example"))).scalar_one()
        events = list(
            (
                await session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.sign_in))
            ).scalars()
        )
    assert user.oidc_subject == f"{issuer}|jo-123" and user.role is Role.technician
    assert [e.meta["method"] for e in events] == ["oidc"]


async def test_a_callback_with_a_foreign_state_is_refused(app, runtime, oidc):
    await make_user(runtime, "jo@msp.example", Role.technician, password=None)
    async with browser(app) as victim, browser(app) as attacker:
        await attacker.get("/auth/oidc/start")  # the attacker's own flow...
        start = await victim.get("/auth/oidc/start")
        query = parse_qs(urlsplit(start.headers["location"]).query)
        async with httpx.AsyncClient() as idp:
            answer = await idp.post(start.headers["location"], data={"sub": "jo-123"})
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        # ...finished with the victim's code in the attacker's browser: its state differs.
        r = await attacker.get("/auth/oidc/callback", params={"code": code, "state": query["state"][0]})
        assert r.status_code == 403
        assert (await attacker.get("/console")).status_code == 303


async def test_strangers_and_other_domains_are_refused_and_nobody_becomes_admin(app, runtime, oidc):
    async with browser(app) as web:
        stranger = await _sign_in_at_provider(web, "x-1", "stranger@msp.example")
        assert stranger.status_code == 403 and "ask an admin to invite you" in stranger.text
        other = await _sign_in_at_provider(web, "x-2", "boss@elsewhere.example")
        assert other.status_code == 403 and "not a domain" in other.text
    runtime.use_settings(auth={"oidc_create_technicians": True})
    async with browser(app) as web:
        created = await _sign_in_at_provider(web, "x-1", "stranger@msp.example")
        assert created.status_code == 303
    async with runtime.unit_of_work(write=False) as session:
        user = (await session.execute(select(User).where(User.email == "stranger@msp.example"))).scalar_one()
        refusals = (
            await session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.sign_in_failed))
        ).scalars()
        assert len(list(refusals)) == 2
    assert user.role is Role.technician
