"""Pax8 behaviours the renewal path depends on, against the simulator over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from adapters.pax8 import spec
from adapters.pax8.adapter import Pax8Adapter
from adapters.pax8.simulator import Pax8Simulator, add_months
from hub.sdk.context import AdapterContext, RetryPolicy
from hub.sdk.errors import AbsenceUnproven, AuthenticationFailed, OutcomeUnknown, Rejected
from hub.sdk.oauth import MemoryTokenCache
from hub.sdk.records import OrderRequest
from hub.sdk.testing import Fault

FAST = RetryPolicy(max_attempts=4, deadline=5.0, backoff_initial=0.01, backoff_max=0.05, max_retry_after=5)
ORDERS = r"^/v1/orders$"


@asynccontextmanager
async def connected(
    sim: Pax8Simulator | None = None,
    *,
    sleeps: list[float] | None = None,
    http_timeout: float = 5.0,
    **config: Any,
) -> AsyncIterator[tuple[Pax8Adapter, Pax8Simulator]]:
    sim = sim or Pax8Simulator()

    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        await asyncio.sleep(0)

    async with sim.serve("loopback", http_timeout=http_timeout) as endpoint:
        ctx = AdapterContext(
            http=endpoint.http,
            tokens=MemoryTokenCache(lambda: datetime.now(UTC)),
            retry=FAST,
            timeout=http_timeout,
            sleep=sleep,
        )
        adapter = spec.create({**sim.config(endpoint.base_url), **config}, ctx)
        assert isinstance(adapter, Pax8Adapter)
        try:
            yield adapter, sim
        finally:
            await adapter.aclose()


def renewal_of(sim: Pax8Simulator, reference: str = "rnw-0001-2026") -> OrderRequest:
    sample = sim.sample_arguments()
    args = next(iter(sample.values()))
    sub = sim.subscriptions[args["subscription_external_id"]]
    return OrderRequest(
        reference=reference,
        tenant_external_id=sub.company_id,
        subscription_external_id=sub.id,
        product_external_id=sub.product_id,
        quantity=sub.quantity,
        term_months=12,
    )


def posts(sim: Pax8Simulator) -> list[Any]:
    return [r for r in sim.requests if r.method == "POST" and r.path == "/v1/orders"]


async def test_token_is_requested_as_json_with_the_pax8_audience() -> None:
    async with connected() as (adapter, sim):
        await adapter.verify()
    (token_call,) = [r for r in sim.requests if r.path == "/v1/token"]
    assert token_call.headers["content-type"].startswith("application/json")
    body = json.loads(token_call.body)
    assert body["audience"] == "https://api.pax8.com"
    assert body["grant_type"] == "client_credentials"

    # The simulator holds the adapter to it: Pax8 refuses the form encoding and a wrong audience.
    async with sim.serve("asgi") as endpoint:
        form = await endpoint.http.post(
            f"{endpoint.base_url}/v1/token",
            data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        )
    assert form.status_code == 415
    async with connected(audience="api://p8p.client") as (adapter, _):
        with pytest.raises(AuthenticationFailed):
            await adapter.verify()


async def test_is_mock_validates_and_never_persists() -> None:
    async with connected() as (adapter, sim):
        request = renewal_of(sim)
        sub = sim.subscriptions[request.subscription_external_id or ""]
        end_before = sub.commitment_end
        quote = await adapter.validate_order(request)
        assert quote.valid and quote.messages == ()
        assert quote.unit_price == Decimal("19.80") and quote.currency == "CHF"

        sim.refuse_product(request.product_external_id, "Product is no longer available for sale")
        with pytest.raises(Rejected, match="Product is no longer available for sale") as refused:
            await adapter.validate_order(request)
    assert refused.value.vendor_status == 422
    assert sim.mock_orders == 2
    assert sim.orders == [] and not sim.orders_per_term
    assert sub.commitment_end == end_before
    assert all("isMock=true" in r.query for r in posts(sim))


async def test_renewal_moves_the_end_date_by_one_term() -> None:
    async with connected() as (adapter, sim):
        request = renewal_of(sim)
        before = await adapter.get_subscription(request.subscription_external_id or "")
        order = await adapter.place_order(request)
        after = await adapter.get_subscription(request.subscription_external_id or "")
    assert order.reference == request.reference
    assert order.subscription_external_ids == (request.subscription_external_id,)
    assert before.end_date is not None and after.end_date == add_months(before.end_date, 12)
    assert sim.orders_per_term == {(request.subscription_external_id, before.end_date): 1}
    assert sim.orders[0].email == "renewals+rnw-0001-2026@msp.example.com"


@pytest.mark.parametrize("hang", [False, True], ids=["502-after-commit", "timeout-after-commit"])
async def test_a_lost_order_answer_is_found_by_reference_and_never_resent(hang: bool) -> None:
    sim = Pax8Simulator()
    sim.faults.add(Fault(commit_then_fail=True, status=502, hang=hang, method="POST", path=ORDERS))
    async with connected(sim, http_timeout=0.5 if hang else 5.0) as (adapter, sim):
        request = renewal_of(sim)
        assert await adapter.find_order(request.reference, request.tenant_external_id) is None
        with pytest.raises(OutcomeUnknown):
            await adapter.place_order(request)
        found = await adapter.find_order(request.reference, request.tenant_external_id)
        other = await adapter.find_order("rnw-never-placed", request.tenant_external_id)
    assert found is not None and found.reference == request.reference
    assert found.external_id == sim.orders[0].id
    assert other is None
    assert len(posts(sim)) == 1, "the order must not be re-sent"
    assert len(sim.orders) == 1 and sim.duplicate_terms() == [] and sim.early_renewals == []


async def test_an_unreadable_order_answer_is_an_unknown_outcome_not_an_error_to_retry() -> None:
    sim = Pax8Simulator()
    sim.faults.add(Fault(malformed=True, method="POST", path=ORDERS))
    async with connected(sim) as (adapter, sim):
        with pytest.raises(OutcomeUnknown):
            await adapter.place_order(renewal_of(sim))
    assert len(posts(sim)) == 1


async def test_a_long_reference_is_stored_as_a_stable_digest() -> None:
    reference = "Renewal/2026-11/" + "x" * 60
    async with connected() as (adapter, sim):
        request = renewal_of(sim, reference)
        await adapter.place_order(request)
        found = await adapter.find_order(reference, request.tenant_external_id)
    assert found is not None and found.reference == reference
    stored = sim.orders[0].email or ""
    assert len(stored.split("@")[0]) <= 64 and reference.lower() not in stored


async def test_rate_limit_without_retry_after_is_retried_with_backoff() -> None:
    sim = Pax8Simulator(page_size=2)
    fault = sim.faults.add(Fault(status=429, times=2, path=r"^/v1/subscriptions$", method="GET"))
    sleeps: list[float] = []
    async with connected(sim, sleeps=sleeps) as (adapter, sim):
        records = [r async for r in adapter.list_subscriptions()]
    assert fault.hits == 2
    limited = [r for r in sim.requests if r.status == 429]
    assert len(limited) == 2 and all("retry-after" not in r.headers for r in limited)
    assert len(sleeps) == 2 and all(0 <= s <= FAST.backoff_max for s in sleeps)
    assert {r.external_id for r in records} == set(sim.subscriptions)


async def test_a_rate_limited_order_is_sent_again_once() -> None:
    """A 429 proves Pax8 did not take the order: sending it again cannot duplicate it."""
    sim = Pax8Simulator()
    sim.faults.add(Fault(status=429, times=1, method="POST", path=ORDERS))
    async with connected(sim, sleeps=[]) as (adapter, sim):
        await adapter.place_order(renewal_of(sim))
    assert [r.status for r in posts(sim)] == [429, 200]
    assert len(sim.orders) == 1


async def test_a_refused_order_is_rejected_with_the_vendors_message() -> None:
    async with connected() as (adapter, sim):
        request = renewal_of(sim)
        sim.refuse_product(request.product_external_id, "Product is no longer available for sale")
        with pytest.raises(Rejected) as caught:
            await adapter.place_order(request)
    assert caught.value.vendor_status == 422
    assert "Product is no longer available for sale" in str(caught.value)
    assert sim.orders == []


async def test_quantity_is_changed_with_put_and_a_lost_answer_is_harmless() -> None:
    sim = Pax8Simulator()
    sim.faults.add(
        Fault(commit_then_fail=True, status=502, times=1, method="PUT", path=r"^/v1/subscriptions/")
    )
    async with connected(sim, sleeps=[]) as (adapter, sim):
        sub_id = renewal_of(sim).subscription_external_id or ""
        changed = await adapter.change_quantity(sub_id, 25)
        with pytest.raises(Rejected, match="cannot be decreased"):
            await adapter.change_quantity(sub_id, 3)
    puts = [r for r in sim.requests if r.method == "PUT"]
    assert json.loads(puts[0].body) == {"quantity": 25}
    assert changed.quantity == 25 and sim.subscriptions[sub_id].quantity == 25
    assert [r.status for r in puts] == [502, 200, 422]  # the absolute quantity was safely re-sent


@pytest.mark.parametrize("size", [1, 200])
async def test_paging_reads_everything_at_size(size: int) -> None:
    sim = Pax8Simulator(scale=(4, 11))
    async with connected(sim, page_size=size) as (adapter, sim):
        tenants = [t async for t in adapter.list_tenants()]
        subs = [s async for s in adapter.list_subscriptions()]
        one_company = [s async for s in adapter.list_subscriptions(tenants[0].external_id)]
    assert sorted(t.external_id for t in tenants) == sorted(sim.companies)
    assert sorted(s.external_id for s in subs) == sorted(sim.subscriptions)
    assert {s.tenant_external_id for s in one_company} == {tenants[0].external_id}
    pages = [r for r in sim.requests if r.path == "/v1/subscriptions"]
    assert all(f"size={size}" in r.query for r in pages)
    assert len(pages) == (11 // size + (1 if 11 % size else 0)) + len(one_company) // size + (
        1 if len(one_company) % size else 0
    )


async def test_the_simulator_refuses_pages_larger_than_200() -> None:
    sim = Pax8Simulator()
    async with sim.serve("asgi") as endpoint:
        token = (
            await endpoint.http.post(
                f"{endpoint.base_url}/v1/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": sim.config("")["client_id"],
                    "client_secret": sim.config("")["client_secret"],
                    "audience": "https://api.pax8.com",
                },
            )
        ).json()["access_token"]
        response = await endpoint.http.get(
            f"{endpoint.base_url}/v1/companies",
            params={"size": 201},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 422
    assert set(response.json()) == {"type", "message", "instance", "status", "details"}


async def test_subscriptions_carry_commitment_end_and_auto_renew() -> None:
    async with connected() as (adapter, sim):
        records = {r.external_id: r async for r in adapter.list_subscriptions()}
    today = sim.today()
    premium = records["5b0e7c11-0000-4000-8000-0000000005a1"]
    assert premium.auto_renew is True and premium.commitment_months == 12
    assert premium.end_date == today + timedelta(days=45)
    assert premium.unit_cost == Decimal("19.80") and premium.currency == "CHF"
    sophos = records["5b0e7c11-0000-4000-8000-0000000005a2"]
    assert sophos.auto_renew is False  # its commitment does not renew by itself
    backup = records["5b0e7c11-0000-4000-8000-0000000005a3"]
    assert backup.auto_renew is None and backup.end_date is None  # monthly, no commitment


async def test_subscription_states_follow_pax8s_state_machine() -> None:
    async with connected() as (adapter, sim):
        pending = "5b0e7c11-0000-4000-8000-0000000005c2"
        cancelling = "5b0e7c11-0000-4000-8000-0000000005b2"
        assert (await adapter.get_subscription(pending)).status == "PendingAutomated"
        assert (await adapter.get_subscription(cancelling)).status == "PendingCancel"
        sim.clock.advance(days=26)
        sim.revoke_tokens()  # days later the token has long expired anyway
        assert (await adapter.get_subscription(pending)).status == "Active"
        cancelled = await adapter.get_subscription(cancelling)
    assert cancelled.status == "Cancelled"
    assert sim.tokens.issued == 2, "the refused token was replaced once"


async def test_quote_follows_the_current_price() -> None:
    async with connected() as (adapter, sim):
        request = renewal_of(sim)
        before = await adapter.quote(request.subscription_external_id or "")
        sim.set_price(request.product_external_id, Decimal("29.70"))
        after = await adapter.quote(request.subscription_external_id or "", quantity=20)
    assert before.unit_price == Decimal("19.80") and before.term_months == 12
    assert after.unit_price == Decimal("29.70") and after.total == Decimal("594.00")


async def test_find_order_falls_back_when_pax8_drops_our_reference() -> None:
    """If Pax8 records another email than ours, the order is found by company, product,
    quantity and day, and an order carrying another of our references is never taken."""
    sim = Pax8Simulator(drop_order_email=True)
    async with connected(sim, order_visibility_lag_seconds=0) as (adapter, sim):
        request = renewal_of(sim)
        tenant = request.tenant_external_id
        sent_at = datetime.now(UTC)
        await adapter.place_order(request)
        # Without hints an order stored without our tag cannot be told apart: not "absent".
        with pytest.raises(AbsenceUnproven):
            await adapter.find_order(request.reference, tenant)
        found = await adapter.find_order(request.reference, tenant, like=request, placed_after=sent_at)
        other = request.model_copy(update={"quantity": request.quantity + 1})
        assert await adapter.find_order("rnw-other", tenant, like=other, placed_after=sent_at) is None
        # Without the time it was sent, last term's identical order would match too: no guess.
        with pytest.raises(AbsenceUnproven):
            await adapter.find_order(request.reference, tenant, like=request)
    assert found is not None and found.external_id == sim.orders[0].id


async def test_errors_never_leak_httpx() -> None:
    sim = Pax8Simulator()
    sim.faults.add(Fault(status=503, times=None, path=r"^/v1/(orders|companies)"))
    async with connected(sim, sleeps=[]) as (adapter, sim):
        with pytest.raises(OutcomeUnknown):
            await adapter.place_order(renewal_of(sim).model_copy(update={"subscription_external_id": None}))
        with pytest.raises(Exception) as raised:  # noqa: PT011 - any type, as long as it is the SDK's
            await adapter.verify()
        assert not isinstance(raised.value, httpx.HTTPError), "an httpx exception escaped"
        assert type(raised.value).__module__.startswith("hub.sdk")


def test_a_storm_partner_has_every_subscription_due_within_the_window() -> None:
    sim = Pax8Simulator(scale=(50, 400), ends_within_days=30)
    today = sim.today()
    subs = list(sim.subscriptions.values())
    assert len(subs) == 400 and len({s.company_id for s in subs}) == 50
    assert all(s.status == "Active" and s.commitment_id for s in subs)
    assert all(today < (s.commitment_end or today) <= today + timedelta(days=30) for s in subs)
    again = Pax8Simulator(scale=(50, 400), ends_within_days=30)
    assert sorted(again.subscriptions) == sorted(sim.subscriptions)  # deterministic
