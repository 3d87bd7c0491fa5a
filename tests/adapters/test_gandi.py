"""Gandi adapter against its simulator over real loopback HTTP: domains of one
organisation, renewals that Gandi applies late, and a lost renewal answer that must be
found (or proven absent) without a reference, an order id or an order list to read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.gandi import spec
from adapters.gandi.adapter import GandiAdapter
from adapters.gandi.simulator import GandiSimulator, add_years
from hub.sdk import (
    AbsenceUnproven,
    AdapterContext,
    AuthenticationFailed,
    ConfigurationError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Rejected,
)
from hub.sdk.oauth import MemoryTokenCache
from hub.sdk.records import OrderRequest, TermState
from hub.sdk.testing import Fault
from hub.sdk.testing.conformance import FAST_RETRY

RENEW = r"^/v5/domain/domains/[^/]+/renew$"
SETTLE = 600


@asynccontextmanager
async def connected(sim: GandiSimulator, **overrides: Any) -> AsyncIterator[GandiAdapter]:
    async def sleep(_: float) -> None:
        await asyncio.sleep(0)

    async with sim.serve("loopback") as endpoint:
        ctx = AdapterContext(
            http=endpoint.http,
            tokens=MemoryTokenCache(sim.clock),
            clock=sim.clock,
            retry=FAST_RETRY,
            sleep=sleep,
        )
        config = {**sim.config(endpoint.base_url), "renewal_settle_seconds": SETTLE, **overrides}
        adapter = spec.create(config, ctx)
        assert isinstance(adapter, GandiAdapter)
        try:
            yield adapter
        finally:
            await adapter.aclose()


def renewal(sim: GandiSimulator, fqdn: str = "client-a.com", reference: str = "rnw-dom-0001") -> OrderRequest:
    return OrderRequest(
        reference=reference,
        tenant_external_id=sim.sharing_id,
        subscription_external_id=fqdn,
        product_external_id=f"domain:{fqdn.rsplit('.', 1)[-1]}",
        quantity=1,
        term_months=12,
        expected_current_end=sim.expiry_of(fqdn),
    )


def real_renewals(sim: GandiSimulator) -> list[Any]:
    return [
        r
        for r in sim.requests
        if r.method == "POST" and r.path.endswith("/renew") and r.headers.get("dry-run") == "0"
    ]


async def lookup(adapter: GandiAdapter, request: OrderRequest, sent_at: Any) -> Any:
    try:
        return await adapter.find_order(
            request.reference, request.tenant_external_id, like=request, placed_after=sent_at
        )
    except AbsenceUnproven as unproven:
        return unproven


async def test_a_personal_access_token_is_sent_as_bearer_and_a_legacy_key_as_apikey() -> None:
    sim = GandiSimulator(api_key="legacy-apikey-24characters")
    async with connected(sim) as adapter:
        identity = await adapter.verify()
    async with connected(sim, token="legacy-apikey-24characters", auth_scheme="apikey") as legacy:
        await legacy.verify()
    headers = [r.headers["authorization"].split(" ")[0] for r in sim.requests]
    assert headers == ["Bearer", "Apikey"]
    assert identity.account_ref == sim.sharing_id and identity.name == "MSP Example Srl"


async def test_an_expired_token_is_refused_once_and_an_unreachable_organisation_is_a_config_error() -> None:
    sim = GandiSimulator(pat_expires_in=60)
    async with connected(sim) as adapter:
        await adapter.verify()
        sim.clock.advance(seconds=61)
        with pytest.raises(AuthenticationFailed):
            await adapter.verify()
    assert len(sim.requests) == 2, "a static token is not retried"
    async with connected(GandiSimulator(), sharing_id="77a0c2f4-0000-0000-0000-000000000000") as adapter:
        with pytest.raises(ConfigurationError) as caught:
            await adapter.verify()
    assert caught.value.field == "sharing_id"


@pytest.mark.parametrize("header", [True, False], ids=["total-count", "no-total-count"])
@pytest.mark.parametrize("served", [1, 2, None], ids=["serves-1", "serves-2", "serves-asked"])
async def test_every_domain_of_the_organisation_is_listed_once(header: bool, served: int | None) -> None:
    sim = GandiSimulator(page_size=served, total_count_header=header)
    async with connected(sim, page_size=3) as adapter:
        domains = [d async for d in adapter.list_domains()]
    assert [d.name for d in domains] == [
        "client-a.com",
        "client-a.it",
        "client-b.fr",
        "client-c.org",
        "locked-example.net",
    ]
    assert all(q.query.count("sharing_id=") == 1 for q in sim.requests)
    locked = next(d for d in domains if d.name == "locked-example.net")
    assert locked.statuses == ("clientRenewProhibited",)
    assert domains[0].expires_on == sim.expiry_of("client-a.com")


async def test_another_organisations_domain_is_not_found() -> None:
    async with connected(GandiSimulator()) as adapter:
        with pytest.raises(NotFound):
            await adapter.read_term("someone-else.org")
        with pytest.raises(NotFound):
            await adapter.get_subscription("no-such-domain.com")


async def test_the_dry_run_checks_without_renewing() -> None:
    sim = GandiSimulator()
    async with connected(sim) as adapter:
        quote = await adapter.validate_order(renewal(sim))
        two_years = await adapter.validate_order(renewal(sim).model_copy(update={"term_months": 24}))
        with pytest.raises(Rejected, match="clientRenewProhibited"):
            await adapter.validate_order(renewal(sim, "locked-example.net"))
        with pytest.raises(Rejected, match="whole years"):
            await adapter.validate_order(renewal(sim).model_copy(update={"term_months": 18}))
        with pytest.raises(Rejected, match="not 11"):
            await adapter.validate_order(renewal(sim).model_copy(update={"term_months": 132}))
    assert quote.unit_price == Decimal("14.50") and quote.currency == "EUR" and quote.term_months == 12
    assert two_years.unit_price == Decimal("29.00")
    assert sim.dry_runs == 2 and sim.renewals_per_term == {} and real_renewals(sim) == []
    dry = [r for r in sim.requests if r.method == "POST"]
    assert all(
        r.headers["dry-run"] == "1" and json.loads(r.body) == {"duration": d} for r, d in zip(dry, (1, 2))
    )


async def test_a_renewal_is_applied_late_and_read_back_when_it_is() -> None:
    sim = GandiSimulator(renew_delay=120)
    async with connected(sim) as adapter:
        before = await adapter.read_term("client-a.com")
        order = await adapter.place_order(renewal(sim))
        during = await adapter.read_term("client-a.com")
        pending_sub = await adapter.get_subscription("client-a.com")
        sim.clock.advance(seconds=121)
        after = await adapter.read_term("client-a.com")
    assert before.ends_on is not None
    assert during.state is TermState.pending and during.ends_on == before.ends_on
    assert pending_sub.status == "PendingRenew"
    assert after.state is TermState.active and after.ends_on == add_years(before.ends_on, 1)
    assert order.external_id == f"renew:client-a.com:{before.ends_on.isoformat()}"
    assert "pendingRenew" in during.evidence


@pytest.mark.parametrize("delay", [0, 120], ids=["applied-at-once", "applied-late"])
async def test_a_lost_renewal_answer_is_found_and_never_resent(delay: int) -> None:
    sim = GandiSimulator(renew_delay=delay)
    sim.faults.add(Fault(commit_then_fail=True, status=502, method="POST", path=RENEW))
    async with connected(sim) as adapter:
        request = renewal(sim)
        sent_at = sim.clock()
        with pytest.raises(OutcomeUnknown):
            await adapter.place_order(request)
        found = await lookup(adapter, request, sent_at)
        with pytest.raises(Rejected):  # a blind resend is refused before anything is sent
            await adapter.place_order(request)
        sim.clock.advance(seconds=SETTLE + 1)
        later = await lookup(adapter, request, sent_at)
    assert found.pending is (delay > 0) and found.reference == request.reference
    assert later.external_id == found.external_id and later.pending is False
    assert len(real_renewals(sim)) == 1 and sim.duplicate_renewals() == []


async def test_a_renewal_that_never_arrived_is_proven_absent_only_once_gandi_has_settled() -> None:
    sim = GandiSimulator()
    sim.faults.add(Fault(status=503, method="POST", path=RENEW))
    async with connected(sim) as adapter:
        request = renewal(sim)
        sent_at = sim.clock()
        with pytest.raises(OutcomeUnknown):
            await adapter.place_order(request)
        early = await lookup(adapter, request, sent_at)
        sim.clock.advance(seconds=SETTLE + 1)
        settled = await lookup(adapter, request, sent_at)
        no_expected = await lookup(
            adapter, request.model_copy(update={"expected_current_end": None}), sent_at
        )
        with pytest.raises(AbsenceUnproven, match="the domain and the term it renews"):
            await adapter.find_order(request.reference, sim.sharing_id)
        with pytest.raises(AbsenceUnproven, match="unknown time"):
            await adapter.find_order(request.reference, sim.sharing_id, like=request)
        resent = await adapter.place_order(request)  # proven absent: sending again is safe
    assert isinstance(early, AbsenceUnproven) and 0 < (early.retry_after or 0) <= SETTLE
    assert "has not moved" in early.evidence
    assert settled is None
    assert isinstance(no_expected, AbsenceUnproven)
    assert resent.external_id.startswith("renew:client-a.com:")
    assert sim.renewals_per_term == {("client-a.com", request.expected_current_end): 1}


async def test_a_term_that_moved_on_is_never_renewed_again() -> None:
    """The expiry passed the term this order renews (renewed by hand, or by autorenew): the
    adapter refuses before sending; find_order counts the term as renewed."""
    sim = GandiSimulator(renew_delay=0)
    async with connected(sim) as adapter:
        request = renewal(sim)
        await adapter.place_order(request.model_copy(update={"reference": "rnw-by-hand"}))
        with pytest.raises(Rejected, match="already runs to"):
            await adapter.place_order(request)
        found = await lookup(adapter, request, sim.clock() - timedelta(hours=1))
    assert found.pending is False and found.reference == request.reference
    assert len(real_renewals(sim)) == 1


async def test_the_simulator_makes_a_blind_double_renewal_visible() -> None:
    sim = GandiSimulator(renew_delay=300)
    async with connected(sim) as adapter:
        await adapter.place_order(renewal(sim))
    async with sim.serve("asgi") as endpoint:
        for _ in range(2):
            await endpoint.http.post(
                f"{endpoint.base_url}/v5/domain/domains/client-a.com/renew",
                json={"duration": 1},
                headers={"Authorization": f"Bearer {sim.token}", "Dry-Run": "0"},
            )
    assert len(sim.duplicate_renewals()) == 1  # three renewals sent for the one term
    before = renewal(sim).expected_current_end
    sim.clock.advance(seconds=301)
    assert before is not None and sim.expiry_of("client-a.com") == add_years(before, 3)


async def test_rate_limits_with_and_without_retry_after_and_gandis_error_bodies() -> None:
    for retry_after in (None, "1"):
        sim = GandiSimulator(requests_per_minute=1, retry_after=retry_after)
        async with connected(sim) as adapter:
            await adapter.read_term("client-a.com")
            with pytest.raises(RateLimited):
                await adapter.read_term("client-a.com")
        limited = [r for r in sim.requests if r.status == 429]
        assert len(limited) == FAST_RETRY.max_attempts
    sim = GandiSimulator(can_renew=False)
    async with connected(sim) as adapter:
        with pytest.raises(AuthenticationFailed, match="does not allow domain renewal"):
            await adapter.place_order(renewal(sim))
    sim = GandiSimulator()
    async with connected(sim) as adapter:
        with pytest.raises(Rejected, match="duration must be one of"):
            await adapter.api.renew("client-b.fr", 11, dry_run=True)
        with pytest.raises(NotFound, match="could not be found"):
            await adapter.api.renew("no-such-domain.com", 1, dry_run=True)
