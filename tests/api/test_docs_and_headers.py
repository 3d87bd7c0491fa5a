"""The API docs served by the hub itself (offline, nothing from a CDN), behind a setting
like /metrics, and the security headers on every response (issue 11 §7.8, §8)."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from hub.docs import STATIC
from tests import factories as f
from tests.conftest import client_for, make_token


def anonymous(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")  # type: ignore[arg-type]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


async def test_docs_openapi_and_metrics_are_off_by_default(app):
    async with anonymous(app) as http:
        for path in ("/docs", "/openapi.json", "/docs-assets/swagger-ui/swagger-ui-bundle.js", "/metrics"):
            r = await http.get(path)
            assert r.status_code == 404, path
            assert r.headers["content-type"] == "application/problem+json"
        docs = await http.get("/docs")
    assert "HUB_API_DOCS" in docs.json()["detail"]  # says how to turn them on


async def test_the_docs_page_loads_every_asset_from_the_hub_itself(app, runtime):
    runtime.use_settings(core={"api_docs": True})
    async with anonymous(app) as http:
        page = await http.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        parser = _Assets()
        parser.feed(page.text)
        assert len(parser.urls) >= 4, parser.urls
        assert "<script>" not in page.text  # no inline script: the page's CSP allows none
        for url in parser.urls:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc, f"{url} is not served by the hub"
            asset = await http.get(url)
            assert asset.status_code == 200, url
            if url.endswith(".css"):
                external = [
                    u for u in re.findall(r"url\(([^)]*)\)", asset.text) if "//" in u and "data:" not in u
                ]
                assert not external, external
        init = (await http.get("/docs-assets/docs-init.js")).text
        assert '"/openapi.json"' in init and "validatorUrl: null" in init
        document = await http.get("/openapi.json")
    assert document.status_code == 200 and "/api/v1/clients" in document.json()["paths"]
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_the_vendored_swagger_ui_files_match_their_recorded_checksums():
    folder = STATIC / "swagger-ui"
    recorded = dict(re.findall(r"^\| (\S+) \| ([0-9a-f]{64}) \|$", (folder / "SOURCE.md").read_text(), re.M))
    files = {p.name for p in folder.iterdir() if p.name != "SOURCE.md"}
    assert files == set(recorded), "every vendored file has a recorded checksum, and only those"
    for name, digest in recorded.items():
        assert hashlib.sha256(Path(folder, name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (folder / "LICENSE").read_text()


@pytest.mark.parametrize("path", ["/api/v1/clients", "/api/v1/nothing-here", "/livez", "/"])
async def test_every_response_carries_the_security_headers(app, api, path):
    async with client_for(app, await make_token(app)) as http:
        r = await http.get("http://hub.test" + path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    if path.startswith("/api/"):
        assert r.headers["cache-control"] == "no-store"


async def test_a_revealed_pin_is_never_cached_and_errors_carry_the_headers_too(app, api):
    c = await f.client(api)
    v = await f.vendor(api)
    account = await f.account(api, c["id"], v["id"], support_pin="4321")
    revealed = await api.post(f"/vendor-accounts/{account['id']}/support-pin/reveal")
    assert revealed.json()["support_pin"] == "4321"
    assert revealed.headers["cache-control"] == "no-store" and revealed.headers["pragma"] == "no-cache"
    async with client_for(app, None) as nobody:
        refused = await nobody.get("/clients")
    assert refused.status_code == 401 and refused.headers["x-content-type-options"] == "nosniff"


async def test_the_calendar_feed_keeps_its_own_cache_policy(app, api):
    c = await f.client(api)
    feed = (await api.post("/calendar/feeds", json={"client_id": c["id"], "name": "x"})).json()
    async with client_for(app, None) as calendar_app:
        r = await calendar_app.get(f"/calendar/{feed['token']}.ics")
    assert r.headers["cache-control"] == "private, max-age=300"
    assert r.headers["x-content-type-options"] == "nosniff"
