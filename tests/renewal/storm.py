"""The lost-response storm of issue 6, shared by `tests/renewal/test_storm.py` (CI size)
and `tests/bench/bench_renewals.py` (full size).

A hub database seeded in bulk with one client and one Pax8 vendor account per simulator
company (external_ref = the Pax8 company id) and one auto-renew-by-the-hub subscription
per simulator commitment (connection_id, external_id = the Pax8 subscription id), every
one ending within `ends_within_days` (all due at the default 14-day lead). The Pax8
simulator runs in its own process (`storm_sim`) with faults on the real order. Real
`hub worker` processes renew the way a deployed worker does: the stored, encrypted Pax8
connection (pointing at the simulator on loopback) opened by the runtime's connection
opener, with the database token cache and the retry policy shortened through
HUB_ADAPTER_*; the harness plans once and then does what `hub renewals run` does every
half second: queue the renewals whose next action is due.

Job leases are short (4 s) and the renewal timing knobs are shortened with them
(HUB_RENEWAL_*), so that a lost answer is reconciled about 8 s after it was sent instead
of about a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import psutil
from sqlalchemy import Table, func, select, text

from adapters.pax8.simulator import CLIENT_ID, CLIENT_SECRET, ORDER_EMAIL
from hub.connection.secrets import encrypt as encrypt_config
from hub.db import create_engine, make_sessionmaker, session_scope
from hub.kit.crypto import Keyring
from hub.kit.time import utcnow
from hub.models import AuditEvent, Client, Connection, Notice, Renewal, Subscription, Vendor, VendorAccount
from hub.models.base import Base
from hub.models.enums import ConnectionScope, RenewalState, RenewalType, SubscriptionStatus
from hub.models.job import Job, JobState
from hub.renewal import planner
from hub.renewal.planner import ADVANCE, queue_due
from hub.renewal.states import TERMINAL
from hub.settings import Settings
from tests.conftest import TEST_KEY
from tests.jobs import helpers as h
from tests.renewal.storm_sim import SimProcess, SimReport, SimSub

# Worker and executor timing for the storm: leases of 6 s (heartbeat every 1.5 s: a
# loaded 2-core machine can delay a beat by seconds), a send window of lease - 1 s, and
# the in-flight grace above the adapter's 3 s timeout.
HTTP_TIMEOUT = 3.0
TIMING = {
    "HUB_JOBS_LEASE_SECONDS": "6",
    "HUB_JOBS_HEARTBEAT_SECONDS": "1.5",
    "HUB_JOBS_SWEEP_SECONDS": "1",
    "HUB_JOBS_POLL_SECONDS": "0.1",
    "HUB_JOBS_SCHEDULE_SECONDS": "5",
    "HUB_JOBS_BACKOFF_BASE_SECONDS": "0.2",
    "HUB_JOBS_BACKOFF_MAX_SECONDS": "2",
    "HUB_JOBS_SHUTDOWN_GRACE_SECONDS": "5",
    "HUB_RENEWAL_SEND_MARGIN_SECONDS": "1",
    "HUB_RENEWAL_IN_FLIGHT_GRACE_SECONDS": "5",
    "HUB_RENEWAL_RETRY_BASE_SECONDS": "0.5",
    "HUB_RENEWAL_RETRY_MAX_SECONDS": "5",
    "HUB_RENEWAL_CONFIRM_RECHECK_SECONDS": "1",
    # A lagging order list: look again every second; a person after a minute.
    "HUB_RENEWAL_UNPROVEN_RECHECK_SECONDS": "1",
    "HUB_RENEWAL_ABSENCE_PROOF_WAIT_SECONDS": "60",
    # Delayed provisioning: keep reading the term back for up to two minutes.
    "HUB_RENEWAL_MAX_CONFIRM_READS": "120",
    # The adapter: a 3 s HTTP timeout; reads retried quickly, the order itself only on 429
    # (VendorHttp's rule for writes).
    "HUB_ADAPTER_HTTP_TIMEOUT_SECONDS": str(HTTP_TIMEOUT),
    "HUB_ADAPTER_RETRY_MAX_ATTEMPTS": "3",
    "HUB_ADAPTER_RETRY_DEADLINE_SECONDS": "5",
    "HUB_ADAPTER_RETRY_BACKOFF_INITIAL_SECONDS": "0.01",
    "HUB_ADAPTER_RETRY_BACKOFF_MAX_SECONDS": "0.05",
    "HUB_ADAPTER_RETRY_MAX_RETRY_AFTER_SECONDS": "2",
}
TICK_SECONDS = 0.5
BATCH = 1000
OPEN = frozenset(RenewalState) - TERMINAL


@dataclass(frozen=True)
class StormConfig:
    clients: int
    subscriptions: int
    workers: int
    concurrency: int = 8
    ends_within_days: int = 10
    slow_seconds: float = 1.0
    rates: dict[int | str, float] | None = None  # None: storm_sim.STORM_RATES
    timeout: float = 600.0
    seed: int = 6
    # The simulator's forgetful modes (see storm_sim.SimProcess); the connection declares
    # the order list's lag, as an operator who measured it would.
    modes: dict[str, Any] = field(default_factory=dict)


@dataclass
class StormResult:
    config: StormConfig
    database: str
    due: int = 0
    planned: int = 0
    states: dict[str, int] = field(default_factory=dict)
    workers_start_seconds: float = 0.0
    wall_seconds: float = 0.0
    seed_seconds: float = 0.0
    duplicates: list[tuple[str, date]] = field(default_factory=list)
    early: list[tuple[str, date]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    escalated_without_alert: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    jobs: dict[str, int] = field(default_factory=dict)
    job_errors: list[str] = field(default_factory=list)
    end_date_mismatch: list[str] = field(default_factory=list)
    reconciled_found: int = 0
    reconciled_not_found: int = 0
    injected: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    real_order_posts: int = 0
    orders: int = 0
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # CPU seconds spent during the run, per party (robust to other load on the machine).
    cpu: dict[str, float] = field(default_factory=dict)
    log_tail: str = ""

    @property
    def renewals_per_second(self) -> float:
        return self.planned / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def cpu_ms_per_renewal(self) -> float:
        return sum(self.cpu.values()) * 1000 / self.planned if self.planned else 0.0

    @property
    def open_renewals(self) -> int:
        return sum(n for s, n in self.states.items() if RenewalState(s) in OPEN)

    def problems(self) -> list[str]:
        """Every broken promise, in words; empty when the storm was survived."""
        out = []
        if self.duplicates:
            out.append(f"{len(self.duplicates)} term(s) ordered more than once: {self.duplicates[:3]}")
        if self.early:
            out.append(f"{len(self.early)} early renewal(s) (a resent order renewed the next term)")
        if self.missed:
            out.append(f"{len(self.missed)} due subscription(s) neither confirmed nor escalated")
        if self.escalated_without_alert:
            out.append(f"{len(self.escalated_without_alert)} escalated renewal(s) without an alert")
        if self.late:
            out.append(f"{len(self.late)} renewal(s) confirmed after the term ended")
        if self.end_date_mismatch:
            out.append(f"{len(self.end_date_mismatch)} subscription(s) whose end date differs from Pax8's")
        if self.open_renewals:
            out.append(f"{self.open_renewals} renewal(s) left open: {self.states}; {self.stuck[:5]}")
        lost = self.injected.get("commit_then_fail", 0)
        # Each dropped answer must be found again. A "slow" answer may also reach the hub
        # after its HTTP timeout on a starved machine: that order is then an unknown outcome
        # too, rightly found again, so it may add to the count (never more than the slow ones).
        found, slow = self.reconciled_found, self.injected.get("slow", 0)
        if not lost <= found <= lost + slow:
            out.append(f"{lost} answers dropped after the order ({slow} slow) but {found} found by reference")
        if self.planned != self.due:
            out.append(f"{self.due} subscriptions due but {self.planned} renewals planned")
        return out

    def summary(self) -> str:
        cfg = self.config
        lines = [
            f"lost-response storm on {self.database}: {cfg.clients} clients, {self.due} subscriptions due, "
            f"{cfg.workers} worker process(es) x {cfg.concurrency}"
            + (f"; Pax8 modes {cfg.modes}" if cfg.modes else ""),
            f"  wall time          {self.wall_seconds:.1f} s from planning to the last renewal settled "
            f"(workers started in {self.workers_start_seconds:.1f} s; seeding {self.seed_seconds:.1f} s)",
            f"  renewals/s         {self.renewals_per_second:.1f}",
            f"  states             {dict(sorted(self.states.items()))}",
            f"  orders at Pax8     {self.orders} for {self.planned} renewals; "
            f"duplicates {len(self.duplicates)}, early {len(self.early)}, missed {len(self.missed)}",
            f"  lost answers       {self.injected.get('commit_then_fail', 0)} dropped after the order, "
            f"{self.reconciled_found} found again (by reference, or by what was ordered when the vendor "
            f"keeps none); {self.reconciled_not_found} lookups proved "
            "nothing was ordered (then sent again)",
            f"  injected faults    {self.injected} on {self.real_order_posts} real order POSTs "
            f"({self.requests} requests in all)",
            f"  load average       {' '.join(f'{x:.2f}' for x in self.load_average)} (at the end)",
            f"  CPU seconds        {', '.join(f'{k} {v:.1f}' for k, v in self.cpu.items())}; "
            f"{self.cpu_ms_per_renewal:.0f} ms per renewal in all",
            f"  advance jobs       {self.jobs} (state/attempt)",
        ]
        lines += [f"  job error          {e}" for e in self.job_errors[:8]]
        return "\n".join(lines)


# -- seeding ------------------------------------------------------------------------------


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def seed(url: str, base_url: str, subs: list[SimSub], order_list_lag: float = 0.0) -> int:
    """Bulk-insert the hub side of the simulator's partner; returns subscriptions added."""
    engine = h.sync_engine(url)
    now = utcnow()
    stamps = {"created_at": now, "updated_at": now, "version": 1}
    vendor_id, connection_id = uuid.uuid4(), uuid.uuid4()
    keyring = Keyring([TEST_KEY.encode()])
    clients: dict[str, uuid.UUID] = {}
    accounts: dict[str, uuid.UUID] = {}
    client_rows, account_rows = [], []
    for sub in subs:
        if sub.company_id in clients:
            continue
        cid, aid = uuid.uuid4(), uuid.uuid4()
        clients[sub.company_id], accounts[sub.company_id] = cid, aid
        n = len(clients)
        client_rows.append(
            {
                "id": cid,
                "name": sub.company_name[:200],
                "slug": f"storm-{n:05d}",
                "archived_at": None,
                **stamps,
            }
        )
        account_rows.append(
            {
                "id": aid,
                "client_id": cid,
                "vendor_id": vendor_id,
                "account_number": f"PAX8-{n:05d}",
                "external_ref": sub.company_id,
                **stamps,
            }
        )
    sub_rows = (
        {
            "id": uuid.uuid4(),
            "client_id": clients[sub.company_id],
            "vendor_account_id": accounts[sub.company_id],
            "category": "distributor",
            "kind": "licence",
            "product": sub.product[:300],
            "quantity": sub.quantity,
            "unit_cost": sub.partner_cost,
            "currency": sub.currency,
            "billing_period": "yearly",
            "payer": "msp_resold",
            "starts_on": date(sub.ends_on.year - 1, sub.ends_on.month, min(sub.ends_on.day, 28)),
            "ends_on": sub.ends_on,
            "renewal_type": RenewalType.auto_hub,
            "notice_days": 0,
            "renewal_policy": {},
            "status": SubscriptionStatus.active,
            "cancelled_at": None,
            "source": "connection",
            "connection_id": connection_id,
            "external_id": sub.id,
            **stamps,
        }
        for sub in subs
    )
    try:
        with engine.begin() as conn:
            conn.execute(
                _table(Vendor).insert(),
                [
                    {
                        "id": vendor_id,
                        "name": f"Pax8 storm {vendor_id.hex[:6]}",
                        "category": "distributor",
                        **stamps,
                    }
                ],
            )
            conn.execute(
                _table(Connection).insert(),
                [
                    {
                        "id": connection_id,
                        "name": "Pax8 partner (simulator)",
                        "adapter_slug": "pax8",
                        "scope": ConnectionScope.msp,
                        "account_ref": "pax8-storm",
                        "config_encrypted": encrypt_config(keyring, pax8_config(base_url, order_list_lag)),
                        **stamps,
                    }
                ],
            )
            for model, rows in (
                (Client, client_rows),
                (VendorAccount, account_rows),
                (Subscription, sub_rows),
            ):
                for batch in _batches(rows):
                    conn.execute(_table(model).insert(), batch)
            if engine.dialect.name == "postgresql":
                conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return len(subs)


