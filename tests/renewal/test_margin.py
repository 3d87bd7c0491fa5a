"""Before ordering, a renewal says when the vendor's quote for a resold item is above what
the client pays (a margin warning on the renewal, in the API and in the approval request),
and by default waits for an admin; with the policy switch off it orders and still says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from adapters.pax8.simulator import Pax8Simulator
from hub.models import Notice
from hub.models.enums import RenewalState
from hub.runtime import HubRuntime
from hub.sdk.testing import serve_on_loopback
from tests.renewal import pax8_world as w


@pytest.fixture
async def pax8(runtime: HubRuntime) -> AsyncIterator[tuple[Pax8Simulator, str]]:
    sim = Pax8Simulator(scale=(2, 3), ends_within_days=10, activation_seconds=0)
    async with serve_on_loopback(sim.app) as base:
        runtime.renewers = w.opener_for(sim, base)
        yield sim, base


async def resold_below_cost(
    app: Any, api: Any, pax8: tuple[Pax8Simulator, str]
) -> tuple[w.Pax8World, str, Decimal]:
    """One due licence the MSP resells to its client for one unit less than it costs."""
    sim, base = pax8
    world = await w.build(
        api, app.state.runtime.sessionmaker, sim, base, [sim.subscriptions[sim._sub_order[0]]]
    )
    [(hub_id, sim_sub)] = world.subs.items()
    client_price = sim_sub.partner_cost - 1
    sub = (await api.get(f"/subscriptions/{hub_id}")).json()
    r = await api.patch(
        f"/subscriptions/{hub_id}",
        json={"version": sub["version"], "payer": "msp_resold", "client_unit_price": str(client_price)},
    )
    assert r.status_code == 200, r.text
    return world, hub_id, client_price


async def test_a_quote_above_the_clients_price_is_said_and_waits_for_approval(app, api, pax8):
    world, hub_id, client_price = await resold_below_cost(app, api, pax8)
    sm = app.state.runtime.sessionmaker
    await w.plan_and_queue(sm)
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.awaiting_approval
    assert world.orders_for(hub_id) == 0  # said before ordering
    read = (await api.get(f"/renewals/{renewal.id}")).json()
    warning = read["margin_warning"]
    assert warning.startswith("negative margin:") and f"client's price {client_price:.2f}" in warning
    assert read["reason"] == warning
    async with sm() as session:
        [notice] = (
            await session.execute(select(Notice).where(Notice.subject_id == str(renewal.id)))
        ).scalars()
    assert notice.threshold == "approval" and "waits for approval" in notice.summary
    assert "negative margin" in notice.summary
    # An admin accepts the loss: it is ordered once.
    r = await api.post(f"/renewals/{renewal.id}/approve", json={"version": read["version"]})
    assert r.status_code == 200, r.text
    await w.run_due(sm)
    assert (await w.renewal_of(sm, hub_id)).state is RenewalState.confirmed
    assert world.orders_for(hub_id) == 1


async def test_with_the_switch_off_it_orders_and_still_says_so(app, api, pax8):
    world, hub_id, _ = await resold_below_cost(app, api, pax8)
    controls = await api.put("/renewals/controls", json={"approve_negative_margin": False})
    assert controls.status_code == 200 and controls.json()["approve_negative_margin"] is False
    null = await api.put("/renewals/controls", json={"approve_negative_margin": None})
    assert null.status_code == 422 and null.json()["errors"][0]["field"] == "approve_negative_margin"
    sm = app.state.runtime.sessionmaker
    await w.plan_and_queue(sm)
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.confirmed and world.orders_for(hub_id) == 1
    assert renewal.margin_warning and renewal.margin_warning.startswith("negative margin:")
