"""A renewal follows the subscription as it is when the order would leave: a term whose
end moved after planning is not ordered (the new term is), and a term whose auto-renew
was switched off and on again before its end is still renewed. Both were found by the
state-machine test (tests/renewal/test_state_machine.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.pax8.simulator import Pax8Simulator
from hub.models import Renewal
from hub.models.enums import RenewalState
from hub.runtime import HubRuntime
from hub.sdk.testing import serve_on_loopback
from tests.renewal import pax8_world as w


@pytest.fixture
async def pax8(runtime: HubRuntime) -> AsyncIterator[tuple[Pax8Simulator, str]]:
    sim = Pax8Simulator(scale=(2, 4), ends_within_days=10, activation_seconds=0)
    async with serve_on_loopback(sim.app) as base:
        runtime.renewers = w.opener_for(sim, base)
        yield sim, base


async def _one(api, app, pax8) -> tuple[w.Pax8World, str]:  # type: ignore[no-untyped-def]
    sim, base = pax8
    world = await w.build(
        api, app.state.runtime.sessionmaker, sim, base, [sim.subscriptions[sim._sub_order[0]]]
    )
    [hub_id] = world.subs
    return world, hub_id


async def _patch(api, hub_id: str, **changes: object) -> None:  # type: ignore[no-untyped-def]
    sub = (await api.get(f"/subscriptions/{hub_id}")).json()
    r = await api.patch(f"/subscriptions/{hub_id}", json={"version": sub["version"], **changes})
    assert r.status_code == 200, r.text


async def test_a_term_whose_end_moved_after_planning_is_renewed_once_not_twice(app, api, pax8):
    world, hub_id = await _one(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    sim_sub = world.subs[hub_id]
    await w.plan_and_queue(sm)  # a renewal for the term as it ended then
    # The vendor co-terms the subscription three days later; the hub mirrors it.
    assert sim_sub.commitment_end is not None
    moved = sim_sub.commitment_end + timedelta(days=3)
    sim_sub.commitment_end = moved
    await _patch(api, hub_id, ends_on=moved.isoformat())
    await w.plan_and_queue(sm)  # and a renewal for the new term
    await w.run_due(sm)
    async with sm() as session:
        renewals = {
            r.term_ends_on: r for r in (await session.execute(select(Renewal))).scalars() if r.subscription_id
        }
    assert renewals[moved].state is RenewalState.confirmed
    [old] = [r for end, r in renewals.items() if end != moved]
    assert old.state is RenewalState.declined and old.reason and "term changed" in old.reason
    assert world.orders_for(hub_id) == 1
    assert not world.sim.duplicate_terms() and not world.sim.early_renewals


async def test_auto_renew_switched_off_and_on_again_before_the_end_still_renews(app, api, pax8):
    world, hub_id = await _one(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    await w.plan_and_queue(sm)
    await _patch(api, hub_id, renewal_type="manual")
    await w.run_due(sm)
    assert (await w.renewal_of(sm, hub_id)).state is RenewalState.declined
    assert world.orders_for(hub_id) == 0
    await _patch(api, hub_id, renewal_type="auto_hub")
    assert await w.plan_and_queue(sm) == 1  # the declined renewal is planned again
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.confirmed, renewal.reason
    assert world.orders_for(hub_id) == 1


async def test_an_admins_decline_stands_when_auto_renew_is_switched_on_again(app, api, pax8):
    world, hub_id = await _one(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    sim_sub = world.subs[hub_id]
    from decimal import Decimal

    world.sim.set_price(sim_sub.product_id, sim_sub.partner_cost * Decimal("1.5"))
    await w.plan_and_queue(sm)
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.awaiting_approval
    r = await api.post(
        f"/renewals/{renewal.id}/decline", json={"version": renewal.version, "note": "too dear"}
    )
    assert r.status_code == 200, r.text
    await _patch(api, hub_id, renewal_type="manual")
    await _patch(api, hub_id, renewal_type="auto_hub")
    assert await w.plan_and_queue(sm) == 0
    await w.run_due(sm)
    assert (await w.renewal_of(sm, hub_id)).state is RenewalState.declined
    assert world.orders_for(hub_id) == 0
