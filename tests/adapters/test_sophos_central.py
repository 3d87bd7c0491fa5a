"""Sophos Central adapter against its simulator over real loopback HTTP: what a partner
needs to be true of its tenants and licences, whatever Sophos does on the wire."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import pytest

from adapters.sophos_central import spec
from adapters.sophos_central.simulator import TOKEN_PATH, SophosCentralSimulator
from hub.sdk import AdapterContext, AuthenticationFailed, ConfigurationError
from hub.sdk.testing import Fault
from hub.sdk.testing.conformance import FAST_RETRY


@asynccontextmanager
async def running(
    sim: SophosCentralSimulator, mode: str = "loopback", **overrides: Any
) -> AsyncIterator[tuple[Any, str]]:
    async with sim.serve(mode) as endpoint:  # type: ignore[arg-type]
        ctx = AdapterContext.standalone(endpoint.http, retry=FAST_RETRY, logger=logging.getLogger("test"))
        adapter = spec.create({**sim.config(endpoint.base_url), **overrides}, ctx)
        try:
            yield adapter, endpoint.base_url
        finally:
            await adapter.aclose()


async def collect(iterator: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in iterator]


async def test_token_request_is_a_form_with_scope_token() -> None:
    sim = SophosCentralSimulator()
    async with running(sim) as (adapter, _):
        await adapter.verify()
    token_calls = [r for r in sim.requests if r.path == TOKEN_PATH]
    assert len(token_calls) == 1
    assert token_calls[0].headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = parse_qs(token_calls[0].body.decode())
    assert form["scope"] == ["token"] and form["grant_type"] == ["client_credentials"]


async def test_simulator_refuses_json_tokens_and_missing_scope_like_sophos() -> None:
    sim = SophosCentralSimulator()
    async with sim.serve("loopback") as endpoint:
        creds = {"grant_type": "client_credentials", "client_id": sim.client_id}
        creds["client_secret"] = sim.client_secret
        as_json = await endpoint.http.post(endpoint.base_url + TOKEN_PATH, json={**creds, "scope": "token"})
        no_scope = await endpoint.http.post(endpoint.base_url + TOKEN_PATH, data=creds)
    assert as_json.status_code == 400 and as_json.json()["errorCode"] == "oauth.invalid_request"
    assert no_scope.status_code == 400 and no_scope.json()["errorCode"] == "oauth.invalid_scope"
    assert "trackingId" in no_scope.json()


async def test_simulator_enforces_partner_and_tenant_headers_and_regions_like_sophos() -> None:
    sim = SophosCentralSimulator()
    tenant = sim.tenants[0]
    async with sim.serve("loopback") as endpoint:
        base, http = endpoint.base_url, endpoint.http
        form = {"grant_type": "client_credentials", "scope": "token", "client_id": sim.client_id}
        form["client_secret"] = sim.client_secret
        token = (await http.post(base + TOKEN_PATH, data=form)).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        licences = f"{base}/region/{tenant['dataRegion']}/licenses/v1/licenses"
        other_region = f"{base}/region/us01/licenses/v1/licenses"
        answers = {
            "tenant call, right header": await http.get(
                licences, headers={**bearer, "X-Tenant-ID": tenant["id"]}
            ),
            "tenant call, partner header": await http.get(
                licences, headers={**bearer, "X-Partner-ID": sim.partner_id}
            ),
            "tenant call, wrong region": await http.get(
                other_region, headers={**bearer, "X-Tenant-ID": tenant["id"]}
            ),
            "partner call, tenant header": await http.get(
                f"{base}/partner/v1/tenants", headers={**bearer, "X-Tenant-ID": tenant["id"]}
            ),
            "partner call, other partner": await http.get(
                f"{base}/partner/v1/tenants", headers={**bearer, "X-Partner-ID": tenant["id"]}
            ),
        }
        sim.clock.advance(seconds=3601)
        expired = await http.get(f"{base}/whoami/v1", headers=bearer)
    assert {what: r.status_code for what, r in answers.items()} == {
        "tenant call, right header": 200,
        "tenant call, partner header": 403,
        "tenant call, wrong region": 403,
        "partner call, tenant header": 403,
        "partner call, other partner": 403,
    }
    assert expired.status_code == 401
    assert expired.json()["error"] == "Unauthorized" and {"correlationId", "requestId"} <= set(expired.json())


async def test_wrong_secret_is_authentication_failed_with_sophos_reason() -> None:
    sim = SophosCentralSimulator()
    async with running(sim, client_secret="sim-sophos-not-the-secret") as (adapter, _):
        with pytest.raises(AuthenticationFailed) as caught:
            await adapter.verify()
    assert "oauth.invalid_client_secret" in str(caught.value)


async def test_partner_id_that_is_not_the_credentials_owner_is_a_configuration_error() -> None:
    sim = SophosCentralSimulator()
    async with running(sim, partner_id="00000000-0000-0000-0000-000000000000") as (adapter, _):
        with pytest.raises(ConfigurationError) as caught:
            await adapter.verify()
        assert caught.value.field == "partner_id"
        with pytest.raises(ConfigurationError):
            await collect(adapter.list_tenants())
    assert not [r for r in sim.requests if r.path.startswith("/partner/")], (
        "listed tenants of a wrong partner"
    )


async def test_licences_are_read_from_each_tenants_regional_host_with_its_tenant_header() -> None:
    sim = SophosCentralSimulator()
    async with running(sim) as (adapter, _):
        licences = await collect(adapter.list_licenses())
    region_of = {t["id"]: t["dataRegion"] for t in sim.tenants}
    licence_calls = [r for r in sim.requests if "/licenses/" in r.path]
    assert licence_calls
    for call in licence_calls:
        tenant_id = call.headers["x-tenant-id"]
        assert call.path == f"/region/{region_of[tenant_id]}/licenses/v1/licenses"
        assert "x-partner-id" not in call.headers
    for call in (r for r in sim.requests if r.path.startswith("/partner/")):
        assert call.headers["x-partner-id"] == sim.partner_id and "x-tenant-id" not in call.headers
    # Seats paid vs used, and dates, as Sophos reports them.
    by_id = {lic.external_id: lic for lic in licences}
    email = by_id["8f1e2d3c-0003-4a5b-8c7d-100000000003"]
    assert (email.seats_paid, email.seats_used) == (50, 52)
    assert email.start_date.isoformat() == "2025-02-01" and email.end_date.isoformat() == "2026-01-31"
    perpetual = by_id["8f1e2d3c-0011-4a5b-8c7d-100000000011"]
    assert perpetual.end_date is None and perpetual.status == "active"


async def test_term_customer_without_partner_assistance_is_skipped_not_fatal() -> None:
    sim = SophosCentralSimulator()
    refused = next(t for t in sim.tenants if not t["partnerAssistance"])
    async with running(sim) as (adapter, _):
        licences = await collect(adapter.list_licenses())
        with pytest.raises(AuthenticationFailed):  # asked for by name: the refusal is the answer
            await collect(adapter.list_licenses(refused["id"]))
    assert {lic.external_id for lic in licences} == {lic["id"] for lic in sim.visible_licenses()}
    assert refused["id"] not in {lic.tenant_external_id for lic in licences}


@pytest.mark.parametrize("mode", ["asgi", "loopback"])
async def test_both_pagination_styles_at_page_size_one_return_everything_once(mode: str) -> None:
    sim = SophosCentralSimulator(page_size=1)
    async with running(sim, mode) as (adapter, _):
        tenants = await collect(adapter.list_tenants())
        licences = await collect(adapter.list_licenses())
    assert [t.external_id for t in tenants] == [t["id"] for t in sim.tenants]
    assert sorted(lic.external_id for lic in licences) == sorted(lic["id"] for lic in sim.visible_licenses())
    tenant_queries = [parse_qs(r.query) for r in sim.requests if r.path == "/partner/v1/tenants"]
    assert tenant_queries[0]["pageTotal"] == ["true"] and tenant_queries[0]["page"] == ["1"]
    assert [q["page"][0] for q in tenant_queries[: len(sim.tenants)]] == [
        str(n) for n in range(1, len(sim.tenants) + 1)
    ]
    keyed = [parse_qs(r.query) for r in sim.requests if "/licenses/" in r.path and "pageFromKey" in r.query]
    assert keyed, "no licence call followed pages.nextKey"


async def test_a_tenant_list_without_page_totals_is_still_read_to_the_end() -> None:
    sim = SophosCentralSimulator(scale=7, page_size=3, page_totals=False)
    async with running(sim) as (adapter, _):
        tenants = await collect(adapter.list_tenants())
    assert [t.external_id for t in tenants] == [t["id"] for t in sim.tenants]


async def test_licences_of_one_tenant_come_from_that_tenant_only() -> None:
    sim = SophosCentralSimulator()
    tenant = sim.tenants[1]
    async with running(sim) as (adapter, _):
        licences = await collect(adapter.list_licenses(tenant["id"]))
    assert {lic.external_id for lic in licences} == {lic["id"] for lic in tenant["licenses"]}
    assert {lic.tenant_external_id for lic in licences} == {tenant["id"]}


async def test_token_revoked_mid_run_is_fetched_again_once_and_the_run_completes() -> None:
    sim = SophosCentralSimulator(scale=40, page_size=5)
    async with running(sim) as (adapter, _):
        licences = []
        async for record in adapter.list_licenses():
            if not licences:
                sim.revoke_tokens()  # eight tenants' calls are about to meet a dead token at once
            licences.append(record)
    assert sim.token_requests == 2
    assert sorted(lic.external_id for lic in licences) == sorted(lic["id"] for lic in sim.visible_licenses())
    assert any(r.status == 401 for r in sim.requests)


async def test_expired_token_is_replaced_before_it_is_refused() -> None:
    sim = SophosCentralSimulator()
    async with sim.serve("asgi") as endpoint:
        ctx = AdapterContext.standalone(endpoint.http, retry=FAST_RETRY, clock=sim.clock)
        adapter = spec.create(sim.config(endpoint.base_url), ctx)
        await collect(adapter.list_tenants())
        sim.clock.advance(seconds=3601)
        tenants = await collect(adapter.list_tenants())
    assert len(tenants) == len(sim.tenants)
    assert sim.token_requests == 2
    assert not any(r.status == 401 for r in sim.requests), "sent a token past its expiry"


async def test_rate_limit_without_retry_after_and_5xx_are_ridden_out() -> None:
    sim = SophosCentralSimulator(page_size=2)
    sim.faults.add(Fault(status=429, times=2, path=r"^/partner/"))
    sim.faults.add(Fault(status=503, times=2, path=r"^/region/"))
    async with running(sim) as (adapter, _):
        licences = await collect(adapter.list_licenses())
    assert len(licences) == len(sim.visible_licenses())


@pytest.mark.slow  # about 3 s on an idle 2-core machine; tests/bench/bench_sync_sophos.py adds faults
async def test_a_2000_tenant_partner_is_read_completely() -> None:
    sim = SophosCentralSimulator(scale=2000)
    started = time.perf_counter()
    async with running(sim, "asgi") as (adapter, _):
        tenants = await collect(adapter.list_tenants())
        licences = await collect(adapter.list_licenses())
    elapsed = time.perf_counter() - started
    print(f"\n2,000 tenants, {len(licences)} licences read in {elapsed:.2f} s (ASGI)")
    assert len({t.external_id for t in tenants}) == len(tenants) == 2000
    expected = sorted(lic["id"] for lic in sim.visible_licenses())
    assert sorted(lic.external_id for lic in licences) == expected


# -- term read-back (issue 11): confirming a licence renewed through the distributor ----------


async def test_a_licence_term_is_read_back_whether_sophos_moves_it_or_adds_a_successor() -> None:
    import datetime as dt

    from hub.sdk import NotFound
    from hub.sdk.records import TermState

    sim = SophosCentralSimulator()
    tenant = next(t for t in sim.tenants if t["partnerAssistance"] and t["licenses"])
    first, second = tenant["licenses"][0], tenant["licenses"][1]
    ref = f"{tenant['id']}/{first['id']}"
    original_end = dt.date.fromisoformat(first["endDate"])
    async with running(sim) as (adapter, _):
        before = await adapter.read_term(ref)
        sim.extend_licence(first["id"], dt.date(2027, 1, 31))
        moved = await adapter.read_term(ref)
        successor = sim.add_successor(second["id"], dt.date(2027, 6, 30))
        continued = await adapter.read_term(second["id"])  # a bare licence id: tenants are searched
        with pytest.raises(NotFound):
            await adapter.read_term(f"{tenant['id']}/8f1e2d3c-9999-4a5b-8c7d-000000000000")
        with pytest.raises(NotFound):
            await adapter.read_term("8f1e2d3c-9999-4a5b-8c7d-000000000000")
    assert before.ends_on == original_end
    assert moved.ends_on == dt.date(2027, 1, 31) and moved.external_id == ref
    assert continued.ends_on == dt.date(2027, 6, 30)
    assert successor in continued.evidence and second["id"] in continued.evidence
    assert moved.state is TermState.active
