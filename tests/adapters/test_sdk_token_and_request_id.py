"""Two contract fixes made with the Sophos and Graph adapters: a 401 met by several
requests in flight re-fetches the token once, and a request id carried in an error body
(Graph's innerError.request-id, Sophos' requestId) reaches the AdapterError."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hub.sdk import AdapterContext, ClientCredentials, NotFound, VendorHttp
from hub.sdk.testing.conformance import FAST_RETRY


def _token_server() -> tuple[httpx.AsyncClient, list[str]]:
    issued: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        issued.append(f"token-{len(issued) + 1}")
        return httpx.Response(200, json={"access_token": issued[-1], "expires_in": 3600})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), issued


async def test_concurrent_requests_refused_together_refetch_the_token_once() -> None:
    client, issued = _token_server()
    async with client:
        ctx = AdapterContext.standalone(client, retry=FAST_RETRY)
        auth = ClientCredentials(
            ctx, token_url="http://idp.test/token", client_id="c", client_secret=SecretStr("s")
        )
        both_sent, a_may_refetch, b_may_refresh = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def first() -> dict[str, str]:
            await auth.headers()  # sends token-1, refused
            await both_sent.wait()
            await auth.refresh()
            await a_may_refetch.wait()
            fresh = await auth.headers()  # token-2
            b_may_refresh.set()
            return fresh

        async def second() -> dict[str, str]:
            await auth.headers()  # sends token-1 too, its 401 arrives after first() re-fetched
            both_sent.set()
            a_may_refetch.set()
            await b_may_refresh.wait()
            await auth.refresh()  # must drop token-1 (already gone), not token-2
            return await auth.headers()

        results = await asyncio.gather(asyncio.create_task(first()), asyncio.create_task(second()))
    assert issued == ["token-1", "token-2"]
    assert results[0] == results[1] == {"Authorization": "Bearer token-2"}


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (
            {"error": {"code": "x", "innerError": {"request-id": "from-body"}}},
            {"request-id": "hdr"},
            "from-body",
        ),
        ({"error": {"code": "x"}}, {"request-id": "from-header"}, "from-header"),
    ],
)
async def test_request_id_is_read_from_the_body_when_the_vendor_puts_it_there(
    body: dict[str, Any], headers: dict[str, str], expected: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json=body, headers=headers)

    def from_body(response: httpx.Response) -> str | None:
        inner = response.json().get("error", {}).get("innerError") or {}
        value = inner.get("request-id")
        return value if isinstance(value, str) else None

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        http = VendorHttp(AdapterContext.standalone(client), vendor="v", request_id=from_body)
        with pytest.raises(NotFound) as caught:
            await http.get_json("http://vendor.test/thing")
    assert caught.value.request_id == expected