def planner_subs(n: int, *, all_due: bool) -> list[SimSub]:
    """n subscriptions over n/15 clients; ends spread over the next 400 days (about 1 in
    25 within the 14-day lead), or all within it."""
    today = utcnow().date()
    clients = max(1, n // 15)
    return [
        SimSub(
            id=f"sub-{i:06d}",
            company_id=f"company-{i % clients:05d}",
            company_name=f"Planner Client {i % clients:05d}",
            product="Microsoft 365 Business Premium",
            quantity=1 + i % 50,
            partner_cost=Decimal("18.70"),
            currency="EUR",
            ends_on=today + timedelta(days=(i % 14) + 1 if all_due else (i % 401) - 1),
        )
        for i in range(n)
    ]


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


# -- the run ------------------------------------------------------------------------------


def pax8_config(base_url: str, order_list_lag: float = 0.0) -> dict[str, Any]:
    """The storm's Pax8 connection: the simulator's credentials, on loopback only."""
    host = urlsplit(base_url).hostname or ""
    if not host.startswith("127."):
        raise ValueError(f"the storm only talks to loopback, not {base_url!r}")
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "order_email": ORDER_EMAIL,
        "token_url": f"{base_url}/v1/token",
        "api_url": f"{base_url}/v1",
        "order_visibility_lag_seconds": math.ceil(order_list_lag),
    }


