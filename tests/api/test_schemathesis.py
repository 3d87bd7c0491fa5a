"""Property-based fuzzing of every API operation with schemathesis: whatever the request,
the hub never answers with a 5xx, and what it answers with a 2xx matches its own OpenAPI
document.

The schema is the app's own OpenAPI document, built in-process (and checked to be the
one the app serves at /openapi.json); every operation of it is a test of its own, so an
operation added later is fuzzed without touching this file. Each test runs on its own
database (the `app` fixture), seeded with one row of every kind, and half of the examples
of an operation with an id in its path use the seeded row's id, so that they reach real
rows instead of stopping at a 404. Requests carry an admin token (the access matrix
covers the other roles); positive and negative (schema-violating) examples are mixed.

Why not `case.call()`: schemathesis' ASGI transport runs the app on its own event loop
thread and starts the app's lifespan there, which would replace the per-test database
engine with one bound to another loop. Instead Hypothesis runs in a worker thread and each
generated request is sent, byte for byte as schemathesis prepared it, through httpx on the
test's own event loop; the response is then checked with schemathesis' own checks.

Checks: schemathesis' `not_a_server_error` on every response, and its response schema
conformance on every 2xx JSON response. Error bodies are problem documents; whether the
document describes them is checked once, by the last test.

Runs are derandomized (the same examples every run, no example database written to disk)
so that CI is deterministic; set HUB_FUZZ_EXAMPLES to fuzz harder locally. No warning
filter is needed: schemathesis and Hypothesis emit none in this setup (pytest turns
warnings into errors, so one appearing would fail the run and be noticed).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from hub.app import API_PREFIX, create_app
from hub.settings import Settings
from tests import factories as f
from tests.conftest import client_for, make_token

MAX_EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "16"))
BASE_URL = "http://hub.test"


# The OpenAPI document, built in-process by the app itself (no database needed for it);
# every per-test app is built by the same code, so one parse serves all the tests.
DOCUMENT = create_app(settings=Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [
    (method.upper(), path)
    for path, item in sorted(DOCUMENT["paths"].items())
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
]


async def test_the_app_serves_the_document_being_fuzzed(app, runtime):
    runtime.use_settings(core={"api_docs": True})
    async with client_for(app, None) as http:
        assert (await http.get(f"{BASE_URL}/openapi.json")).json() == DOCUMENT


async def _seed(api: httpx.AsyncClient) -> dict[str, str]:
    """One of everything, keyed by the first path segment of its collection."""
    c = await f.client(api)
    v = await f.vendor(api)
    a = await f.account(api, c["id"], v["id"], support_pin="1234")
    s = await f.subscription(api, a["id"])
    asset = await f.asset(api, c["id"])
    w = await api.post(
        "/warranties",
        json={"asset_id": asset["id"], "level": "NBD", "starts_on": "2025-01-01", "ends_on": "2027-01-01"},
    )
    d = await f.domain(api, c["id"], registrar_account_id=a["id"])
    e = await api.post("/endpoints", json={"client_id": c["id"], "host": f"mail.{d['name']}"})
    contact = await api.post("/contacts", json={"client_id": c["id"], "name": "Anna Rossi"})
    line = await api.post(
        "/lines",
        json={
            "client_id": c["id"],
            "vendor_account_id": a["id"],
            "name": "Office fibre",
            "circuit_id": "0031-FTTH-1",
            "technology": "ftth",
            "address_blocks": ["203.0.113.8/31"],
            "probe_targets": [{"host": "127.0.0.1", "ports": [9]}],
        },
    )
    for r in (w, e, contact, line):
        assert r.status_code == 201, r.text
    return {
        "clients": c["id"],
        "vendors": v["id"],
        "vendor-accounts": a["id"],
        "subscriptions": s["id"],
        "assets": asset["id"],
        "warranties": w.json()["id"],
        "domains": d["id"],
        "endpoints": e.json()["id"],
        "contacts": contact.json()["id"],
        "lines": line.json()["id"],
    }


def _real_path_parameters(path: str, ids: dict[str, str]) -> dict[str, str] | None:
    """The seeded row's id for every path parameter, from the collection the path is under
    (/subscriptions/{item_id}/terms -> the subscription, /clients/{client_id}/spend -> the
    client); None when the path has no parameter or an unknown collection."""
    segments = path.removeprefix(API_PREFIX).strip("/").split("/")
    params = [s[1:-1] for s in segments if s.startswith("{")]
    if not params or segments[0] not in ids:
        return None
    return dict.fromkeys(params, ids[segments[0]])


def _prepare(case: Any) -> httpx.Request:
    """The request schemathesis would send (it prepares it for `requests`), for httpx."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    allowed = {"method", "url", "headers", "params", "json", "data", "files", "cookies"}
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in allowed}).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return httpx.Request(
        str(prepared.method), str(prepared.url), headers=dict(prepared.headers), content=body or b""
    )


def success_matches_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """Response schema conformance for successful JSON answers (errors are problem+json
    documents, checked by the bad-input tests)."""
    content_type = response.headers.get("content-type", [""])[0]
    if 200 <= response.status_code < 300 and content_type.startswith("application/json"):
        return response_schema_conformance(ctx, response, case)
    return None


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
async def test_operation_never_fails_with_a_server_error(app, method: str, path: str) -> None:
    token = await make_token(app)
    async with client_for(app, token) as api:
        ids = await _seed(api)
    operation = SCHEMA[path][method]
    auth = {"Authorization": f"Bearer {token}"}
    real = _real_path_parameters(path, ids)
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE, headers=auth),
        operation.as_strategy(GenerationMode.NEGATIVE, headers=auth),
    ]
    if real:
        strategies += [
            operation.as_strategy(GenerationMode.POSITIVE, headers=auth, path_parameters=real),
            operation.as_strategy(GenerationMode.NEGATIVE, headers=auth, path_parameters=real),
        ]

    loop = asyncio.get_running_loop()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    http = httpx.AsyncClient(transport=transport)

    def send(request: httpx.Request) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(http.send(request), loop)
        return future.result(timeout=60)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def fuzz(case: Any) -> None:
        response = send(_prepare(case))
        case.validate_response(response, checks=[not_a_server_error, success_matches_schema])

    try:
        await asyncio.to_thread(fuzz)
    finally:
        await http.aclose()


def test_the_document_describes_the_error_bodies_the_api_sends():
    """Errors are problem documents (application/problem+json, `errors[*].field`); a client
    generated from the OpenAPI document must not be told to expect FastAPI's default
    `{"detail": [...]}` JSON body instead (what the fuzzing above leaves out of the
    conformance check, this checks once, on the document)."""
    wrong = sorted(
        f"{method.upper()} {path} -> {status}: {sorted(response.get('content', {}))}"
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        for status, response in operation.get("responses", {}).items()
        if status[0] in "45" and set(response.get("content", {})) - {"application/problem+json"}
    )
    assert not wrong, "error responses documented with another body:\n" + "\n".join(wrong)
