"""Cloudflare DNS adapter against its simulator over a real loopback socket: the 5-minute
block, idempotent creates (identical records, lost answers), pagination at Cloudflare's
minimum page size, account scoping."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from adapters.cloudflare_dns import spec
from adapters.cloudflare_dns.simulator import GOOD_TOKEN, PREFIX, CloudflareSimulator
from hub.sdk import AdapterContext, ConfigurationError, RateLimited, RetryPolicy
from hub.sdk.oauth import MemoryTokenCache
from hub.sdk.records import DnsRecordInput
from hub.sdk.testing import Clock, Fault
from hub.sdk.testing.conformance import FAST_RETRY

BIG_ZONE = "acme-dental.example"


@asynccontextmanager
async def adapter_for(
    sim: CloudflareSimulator, *, retry: RetryPolicy = FAST_RETRY, http_timeout: float = 5.0, **overrides: Any
) -> AsyncIterator[tuple[Any, list[float], str]]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with sim.serve("loopback", http_timeout=http_timeout) as endpoint:
        ctx = AdapterContext(
            http=endpoint.http,
            tokens=MemoryTokenCache(sim.clock),
            retry=retry,
            timeout=http_timeout,
            sleep=sleep,
        )
        adapter = spec.create({**sim.config(endpoint.base_url), **overrides}, ctx)
        try:
            yield adapter, sleeps, endpoint.base_url
        finally:
            await adapter.aclose()


def posts(sim: CloudflareSimulator) -> int:
    return len([r for r in sim.requests if r.method == "POST"])


async def test_tripped_rate_limit_reports_the_remaining_block_instead_of_sleeping_through_it() -> None:
    clock = Clock()
    sim = CloudflareSimulator(clock=clock, rate_limit=4)
    # The hub's own policy: a vendor asking for more than max_retry_after (60 s) is reported.
    async with adapter_for(sim, retry=RetryPolicy()) as (adapter, sleeps, base_url):
        for _ in range(4):
            assert [z async for z in adapter.list_zones()]
        started = time.monotonic()
        with pytest.raises(RateLimited) as blocked:
            [z async for z in adapter.list_zones()]
        assert time.monotonic() - started < 2 and not sleeps
        assert blocked.value.retry_after is not None and 299 <= blocked.value.retry_after <= 300

        # The block runs its 5 minutes whatever the request window does; each call while
        # blocked costs one request, no retries.
        clock.advance(seconds=100)
        before = len(sim.requests)
        with pytest.raises(RateLimited) as still:
            [z async for z in adapter.list_zones()]
        assert still.value.retry_after is not None and 199 <= still.value.retry_after <= 200
        assert len(sim.requests) == before + 1

        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {GOOD_TOKEN}"}) as raw:
            refused = await raw.get(f"{base_url}{PREFIX}/zones")
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) == 200
            clock.advance(seconds=201)
            assert [z async for z in adapter.list_zones()]
            answered = await raw.get(f"{base_url}{PREFIX}/zones")
            assert answered.status_code == 200 and "retry-after" not in answered.headers
            assert answered.headers["ratelimit-policy"] == '"default";q=4;w=300'
            assert answered.headers["ratelimit"].startswith('"default";r=')


async def test_creating_an_identical_record_returns_the_existing_one() -> None:
    sim = CloudflareSimulator()
    zone = sim.zone_named(BIG_ZONE)
    spf = next(r for r in zone.records.values() if r["content"].startswith("v=spf1"))
    before = len(zone.records)
    async with adapter_for(sim) as (adapter, _, _):
        # "@" is Cloudflare's name for the apex: still the same record.
        same = DnsRecordInput(type="TXT", name="@", content=spf["content"], ttl=3600)
        found = await adapter.create_record(zone.id, same)
    assert found.external_id == spf["id"] and found.name == BIG_ZONE
    assert len(zone.records) == before
    assert posts(sim) == 1


@pytest.mark.parametrize("hang", [False, True], ids=["5xx-after-commit", "timeout-after-commit"])
async def test_post_whose_answer_is_lost_is_found_and_not_sent_again(hang: bool) -> None:
    sim = CloudflareSimulator()
    zone = sim.zone_named(BIG_ZONE)
    sim.faults.hang_seconds = 2
    sim.faults.add(Fault(commit_then_fail=True, hang=hang, status=502, method="POST", path=r"/dns_records$"))
    wanted = DnsRecordInput(type="TXT", name="_hub-verify", content="hub-site-verification=42", ttl=300)
    async with adapter_for(sim, http_timeout=0.5 if hang else 5.0) as (adapter, _, _):
        created = await adapter.create_record(zone.id, wanted)
    assert created.name == f"_hub-verify.{BIG_ZONE}"
    matching = [r for r in zone.records.values() if r["content"] == "hub-site-verification=42"]
    assert [r["id"] for r in matching] == [created.external_id]
    assert posts(sim) == 1, "the POST was sent again although the record existed"


async def test_post_lost_before_it_applied_is_sent_once_more() -> None:
    sim = CloudflareSimulator()
    zone = sim.zone_named(BIG_ZONE)
    sim.faults.add(Fault(status=502, method="POST", path=r"/dns_records$"))  # refused, nothing created
    wanted = DnsRecordInput(type="A", name="vpn", content="198.51.100.77", ttl=300, proxied=False)
    async with adapter_for(sim) as (adapter, _, _):
        created = await adapter.create_record(zone.id, wanted)
    assert [r["id"] for r in zone.records.values() if r["name"] == f"vpn.{BIG_ZONE}"] == [created.external_id]
    assert posts(sim) == 2


async def test_pages_are_never_smaller_than_cloudflares_minimum_of_five() -> None:
    sim = CloudflareSimulator(page_size=1)
    zone = sim.zone_named(BIG_ZONE)
    async with adapter_for(sim) as (adapter, _, base_url):
        records = [r async for r in adapter.list_records(zone.id)]
        reads = [parse_qs(r.query) for r in sim.requests if r.path.endswith(f"{zone.id}/dns_records")]
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {GOOD_TOKEN}"}) as raw:
            too_small = await raw.get(f"{base_url}{PREFIX}/zones", params={"per_page": 1})
            served = await raw.get(
                f"{base_url}{PREFIX}/zones/{zone.id}/dns_records", params={"per_page": 100}
            )
    assert sorted(r.external_id for r in records) == sorted(zone.records)
    assert len(zone.records) == 14
    assert [(q["page"], q["per_page"]) for q in reads] == [
        (["1"], ["500"]),
        (["2"], ["500"]),
        (["3"], ["500"]),
    ]
    assert too_small.status_code == 400 and too_small.json()["errors"][0]["code"] == 6008
    assert served.json()["result_info"] == {
        "page": 1,
        "per_page": 5,
        "count": 5,
        "total_count": 14,
        "total_pages": 3,
    }


async def test_only_the_configured_accounts_zones_are_listed() -> None:
    sim = CloudflareSimulator()
    async with adapter_for(sim) as (adapter, _, _):
        names = {z.name async for z in adapter.list_zones()}
    assert "other-msp-client.example" not in names
    assert len(names) == 7


async def test_an_account_the_token_cannot_see_is_a_configuration_error() -> None:
    sim = CloudflareSimulator()
    async with adapter_for(sim, account_id="0123456789abcdef0123456789abcdef") as (adapter, _, _):
        with pytest.raises(ConfigurationError) as wrong:
            await adapter.verify()
    assert wrong.value.field == "account_id"
