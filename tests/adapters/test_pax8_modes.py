"""Pax8's forgetful modes (issue 11) and what `find_order` may conclude in each.

The simulator can keep no reference (`keep_order_email=False`), apply an accepted order
late (`provisioning_delay`), and list a new order late (`order_list_lag`), alone or all at
once, under the common fault plan. In every mode `find_order` has three outcomes: the
order (in any state), None only on proof that none exists, or `AbsenceUnproven`. The
simulator's and the adapter's clocks are the same object, so tests move time instead of
sleeping; everything runs over a real loopback socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.pax8 import spec
from adapters.pax8.adapter import Pax8Adapter
from adapters.pax8.simulator import Pax8Simulator, add_months
from hub.sdk.capabilities import order_visibility_lag
from hub.sdk.context import AdapterContext, RetryPolicy
from hub.sdk.errors import AbsenceUnproven, NotFound, OutcomeUnknown
from hub.sdk.oauth import MemoryTokenCache
from hub.sdk.records import DeliverableKind, OrderRequest, TermState
from hub.sdk.testing import Clock, Fault

FAST = RetryPolicy(max_attempts=3, deadline=5.0, backoff_initial=0.01, backoff_max=0.02, max_retry_after=5)
REAL_ORDER = {"method": "POST", "path": r"^/v1/orders$", "query": r"^$"}  # not the isMock dry run
DECLARED_LAG = 300  # the adapter's order_visibility_lag_seconds in these tests
SIM_LAG = 120  # the simulator's true list lag (shorter than declared: see the README)
DELAY = 180  # provisioning delay
BACKUP = "6f1c0b52-3e0a-4a77-9d0b-1a2b3c4d5e04"  # a monthly product without commitment

MODES: dict[str, dict[str, Any]] = {
    "reference-kept": {},
    "no-reference-kept": {"keep_order_email": False},
    "provisioning-delayed": {"provisioning_delay": DELAY},
    "order-list-lagging": {"order_list_lag": SIM_LAG},
    "all-at-once": {"keep_order_email": False, "provisioning_delay": DELAY, "order_list_lag": SIM_LAG},
}


@asynccontextmanager
async def connected(sim: Pax8Simulator, **config: Any) -> AsyncIterator[Pax8Adapter]:
    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    async with sim.serve("loopback") as endpoint:
        ctx = AdapterContext(
            http=endpoint.http,
            tokens=MemoryTokenCache(sim.clock),
            clock=sim.clock,  # one clock for Pax8 and for us: tests move time, never sleep
            retry=FAST,
            sleep=no_sleep,
        )
        settings = {"order_visibility_lag_seconds": DECLARED_LAG, **config}
        adapter = spec.create({**sim.config(endpoint.base_url), **settings}, ctx)
        assert isinstance(adapter, Pax8Adapter)
        try:
            yield adapter
        finally:
            await adapter.aclose()


def renewal_of(sim: Pax8Simulator, reference: str = "rnw-0042-2026") -> OrderRequest:
    args = sim.sample_arguments()
    sub = sim.subscriptions[next(iter(args.values()))["subscription_external_id"]]
    return OrderRequest(
        reference=reference,
        tenant_external_id=sub.company_id,
        subscription_external_id=sub.id,
        product_external_id=sub.product_id,
        quantity=sub.quantity,
        term_months=12,
    )


def real_posts(sim: Pax8Simulator) -> int:
    return sum(1 for r in sim.requests if r.method == "POST" and r.path == "/v1/orders" and not r.query)


async def lookup(adapter: Pax8Adapter, request: OrderRequest, sent_at: datetime) -> Any:
    """find_order's outcome as a value: the record, None, or the AbsenceUnproven raised."""
    try:
        return await adapter.find_order(
            request.reference, request.tenant_external_id, like=request, placed_after=sent_at
        )
    except AbsenceUnproven as unproven:
        return unproven


@pytest.mark.parametrize("mode", MODES)
async def test_a_lost_answer_is_found_in_every_mode_and_never_reported_absent(mode: str) -> None:
    sim = Pax8Simulator(**MODES[mode])
    sim.faults.add(Fault(commit_then_fail=True, status=502, **REAL_ORDER))
    async with connected(sim) as adapter:
        request = renewal_of(sim)
        sent_at = sim.clock()
        with pytest.raises(OutcomeUnknown):
            await adapter.place_order(request)
        (order,) = sim.orders
        outcomes = [await lookup(adapter, request, sent_at)]
        for step in (30, 60, 60, 200):  # past the list lag, the provisioning and the declared lag
            sim.clock.advance(seconds=step)
            outcomes.append(await lookup(adapter, request, sent_at))
    assert not any(outcome is None for outcome in outcomes), "an order that exists was reported absent"
    if sim.order_list_lag:
        # Not listed yet: the adapter cannot see it, and says it cannot prove anything.
        assert isinstance(outcomes[0], AbsenceUnproven) and outcomes[0].retry_after
    found = outcomes[-1]
    assert found.external_id == order.id and found.reference == request.reference
    assert real_posts(sim) == 1 and sim.duplicate_terms() == []


