"""Dell TechDirect warranty lookups against the simulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from adapters.dell_techdirect import spec
from adapters.dell_techdirect.adapter import DellTechDirectAdapter
from adapters.dell_techdirect.simulator import CLIENT_ID, DISPATCH_CLIENT_ID, DellSimulator
from hub.sdk.context import AdapterContext, RetryPolicy
from hub.sdk.errors import AuthenticationFailed, TemporaryFailure
from hub.sdk.oauth import MemoryTokenCache
from hub.sdk.testing import Fault

FAST = RetryPolicy(max_attempts=4, deadline=5.0, backoff_initial=0.01, backoff_max=0.05, max_retry_after=5)


@asynccontextmanager
async def connected(
    sim: DellSimulator | None = None, *, http_timeout: float = 5.0, **config: Any
) -> AsyncIterator[tuple[DellTechDirectAdapter, DellSimulator]]:
    sim = sim or DellSimulator()

    async def no_wait(_: float) -> None:
        await asyncio.sleep(0)

    async with sim.serve("loopback", http_timeout=http_timeout) as endpoint:
        ctx = AdapterContext(
            http=endpoint.http,
            tokens=MemoryTokenCache(lambda: datetime.now(UTC)),
            retry=FAST,
            timeout=http_timeout,
            sleep=no_wait,
        )
        adapter = spec.create({**sim.config(endpoint.base_url), **config}, ctx)
        assert isinstance(adapter, DellTechDirectAdapter)
        yield adapter, sim


async def test_250_tags_take_three_calls_of_at_most_100() -> None:
    sim = DellSimulator(scale=240)
    tags = sorted(sim.assets)[:240] + [f"UNK{n:04d}" for n in range(10)]
    async with connected(sim) as (adapter, sim):
        records = await adapter.lookup_warranties(tags)
    assert [len(call) for call in sim.lookups] == [100, 100, 50]
    assert sorted(r.external_id for r in records) == sorted(tags)
    assert sum(r.found for r in records) == 240


async def test_unknown_and_malformed_tags_are_reported_as_not_found() -> None:
    async with connected() as (adapter, sim):
        records = await adapter.lookup_warranties(["7XK2QH3", "ZZZ9999", "7xk2qh3 ", "AB,CD", "", "x"])
    by_tag = {r.external_id: r for r in records}
    assert list(by_tag) == ["7XK2QH3", "ZZZ9999", "AB,CD", "X"]  # one per distinct tag, in the order asked
    assert by_tag["7XK2QH3"].found and by_tag["7XK2QH3"].model == "LATITUDE 5440"
    assert not by_tag["ZZZ9999"].found and by_tag["ZZZ9999"].entitlements == ()
    assert not by_tag["AB,CD"].found and not by_tag["X"].found
    assert sim.lookups == [["7XK2QH3", "ZZZ9999"]]  # what cannot be a tag is never sent


async def test_warranty_end_is_the_latest_entitlement_across_initial_and_extended() -> None:
    async with connected() as (adapter, sim):
        records = {
            r.external_id: r for r in await adapter.lookup_warranties(["4B7MZT2", "9FQW8R3", "5GHX1Z3"])
        }
    today = sim.clock().date()
    optiplex = records["4B7MZT2"]
    assert {e.kind for e in optiplex.entitlements} == {"INITIAL", "EXTENDED"}
    assert optiplex.ends_on == today + timedelta(days=35)  # the extension, not the lapsed initial term
    server = records["9FQW8R3"]
    assert server.ends_on == today + timedelta(days=1225)  # an extension that starts in the future counts
    assert [e.service_level for e in server.entitlements].count("PM") == 2
    assert server.ship_date == today - timedelta(days=600)
    assert records["5GHX1Z3"].found and records["5GHX1Z3"].ends_on is None  # shipped, not entitled yet


async def test_basic_client_authentication_works_where_the_gateway_requires_it() -> None:
    sim = DellSimulator(client_auth="basic")
    async with connected(sim) as (adapter, sim):
        identity = await adapter.verify()
    assert identity.account_ref == CLIENT_ID
    token_calls = [r for r in sim.requests if r.path.endswith("/token")]
    users = {base64.b64decode(r.headers["authorization"][6:]).decode().split(":")[0] for r in token_calls}
    assert users == {CLIENT_ID, DISPATCH_CLIENT_ID}  # one key per API, both sent as HTTP Basic
    for call in token_calls:
        form = parse_qs(call.body.decode())
        assert "client_secret" not in form and form["grant_type"] == ["client_credentials"]

    async with connected(DellSimulator(client_auth="basic"), client_auth="body") as (adapter, _):
        with pytest.raises(AuthenticationFailed):
            await adapter.verify()


async def test_the_simulator_refuses_json_tokens_and_more_than_100_tags() -> None:
    sim = DellSimulator()
    async with sim.serve("asgi") as endpoint:
        as_json = await endpoint.http.post(
            f"{endpoint.base_url}/auth/oauth/v2/token",
            json={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "x"},
        )
        token = (
            await endpoint.http.post(
                f"{endpoint.base_url}/auth/oauth/v2/token",
                data={
                    "grant_type": "client_credentials",
                    **{k: sim.config("")[k] for k in ("client_id", "client_secret")},
                },
            )
        ).json()["access_token"]
        too_many = await endpoint.http.get(
            f"{endpoint.base_url}/PROD/sbil/eapi/v5/asset-entitlements",
            params={"servicetags": ",".join(f"T{n:06d}" for n in range(101))},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert as_json.status_code == 400
    assert too_many.status_code == 400


async def test_an_expired_token_is_replaced_once() -> None:
    sim = DellSimulator(token_ttl=3600)
    async with connected(sim) as (adapter, sim):
        await adapter.lookup_warranties(["7XK2QH3"])
        sim.clock.advance(seconds=3601)  # Dell's clock: our cached token is now refused with 401
        records = await adapter.lookup_warranties(["7XK2QH3"])
    assert records[0].found
    assert sim.tokens.issued == 2
    assert [r.status for r in sim.requests if "asset-entitlements" in r.path] == [200, 401, 200]


async def test_rate_limits_and_5xx_are_retried() -> None:
    sim = DellSimulator()
    sim.faults.add(Fault(status=429, times=1, path=DellSimulator.data_paths))
    sim.faults.add(Fault(status=503, times=1, path=DellSimulator.data_paths))
    async with connected(sim) as (adapter, sim):
        records = await adapter.lookup_warranties(["7XK2QH3", "2MLDC93"])
    assert all(r.found for r in records)
    assert [r.status for r in sim.requests if "asset-entitlements" in r.path] == [429, 503, 200]


async def test_a_slow_gateway_is_a_temporary_failure() -> None:
    async with connected(DellSimulator(latency=1.0), http_timeout=0.2) as (adapter, _):
        with pytest.raises(TemporaryFailure):
            await adapter.lookup_warranties(["7XK2QH3"])
