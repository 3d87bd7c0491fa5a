"""Automatic renewal through the Pax8 simulator over a real socket: one order per term,
whatever fails and wherever the worker dies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from adapters.pax8.simulator import Pax8Simulator
from hub.jobs.worker import run_task
from hub.kit.time import utcnow
from hub.models import AuditEvent, Notice, Renewal
from hub.models.enums import RenewalState
from hub.runtime import HubRuntime
from hub.sdk.testing import Fault, serve_on_loopback
from tests.renewal import pax8_world as w


class Crash(BaseException):
    """The worker process dies here (nothing after this line runs)."""


@pytest.fixture
async def pax8(runtime: HubRuntime) -> AsyncIterator[tuple[Pax8Simulator, str]]:
    # Five companies, twelve commitments, all ending within ten days: a small storm.
    sim = Pax8Simulator(scale=(5, 12), ends_within_days=10, activation_seconds=0)
    async with serve_on_loopback(sim.app) as base:
        runtime.renewers = w.opener_for(sim, base)
        yield sim, base


async def world(api: httpx.AsyncClient, app: Any, pax8: tuple[Pax8Simulator, str], n: int = 1) -> w.Pax8World:
    sim, base = pax8
    picks = [sim.subscriptions[i] for i in sim._sub_order[:n]]
    return await w.build(api, app.state.runtime.sessionmaker, sim, base, picks)


async def test_a_due_licence_is_ordered_once_and_its_new_term_recorded(app, api, pax8):
    wd = await world(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    [(hub_id, sim_sub)] = wd.subs.items()
    old_end = sim_sub.commitment_end
    assert await w.plan_and_queue(sm) == 1
    assert await w.plan_and_queue(sm) == 0  # planning again adds nothing
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.confirmed, renewal.reason
    assert wd.orders_for(hub_id) == 1 and not wd.sim.duplicate_terms()
    assert renewal.new_term_ends_on is not None and renewal.new_term_ends_on > old_end
    sub = (await api.get(f"/subscriptions/{hub_id}")).json()
    assert sub["ends_on"] == renewal.new_term_ends_on.isoformat()
    terms = (await api.get(f"/subscriptions/{hub_id}/terms")).json()
    assert any(t["renewed_by"] == "auto_hub" and t["ends_on"] == sub["ends_on"] for t in terms)
    async with sm() as session:
        actions = [
            e.meta.get("action")
            for e in (
                await session.execute(select(AuditEvent).where(AuditEvent.subject_id == str(renewal.id)))
            ).scalars()
        ]
    assert {"renewal.quoted", "renewal.order_requested", "renewal.order_placed", "renewal.confirmed"} <= set(
        actions
    )
    # Nothing more happens for a confirmed term.
    assert await w.run_due(sm) == 0 and wd.orders_for(hub_id) == 1


async def test_a_price_above_the_cap_waits_for_an_admin_then_is_ordered(app, api, pax8):
    wd = await world(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    [(hub_id, sim_sub)] = wd.subs.items()
    wd.sim.set_price(sim_sub.product_id, sim_sub.partner_cost * Decimal("1.25"))
    await w.plan_and_queue(sm)
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.awaiting_approval
    assert renewal.reason and "above the 10% cap" in renewal.reason
    assert wd.orders_for(hub_id) == 0
    async with sm() as session:
        notices = (
            await session.execute(select(Notice).where(Notice.subject_id == str(renewal.id)))
        ).scalars()
        assert [n.threshold for n in notices] == ["approval"]
    r = await api.post(f"/renewals/{renewal.id}/approve", json={"version": renewal.version, "note": "ok'd"})
    assert r.status_code == 200, r.text
    await w.run_due(sm)
    assert (await w.renewal_of(sm, hub_id)).state is RenewalState.confirmed
    assert wd.orders_for(hub_id) == 1


async def test_a_refused_order_is_escalated_with_the_vendors_reason_and_nothing_ordered(app, api, pax8):
    wd = await world(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    [(hub_id, sim_sub)] = wd.subs.items()
    wd.sim.refuse_product(sim_sub.product_id, "Product is end of sale")
    await w.plan_and_queue(sm)
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.escalated
    assert renewal.reason and "end of sale" in renewal.reason
    assert wd.orders_for(hub_id) == 0 and not wd.sim.orders
    async with sm() as session:
        thresholds = [
            n.threshold
            for n in (
                await session.execute(select(Notice).where(Notice.subject_id == str(renewal.id)))
            ).scalars()
        ]
    assert thresholds == ["escalated"]


async def test_a_lost_answer_is_reconciled_by_our_reference_and_never_resent(app, api, pax8):
    wd = await world(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    [(hub_id, _)] = wd.subs.items()
    # The order (no dry run is sent before it) is applied and its answer dropped.
    wd.sim.faults.add(Fault(commit_then_fail=True, status=502, method="POST", path=r"^/v1/orders$"))
    await w.plan_and_queue(sm)
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.unknown
    assert wd.orders_for(hub_id) == 1  # the vendor did act
    # Before the sender's deadline has passed, nothing is concluded.
    assert await w.run_due(sm) == 0
    await w.time_passes(sm, renewal.id)
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.confirmed, renewal.reason
    assert wd.orders_for(hub_id) == 1
    posts = [
        r
        for r in wd.sim.requests
        if r.method == "POST" and r.path == "/v1/orders" and "isMock" not in r.query
    ]
    assert len(posts) == 1


@pytest.mark.parametrize("point", ["before_send", "on_unknown", "after_answer"])
async def test_a_crash_at_each_step_converges_to_exactly_one_order(app, api, runtime, pax8, point):
    wd = await world(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    [(hub_id, _)] = wd.subs.items()
    if point == "on_unknown":  # the answer is lost, then the worker dies before noting it
        wd.sim.faults.add(Fault(commit_then_fail=True, status=502, method="POST", path=r"^/v1/orders$"))
    crashed: list[str] = []

    async def die(name: str) -> None:
        if name == point and not crashed:
            crashed.append(name)
            raise Crash(name)

    runtime.failpoints.hook = die

    async def run_job(ctx: Any) -> None:
        try:
            await run_task(ctx)
        except Crash as exc:
            await w.release(sm, ctx, f"worker died at {exc}")

    await w.plan_and_queue(sm)
    await w.run_due(sm, on_job=run_job)
    assert crashed == [point]
    renewal = await w.renewal_of(sm, hub_id)
    if renewal.state is not RenewalState.confirmed:
        assert renewal.state is RenewalState.submitting  # left mid-send by the dead worker
        await w.time_passes(sm, renewal.id)
        await w.run_due(sm, on_job=run_job)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.confirmed, (renewal.state, renewal.reason)
    assert wd.orders_for(hub_id) == 1 and not wd.sim.duplicate_terms()


async def test_a_crash_before_the_reference_is_committed_leaves_nothing_to_duplicate(app, api, pax8):
    wd = await world(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    [(hub_id, _)] = wd.subs.items()
    from hub.db import session_scope
    from hub.renewal import planner

    async def plan_and_die() -> None:
        async with session_scope(sm) as session:
            await planner.plan(session, utcnow().date(), now=utcnow())
            raise Crash("died before committing the plan")

    with pytest.raises(Crash):
        await plan_and_die()
    async with sm() as session:
        assert (await session.execute(select(func.count(Renewal.id)))).scalar_one() == 0
    await w.plan_and_queue(sm)
    await w.run_due(sm)
    assert (await w.renewal_of(sm, hub_id)).state is RenewalState.confirmed
    assert wd.orders_for(hub_id) == 1


async def test_a_worker_paused_past_its_lease_sends_and_records_nothing(app, api, runtime, pax8):
    wd = await world(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    [(hub_id, _)] = wd.subs.items()
    await w.plan_and_queue(sm)
    ctx = await w.claim(sm, owner="slow-worker", lease=timedelta(seconds=4))
    assert ctx is not None

    async def pause(name: str) -> None:
        if name == "before_send":
            await asyncio.sleep(4.5)  # SIGSTOP-like: the lease runs out meanwhile

    runtime.failpoints.hook = pause
    from hub.jobs import LeaseLost

    with pytest.raises(LeaseLost):
        await run_task(ctx)
    runtime.failpoints.hook = None
    assert wd.orders_for(hub_id) == 0, "a worker past its lease placed an order"
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.submitting and renewal.vendor_order_ref is None
    # Another worker takes over once the lease is gone, reconciles (nothing there) and orders once.
    from hub.db import session_scope
    from hub.jobs import queue

    async with session_scope(sm) as session:
        await queue.sweep(session, backoff_base=0.0, backoff_max=0.0)
    await w.time_passes(sm, renewal.id)
    await w.run_due(sm)
    assert (await w.renewal_of(sm, hub_id)).state is RenewalState.confirmed
    assert wd.orders_for(hub_id) == 1


async def test_the_pause_switch_stops_every_step_and_resuming_goes_on(app, api, pax8):
    wd = await world(api, app, pax8, n=3)
    sm = app.state.runtime.sessionmaker
    assert (
        await api.put("/renewals/controls", json={"paused": True, "paused_reason": "audit"})
    ).status_code == 200
    await w.plan_and_queue(sm)
    await w.run_due(sm)
    assert not wd.sim.orders
    states = {(await w.renewal_of(sm, hub_id)).state for hub_id in wd.subs}
    assert states == {RenewalState.planned}
    # Resuming brings the paused renewals (and their queued jobs) back now, not at their
    # five-minute recheck.
    assert (await api.put("/renewals/controls", json={"paused": False})).status_code == 200
    await w.run_due(sm)
    assert {(await w.renewal_of(sm, hub_id)).state for hub_id in wd.subs} == {RenewalState.confirmed}
    assert all(wd.orders_for(hub_id) == 1 for hub_id in wd.subs)


async def test_a_cancelled_subscription_is_never_ordered(app, api, pax8):
    wd = await world(api, app, pax8)
    sm = app.state.runtime.sessionmaker
    [(hub_id, _)] = wd.subs.items()
    await w.plan_and_queue(sm)
    sub = (await api.get(f"/subscriptions/{hub_id}")).json()
    r = await api.patch(
        f"/subscriptions/{hub_id}", json={"version": sub["version"], "renewal_type": "manual"}
    )
    assert r.status_code == 200, r.text
    await w.run_due(sm)
    assert (await w.renewal_of(sm, hub_id)).state is RenewalState.declined
    assert wd.orders_for(hub_id) == 0


async def test_the_sweeper_alerts_each_rung_once_for_unconfirmed_auto_renewals(app, api):
    from hub.db import session_scope
    from hub.renewal import sweeper
    from tests import factories as f

    c = await f.client(api)
    v = await f.vendor(api)
    acc = await f.account(api, c["id"], v["id"])
    today = utcnow().date()
    sub = await f.subscription(
        api,
        acc["id"],
        starts_on=str(today - timedelta(days=300)),
        ends_on=str(today + timedelta(days=5)),
        renewal_type="auto_hub",
    )
    sm = app.state.runtime.sessionmaker
    for day in (today, today, today + timedelta(days=2), today + timedelta(days=4)):
        async with session_scope(sm) as session:
            await sweeper.sweep(session, day, now=utcnow())
    async with sm() as session:
        rows = (
            await session.execute(select(Notice).where(Notice.subject_type == "renewal_deadline"))
        ).scalars()
        thresholds = sorted(n.threshold for n in rows)
    assert thresholds == ["1d", "3d", "7d"]  # 5 days left -> 7d; 3 -> 3d; 1 -> 1d; each once
    app.state.runtime.use_settings(core={"metrics": True})
    metrics = (
        await httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t").get("/metrics")
    ).text
    assert "hub_renewals_at_risk 1.0" in metrics
    assert sub["id"]


async def test_the_hubs_own_connection_runtime_reaches_the_vendor(app, api, runtime, pax8):
    """No test opener: the stored, encrypted connection config is decrypted and the Pax8
    adapter built the way a deployed worker builds it (shared client, DB token cache)."""
    wd = await world(api, app, pax8)
    runtime.renewers = runtime.connections.renewer
    sm = app.state.runtime.sessionmaker
    [(hub_id, _)] = wd.subs.items()
    await w.plan_and_queue(sm)
    await w.run_due(sm)
    assert (await w.renewal_of(sm, hub_id)).state is RenewalState.confirmed
    assert wd.orders_for(hub_id) == 1