@pytest.mark.parametrize("mode", MODES)
async def test_an_order_that_never_arrived_is_proven_absent_only_after_the_declared_lag(mode: str) -> None:
    sim = Pax8Simulator(**MODES[mode])
    sim.faults.add(Fault(status=503, **REAL_ORDER))  # refused before it was applied
    async with connected(sim) as adapter:
        request = renewal_of(sim)
        sent_at = sim.clock()
        with pytest.raises(OutcomeUnknown):
            await adapter.place_order(request)
        early = await lookup(adapter, request, sent_at)
        sim.clock.advance(seconds=DECLARED_LAG - 1)
        still_early = await lookup(adapter, request, sent_at)
        sim.clock.advance(seconds=2)
        settled = await lookup(adapter, request, sent_at)
    assert sim.orders == []
    for unproven in (early, still_early):
        assert isinstance(unproven, AbsenceUnproven)
        assert unproven.retry_after is not None and 0 < unproven.retry_after <= DECLARED_LAG
        assert "0 order(s) listed" in unproven.evidence
    assert settled is None  # the whole list read, nothing matches, the lag has passed: proof


async def test_a_pending_order_counts_as_placed_while_the_end_date_has_not_moved() -> None:
    sim = Pax8Simulator(provisioning_delay=DELAY, keep_order_email=False)
    sim.faults.add(Fault(commit_then_fail=True, status=502, **REAL_ORDER))
    async with connected(sim) as adapter:
        request = renewal_of(sim)
        sub_id = request.subscription_external_id or ""
        before = await adapter.get_subscription(sub_id)
        sent_at = sim.clock()
        with pytest.raises(OutcomeUnknown):
            await adapter.place_order(request)
        during = await adapter.get_subscription(sub_id)
        found = await lookup(adapter, request, sent_at)
        sim.clock.advance(seconds=DELAY + 1)
        after = await adapter.get_subscription(sub_id)
        term = await adapter.read_term(sub_id)
    assert during.status == "PendingAutomated" and during.end_date == before.end_date  # not moved yet
    assert found.pending is True and found.external_id == sim.orders[0].id
    assert before.end_date is not None and after.end_date == add_months(before.end_date, 12)
    assert after.status == "Active" and term.state is TermState.active and term.ends_on == after.end_date
    assert real_posts(sim) == 1 and sim.duplicate_terms() == []


async def test_a_second_order_during_provisioning_is_a_duplicate_the_simulator_counts() -> None:
    """The simulator makes a blind resend visible: both orders are applied, one term each."""
    sim = Pax8Simulator(provisioning_delay=DELAY)
    async with connected(sim) as adapter:
        request = renewal_of(sim)
        before = sim.subscriptions[request.subscription_external_id or ""].commitment_end
        await adapter.place_order(request)
        await adapter.place_order(request.model_copy(update={"reference": "rnw-0042-resent"}))
        assert sim.pending_changes(request.subscription_external_id or "") == 2
        sim.clock.advance(seconds=DELAY + 1)
        after = await adapter.get_subscription(request.subscription_external_id or "")
    assert before is not None and after.end_date == add_months(before, 24)
    assert sim.duplicate_terms() == [(request.subscription_external_id, before)]


async def test_no_reference_kept_means_neither_stored_nor_returned() -> None:
    sim = Pax8Simulator(keep_order_email=False)
    async with connected(sim) as adapter:
        placed = await adapter.place_order(renewal_of(sim))
        listed = [o async for o in adapter.api.orders(renewal_of(sim).tenant_external_id)]
    assert sim.orders[0].email is None
    assert [o.ordered_by_user_email for o in listed] == [None]
    assert placed.reference == renewal_of(sim).reference  # ours, as sent: Pax8 returned none


async def test_without_match_hints_absence_is_claimed_only_from_the_listing_itself() -> None:
    """The legacy call (no like=/placed_after=) cannot match an order Pax8 stored without
    our tag: it proves absence only when the company has no order at all or Pax8 visibly
    keeps our tags; otherwise it says so instead of guessing."""
    kept, dropped = Pax8Simulator(), Pax8Simulator(keep_order_email=False)
    for sim in (kept, dropped):
        async with connected(sim) as adapter:
            request = renewal_of(sim)
            assert await adapter.find_order("rnw-never-sent", request.tenant_external_id) is None
            await adapter.place_order(request)
            if sim is kept:
                assert await adapter.find_order("rnw-never-sent", request.tenant_external_id) is None
            else:
                with pytest.raises(AbsenceUnproven, match="like= and placed_after=") as caught:
                    await adapter.find_order("rnw-never-sent", request.tenant_external_id)
                assert caught.value.retry_after is None  # looking again alone will not settle it


