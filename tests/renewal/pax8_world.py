"""A hub wired to the Pax8 simulator over a real loopback socket: clients whose auto-renew
subscriptions are commitments at the simulator, a connection, and an opener that turns
the connection into a Pax8 adapter. Jobs are claimed and run the way a worker runs them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.pax8 import spec as pax8_spec
from adapters.pax8.simulator import Pax8Simulator, SimSubscription
from hub.connection.secrets import encrypt as encrypt_config
from hub.db import keyring_of, session_scope
from hub.jobs import JobContext, queue
from hub.jobs.worker import run_task
from hub.kit.time import utcnow
from hub.models import Connection, Renewal, Subscription
from hub.models.enums import ConnectionScope
from hub.models.job import Job, JobState
from hub.renewal import planner
from hub.renewal.planner import ADVANCE, dedupe_key, queue_due
from hub.sdk import AdapterContext, MemoryTokenCache, RetryPolicy
from tests import factories as f
from tests.conftest import runtime_from

SM = async_sessionmaker[AsyncSession]
FAST = RetryPolicy(max_attempts=3, deadline=5, backoff_initial=0.01, backoff_max=0.05, max_retry_after=2)


@dataclass
class Pax8World:
    sim: Pax8Simulator
    base_url: str
    connection_id: uuid.UUID
    # hub subscription id -> the simulator's subscription
    subs: dict[str, SimSubscription]
    client_ids: dict[str, str]

    def orders_for(self, hub_sub_id: str) -> int:
        return self.sim.renewals_of(self.subs[hub_sub_id].id)


def opener_for(
    sim: Pax8Simulator, base_url: str, clock: Callable[[], datetime] = utcnow
) -> Callable[..., Any]:
    """The Pax8 adapter on the simulator, configured as the simulator declares itself
    (its order list's lag), on `clock` (the runtime's, in a test that moves time)."""
    tokens = MemoryTokenCache(clock)

    @asynccontextmanager
    async def open_renewer(_connection_id: uuid.UUID, **_row: Any) -> AsyncIterator[Any]:
        async with httpx.AsyncClient() as http:
            ctx = AdapterContext(http=http, tokens=tokens, retry=FAST, timeout=3.0, clock=clock)
            adapter = pax8_spec.create(sim.config(base_url), ctx)
            try:
                yield adapter
            finally:
                await adapter.aclose()

    return open_renewer


async def build(
    api: httpx.AsyncClient, sm: SM, sim: Pax8Simulator, base_url: str, picks: list[SimSubscription]
) -> Pax8World:
    vendor = await f.vendor(api, name=f"Pax8 {uuid.uuid4().hex[:6]}", category="distributor")
    async with session_scope(sm) as session:
        connection = Connection(
            name="Pax8 partner",
            adapter_slug="pax8",
            scope=ConnectionScope.msp,
            account_ref=f"pax8-{uuid.uuid4().hex[:8]}",
            config_encrypted=encrypt_config(keyring_of(session), sim.config(base_url)),
        )
        session.add(connection)
        await session.flush()
        connection_id = connection.id
    subs: dict[str, SimSubscription] = {}
    clients: dict[str, str] = {}
    for sim_sub in picks:
        company = sim.companies[sim_sub.company_id]
        if company.id not in clients:
            c = await f.client(api, name=company.name[:60])
            clients[company.id] = c["id"]
            account = await f.account(api, c["id"], vendor["id"], external_ref=company.id)
            clients[company.id + ":account"] = account["id"]
        assert sim_sub.commitment_end is not None
        hub_sub = await f.subscription(
            api,
            clients[company.id + ":account"],
            product=sim_sub.product_name[:200],
            quantity=sim_sub.quantity,
            unit_cost=str(sim_sub.partner_cost),
            currency=sim_sub.currency,
            billing_period="yearly",
            starts_on=str(sim_sub.commitment_end - timedelta(days=364)),
            ends_on=str(sim_sub.commitment_end),
            renewal_type="auto_hub",
        )
        subs[hub_sub["id"]] = sim_sub
    async with session_scope(sm) as session:
        for hub_id, sim_sub in subs.items():
            await session.execute(
                update(Subscription)
                .where(Subscription.id == uuid.UUID(hub_id))
                .values(connection_id=connection_id, external_id=sim_sub.id)
            )
    return Pax8World(sim, base_url, connection_id, subs, clients)


async def plan_and_queue(sm: SM) -> int:
    now = runtime_from(sm).now()
    async with session_scope(sm) as session:
        planned = await planner.plan(session, now.date(), now=now)
        await queue_due(session, now=now)
    return planned


async def claim(
    sm: SM, owner: str = "test-worker", lease: timedelta = timedelta(seconds=30)
) -> JobContext | None:
    async with session_scope(sm) as session:
        jobs = await queue.claim(session, owner, [ADVANCE], 1, lease)
    if not jobs:
        return None
    job = jobs[0]
    return JobContext.of(runtime_from(sm), job, owner)


async def release(sm: SM, ctx: JobContext, error: str) -> None:
    """What the worker does when a task raised: the attempt fails and the job is retried."""
    async with session_scope(sm) as session:
        claimed = queue.Claimed(ctx.job_id, ctx.kind, ctx.payload, ctx.attempt, ctx.max_attempts)
        await queue.fail(session, claimed, ctx.owner, error, backoff_base=0.0, backoff_max=0.0)


async def run_due(
    sm: SM, *, rounds: int = 20, on_job: Callable[[JobContext], Awaitable[None]] | None = None
) -> int:
    """Queue and run advance jobs until none is due; returns how many ran."""
    ran = 0
    for _ in range(rounds):
        async with session_scope(sm) as session:
            await queue_due(session, now=runtime_from(sm).now())
        ctx = await claim(sm)
        if ctx is None:
            return ran
        ran += 1
        if on_job is not None:
            await on_job(ctx)
        else:
            await run_task(ctx)
    return ran


async def renewal_of(sm: SM, hub_sub_id: str) -> Renewal:
    async with sm() as session:
        return (
            await session.execute(select(Renewal).where(Renewal.subscription_id == uuid.UUID(hub_sub_id)))
        ).scalar_one()


async def time_passes(sm: SM, renewal_id: uuid.UUID) -> None:
    """The sender's deadline and the in-flight grace are over (instead of waiting ~50 s):
    on the renewal, and on the follow-up job the executor scheduled for then."""
    async with session_scope(sm) as session:
        await session.execute(
            update(Renewal)
            .where(Renewal.id == renewal_id)
            .values(send_not_after=utcnow() - timedelta(hours=1), next_action_at=utcnow())
        )
        await session.execute(
            update(Job)
            .where(Job.dedupe_key == dedupe_key(renewal_id), Job.state == JobState.queued)
            .values(run_at=utcnow())
        )
