"""What one automatic renewal costs on the happy path (issue 14):
`python -m tests.bench.bench_renewal_cost [--db sqlite|postgresql] [--renewals N]`.

N auto-renew subscriptions due (seeded in bulk as the storm seeds them), the Pax8
simulator in its own process with no fault, and the hub's side run in this process the
way a worker runs it, one job at a time: claim an advance job, run its task, until every
renewal is settled. Counted over the claims and the tasks only (not the harness's
`queue_due` tick, which stands for the scheduler): SQL statements (SQLAlchemy
`before_cursor_execute`; transaction control is counted apart, as transactions, on both
databases: PostgreSQL's BEGIN never reaches that event, SQLite's explicit one does),
vendor requests (what the simulator saw, by endpoint), and the
hub's CPU (`time.process_time()` of this process, the simulator being elsewhere).
Targets: <= 12 statements, <= 4 vendor requests, <= 30 ms of CPU per renewal.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from hub.jobs.worker import run_task
from hub.models import Renewal
from hub.renewal.states import TERMINAL
from hub.runtime import HubRuntime, HubSettings
from hub.settings import Settings
from tests.bench.bench_renewals import Database
from tests.renewal import pax8_world as w
from tests.renewal import storm
from tests.renewal.storm_sim import SimProcess

TARGETS = {"statements": 12, "requests": 4, "cpu_ms": 30}


@dataclass
class Cost:
    renewals: int = 0
    warmup_renewals: int = 0
    warmup_cpu_seconds: float = 0.0
    jobs: int = 0
    statements: int = 0
    transactions: int = 0
    cpu_seconds: float = 0.0
    requests: int = 0
    states: dict[str, int] = field(default_factory=dict)
    by_statement: Counter[str] = field(default_factory=Counter)
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def per_renewal(self) -> dict[str, float]:
        n = max(self.renewals - self.warmup_renewals, 1)
        return {
            "statements": self.statements / n,
            "transactions": self.transactions / n,
            "requests": self.requests / max(self.renewals, 1),  # the simulator saw every renewal's
            "cpu_ms": self.cpu_seconds * 1000 / n,
            "jobs": self.jobs / n,
        }


def _shape(statement: str) -> str:
    """A statement's verb and table, to see which ones repeat."""
    words = statement.split()
    verb = words[0].upper() if words else "?"
    for keyword in ("FROM", "INTO", "UPDATE"):
        if keyword in (x.upper() for x in words[: 40 if verb == "SELECT" else 6]):
            upper = [x.upper() for x in words]
            index = upper.index(keyword) + (0 if keyword == "UPDATE" and verb == "UPDATE" else 1)
            if verb == "UPDATE":
                index = 1
            return f"{verb} {words[index] if index < len(words) else '?'}"
    return verb


async def _settle(runtime: HubRuntime, cost: Cost, limit: float, profile: Any = None) -> None:
    sm = runtime.sessionmaker
    engine = runtime.engine.sync_engine
    counting = False
    # Shaped after the run: the harness's own work is not the hub's CPU.
    seen: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if counting and not statement.lstrip().upper().startswith("BEGIN"):
            seen[statement] += 1

    def count_transaction(conn: Any) -> None:
        if counting:
            cost.transactions += 1

    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "begin", count_transaction)
    deadline = time.monotonic() + limit
    warmed = False
    try:
        while time.monotonic() < deadline:
            async with sm() as session:
                open_left = (
                    await session.execute(
                        select(func.count()).select_from(Renewal).where(Renewal.state.not_in(TERMINAL))
                    )
                ).scalar_one()
            if not open_left:
                return
            async with sm.begin() as session:
                await w.planner.queue_due(session, now=runtime.now())
            if not warmed:
                # The first job imports the adapter and builds its models: once per worker
                # process, so not a cost of each renewal. It is run, and not counted.
                ctx = await w.claim(sm)
                if ctx is not None:
                    started = time.process_time()
                    await run_task(ctx)
                    cost.warmup_cpu_seconds = time.process_time() - started
                    cost.warmup_renewals = 1
                warmed = True
                continue
            counting = True
            if profile is not None:
                profile.enable()
            started = time.process_time()
            ctx = await w.claim(sm)
            if ctx is not None:
                await run_task(ctx)
                cost.jobs += 1
            cost.cpu_seconds += time.process_time() - started
            if profile is not None:
                profile.disable()
            counting = False
            if ctx is None:
                await asyncio.sleep(0.05)  # a follow-up is due a little later
        raise SystemExit(f"renewals still open after {limit} s")
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "begin", count_transaction)
        for statement, n in seen.items():
            cost.statements += n
            cost.by_statement[_shape(statement)] += n


