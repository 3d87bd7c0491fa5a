"""The pieces the storm stands on: fault rules that tell the real order from its dry run,
the renewal timing knobs, and the tick that does not re-queue what is already queued."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from starlette.types import Receive, Scope, Send

from adapters.pax8.simulator import Pax8Simulator
from hub.db import session_scope
from hub.kit.time import utcnow
from hub.models import Job
from hub.renewal.planner import ADVANCE, queue_due
from hub.renewal.settings import RenewalSettings
from hub.runtime import HubRuntime
from hub.sdk.testing import FaultPlan, RandomFaults, serve_on_loopback
from hub.sdk.testing.faults import FaultInjector
from tests.renewal import pax8_world as w


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _client(plan: FaultPlan) -> httpx.AsyncClient:
    app = FaultInjector(_ok, plan, lambda status: {"status": status})
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim.test")


async def test_a_query_rule_faults_the_real_order_and_never_its_dry_run() -> None:
    plan = FaultPlan(random=RandomFaults({503: 1.0}, method="POST", path=r"^/v1/orders$", query=r"^$"))
    async with _client(plan) as http:
        assert (await http.post("/v1/orders", params={"isMock": "true"})).status_code == 200
        assert (await http.get("/v1/orders", params={"companyId": "c1"})).status_code == 200
        assert (await http.post("/v1/orders")).status_code == 503


async def test_slow_answers_delay_only_the_requests_drawn() -> None:
    plan = FaultPlan(random=RandomFaults({"slow": 0.5}, seed=1, latency=0.2))
    timings = []
    async with _client(plan) as http:
        for _ in range(20):
            started = time.perf_counter()
            assert (await http.get("/x")).status_code == 200
            timings.append(time.perf_counter() - started)
    slow = sum(1 for t in timings if t >= 0.2)
    assert slow == plan.random.hits["slow"] and 0 < slow < 20  # type: ignore[union-attr]


def test_renewal_timing_defaults_hold_and_the_environment_shortens_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = RenewalSettings()
    assert defaults.in_flight_grace == timedelta(seconds=20)
    assert defaults.send_margin == timedelta(seconds=2)
    assert [defaults.retry_delay(n).total_seconds() for n in (0, 1, 7, 9)] == [30, 60, 3600, 3600]
    assert defaults.confirm_recheck == timedelta(minutes=1)
    monkeypatch.setenv("HUB_RENEWAL_IN_FLIGHT_GRACE_SECONDS", "5")
    monkeypatch.setenv("HUB_RENEWAL_RETRY_BASE_SECONDS", "0.5")
    monkeypatch.setenv("HUB_RENEWAL_RETRY_MAX_SECONDS", "5")
    short = RenewalSettings()
    assert short.in_flight_grace == timedelta(seconds=5)
    assert [short.retry_delay(n).total_seconds() for n in (0, 1, 5)] == [0.5, 1.0, 5.0]


@pytest.fixture
async def pax8(runtime: HubRuntime) -> AsyncIterator[tuple[Pax8Simulator, str]]:
    sim = Pax8Simulator(scale=(2, 4), ends_within_days=10, activation_seconds=0)
    async with serve_on_loopback(sim.app) as base:
        runtime.renewers = w.opener_for(sim, base)
        yield sim, base


async def test_the_tick_queues_each_due_renewal_once_however_often_it_runs(app, api, pax8) -> None:
    sim, base = pax8
    sm = app.state.runtime.sessionmaker
    await w.build(api, sm, sim, base, [sim.subscriptions[i] for i in sim._sub_order[:3]])
    await w.plan_and_queue(sm)  # plans 3 and queues their jobs
    for _ in range(3):
        async with session_scope(sm) as session:
            assert await queue_due(session, now=utcnow()) == 0
    async with sm() as session:
        jobs = (await session.execute(select(func.count()).where(Job.kind == ADVANCE))).scalar_one()
    assert jobs == 3
    # Once the jobs ran, nothing is due and nothing is queued again.
    assert await w.run_due(sm) == 3
    async with session_scope(sm) as session:
        assert await queue_due(session, now=utcnow()) == 0
    assert all(sim.renewals_of(s.id) == 1 for s in sim.subscriptions.values() if s.id in sim._sub_order[:3])
