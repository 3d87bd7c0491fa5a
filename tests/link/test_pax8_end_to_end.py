"""Done when: a subscription can be linked and auto-renewed by someone who only uses the API.
Against the Pax8 simulator over loopback, with the hub's own connection runtime (stored,
encrypted config; no test opener): create the client, account and subscription, add the
connection, sync, accept the proposed link, see no "will escalate", plan, and the renewal
is ordered once and confirmed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.pax8 import spec as pax8_spec
from adapters.pax8.simulator import Pax8Simulator
from hub.models.enums import RenewalState
from hub.runtime import HubRuntime
from hub.sdk.registry import Registry
from hub.sdk.testing import serve_on_loopback
from tests import factories as f
from tests.renewal import pax8_world as w
from tests.sync.helpers import sync_now


@pytest.fixture
async def pax8(runtime: HubRuntime) -> AsyncIterator[tuple[Pax8Simulator, str]]:
    sim = Pax8Simulator(scale=(2, 3), ends_within_days=10, activation_seconds=0)
    async with serve_on_loopback(sim.app) as base:
        runtime.adapters = Registry({"pax8": pax8_spec}, {})
        yield sim, base


async def test_linked_through_the_api_alone_and_renewed_automatically(app, api, runtime, pax8):
    sim, base = pax8
    sim_sub = sim.subscriptions[sim._sub_order[0]]
    company = sim.companies[sim_sub.company_id]
    assert sim_sub.commitment_end is not None
    client = await f.client(api, name=company.name[:60])
    vendor = await f.vendor(api, name="Pax8", category="distributor")
    account = await f.account(api, client["id"], vendor["id"], external_ref=company.id)
    sub = await f.subscription(
        api,
        account["id"],
        product=sim_sub.product_name[:200],
        quantity=sim_sub.quantity,
        unit_cost=str(sim_sub.partner_cost),
        currency=sim_sub.currency,
        billing_period="yearly",
        starts_on=str(sim_sub.commitment_end - timedelta(days=364)),
        ends_on=str(sim_sub.commitment_end),
        renewal_type="auto_hub",
    )
    before = (await api.get("/renewals/upcoming", params={"kind": "subscription"})).json()["items"]
    assert next(i["renewal_route_problem"] for i in before if i["id"] == sub["id"]).startswith(
        "will escalate: no vendor connection"
    )

    r = await api.post(
        "/connections", json={"name": "Pax8 partner", "adapter_slug": "pax8", "config": sim.config(base)}
    )
    assert r.status_code == 201, r.text
    connection = r.json()
    assert (await sync_now(app, api, connection["id"]))["health"] == "ok"
    proposed = (await api.get("/link-proposals", params={"subscription_id": sub["id"]})).json()["items"]
    assert [p["external_id"] for p in proposed] == [sim_sub.id], proposed
    accepted = await api.post(f"/link-proposals/{proposed[0]['id']}/accept")
    assert accepted.status_code == 200, accepted.text

    after = (await api.get("/renewals/upcoming", params={"kind": "subscription"})).json()["items"]
    assert [i["renewal_route_problem"] for i in after if i["id"] == sub["id"]] == [None]
    assert (await api.post("/renewals/plan")).status_code == 200
    sm = app.state.runtime.sessionmaker
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, sub["id"])
    assert renewal.state is RenewalState.confirmed, renewal.reason
    assert sim.renewals_of(sim_sub.id) == 1 and not sim.duplicate_terms()
    assert (await api.get(f"/subscriptions/{sub['id']}")).json()[
        "ends_on"
    ] == renewal.new_term_ends_on.isoformat()


async def test_what_a_renewal_route_orders_is_neither_proposed_nor_unknown(app, api, runtime, pax8):
    """A Sophos licence bought at Pax8 along a route: sync proposes no link for it (the route
    names where it is bought) and does not list the Pax8 subscription as unknown."""
    sim, base = pax8
    sim_sub = sim.subscriptions[sim._sub_order[0]]
    company = sim.companies[sim_sub.company_id]
    client = await f.client(api, name=company.name[:60])
    distributor = await f.vendor(api, name="Pax8", category="distributor")
    await f.account(api, client["id"], distributor["id"], external_ref=company.id)
    sub = await f.subscription(
        api,
        (await f.account(api, client["id"], distributor["id"]))["id"],
        product=sim_sub.product_name[:200],
        quantity=sim_sub.quantity,
    )
    r = await api.post(
        "/connections", json={"name": "Pax8 partner", "adapter_slug": "pax8", "config": sim.config(base)}
    )
    assert r.status_code == 201, r.text
    connection = r.json()["id"]
    r = await api.put(
        f"/subscriptions/{sub['id']}/renewal-route",
        json={"order_connection_id": connection, "order_ref": sim_sub.id, "order_tenant_ref": company.id},
    )
    assert r.status_code == 200, r.text
    assert (await sync_now(app, api, connection))["health"] == "ok"
    proposed = (await api.get("/link-proposals", params={"subscription_id": sub["id"]})).json()["items"]
    assert proposed == []
    unknown = (await api.get("/vendor-subscriptions/unknown", params={"limit": 1000})).json()["items"]
    listed = {u["external_id"] for u in unknown}
    assert sim_sub.id not in listed and len(listed) > 0  # the company's other subscriptions are
