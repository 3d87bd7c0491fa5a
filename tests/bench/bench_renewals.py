"""Automatic-renewal benchmark (issue 6): `python -m tests.bench.bench_renewals`.

- storm (default): the full lost-response storm of `tests/renewal/storm.py` on PostgreSQL:
  2,000 clients, 10,000 subscriptions due, 4 `hub worker` processes, the Pax8 simulator
  in its own process dropping 20 % of order answers after committing them (10 % 503 and
  5 % 429 before, 5 % slow). Prints wall time, renewals/s, CPU per renewal, and the
  duplicates / early / missed counts (all must be 0).
- planner (--planner): 30,000 auto-renew subscriptions seeded in bulk; times
  `planner.plan()` (the hourly job), `queue_due()` (one tick, and every due renewal at
  once) and `hub renewals plan --days 30` on SQLite and PostgreSQL. Target < 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from hub import migrate
from hub.db import create_engine, make_sessionmaker, session_scope
from hub.kit.time import utcnow
from hub.renewal import planner
from hub.settings import Settings, normalise_database_url
from tests.conftest import TEST_KEY
from tests.renewal import storm

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class Database:
    """A fresh migrated database (SQLite file or PostgreSQL `hub_bench_renewals_*`),
    dropped on exit."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.name = ""
        if kind == "postgresql":
            self.name = f"hub_bench_renewals_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            head, _, _ = normalise_database_url(PG_ADMIN).rpartition("/")
            self.url = f"{head}/{self.name}"
        else:
            self.url = f"sqlite+aiosqlite:///{workdir / 'hub.db'}"

    def __enter__(self) -> Database:
        migrate.upgrade(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# -- the storm ----------------------------------------------------------------------------


def run_storm(args: argparse.Namespace) -> bool:
    cfg = storm.StormConfig(
        clients=args.clients,
        subscriptions=args.subscriptions,
        workers=args.workers,
        concurrency=args.concurrency,
        timeout=args.timeout,
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="bench-renewals-") as tmp,
        Database(args.db_storm, Path(tmp)) as db,
    ):
        result = storm.run(
            db.url,
            db.kind,
            Path(tmp),
            cfg,
            progress=lambda m: print(time.strftime("%H:%M:%S"), m, flush=True),
        )
    print(result.summary())
    problems = result.problems()
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    if problems:
        print(result.log_tail)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "wall_seconds": round(result.wall_seconds, 2),
                    "renewals": result.planned,
                    "renewals_per_second": round(result.renewals_per_second, 2),
                    "duplicates": len(result.duplicates),
                    "early": len(result.early),
                    "missed": len(result.missed),
                    "states": result.states,
                    "injected": result.injected,
                    "cpu_seconds": {k: round(v, 1) for k, v in result.cpu.items()},
                    "load_average": result.load_average,
                    "problems": problems,
                },
                indent=2,
            )
        )
    return not problems


# -- the planner --------------------------------------------------------------------------


@dataclass
class PlanTimes:
    first: float = 0.0
    created: int = 0
    again: float = 0.0
    added: int = 0
    tick: float = 0.0  # queue_due as the minute tick runs it (TICK_BATCH renewals)
    tick_queued: int = 0
    queue_all: float = 0.0  # queue_due over every due renewal at once
    queued_all: int = 0


async def _time_plan(url: str) -> PlanTimes:
    engine = create_engine(Settings(database_url=url))
    sm = make_sessionmaker(engine)
    times = PlanTimes()
    try:
        now = utcnow()
        today = now.date()
        started = time.perf_counter()
        async with session_scope(sm) as session:
            times.created = await planner.plan(session, today, now=now)
        times.first = time.perf_counter() - started
        started = time.perf_counter()
        async with session_scope(sm) as session:
            times.added = await planner.plan(session, today, now=now)
        times.again = time.perf_counter() - started
        started = time.perf_counter()
        async with session_scope(sm) as session:
            times.tick_queued = await planner.queue_due(session, now=utcnow())
        times.tick = time.perf_counter() - started
        started = time.perf_counter()
        async with session_scope(sm) as session:
            times.queued_all = await planner.queue_due(session, now=utcnow(), limit=times.created + 1)
        times.queue_all = time.perf_counter() - started
        return times
    finally:
        await engine.dispose()


def _time_cli(url: str, workdir: Path, *extra: str) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=url, HUB_DATA_DIR=str(workdir), HUB_SECRET_KEY=TEST_KEY, HUB_LOG_LEVEL="warning"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "renewals", "plan", "--days", "30", *extra],
        env=env,
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=300,
    )
    wall = time.perf_counter() - started
    lines = json.loads(done.stdout)["items"] if "--json" in extra else done.stdout.decode().splitlines()
    return wall, len(lines)


def _time_cli_startup() -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "hub.cli", "--help"], cwd=REPO, capture_output=True, check=True, timeout=120
    )
    return time.perf_counter() - started


def run_planner(args: argparse.Namespace) -> bool:
    ok = True
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average before: {load_before}")
    figures: dict[str, Any] = {"load_before": load_before, "subscriptions": args.planner_subscriptions}
    for kind in kinds:
        for all_due in (False, True):
            with tempfile.TemporaryDirectory(prefix="bench-planner-") as tmp, Database(kind, Path(tmp)) as db:
                subs = storm.planner_subs(args.planner_subscriptions, all_due=all_due)
                started = time.perf_counter()
                storm.seed(db.url, "http://127.0.0.1:9", subs)
                seeded = time.perf_counter() - started
                cli_json, rows = _time_cli(db.url, Path(tmp), "--json")
                cli_table, _ = _time_cli(db.url, Path(tmp))
                t = asyncio.run(_time_plan(db.url))
                startup = _time_cli_startup()
            label = "all due" if all_due else "spread over 400 days"
            print(
                f"planner on {kind}: {len(subs)} auto-renew subscriptions ({label}), seeded in {seeded:.1f} s"
            )
            print(f"  planner.plan()               {t.first:6.2f} s  ({t.created} planned)  target < 5 s")
            print(f"  planner.plan() again         {t.again:6.2f} s  ({t.added} new)")
            print(f"  queue_due() one tick         {t.tick:6.2f} s  ({t.tick_queued} jobs queued)")
            print(
                f"  queue_due() every due one    {t.queue_all:6.2f} s  ({t.queued_all} more jobs queued)"
                "  target < 5 s"
            )
            print(
                f"  hub renewals plan --days 30  {cli_table:6.2f} s  table; "
                f"{cli_json:.2f} s --json ({rows} items)"
            )
            print(f"  (hub CLI start-up alone      {startup:6.2f} s)")
            figures[f"{kind}_{'all_due' if all_due else 'spread'}"] = {
                "plan_s": round(t.first, 2),
                "planned": t.created,
                "plan_again_s": round(t.again, 2),
                "tick_s": round(t.tick, 2),
                "tick_queued": t.tick_queued,
                "queue_all_s": round(t.queue_all, 2),
                "queued_all": t.queued_all,
                "cli_table_s": round(cli_table, 2),
            }
            ok = ok and t.first < 5 and t.queue_all < 5 and cli_table < 10 and t.added == 0
    figures["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average after: {figures['load_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--planner", action="store_true", help="the planner benchmark instead of the storm")
    parser.add_argument(
        "--db", choices=["sqlite", "postgresql", "both"], default="both", help="planner databases"
    )
    parser.add_argument("--db-storm", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--planner-subscriptions", type=int, default=30000)
    parser.add_argument("--json", help="storm (or --planner) figures as JSON to this file")
    args = parser.parse_args()
    ok = run_planner(args) if args.planner else run_storm(args)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
