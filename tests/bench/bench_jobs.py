"""Job-system benchmark and the large chaos run: `python -m tests.bench.bench_jobs`.

- throughput: no-op jobs end to end (enqueued while the workers run, claimed, completed)
  with 1 worker process on SQLite (the worker `hub serve` embeds) and 4 on PostgreSQL.
  Targets (issue 14): >= 400 / >= 600 jobs/s. Also the workers' peak RSS and, on
  PostgreSQL, the transactions committed per job.
- claim latency: p50/p99 of one claim (+ its completion, timed apart) with 2,000, 10,000
  and 20,000 queued (1x, 5x, 10x): the claim walks a partial index, so it should stay flat.
- chaos (--chaos): 5,000 jobs, 4 workers SIGKILLed and restarted on PostgreSQL; the
  serve process with its embedded worker on SQLite; each effect exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

from hub import migrate
from hub.db import create_engine, make_sessionmaker, session_scope
from hub.jobs import queue
from hub.settings import Settings, normalise_database_url
from tests.jobs import helpers as h
from tests.jobs import kinds  # noqa: F401


def _pg_database(admin_url: str) -> tuple[str, str]:
    name = f"hub_bench_jobs_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _, _ = normalise_database_url(admin_url).rpartition("/")
    return name, f"{head}/{name}"


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _enqueue_many(url: str, kind: str, n: int, batch: int = 200) -> None:
    engine = create_engine(Settings(database_url=url))
    sm = make_sessionmaker(engine)
    try:
        for start in range(0, n, batch):
            async with session_scope(sm) as s:
                for i in range(start, min(n, start + batch)):
                    await queue.enqueue_raw(s, kind, {"i": i})
    finally:
        await engine.dispose()


def _peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), read before it is killed."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend_cpu(engine: Any) -> dict[int, float]:
    """CPU used so far by each PostgreSQL backend serving this database (the server runs on
    this machine): {pid: seconds}. Empty on SQLite, whose work is in the workers' CPU."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        pids = conn.execute(
            h.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        found = {}
        for pid in pids:
            with contextlib.suppress(OSError):
                found[int(pid)] = _cpu_seconds(int(pid))
        return found