async def test_a_listing_that_shifts_while_it_is_read_proves_nothing() -> None:
    class Busy(Pax8Simulator):
        """Someone else (the customer's self-service) orders while we page through the list."""

        async def _orders(self, request: Any) -> Any:
            if request.method == "GET":
                company = request.query_params["companyId"]
                line = {"productId": BACKUP, "lineItemNumber": 1, "quantity": 1, "billingTerm": "Monthly"}
                body = {"companyId": company, "lineItems": [line], "orderedByUserEmail": "it@client.example"}
                self._apply_order(body, self._validate_order(body))
            return await super()._orders(request)

    sim = Busy()
    async with connected(sim, page_size=1) as adapter:
        request = renewal_of(sim)
        await adapter.place_order(request)  # the list has pages to walk
        with pytest.raises(AbsenceUnproven, match="changed while it was read") as caught:
            await adapter.find_order(
                "rnw-not-there",
                request.tenant_external_id,
                like=request,
                placed_after=sim.clock() - timedelta(hours=1),
            )
    assert caught.value.retry_after


async def test_the_clock_skew_allowance_matches_an_order_pax8_dated_the_day_before() -> None:
    """Pax8 dates the order 23:58 (its day D); our clock, 4 minutes ahead, took the send
    time at 00:02 on D+1. Matching by day less the allowance still finds it."""
    pax8_clock = Clock(datetime(2026, 3, 1, 23, 58, tzinfo=UTC))
    sim = Pax8Simulator(clock=pax8_clock, keep_order_email=False)
    sim.faults.add(Fault(commit_then_fail=True, status=502, **REAL_ORDER))
    async with connected(sim) as adapter:
        request = renewal_of(sim)
        with pytest.raises(OutcomeUnknown):
            await adapter.place_order(request)
        ours = datetime(2026, 3, 2, 0, 2, tzinfo=UTC)
        found = await lookup(adapter, request, ours)
    async with connected(sim, clock_skew_seconds=0) as strict:
        without_allowance = await lookup(strict, request, ours)
    assert found.external_id == sim.orders[0].id
    assert isinstance(without_allowance, AbsenceUnproven)  # not None: the declared lag has not passed


async def test_the_declared_lag_is_exposed_for_the_caller() -> None:
    async with connected(Pax8Simulator(), order_visibility_lag_seconds=900) as adapter:
        assert order_visibility_lag(adapter) == timedelta(seconds=900)


async def test_a_fortinet_bundle_delivers_its_registration_code_once_provisioned() -> None:
    issued: list[tuple[str, int]] = []

    def issue(sku: str, months: int) -> str:
        issued.append((sku, months))
        return "FTNT1-ABCDE-FGHIJ-KLMNO-PQRSTU"

    sim = Pax8Simulator(provisioning_delay=DELAY, code_issuer=issue)
    bundle = next(p for p in sim.products.values() if p.vendor_sku == "FC-10-0060F-950-02-12")
    company = next(iter(sim.companies))
    async with connected(sim) as adapter:
        order = await adapter.place_order(
            OrderRequest(
                reference="rnw-fgt-0001",
                tenant_external_id=company,
                product_external_id=bundle.id,
                quantity=1,
                term_months=12,
            )
        )
        while_pending = await adapter.get_order(order.external_id, company)
        sim.clock.advance(seconds=DELAY + 1)
        provisioned = await adapter.get_order(order.external_id, company)
        with pytest.raises(NotFound):
            await adapter.get_order(order.external_id, "3f0c6a1e-0000-4000-8000-00000000c0a2")
    assert while_pending.pending is True and while_pending.deliverables == ()
    assert provisioned.pending is False
    (code,) = provisioned.deliverables
    assert code.kind is DeliverableKind.registration_code and code.value == "FTNT1-ABCDE-FGHIJ-KLMNO-PQRSTU"
    assert code.subscription_external_id == order.subscription_external_ids[0]
    assert issued == [("FC-10-0060F-950-02-12", 12)]
    assert sim.orders_for(company, bundle.id) == 1


async def test_the_catalogue_sells_sophos_and_fortinet_renewals() -> None:
    sim = Pax8Simulator()
    async with connected(sim) as adapter:
        products = [p async for p in adapter.list_products()]
    vendors = {p.vendor_name for p in products}
    assert {"Sophos", "Fortinet"} <= vendors
    skus = {p.sku for p in products if p.vendor_name == "Fortinet"}
    assert "FTN-FG60F-UTP-12" in skus
    generated = Pax8Simulator(scale=(3, 60), ends_within_days=10)
    assert {s.product_name for s in generated.subscriptions.values()}.isdisjoint(
        {p.name for p in products if p.vendor_name == "Fortinet"}
    ), "storm worlds draw from the original catalogue only"


def test_a_seeding_helper_finds_security_products_by_sku() -> None:
    sim = Pax8Simulator(scale=(0, 0))
    bundle = sim.product_for("FC-10-0060F-950-02-12")
    sophos = sim.product_for("SOP-CIXA-12")
    assert bundle is not None and bundle.vendor_name == "Fortinet" and bundle.delivers == "registration_code"
    assert sophos is not None and sophos.vendor_name == "Sophos" and sophos.delivers is None
    assert sim.product_for("NO-SUCH-SKU") is None
