"""The one retry policy and status mapping (hub.sdk.http), against a real HTTP server on
loopback with the shared fault plan: what is retried, what is not, and why."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.sdk import (
    AdapterContext,
    AuthenticationFailed,
    ClientCredentials,
    InvalidResponse,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    RetryPolicy,
    VendorHttp,
    VendorUnavailable,
)
from hub.sdk.http import parse_retry_after
from hub.sdk.testing import Fault, FaultPlan, serve_on_loopback
from hub.sdk.testing.faults import FaultInjector
from hub.sdk.testing.simulator import free_port


class Vendor:
    """A tiny vendor: a token endpoint, a read and an order endpoint that counts orders."""

    def __init__(self) -> None:
        self.plan = FaultPlan()
        self.orders = 0
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.token_bodies: list[tuple[str, bytes]] = []

    async def token(self, request: Request) -> Response:
        self.token_bodies.append((request.headers.get("content-type", ""), await request.body()))
        self.tokens_issued += 1
        value = f"tok{self.tokens_issued}"
        self.valid_tokens.add(value)
        return JSONResponse({"access_token": value, "token_type": "Bearer", "expires_in": 3600})

    async def items(self, request: Request) -> Response:
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.valid_tokens | {
            "static"
        }:
            return JSONResponse({"message": "token expired"}, status_code=401)
        return JSONResponse({"items": [1, 2, 3]})

    async def order(self, request: Request) -> Response:
        self.orders += 1
        return JSONResponse({"id": f"order-{self.orders}"}, status_code=201)

    async def invalid(self, request: Request) -> Response:
        return JSONResponse({"message": "quantity must be positive", "status": 422}, status_code=422)

    def app(self) -> FaultInjector:
        routes = [
            Route("/token", self.token, methods=["POST"]),
            Route("/items", self.items),
            Route("/orders", self.order, methods=["POST"]),
            Route("/invalid", self.invalid, methods=["POST"]),
        ]
        return FaultInjector(Starlette(routes=routes), self.plan, lambda status: {"message": f"sim {status}"})


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@asynccontextmanager
async def vendor_http(
    *, retry: RetryPolicy | None = None, http_timeout: float = 2.0, auth: str = "static"
) -> AsyncIterator[tuple[VendorHttp, Vendor, Sleeps, AdapterContext]]:
    vendor = Vendor()
    sleeps = Sleeps()
    async with serve_on_loopback(vendor.app()) as base, httpx.AsyncClient() as client:
        ctx = AdapterContext.standalone(client, retry=retry or RetryPolicy(deadline=10), timeout=http_timeout)
        ctx = AdapterContext(
            http=ctx.http,
            tokens=ctx.tokens,
            clock=ctx.clock,
            retry=ctx.retry,
            timeout=http_timeout,
            sleep=sleeps,
        )
        if auth == "oauth":
            credentials: Any = ClientCredentials(
                ctx, token_url=f"{base}/token", client_id="id", client_secret=SecretStr("s3cret-value")
            )
        else:
            from hub.sdk import StaticToken

            credentials = StaticToken(SecretStr("static"))
        yield VendorHttp(ctx, vendor="Vendor", base_url=base, auth=credentials), vendor, sleeps, ctx


async def test_a_read_is_retried_through_503s_and_succeeds() -> None:
    async with vendor_http() as (http, vendor, sleeps, _):
        vendor.plan.add(Fault(status=503, times=2, path="/items"))
        assert await http.get_json("/items") == {"items": [1, 2, 3]}
        assert len(sleeps.calls) == 2


async def test_retry_after_in_seconds_and_as_http_date_is_honoured() -> None:
    async with vendor_http() as (http, vendor, sleeps, _):
        vendor.plan.add(Fault(status=429, times=1, retry_after="3", path="/items"))
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
        vendor.plan.add(Fault(status=503, times=1, retry_after=when, path="/items"))
        await http.get_json("/items")
        assert sleeps.calls[0] == 3
        assert 3 < sleeps.calls[1] <= 5


async def test_a_long_retry_after_is_handed_to_the_caller_instead_of_slept_through() -> None:
    async with vendor_http(retry=RetryPolicy(max_retry_after=30)) as (http, vendor, sleeps, _):
        vendor.plan.add(Fault(status=429, times=1, retry_after="300", path="/items"))
        with pytest.raises(RateLimited) as caught:
            await http.get_json("/items")
        assert caught.value.retry_after == 300
        assert sleeps.calls == []


async def test_persistent_503_ends_as_vendor_unavailable_within_the_attempts() -> None:
    async with vendor_http(retry=RetryPolicy(max_attempts=3)) as (http, vendor, sleeps, _):
        vendor.plan.add(Fault(status=503, times=None, path="/items"))
        with pytest.raises(VendorUnavailable):
            await http.get_json("/items")
        assert len(sleeps.calls) == 2  # three attempts, two waits


async def test_a_write_whose_answer_is_a_5xx_is_outcome_unknown_and_never_resent() -> None:
    async with vendor_http() as (http, vendor, sleeps, _):
        vendor.plan.add(Fault(commit_then_fail=True, status=502, path="/orders"))
        with pytest.raises(OutcomeUnknown):
            await http.request("POST", "/orders", json={"q": 1})
        assert vendor.orders == 1
        assert sleeps.calls == []


async def test_a_write_that_times_out_after_sending_is_outcome_unknown() -> None:
    async with vendor_http(http_timeout=0.3) as (http, vendor, _, _ctx):
        vendor.plan.add(Fault(commit_then_fail=True, hang=True, path="/orders"))
        with pytest.raises(OutcomeUnknown):
            await http.request("POST", "/orders", json={"q": 1})
        assert vendor.orders == 1


async def test_a_write_refused_with_429_was_not_processed_and_is_retried_once_allowed() -> None:
    async with vendor_http() as (http, vendor, _, _ctx):
        vendor.plan.add(Fault(status=429, times=1, path="/orders"))
        response = await http.request("POST", "/orders", json={"q": 1})
        assert response.json() == {"id": "order-1"}
        assert vendor.orders == 1


async def test_a_write_to_an_unreachable_vendor_is_retried_because_nothing_was_sent() -> None:
    async with httpx.AsyncClient() as client:
        sleeps = Sleeps()
        base = AdapterContext.standalone(client, retry=RetryPolicy(max_attempts=3))
        ctx = AdapterContext(http=client, tokens=base.tokens, retry=base.retry, sleep=sleeps)
        http = VendorHttp(ctx, vendor="Vendor", base_url=f"http://127.0.0.1:{free_port()}")
        with pytest.raises(VendorUnavailable):
            await http.request("POST", "/orders", json={})
        assert len(sleeps.calls) == 2


async def test_a_vendor_validation_error_is_rejected_with_its_message() -> None:
    async with vendor_http() as (http, _vendor, _, _ctx):
        with pytest.raises(Rejected) as caught:
            await http.request("POST", "/invalid", json={})
        assert "quantity must be positive" in str(caught.value)
        assert caught.value.vendor_status == 422


async def test_garbage_instead_of_json_is_an_invalid_response() -> None:
    async with vendor_http() as (http, vendor, _, _ctx):
        vendor.plan.add(Fault(malformed=True, path="/items"))
        with pytest.raises(InvalidResponse):
            await http.get_json("/items")


async def test_an_unexpected_401_fetches_a_new_token_once_and_goes_on() -> None:
    async with vendor_http(auth="oauth") as (http, vendor, _, _ctx):
        await http.get_json("/items")
        vendor.valid_tokens.clear()  # the vendor revoked every token
        assert await http.get_json("/items") == {"items": [1, 2, 3]}
        assert vendor.tokens_issued == 2


async def test_a_401_that_persists_after_a_new_token_is_authentication_failed() -> None:
    async with vendor_http(auth="oauth") as (http, vendor, _, _ctx):
        vendor.plan.add(Fault(status=401, times=None, path="/items"))
        with pytest.raises(AuthenticationFailed):
            await http.get_json("/items")
        assert vendor.tokens_issued == 2


async def test_concurrent_callers_share_one_token_request() -> None:
    async with vendor_http(auth="oauth") as (http, vendor, _, _ctx):
        await asyncio.gather(*(http.get_json("/items") for _ in range(20)))
        assert vendor.tokens_issued == 1
        content_type, body = vendor.token_bodies[0]
        assert content_type == "application/x-www-form-urlencoded"
        assert b"grant_type=client_credentials" in body


async def test_json_token_requests_and_basic_client_auth_are_supported() -> None:
    vendor = Vendor()
    async with serve_on_loopback(vendor.app()) as base, httpx.AsyncClient() as client:
        ctx = AdapterContext.standalone(client)
        json_auth = ClientCredentials(
            ctx,
            token_url=f"{base}/token",
            client_id="id",
            client_secret=SecretStr("x"),
            encoding="json",
            audience="https://api.example",
        )
        await json_auth.headers()
        basic = ClientCredentials(
            ctx, token_url=f"{base}/token", client_id="id", client_secret=SecretStr("y"), client_auth="basic"
        )
        await basic.headers()
    (json_type, json_body), (form_type, form_body) = vendor.token_bodies
    assert json_type == "application/json"
    assert json.loads(json_body) == {
        "grant_type": "client_credentials",
        "audience": "https://api.example",
        "client_id": "id",
        "client_secret": "x",
    }
    assert form_type == "application/x-www-form-urlencoded"
    assert b"client_secret" not in form_body  # sent as HTTP Basic instead


async def test_logs_name_the_path_but_never_the_query_or_the_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with vendor_http(auth="oauth") as (http, _vendor, _, _ctx):
        await http.get_json("/items", params={"key": "query-secret"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/items" in text
    assert "query-secret" not in text and "s3cret-value" not in text and "tok1" not in text


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), ("0", 0.0), ("  7 ", 7.0), ("soon", None), (None, None), ("", None), ("-5", 0.0)],
)
def test_retry_after_parsing(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


async def test_nothing_is_sent_after_the_send_deadline() -> None:
    from hub.sdk import NotSent
    from hub.sdk.http import SEND_NOT_AFTER

    async with vendor_http() as (http, vendor, _, _ctx):
        token = SEND_NOT_AFTER.set(datetime.now(UTC) - timedelta(seconds=1))
        try:
            with pytest.raises(NotSent):
                await http.request("POST", "/orders", json={"q": 1})
        finally:
            SEND_NOT_AFTER.reset(token)
        assert vendor.orders == 0
        await http.request("POST", "/orders", json={"q": 1})
        assert vendor.orders == 1