def _commits(engine: Any) -> int | None:
    """Transactions committed in this database so far (PostgreSQL's statistics)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        conn.execute(h.text("SELECT pg_stat_clear_snapshot()"))
        return int(
            conn.execute(
                h.text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
        )


def _scalar(engine: Any, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(h.text(sql)).scalar_one()


def throughput(
    url: str, workdir: Path, *, workers: int, concurrency: int, jobs: int, prequeued: bool
) -> dict[str, Any]:
    """prequeued=False: enqueue while the workers run (end to end, enqueue included);
    True: drain a full queue (claim + complete only)."""
    engine = h.sync_engine(url)
    # The job path under test; the workers' periodic duties (heartbeat, sweep, periodic
    # slots) at their production intervals, not the tests' fast ones.
    env = h.worker_env(
        url,
        workdir,
        HUB_JOBS_POLL_SECONDS="0.02",
        HUB_JOBS_LEASE_SECONDS="30",
        HUB_JOBS_HEARTBEAT_SECONDS="10",
        HUB_JOBS_SWEEP_SECONDS="15",
        HUB_JOBS_SCHEDULE_SECONDS="15",
        HUB_RENEWAL_SEND_MARGIN_SECONDS="5",
    )
    if prequeued:
        asyncio.run(_enqueue_many(url, "testing.noop", jobs, batch=1000))
    procs = [h.start_worker(env, workdir / f"w{i}.log", concurrency=concurrency) for i in range(workers)]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        h.wait_until(lambda: _scalar(engine, "SELECT count(*) FROM job_workers") >= workers, 180)
        commits_before = _commits(engine)
        cpu_before = sum(_cpu_seconds(p.pid) for p in procs)
        db_before = _backend_cpu(engine)
        enqueue_cpu = time.process_time()
        if not prequeued:
            asyncio.run(_enqueue_many(url, "testing.noop", jobs))
        enqueue_cpu = time.process_time() - enqueue_cpu
        h.wait_until(lambda: h.states(engine, "testing.noop").get("succeeded", 0) >= jobs, 300, 0.02)
        start_col = "started_at" if prequeued else "created_at"
        first = _scalar(engine, f"SELECT min({start_col}) FROM jobs WHERE kind = 'testing.noop'")
        last = _scalar(engine, "SELECT max(finished_at) FROM jobs WHERE kind = 'testing.noop'")
        rss = [_peak_rss_mb(p.pid) for p in procs]
        worker_cpu = sum(_cpu_seconds(p.pid) for p in procs) - cpu_before
        db_after = _backend_cpu(engine)
        db_cpu = sum(v - db_before.get(pid, 0.0) for pid, v in db_after.items())
        time.sleep(1.2)  # backends report their statistics about once a second
        commits_after = _commits(engine)
    finally:
        h.kill_all(procs)
        engine.dispose()
    to_dt = lambda v: __import__("datetime").datetime.fromisoformat(v) if isinstance(v, str) else v  # noqa: E731
    elapsed = (to_dt(last) - to_dt(first)).total_seconds()
    return {
        "mode": "drain a full queue" if prequeued else "enqueue while running (end to end)",
        "jobs": jobs,
        "workers": workers,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "jobs_per_second": round(jobs / elapsed, 1),
        # CPU spent, whatever the load: the workers' (claim, run, complete) and the
        # enqueuing process's, per job
        "worker_cpu_ms_per_job": round(worker_cpu * 1000 / jobs, 2),
        "enqueue_cpu_ms_per_job": round(enqueue_cpu * 1000 / jobs, 2) if not prequeued else None,
        # PostgreSQL's backends for this database (enqueue, claims, completions, polls)
        "db_cpu_ms_per_job": round(db_cpu * 1000 / jobs, 2) if db_after else None,
        "worker_peak_rss_mb": max((r for r in rss if r is not None), default=None),
        # every commit in the database over the run (claims, completions, heartbeats, polls,
        # the benchmark's own enqueues and its progress reads), per job
        "commits_per_job": round((commits_after - commits_before) / jobs, 2)
        if commits_before is not None and commits_after is not None
        else None,
        "load_average": load,
    }


async def _claim_latency(url: str, queued: int, samples: int) -> dict[str, Any]:
    """`queued` jobs waiting (bulk-inserted: the enqueue path is not what is timed here)."""
    sync = h.sync_engine(url)
    have = h.states(sync, "testing.noop").get("queued", 0)
    for start in range(have, queued, 5000):
        h.bulk_enqueue(sync, "testing.noop", [{"i": i} for i in range(start, min(queued, start + 5000))])
    sync.dispose()
    engine = create_engine(Settings(database_url=url))
    sm = make_sessionmaker(engine)
    claims: list[float] = []
    completes: list[float] = []
    try:
        for _ in range(samples):
            t0 = time.perf_counter()
            async with session_scope(sm) as s:
                (job,) = await queue.claim(s, "bench", ["testing.noop"], 1, timedelta(seconds=30))
            t1 = time.perf_counter()
            async with session_scope(sm) as s:
                await queue.complete(s, job.id, job.attempt, "bench")
            completes.append(time.perf_counter() - t1)
            claims.append(t1 - t0)
    finally:
        await engine.dispose()

    def pct(values: list[float], p: float) -> float:
        return round(statistics.quantiles(values, n=100)[int(p) - 1] * 1000, 2)

    return {
        "queued": queued,
        "samples": samples,
        "claim_p50_ms": pct(claims, 50),
        "claim_p99_ms": pct(claims, 99),
        "complete_p99_ms": pct(completes, 99),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


async def _claim_growth(url: str, sizes: list[int], samples: int) -> dict[str, Any]:
    """Claim latency with 1x, 5x and 10x as many jobs queued, in one database (each size
    tops the queue up; the claimed samples are a rounding error)."""
    return {str(n): await _claim_latency(url, n, samples) for n in sizes}


def chaos(database: h.Any, workdir: Path, *, postgres: bool, jobs: int) -> dict[str, Any]:
    from tests.jobs import test_processes as tp

    env = h.worker_env(database.url, workdir)
    if postgres:
        return tp._chaos(
            database,
            workdir,
            start=lambda i: h.start_worker(env, workdir / f"chaos{i}.log", concurrency=4),
            processes=4,
            jobs=jobs,
            kill_every=2.0,
            overdue_limit=tp.SWEEP + 1.0,
            timeout=600,
        )
    port = tp._free_port()

    def start(i: int) -> Any:
        with (workdir / "serve.log").open("ab") as fh:
            return h.subprocess.Popen(
                [h.sys.executable, "-m", "tests.jobs.serve_app", str(port), "4"],
                env=env,
                cwd=h.REPO,
                stdout=fh,
                stderr=h.subprocess.STDOUT,
            )

    return tp._chaos(
        database, workdir, start=start, processes=1, jobs=jobs, kill_every=3.0, overdue_limit=99, timeout=600
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1/test")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--queued", type=int, default=20_000, help="the 10x queue size")
    parser.add_argument("--chaos", action="store_true", help="also run the 5,000-job chaos runs")
    parser.add_argument(
        "--steps", default="end_to_end,drain,latency", help="comma separated: end_to_end, drain, latency"
    )
    parser.add_argument("--out", type=Path, help="write the results here as JSON (make bench)")
    args = parser.parse_args()
    from tests.conftest import TestDatabase

    results: dict[str, Any] = {}
    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        runs: dict[str, Any] = {}
        for step in ("end_to_end", "drain", "latency", "chaos"):
            if step == "chaos" and not args.chaos:
                continue
            if step != "chaos" and step not in args.steps.split(","):
                continue
            workdir = Path(tempfile.mkdtemp(prefix=f"bench-jobs-{db}-"))
            if db == "sqlite":
                url, name = f"sqlite+aiosqlite:///{workdir / 'hub.db'}", None
            else:
                name, url = _pg_database(args.pg_url)
            try:
                migrate.upgrade(url)
                if step in ("end_to_end", "drain"):
                    workers = 1 if db == "sqlite" else 4
                    runs[step] = throughput(
                        url,
                        workdir,
                        workers=workers,
                        concurrency=4,
                        jobs=args.jobs,
                        prequeued=step == "drain",
                    )
                elif step == "latency":
                    sizes = [args.queued // 10, args.queued // 2, args.queued]
                    runs[step] = asyncio.run(_claim_growth(url, sizes, 500))
                else:
                    runs[step] = chaos(
                        TestDatabase(url, db), workdir, postgres=db == "postgresql", jobs=args.jobs
                    )
            finally:
                if name:
                    _drop(args.pg_url, name)
            print(db, step, json.dumps(runs[step]), flush=True)
        results[db] = runs
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
