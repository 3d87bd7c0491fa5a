"""Where a connection may send its credentials (issue 11 §7.1). A technician once pointed
a connection's URL at a host of their own, left the write-only secret out (so it was
kept) and pressed "test": the hub sent the secret there and read the host's answer back.
Now a changed URL drops the stored secrets, a host that is not the vendor's needs an
admin, and a test reports failures in the hub's words, never the target's."""

from __future__ import annotations

import os
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.pax8 import spec as pax8_spec
from hub.connection import policy
from hub.connection.settings import AdapterSettings
from hub.models.enums import Role
from hub.sdk.registry import Registry, registry
from hub.sdk.testing import serve_on_loopback
from tests.conftest import client_for, make_token
from tests.sync import testvendor
from tests.sync.helpers import create_connection

ECHO = "internal-host-says: db=10.0.0.5 password-hint=hunter"


class Catcher:
    """A host that is not the vendor: records what reaches it and answers with text of its own."""

    def __init__(self) -> None:
        self.seen: list[str] = []

        async def anything(request: Request) -> JSONResponse:
            self.seen.append((await request.body()).decode() + request.headers.get("authorization", ""))
            return JSONResponse({"error": ECHO, "message": ECHO}, status_code=401)

        self.app = Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])


@pytest.fixture
async def catcher():
    c = Catcher()
    async with serve_on_loopback(c.app) as base:
        yield c, base


@pytest.fixture
async def tech(app):
    async with client_for(app, await make_token(app, Role.technician)) as http:
        yield http


async def test_a_changed_url_drops_the_stored_secret_so_nothing_reaches_the_new_host(
    app, api, tech, vendor, catcher
):
    sink, sink_url = catcher
    vendor.sim.partner("P1")
    config = vendor.config("P1")
    conn = await create_connection(api, config)
    moved = {k: v for k, v in config.items() if k != "client_secret"} | {"base_url": sink_url}
    r = await tech.patch(f"/connections/{conn['id']}", json={"version": conn["version"], "config": moved})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "config.client_secret"
    assert "config.base_url changed" in r.json()["errors"][0]["message"]
    assert (await tech.post(f"/connections/{conn['id']}/test")).json()["ok"] is True  # still the vendor's
    assert sink.seen == []
    # With the secret sent again (a person who has it), the move is accepted.
    version = (await tech.get(f"/connections/{conn['id']}")).json()["version"]  # the test moved it on
    again = await tech.patch(
        f"/connections/{conn['id']}",
        json={"version": version, "config": {**moved, "client_secret": "a-new-secret-value"}},
    )
    assert again.status_code == 200, again.text
    assert config["client_secret"] not in "".join(sink.seen)


