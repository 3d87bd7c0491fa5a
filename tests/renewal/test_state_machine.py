"""Automatic renewal as a state machine (issue 6): hypothesis creates subscriptions,
changes their terms, toggles auto-renew, cancels, injects faults at the Pax8 simulator
(answer dropped after the order, 503 before it, a refusal), crashes the worker at each
step of the executor (the job is released and retried, as after a restart), runs the due
jobs and moves the clock on a day at a time (the worker runs every simulated day).

Invariants, checked after every step against what the vendor saw:
- at most one order per (subscription, term), and never a term renewed early;
- no order for a subscription after it was cancelled or its auto-renew switched off;
- when a term's end has passed with auto-renew on and the subscription not cancelled,
  its renewal was confirmed with exactly one order, or escalated with an alert.

The clock: the runtime's clock is today + N days (what the renewal engine reads), and the
simulator's clock is moved with it. The job queue keeps real time (leases of seconds);
the executor compares the sender's deadline, in real time, with its own clock, so once a
day has passed every lost answer is past its in-flight grace, as it would be.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.pax8.simulator import Pax8Simulator, SimSubscription
from hub.connection.secrets import encrypt as encrypt_config
from hub.db import session_scope
from hub.jobs.worker import run_task
from hub.kit.crypto import Keyring
from hub.models import Client, Connection, Renewal, Subscription, Vendor, VendorAccount
from hub.models.enums import ConnectionScope, RenewalState, RenewalType, SubscriptionStatus
from hub.renewal import alerts, planner
from hub.renewal.planner import queue_due
from hub.runtime import HubRuntime
from hub.sdk.testing import Fault, serve_on_loopback
from hub.settings import Settings
from tests import conftest
from tests.renewal import pax8_world as w

LEAD_DAYS = 14  # RenewalControls' default
ORDER = {"method": "POST", "path": r"^/v1/orders$", "query": r"^$", "times": 1}


class Crash(BaseException):
    """The worker process dies here; the job is released and retried (a restart)."""


class FakeClock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


CLOCK = FakeClock()


@dataclass
class Sub:
    hub_id: uuid.UUID
    sim: SimSubscription
    term: date  # the current term's end, as the hub and the vendor agree
    auto: bool = True
    cancelled: bool = False
    # Orders the vendor had for this subscription when orders stopped being allowed.
    frozen_orders: int | None = None
    settled: list[tuple[date, str]] = field(default_factory=list)


class World:
    """One example's hub database, simulator and event loop."""

    def __init__(self, database: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.database = database
        self.sim = Pax8Simulator(scale=(3, 40), ends_within_days=30, activation_seconds=0)
        self.server = serve_on_loopback(self.sim.app)
        self.base = self.run(self.server.__aenter__())
        self.runtime = HubRuntime(
            Settings(database_url=database.url),
            clock=CLOCK,
            secrets=Keyring([conftest.TEST_KEY.encode()]),
            renewers=w.opener_for(self.sim, self.base, CLOCK),
        )
        self.sm: async_sessionmaker[AsyncSession] = self.runtime.sessionmaker
        self.accounts: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
        self.connection_id = uuid.uuid4()
        self.unused = list(self.sim._sub_order)
        self.run(self._seed())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.runtime.aclose())
        self.run(self.server.__aexit__(None, None, None))
        self.loop.close()

    async def _seed(self) -> None:
        vendor_id = uuid.uuid4()
        async with session_scope(self.sm) as session:
            await session.execute(insert(Vendor).values(id=vendor_id, name="Pax8", category="distributor"))
            keyring = Keyring([conftest.TEST_KEY.encode()])
            await session.execute(
                insert(Connection).values(
                    id=self.connection_id,
                    name="Pax8",
                    adapter_slug="pax8",
                    scope=ConnectionScope.msp,
                    account_ref="pax8-sm",
                    config_encrypted=encrypt_config(keyring, self.sim.config(self.base)),
                )
            )
            for n, company in enumerate(self.sim.companies.values()):
                client_id, account_id = uuid.uuid4(), uuid.uuid4()
                await session.execute(insert(Client).values(id=client_id, name=company.name, slug=f"sm-{n}"))
                await session.execute(
                    insert(VendorAccount).values(
                        id=account_id,
                        client_id=client_id,
                        vendor_id=vendor_id,
                        account_number=f"P-{n}",
                        external_ref=company.id,
                    )
                )
                self.accounts[company.id] = (client_id, account_id)

    def today(self) -> date:
        return CLOCK().date()

    async def create(self, ends_in: int) -> Sub:
        sim_sub = self.sim.subscriptions[self.unused.pop(0)]
        sim_sub.commitment_end = self.today() + timedelta(days=ends_in)
        client_id, account_id = self.accounts[sim_sub.company_id]
        hub_id = uuid.uuid4()
        async with session_scope(self.sm) as session:
            await session.execute(
                insert(Subscription).values(
                    id=hub_id,
                    client_id=client_id,
                    vendor_account_id=account_id,
                    category="distributor",
                    kind="licence",
                    product=sim_sub.product_name[:300],
                    quantity=sim_sub.quantity,
                    unit_cost=sim_sub.partner_cost,
                    currency=sim_sub.currency,
                    billing_period="yearly",
                    payer="msp_resold",
                    starts_on=sim_sub.commitment_end - timedelta(days=364),
                    ends_on=sim_sub.commitment_end,
                    renewal_type=RenewalType.auto_hub,
                    status=SubscriptionStatus.active,
                    source="connection",
                    connection_id=self.connection_id,
                    external_id=sim_sub.id,
                )
            )
        return Sub(hub_id, sim_sub, sim_sub.commitment_end)

    async def set_sub(self, sub: Sub, **values: Any) -> None:
        async with session_scope(self.sm) as session:
            await session.execute(
                update(Subscription)
                .where(Subscription.id == sub.hub_id)
                .values(**values, version=Subscription.version + 1, updated_at=datetime.now(UTC))
            )

    async def renewal(self, sub: Sub, term: date) -> Renewal | None:
        async with self.sm() as session:
            return (
                await session.execute(
                    select(Renewal).where(Renewal.subscription_id == sub.hub_id, Renewal.term_ends_on == term)
                )
            ).scalar_one_or_none()

    async def alerted(self, renewal: Renewal) -> bool:
        async with self.sm() as session:
            found = await alerts.notices_for(session, "renewal_escalated", str(renewal.id))
        return bool(found)

    async def plan(self) -> None:
        async with session_scope(self.sm) as session:
            await planner.plan(session, self.today(), now=CLOCK())

    async def run_due(self) -> None:
        """What the worker does: plan, queue what is due, run jobs until none is left; a
        job whose worker crashed is released and run again."""
        await self.plan()
        for _ in range(80):
            async with session_scope(self.sm) as session:
                await queue_due(session, now=CLOCK())
            ctx = await w.claim(self.sm)
            if ctx is None:
                return
            try:
                await run_task(ctx)
            except Crash as exc:
                await w.release(self.sm, ctx, f"worker died at {exc}")
        raise AssertionError("renewal jobs did not settle in 80 rounds")