def worker_env(url: str, workdir: Path) -> dict[str, str]:
    return h.worker_env(url, workdir, HUB_JOBS_IMPORTS="", **TIMING)


async def _drive(url: str, limit: float, on_tick: Callable[[int], None] | None) -> tuple[int, float]:
    """Plan, then queue due renewals every TICK_SECONDS until every renewal is settled.
    Returns (planned, seconds)."""
    engine = create_engine(Settings(database_url=url))
    sm = make_sessionmaker(engine, Keyring([TEST_KEY.encode()]))
    started = time.perf_counter()
    try:
        async with session_scope(sm) as session:
            now = utcnow()
            planned = await planner.plan(session, now.date(), now=now)
            await queue_due(session, now=now)
        last_report = started
        while time.perf_counter() - started < limit:
            await asyncio.sleep(TICK_SECONDS)
            async with session_scope(sm) as session:
                await queue_due(session, now=utcnow())
            async with session_scope(sm, write=False) as session:
                still = (
                    await session.execute(select(func.count()).where(Renewal.state.in_(OPEN)))
                ).scalar_one()
                jobs = (
                    await session.execute(
                        select(func.count()).where(
                            Job.kind == ADVANCE, Job.state.in_([JobState.queued, JobState.running])
                        )
                    )
                ).scalar_one()
            if on_tick is not None and time.perf_counter() - last_report >= 5:
                last_report = time.perf_counter()
                on_tick(still)
            if not still and not jobs:
                return planned, time.perf_counter() - started
        return planned, time.perf_counter() - started
    finally:
        await engine.dispose()