async def _run(url: str, workdir: Path, cost: Cost, limit: float, profile: Any = None) -> None:
    env = storm.worker_env(url, workdir)
    for key, value in env.items():
        if key.startswith("HUB_"):
            os.environ[key] = value
    async with HubRuntime.open(HubSettings.from_env(Settings())) as runtime:
        now = runtime.now()
        async with runtime.sessionmaker.begin() as session:
            cost.renewals = await w.planner.plan(session, now.date(), now=now)
        await _settle(runtime, cost, limit, profile)
        async with runtime.sessionmaker() as session:
            rows = await session.execute(select(Renewal.state, func.count()).group_by(Renewal.state))
            cost.states = {state.value: n for state, n in rows.all()}


def measure(db_kind: str, renewals: int, limit: float = 600.0, profile: Any = None) -> Cost:
    cost = Cost()
    with (
        tempfile.TemporaryDirectory(prefix="bench-renewal-cost-") as tmp,
        Database(db_kind, Path(tmp)) as db,
        SimProcess((max(renewals // 5, 1), renewals), rates={}) as sim,
    ):
        storm.seed(db.url, sim.base_url, sim.subs)
        asyncio.run(_run(db.url, Path(tmp), cost, limit, profile))
        report = sim.stop()
    cost.requests = report.requests
    cost.by_endpoint = report.by_endpoint
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--renewals", type=int, default=50)
    parser.add_argument("--detail", action="store_true", help="statements by shape and requests by endpoint")
    parser.add_argument("--json", help="figures as JSON to this file")
    parser.add_argument("--profile", help="cProfile (CPU time) of the claims and tasks to this file (pstats)")
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    # CPU time, as the figure it explains (wall time on a shared machine is mostly waiting).
    profile = cProfile.Profile(time.process_time) if args.profile else None
    cost = measure(args.db, args.renewals, profile=profile)
    if profile is not None:
        profile.dump_stats(args.profile)
    per = cost.per_renewal()
    print(f"renewal happy path on {args.db}: {cost.renewals} renewals, states {cost.states} (load {load})")
    for key, unit in (("statements", ""), ("requests", ""), ("cpu_ms", " ms")):
        print(f"  {key:<12} {per[key]:7.1f}{unit} per renewal   target <= {TARGETS[key]}{unit}")
    print(f"  transactions {per['transactions']:7.1f} per renewal")
    print(f"  jobs         {per['jobs']:7.1f} per renewal")
    print(
        f"  (the first renewal, not counted: {cost.warmup_cpu_seconds * 1000:.0f} ms of CPU,"
        " imports included)"
    )
    if args.detail:
        for shape, n in cost.by_statement.most_common():
            print(f"    {n / max(cost.renewals - cost.warmup_renewals, 1):5.1f}  {shape}")
        for endpoint, n in sorted(cost.by_endpoint.items(), key=lambda x: -x[1]):
            print(f"    {n / max(cost.renewals, 1):5.1f}  {endpoint}")
    if args.json:
        Path(args.json).write_text(json.dumps({"per_renewal": per, "load": load, "states": cost.states}))


if __name__ == "__main__":
    main()
