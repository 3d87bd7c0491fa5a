"""Microsoft Graph adapter against its simulator over real loopback HTTP: one customer
tenant's seats, renewal dates and the DNS records its domains must publish."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import pytest

from adapters.microsoft_graph import spec
from adapters.microsoft_graph.simulator import MicrosoftGraphSimulator
from hub.sdk import (
    AccessToken,
    AdapterContext,
    AuthenticationFailed,
    MemoryTokenCache,
    RetryPolicy,
    TemporaryFailure,
)
from hub.sdk.testing import Fault
from hub.sdk.testing.conformance import FAST_RETRY

TENANT_A = "7d1e5c2a-3b4f-4e6a-9c8d-1a2b3c4d5e6f"
TENANT_B = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
NOT_CONSENTED = "3c2b1a0f-9e8d-4c7b-8a6f-5e4d3c2b1a0f"


@asynccontextmanager
async def running(
    sim: MicrosoftGraphSimulator, mode: str = "loopback", **overrides: Any
) -> AsyncIterator[tuple[Any, str]]:
    async with sim.serve(mode) as endpoint:  # type: ignore[arg-type]
        ctx = AdapterContext.standalone(endpoint.http, retry=FAST_RETRY, logger=logging.getLogger("test"))
        adapter = spec.create({**sim.config(endpoint.base_url), **overrides}, ctx)
        yield adapter, endpoint.base_url


async def collect(iterator: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in iterator]


async def read_everything(adapter: Any) -> dict[str, list[Any]]:
    return {
        "tenants": await collect(adapter.list_tenants()),
        "licences": await collect(adapter.list_licenses()),
        "subscriptions": await collect(adapter.list_subscriptions()),
        "domains": await collect(adapter.list_mail_domains()),
    }


async def test_token_is_requested_per_tenant_as_a_form_with_the_graph_default_scope() -> None:
    sim = MicrosoftGraphSimulator()
    async with running(sim) as (adapter, _):
        await adapter.verify()
    (call,) = [r for r in sim.requests if r.path.endswith("/oauth2/v2.0/token")]
    assert call.path == f"/{TENANT_A}/oauth2/v2.0/token"
    assert call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = parse_qs(call.body.decode())
    assert form["scope"] == ["https://graph.microsoft.com/.default"]
    assert form["grant_type"] == ["client_credentials"]


async def test_next_link_paging_at_page_size_one_returns_the_same_as_one_page() -> None:
    paged, whole = MicrosoftGraphSimulator(page_size=1), MicrosoftGraphSimulator(page_size=1000)
    async with running(paged) as (adapter, _):
        one_by_one = await read_everything(adapter)
    async with running(whole) as (adapter, _):
        at_once = await read_everything(adapter)
    assert one_by_one == at_once
    assert len(one_by_one["licences"]) == 4 and len(one_by_one["subscriptions"]) == 5
    followed = [r for r in paged.requests if "$skiptoken" in parse_qs(r.query)]
    assert followed, "no @odata.nextLink was followed"
    sku_pages = [parse_qs(r.query) for r in paged.requests if r.path == "/v1.0/subscribedSkus"]
    assert len(sku_pages) == 4
    assert all("$select" in q and "$filter" not in q for q in sku_pages), (
        "the next link was not followed verbatim"
    )


async def test_seats_paid_and_used_and_renewal_dates() -> None:
    sim = MicrosoftGraphSimulator()
    async with running(sim) as (adapter, _):
        licences = {lic.product_code: lic for lic in await collect(adapter.list_licenses())}
        subscriptions = {s.sku: s for s in await collect(adapter.list_subscriptions())}
    premium = licences["SPB"]
    assert (premium.seats_paid, premium.seats_used) == (25, 23)
    assert premium.product_name == "Microsoft 365 Business Premium"
    assert premium.end_date is not None and premium.end_date.isoformat() == "2026-03-01"
    assert licences["POWER_BI_PRO"].license_type == "trial"
    renewal = subscriptions["EXCHANGESTANDARD"]
    assert renewal.quantity == 5 and renewal.status == "Enabled"
    assert renewal.end_date is not None and renewal.end_date.isoformat() == "2026-01-15"
    assert subscriptions["O365_BUSINESS_ESSENTIALS"].status == "Deleted"


async def test_domains_produce_the_mx_spf_and_autodiscover_requirements() -> None:
    sim = MicrosoftGraphSimulator()
    async with running(sim) as (adapter, _):
        domains = {d.name: d for d in await collect(adapter.list_mail_domains())}
    custom = domains["harbourdental.co.uk"]
    assert custom.verified and custom.is_default
    wanted = {(r.purpose, r.type, r.name, r.value) for r in custom.required_records}
    assert ("mx", "MX", "harbourdental.co.uk", "harbourdental-co-uk.mail.protection.outlook.com") in wanted
    assert ("spf", "TXT", "harbourdental.co.uk", "v=spf1 include:spf.protection.outlook.com -all") in wanted
    assert ("autodiscover", "CNAME", "autodiscover.harbourdental.co.uk", "autodiscover.outlook.com") in wanted
    srv = {(r.name, r.value) for r in custom.required_records if r.type == "SRV"}
    assert ("_sip._tls.harbourdental.co.uk", "100 1 443 sipdir.online.lync.com") in srv
    assert not [r for r in custom.required_records if r.purpose == "verification"]
    pending = domains["harbour-dental.com"]
    assert not pending.verified
    assert {(r.purpose, r.type, r.value) for r in pending.required_records} == {
        ("verification", "TXT", "MS=ms48213377"),
        ("verification", "MX", "ms48213377.msv1.invalid"),
    }, "an unverified domain asks for its MS= record only (the unavailable service record is dropped)"
    assert domains["harbourdental.onmicrosoft.com"].required_records == ()


async def test_expired_token_mid_run_is_refreshed_and_the_run_completes() -> None:
    sim = MicrosoftGraphSimulator(page_size=1)
    async with running(sim) as (adapter, _):
        domains = []
        async for domain in adapter.list_mail_domains():
            if not domains:
                sim.clock.advance(seconds=3600)  # Microsoft's clock says the token is dead
            domains.append(domain)
    assert len(domains) == 3
    assert sim.token_requests == [TENANT_A, TENANT_A]
    refused = [r for r in sim.requests if r.status == 401]
    assert len(refused) == 1


async def test_a_token_for_tenant_a_is_refused_for_tenant_b() -> None:
    sim = MicrosoftGraphSimulator()
    async with sim.serve("loopback") as endpoint:
        cache = MemoryTokenCache(lambda: sim.clock())
        ctx = AdapterContext(http=endpoint.http, tokens=cache, retry=FAST_RETRY)
        tenant_a = spec.create(sim.config(endpoint.base_url), ctx)
        tenant_b = spec.create(sim.config(endpoint.base_url, tenant_id=TENANT_B), ctx)
        # One shared cache, two tenants: each gets its own token and sees its own data.
        assert [t.external_id for t in await collect(tenant_a.list_tenants())] == [TENANT_A]
        assert [t.external_id for t in await collect(tenant_b.list_tenants())] == [TENANT_B]
        assert sim.token_requests == [TENANT_A, TENANT_B]
        b_skus = {lic.product_code for lic in await collect(tenant_b.list_licenses())}
        assert b_skus == {"O365_BUSINESS_PREMIUM"}

        # Tenant A's token handed to tenant B's connection (a mixed-up cache): refused
        # before a single record of A is reported as B's.
        token_a = await cache.get_or_fetch(tenant_a.api.auth.cache_key, _unreachable)
        mixed = MemoryTokenCache(lambda: sim.clock())
        poisoned = spec.create(
            sim.config(endpoint.base_url, tenant_id=TENANT_B),
            AdapterContext(http=endpoint.http, tokens=mixed, retry=FAST_RETRY),
        )
        await mixed.get_or_fetch(poisoned.api.auth.cache_key, _returns(token_a))
        with pytest.raises(AuthenticationFailed, match="different tenant"):
            await collect(poisoned.list_licenses())


async def test_a_tenant_that_has_not_consented_is_an_authentication_failure() -> None:
    sim = MicrosoftGraphSimulator()
    async with running(sim, tenant_id=NOT_CONSENTED) as (adapter, _):
        with pytest.raises(AuthenticationFailed, match="AADSTS700016"):
            await adapter.verify()


async def test_throttling_and_unavailability_honour_retry_after() -> None:
    sim = MicrosoftGraphSimulator()
    sim.faults.add(Fault(status=429, retry_after="7", times=1, path=r"^/v1\.0/subscribedSkus"))
    sim.faults.add(Fault(status=503, retry_after="3", times=1, path=r"^/v1\.0/directory/subscriptions"))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with sim.serve("loopback") as endpoint:
        ctx = AdapterContext(
            http=endpoint.http,
            tokens=MemoryTokenCache(lambda: sim.clock()),
            retry=RetryPolicy(max_retry_after=60),
            sleep=sleep,
        )
        adapter = spec.create(sim.config(endpoint.base_url), ctx)
        licences = await collect(adapter.list_licenses())
    assert len(licences) == 4
    assert waits == [3.0, 7.0]


async def test_odata_request_id_is_the_errors_request_id() -> None:
    sim = MicrosoftGraphSimulator()
    body = sim.error_body(503)
    body["error"]["innerError"]["request-id"] = "0d6c8e1f-request-id-for-support"
    sim.faults.add(Fault(status=503, times=None, path=r"^/v1\.0/domains", body=body))
    async with running(sim) as (adapter, _):
        with pytest.raises(TemporaryFailure) as caught:
            await collect(adapter.list_mail_domains())
    assert caught.value.request_id == "0d6c8e1f-request-id-for-support"
    assert "serviceNotAvailable" in str(caught.value)


async def test_simulator_refuses_filter_on_subscribed_skus_and_other_audiences() -> None:
    sim = MicrosoftGraphSimulator()
    async with sim.serve("loopback") as endpoint:
        base, http = endpoint.base_url, endpoint.http

        async def token(scope: str) -> str:
            form = {"grant_type": "client_credentials", "client_id": sim.client_id, "scope": scope}
            form["client_secret"] = sim.client_secret
            answer = await http.post(f"{base}/{TENANT_A}/oauth2/v2.0/token", data=form)
            return str(answer.json()["access_token"])

        graph = {"Authorization": f"Bearer {await token('https://graph.microsoft.com/.default')}"}
        outlook = {"Authorization": f"Bearer {await token('https://outlook.office365.com/.default')}"}
        filtered = await http.get(f"{base}/v1.0/subscribedSkus", params={"$filter": "x"}, headers=graph)
        wrong_audience = await http.get(f"{base}/v1.0/subscribedSkus", headers=outlook)
        as_json = await http.post(
            f"{base}/{TENANT_A}/oauth2/v2.0/token", json={"grant_type": "client_credentials"}
        )
    assert filtered.status_code == 400 and filtered.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert wrong_audience.status_code == 401
    assert wrong_audience.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert as_json.status_code == 400 and "AADSTS900144" in as_json.json()["error_description"]


async def _unreachable() -> AccessToken:
    raise AssertionError("tenant A's token should already be cached")


def _returns(token: AccessToken) -> Any:
    async def fetch() -> AccessToken:
        return token

    return fetch