def _cpu_seconds(pids: Iterable[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def _backend_pids(url: str) -> list[int]:
    engine = h.sync_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
                ).scalars()
            )
    finally:
        engine.dispose()


def _wait_for_workers(url: str, procs: list[Any]) -> None:
    engine = h.sync_engine(url)
    try:

        def up() -> bool:
            for proc in procs:
                if proc.poll() is not None:
                    raise AssertionError(f"worker {proc.pid} exited with {proc.returncode}")
            with engine.connect() as conn:
                n = conn.execute(text("SELECT count(DISTINCT pid) FROM job_workers")).scalar_one()
            return int(n) >= len(procs)

        h.wait_until(up, 120, 0.1, "the worker processes to heartbeat")
    finally:
        engine.dispose()


def run(
    url: str,
    database: str,
    workdir: Path,
    cfg: StormConfig,
    *,
    progress: Callable[[str], None] | None = None,
) -> StormResult:
    result = StormResult(cfg, database)
    say = progress or (lambda _msg: None)
    with SimProcess(
        (cfg.clients, cfg.subscriptions),
        ends_within_days=cfg.ends_within_days,
        rates=cfg.rates,
        slow_seconds=cfg.slow_seconds,
        seed=cfg.seed,
        modes=cfg.modes,
    ) as sim:
        t = time.perf_counter()
        result.due = seed(url, sim.base_url, sim.subs, cfg.modes.get("order_list_lag", 0.0))
        result.seed_seconds = time.perf_counter() - t
        say(f"seeded {result.due} subscriptions in {result.seed_seconds:.1f} s; starting workers")
        env = worker_env(url, workdir)
        logs = [workdir / f"worker-{i}.log" for i in range(cfg.workers)]
        procs = []
        try:
            t = time.perf_counter()
            procs = [h.start_worker(env, log, concurrency=cfg.concurrency) for log in logs]
            _wait_for_workers(url, procs)
            result.workers_start_seconds = time.perf_counter() - t
            parties = {"workers": [p.pid for p in procs], "simulator": [sim.pid], "harness": [os.getpid()]}
            before = {name: _cpu_seconds(pids) for name, pids in parties.items()}
            _, result.wall_seconds = asyncio.run(
                _drive(url, cfg.timeout, lambda n: say(f"  {n} renewal(s) still open"))
            )
            result.load_average = os.getloadavg()
            result.cpu = {name: _cpu_seconds(pids) - before[name] for name, pids in parties.items()}
            if database == "postgresql":
                # Backends of this database (the workers' pools live as long as the run).
                result.cpu["postgres"] = _cpu_seconds(_backend_pids(url))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=15)
            h.kill_all(procs)
        report = sim.stop()
    result.log_tail = "\n".join(
        line for log in logs if log.exists() for line in log.read_text().splitlines()[-15:]
    )
    _collect(url, result, report)
    return result