async def test_a_host_that_is_not_the_vendors_needs_an_admin(app, api, tech, runtime):
    runtime.adapters = Registry({"pax8": pax8_spec}, {})
    config = {
        "client_id": "partner-app",
        "client_secret": "s3cret-value",
        "order_email": "renewals@msp.example",
        "token_url": "https://collector.attacker.example/token",
    }
    body = {"name": "Pax8", "adapter_slug": "pax8", "config": config}
    refused = await tech.post("/connections", json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["errors"][0]["field"] == "config.token_url"
    assert "collector.attacker.example" in refused.json()["detail"]
    official = await tech.post(
        "/connections", json={**body, "config": {**config, "token_url": "https://api.pax8.com/v1/token"}}
    )
    assert official.status_code == 201, official.text
    # An admin may (a vendor's new regional host, a proxy of the MSP's own), with fresh secrets.
    assert (
        await api.post(
            "/connections", json={**body, "name": "other", "config": {**config, "client_id": "x2"}}
        )
    ).status_code == 201
    # A technician cannot move an official connection to that host either.
    move = {**config, "token_url": "https://collector.attacker.example/token"}
    r = await tech.patch(f"/connections/{official.json()['id']}", json={"version": 1, "config": move})
    assert r.status_code == 403, r.text


async def test_a_connection_test_does_not_read_back_what_the_target_answered(app, api, vendor, catcher):
    _, sink_url = catcher
    vendor.sim.partner("P1")
    # An admin points a connection at a host that answers with text of its own.
    conn = await create_connection(api, vendor.config("P1") | {"base_url": sink_url})
    tested = await api.post(f"/connections/{conn['id']}/test")
    assert tested.status_code == 200, tested.text
    result = tested.json()
    assert result["ok"] is False and result["health"] == "needs_reauth"
    assert result["error"].startswith("AuthenticationFailed: the vendor refused the credentials")
    assert "HTTP 401" in result["error"]
    shown = [
        tested.text,
        (await api.get(f"/connections/{conn['id']}")).text,
        (await api.get("/audit", params={"limit": 1000})).text,
    ]
    assert all(ECHO not in text and "hunter" not in text for text in shown)


def test_every_adapter_declares_where_its_credentials_go_and_loopback_is_none_of_them():
    specs = dict(registry().specs) | {testvendor.SLUG: testvendor.spec}
    assert len(specs) >= 7
    for slug, spec in specs.items():
        manifest = spec.manifest
        assert not manifest.problems(), (slug, manifest.problems())
        assert manifest.endpoint_fields and manifest.official_hosts, slug
        if "*" not in manifest.official_hosts:
            assert not policy.allowed("127.0.0.1", manifest.official_hosts), slug


def test_loopback_is_allowed_only_by_an_explicit_setting(monkeypatch):
    for key in [k for k in os.environ if k.startswith("HUB_ADAPTER_")]:
        monkeypatch.delenv(key)
    assert AdapterSettings().allowed_hosts == ()
    monkeypatch.setenv("HUB_ADAPTER_ALLOW_HOSTS", "127.0.0.1, *.lab.example")
    assert AdapterSettings().allowed_hosts == ("127.0.0.1", "*.lab.example")


@pytest.mark.parametrize(
    ("host", "pattern", "expected"),
    [
        ("api.pax8.com", "api.pax8.com", True),
        ("API.Pax8.com.", "api.pax8.com", True),
        ("api.pax8.com.attacker.example", "api.pax8.com", False),
        ("api-eu01.central.sophos.com", "*.central.sophos.com", True),
        ("central.sophos.com", "*.central.sophos.com", False),
        ("evilcentral.sophos.com", "*.central.sophos.com", False),
        ("192.168.1.99", "*", True),
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.2", "127.0.0.1", False),
    ],
)
def test_host_patterns(host: str, pattern: str, expected: bool) -> None:
    assert policy.host_matches(host, pattern) is expected


@pytest.mark.parametrize(
    ("value", "hosts"),
    [
        ("https://api.pax8.com/v1/token", {"api.pax8.com"}),
        ("http://127.0.0.1:8123", {"127.0.0.1"}),
        ("https://[::1]:8443/api", {"::1"}),
        ("fw1.client.example", {"fw1.client.example"}),
        ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", set()),
        ([{"host": "10.0.0.7", "port": 161, "label": "HQ printer"}], {"10.0.0.7"}),
        (True, set()),
    ],
)
def test_hosts_named_by_a_config_value(value: Any, hosts: set[str]) -> None:
    assert policy.hosts_in(value) == hosts


async def test_the_simulators_on_loopback_need_the_setting_for_a_technician(app, tech, vendor, runtime):
    vendor.sim.partner("P1")
    runtime.use_settings(adapters={"allow_hosts": ""})
    r = await tech.post(
        "/connections", json={"name": "sim", "adapter_slug": "testvendor", "config": vendor.config("P1")}
    )
    assert r.status_code == 403, r.text
    runtime.use_settings(adapters={"allow_hosts": "127.0.0.1"})
    r = await tech.post(
        "/connections", json={"name": "sim", "adapter_slug": "testvendor", "config": vendor.config("P1")}
    )
    assert r.status_code == 201, r.text