def guarded(fn: Any) -> Any:
    """Note a failing step, so that teardown does not pile the month's drain on it."""

    @functools.wraps(fn)
    def step(self: RenewalMachine, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except BaseException:
            self.failed = True
            raise

    return step


class RenewalMachine(RuleBasedStateMachine):
    database: Any = None

    subs = Bundle("subs")

    def __init__(self) -> None:
        super().__init__()
        CLOCK.offset = timedelta(0)
        self.world = World(self.database)
        self.all: list[Sub] = []
        self.failed = False

    def teardown(self) -> None:
        try:
            if not self.failed:
                # The example ends with a month of daily worker runs: every term it
                # created comes due and its deadline passes.
                self.world.runtime.failpoints.hook = None
                self.advance_clock(31)
        finally:
            self.world.close()

    # -- rules ------------------------------------------------------------------------

    @initialize(
        keeps_reference=st.booleans(),
        provisioning_hours=st.sampled_from([0, 0, 2, 30]),
        list_lag_hours=st.sampled_from([0, 0, 1, 26]),
    )
    @guarded
    def vendor_behaviour(self, keeps_reference: bool, provisioning_hours: int, list_lag_hours: int) -> None:
        """What this example's Pax8 is like (issue 11 §1): it may keep no reference of ours,
        apply an accepted order hours later (past the next simulated day, or within it), and
        list new orders late; the connection declares the lag, as its operator would."""
        sim = self.world.sim
        sim.keep_order_email = keeps_reference
        sim.provisioning_delay = provisioning_hours * 3600.0
        sim.order_list_lag = list_lag_hours * 3600.0

    @initialize(target=subs, ends_in=st.integers(1, 20))
    @guarded
    def first_subscription(self, ends_in: int) -> Sub:
        return self.create_subscription(ends_in)

    @precondition(lambda self: len(self.all) < 6)
    @rule(target=subs, ends_in=st.integers(1, 30))
    @guarded
    def create_subscription(self, ends_in: int) -> Sub:
        """A new auto-renewed subscription; the hourly planning job sees it at once."""
        sub = self.world.run(self.world.create(ends_in))
        self.all.append(sub)
        self.world.run(self.world.plan())
        return sub

    @rule(sub=subs, days=st.integers(-10, 20))
    @guarded
    def change_term(self, sub: Sub, days: int) -> None:
        """The term's end moves at the vendor (co-terming, a correction) and the hub
        mirrors it, as a sync would; only before anything was sent for the term."""
        renewal = self.world.run(self.world.renewal(sub, sub.term))
        if sub.cancelled or (renewal is not None and renewal.state not in _NOT_SENT):
            return
        new_end = max(self.world.today() + timedelta(days=1), sub.term + timedelta(days=days))
        sub.sim.commitment_end = new_end
        sub.term = new_end
        self.world.run(self.world.set_sub(sub, ends_on=new_end))

    @rule(sub=subs)
    @guarded
    def toggle_auto_renew(self, sub: Sub) -> None:
        if sub.cancelled:
            return
        sub.auto = not sub.auto
        sub.frozen_orders = None if sub.auto else self.world.sim.renewals_of(sub.sim.id)
        kind = RenewalType.auto_hub if sub.auto else RenewalType.manual
        self.world.run(self.world.set_sub(sub, renewal_type=kind))

    @rule(sub=consumes(subs))
    @guarded
    def cancel(self, sub: Sub) -> None:
        if sub.cancelled:
            return
        sub.cancelled = True
        if sub.frozen_orders is None:
            sub.frozen_orders = self.world.sim.renewals_of(sub.sim.id)
        self.world.run(
            self.world.set_sub(sub, status=SubscriptionStatus.cancelled, cancelled_at=datetime.now(UTC))
        )

    @rule(kind=st.sampled_from(["commit_then_fail", "503", "refusal"]))
    @guarded
    def inject_fault(self, kind: str) -> None:
        """The next real order (never the isMock dry run) fails this way."""
        if kind == "commit_then_fail":
            fault = Fault(commit_then_fail=True, status=502, **ORDER)
        elif kind == "503":
            fault = Fault(status=503, **ORDER)
        else:
            fault = Fault(
                status=422,
                body={"type": "UNPROCESSABLE_ENTITY", "message": "Product is end of sale", "status": 422},
                **ORDER,
            )
        self.world.sim.faults.add(fault)

    @rule(point=st.sampled_from(["before_send", "after_answer", "on_unknown"]))
    @guarded
    def crash_worker(self, point: str) -> None:
        """The next time a worker reaches `point` it dies (once)."""
        fired: list[str] = []

        async def die(name: str) -> None:
            if name == point and not fired:
                fired.append(name)
                self.world.runtime.failpoints.hook = None
                raise Crash(name)

        self.world.runtime.failpoints.hook = die

    @rule()
    @guarded
    def plan_renewals(self) -> None:
        """The hourly planning job ran; no worker has taken the renewals yet."""
        self.world.run(self.world.plan())

    @rule()
    @guarded
    def run_due_jobs(self) -> None:
        self.world.run(self.world.run_due())
        self._follow_confirmed()

    @rule(days=st.integers(1, 12))
    @guarded
    def advance_clock(self, days: int) -> None:
        for _ in range(days):
            CLOCK.offset += timedelta(days=1)
            self.world.sim.clock.advance(days=1)
            self.world.run(self.world.run_due())
            self._follow_confirmed()
            self._check_deadlines()

    # -- the model --------------------------------------------------------------------

    def _follow_confirmed(self) -> None:
        """A confirmed renewal moves the subscription on to its next term."""
        for sub in self.all:
            renewal = self.world.run(self.world.renewal(sub, sub.term))
            if renewal is not None and renewal.state is RenewalState.confirmed:
                assert renewal.new_term_ends_on == sub.sim.commitment_end, (renewal.new_term_ends_on, sub)
                sub.settled.append((sub.term, "confirmed"))
                sub.term = renewal.new_term_ends_on

    def _check_deadlines(self) -> None:
        """A term whose end passed (with a day for the worker to notice) while auto-renew
        was on and the subscription not cancelled was renewed once, or escalated with an
        alert."""
        today = self.world.today()
        for sub in self.all:
            if sub.cancelled or not sub.auto or sub.term >= today - timedelta(days=1):
                continue
            if sub.settled and sub.settled[-1][0] == sub.term:
                continue
            renewal = self.world.run(self.world.renewal(sub, sub.term))
            assert renewal is not None, f"term ending {sub.term} was never planned"
            assert renewal.state is RenewalState.escalated, (
                f"term ending {sub.term} passed with its renewal {renewal.state.value}: {renewal.reason}"
            )
            assert self.world.run(self.world.alerted(renewal)), "escalated without an alert"
            assert self.world.sim.orders_per_term.get((sub.sim.id, sub.term), 0) == 0
            sub.settled.append((sub.term, "escalated"))

    # -- invariants -------------------------------------------------------------------

    @invariant()
    @guarded
    def never_two_orders_for_one_term(self) -> None:
        if not hasattr(self, "world"):
            return
        assert not self.world.sim.duplicate_terms(), self.world.sim.duplicate_terms()
        assert not self.world.sim.early_renewals, self.world.sim.early_renewals

    @invariant()
    @guarded
    def nothing_ordered_once_cancelled_or_off(self) -> None:
        if not hasattr(self, "world"):
            return
        for sub in self.all:
            if sub.frozen_orders is not None:
                assert self.world.sim.renewals_of(sub.sim.id) == sub.frozen_orders, (
                    "ordered after cancellation" if sub.cancelled else "ordered with auto-renew off"
                )


_NOT_SENT = (RenewalState.planned, RenewalState.approved, RenewalState.awaiting_approval)


@pytest.fixture
def fresh_databases(_template: str, tmp_path: Path) -> Any:
    """A factory of empty migrated databases (one per hypothesis example)."""
    made: list[str] = []

    def make() -> conftest.TestDatabase:
        if conftest.PG_URL:
            admin = conftest._pg_admin_url(conftest.PG_URL)
            name = f"hub_sm_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"')
            made.append(name)
            return conftest.TestDatabase(conftest._db_url(conftest.PG_URL, name), "postgresql")
        path = tmp_path / f"sm-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(_template, path)
        return conftest.TestDatabase(f"sqlite+aiosqlite:///{path}", "sqlite")

    yield make
    if made:
        admin = conftest._pg_admin_url(conftest.PG_URL)
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_renewals_order_each_term_at_most_once_whatever_happens(fresh_databases: Any) -> None:
    class Machine(RenewalMachine):
        def __init__(self) -> None:
            type(self).database = fresh_databases()
            super().__init__()

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