def _collect(url: str, result: StormResult, report: SimReport) -> None:
    result.duplicates = report.duplicates()
    result.early = list(report.early_renewals)
    result.injected = {str(k): v for k, v in report.injected.items()}
    result.requests = report.requests
    result.real_order_posts = report.real_order_posts
    result.orders = sum(report.orders_per_term.values())
    engine = h.sync_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    Subscription.id,
                    Subscription.external_id,
                    Subscription.ends_on,
                    Renewal.id,
                    Renewal.state,
                    Renewal.term_ends_on,
                    Renewal.confirmed_at,
                    Renewal.new_term_ends_on,
                ).outerjoin(Renewal, Renewal.subscription_id == Subscription.id)
            ).all()
            alerted = set(
                conn.execute(
                    select(Notice.subject_id).where(Notice.subject_type == "renewal_escalated")
                ).scalars()
            )
            result.stuck = [
                f"{state} since {updated} next {when} attempts {att}/{rec}: {error}"
                for state, updated, when, att, rec, error in conn.execute(
                    select(
                        Renewal.state,
                        Renewal.updated_at,
                        Renewal.next_action_at,
                        Renewal.attempts,
                        Renewal.reconcile_attempts,
                        Renewal.last_error,
                    ).where(Renewal.state.in_(OPEN))
                )
            ]
            result.jobs = {
                f"{state}/{attempt}": n
                for state, attempt, n in conn.execute(
                    select(Job.state, Job.attempt, func.count())
                    .where(Job.kind == ADVANCE)
                    .group_by(Job.state, Job.attempt)
                )
            }
            errors = Counter(
                (error or "")[:300]
                for error in conn.execute(
                    select(Job.last_error).where(Job.kind == ADVANCE, Job.last_error.is_not(None))
                ).scalars()
            )
            result.job_errors = [f"{n} x {error}" for error, n in errors.most_common()]
            actions: Counter[str] = Counter()
            for meta in conn.execute(
                select(AuditEvent.meta).where(AuditEvent.subject_type == "renewal")
            ).scalars():
                if meta.get("action") == "renewal.reconciled":
                    actions["found" if meta.get("found_order") else "not_found"] += 1
    finally:
        engine.dispose()
    result.planned = len([r for r in rows if r[3] is not None])
    result.reconciled_found = actions["found"]
    result.reconciled_not_found = actions["not_found"]
    states: Counter[str] = Counter()
    for sub_id, external_id, ends_on, renewal_id, state, term_end, confirmed_at, new_end in rows:
        if renewal_id is None:
            result.missed.append(str(sub_id))
            continue
        state = RenewalState(state)
        states[state.value] += 1
        if state == RenewalState.confirmed:
            if confirmed_at is None or confirmed_at.date() > term_end:
                result.late.append(str(renewal_id))
            if new_end != report.ends_on.get(external_id) or ends_on != new_end:
                result.end_date_mismatch.append(str(sub_id))
        elif state == RenewalState.escalated:
            if str(renewal_id) not in alerted:
                result.escalated_without_alert.append(str(renewal_id))
        else:
            result.missed.append(str(sub_id))
    result.states = dict(states)
    # A subscription confirmed must have exactly one order at Pax8 for the term it had.
    for sub_id, external_id, _ends_on, renewal_id, state, term_end, *_ in rows:
        confirmed = renewal_id is not None and RenewalState(state) == RenewalState.confirmed
        if confirmed and report.orders_per_term.get((external_id, term_end), 0) != 1:
            result.missed.append(str(sub_id))
