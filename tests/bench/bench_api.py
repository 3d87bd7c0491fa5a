"""End-to-end API benchmark: seed a fresh database, serve it with a real `hub serve`
(one process on SQLite; 1, 2 and 4 processes on PostgreSQL) and load two report
endpoints (plus `/livez` as the harness's ceiling) at 10 and 50 concurrent requests and
one at a time; then seed smaller databases (1/10 and 1/2 of the main one) and show how
seed time, database size, memory and latency grow with the data.

    python -m tests.bench.bench_api [--db sqlite|postgresql|both] [--scale large]
                                    [--concurrency 10,50] [--server-workers 1,2,4]
                                    [--growth tenth,half] [--duration 8] [--warmup 2]
                                    [--out results.json] [--profile DIR]

See tests/bench/README.md for what every figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_SLUG = "bench-large-client"
BENCH_SUBSCRIPTIONS = 300
MB = 1024 * 1024

# name -> (path template, needs token)
ENDPOINTS: dict[str, tuple[str, bool]] = {
    "livez": ("/livez", False),
    "spend": ("/api/v1/clients/{client_id}/spend", True),
    "upcoming": ("/api/v1/renewals/upcoming?within_days=90", True),
}
# Targets: (database or "*") -> limit.
P99_TARGET_MS: dict[str, dict[str, float]] = {
    "spend": {"sqlite": 50.0},
    "upcoming": {"*": 200.0},
}
PEAK_RSS_TARGET_MB = 300.0
# Issue 14, one process on SQLite: the spend report of the 300-line client at >= 1,000
# req/s (50 concurrent, served from the fingerprint cache), upcoming p50 < 10 ms one at a time.
SPEND_RPS_TARGET = 1000.0
UPCOMING_SERIAL_P50_TARGET_MS = 10.0
# A cost that grows with the data: superlinear when its log-log slope against the number
# of subscriptions passes this (1.0 is linear; the margin absorbs a shared machine's noise).
SUPERLINEAR_SLOPE = 1.2
CLIENT_BOUND_SHARE = 0.9  # the load generator used >= 90% of a core
PROFILE_RATE = 200  # py-spy samples per second (--profile)

console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def p99_target(endpoint: str, db: str) -> float | None:
    targets = P99_TARGET_MS.get(endpoint, {})
    return targets.get(db, targets.get("*"))


# --- processes --------------------------------------------------------------------------


def hub_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub.cli", *args]


def base_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATA_DIR=str(data_dir),
        # Access logs at info level would cost the server a log line per request.
        HUB_LOG_LEVEL="warning",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["HUB_DATABASE_URL"] = database_url
        # PostgreSQL: every process (seed, tokens, each server worker) must share one key.
        from cryptography.fernet import Fernet

        env["HUB_SECRET_KEY"] = Fernet.generate_key().decode()
    return env


def run_cli(args: list[str], env: dict[str, str], log: Path, timeout: float) -> str:
    """Run a `hub` command; return its stdout, raise with its stderr tail on failure."""
    with log.open("ab") as err:
        proc = subprocess.run(
            hub_cmd(*args), env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=err, timeout=timeout
        )
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"`hub {' '.join(args)}` exited with {proc.returncode}:\n{tail}")
    return proc.stdout.decode()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[Any] | None, timeout: float = 10.0) -> None:
    """Stop a server and whatever it started (uvicorn's worker processes with --workers):
    SIGTERM to the supervisor, which stops its children; any still there are killed."""
    if proc is None or proc.poll() is not None:
        return
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


# --- databases --------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    url: str | None  # HUB_DATABASE_URL; None: the SQLite file under HUB_DATA_DIR
    size: Callable[[], int]
    analyze: Callable[[], None]  # refresh the planner's statistics
    autovacuum: bool | None  # PostgreSQL: whether statistics would come on their own


@contextlib.contextmanager
def fresh_database(kind: str, tmp: Path) -> Iterator[BenchDatabase]:
    if kind == "sqlite":
        import sqlite3

        def sqlite_size() -> int:
            return sum(p.stat().st_size for p in tmp.glob("hub.db*"))

        def sqlite_analyze() -> None:
            with contextlib.closing(sqlite3.connect(tmp / "hub.db")) as conn:
                conn.execute("ANALYZE")
                conn.commit()

        yield BenchDatabase(None, sqlite_size, sqlite_analyze, None)
        return

    import psycopg
    from psycopg import sql

    name = f"hub_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        row = admin.execute("SHOW autovacuum").fetchone()
        autovacuum = bool(row and row[0] == "on")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def pg_size() -> int:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
            return int(row[0]) if row else 0

    def pg_analyze() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

    try:
        yield BenchDatabase(url, pg_size, pg_analyze, autovacuum)
    finally:
        try:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        except Exception as exc:
            console.print(f"[red]could not drop {name}: {exc}[/red]")


# --- the server's resources -------------------------------------------------------------


@dataclass
class Sample:
    t: float  # time.monotonic()
    rss: int  # the server's processes together (uvicorn's supervisor and its workers)
    max_rss: int  # the largest one of them
    server_cpu: float  # the server's processes, user + system seconds
    sys_busy: float  # whole machine, all cores, busy seconds
    sys_total: float
    processes: int


@dataclass
class Sampler:
    """Samples the server's RSS and CPU (and the machine's) every `interval` seconds. With
    `hub serve --workers N` the server is a supervisor and N children: RSS is summed over
    them (and the largest kept), CPU summed (a child's CPU counts from when it is first
    seen, so a worker that restarts mid-run loses its earlier seconds)."""

    pid: int
    interval: float = 0.1
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._proc = psutil.Process(self.pid)
        self._procs: dict[int, psutil.Process] = {self.pid: self._proc}
        self._cpu: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _tree(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.Error):
            for child in self._proc.children(recursive=True):
                # Keep the Process objects: psutil's cpu_percent-free cpu_times needs none,
                # but a stable object per pid survives a pid being looked up again.
                self._procs.setdefault(child.pid, child)
        return list(self._procs.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._proc.is_running():
                return
            total_rss = max_rss = 0
            alive = 0
            for proc in self._tree():
                try:
                    with proc.oneshot():
                        rss = proc.memory_info().rss
                        cpu = proc.cpu_times()
                except psutil.Error:
                    continue
                alive += 1
                total_rss += rss
                max_rss = max(max_rss, rss)
                self._cpu[proc.pid] = cpu.user + cpu.system
            machine = psutil.cpu_times()
            idle = machine.idle + getattr(machine, "iowait", 0.0)
            total = sum(machine)
            self.samples.append(
                Sample(
                    time.monotonic(),
                    total_rss,
                    max_rss,
                    sum(self._cpu.values()),
                    total - idle,
                    total,
                    alive,
                )
            )
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)

    def _within(self, start: float | None, end: float | None) -> list[Sample]:
        return [s for s in self.samples if (start is None or s.t >= start) and (end is None or s.t <= end)]

    def peak_rss_mb(self, start: float | None = None, end: float | None = None) -> float:
        rss = [s.rss for s in self._within(start, end)]
        return round(max(rss) / MB, 1) if rss else float("nan")

    def peak_process_rss_mb(self, start: float | None = None, end: float | None = None) -> float:
        rss = [s.max_rss for s in self._within(start, end)]
        return round(max(rss) / MB, 1) if rss else float("nan")

    def processes(self) -> int:
        return self.samples[-1].processes if self.samples else 0

    def window(self, start: float, end: float) -> dict[str, float]:
        """Server CPU (% of one core, all its processes) and machine CPU (% of all cores)."""
        inside = [s for s in self.samples if start <= s.t <= end]
        if len(inside) < 2:
            return {"server_cpu_pct": float("nan"), "machine_cpu_pct": float("nan")}
        a, b = inside[0], inside[-1]
        dt = b.t - a.t
        return {
            "server_cpu_pct": round(100 * (b.server_cpu - a.server_cpu) / dt, 1),
            "machine_cpu_pct": round(
                100 * (b.sys_busy - a.sys_busy) / max(b.sys_total - a.sys_total, 1e-9), 1
            ),
        }


# --- profiling (optional) ---------------------------------------------------------------


def start_profiler(pid: int, out: Path, delay: float, duration: float) -> threading.Thread:
    """py-spy record, collapsed stacks by function, over the measured window."""

    def run() -> None:
        time.sleep(delay)
        pyspy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        if pyspy is None:
            console.print("[yellow]py-spy not found: pip install py-spy[/yellow]")
            return
        subprocess.run(
            [
                *(
                    pyspy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(duration)),
                    "--rate",
                    str(PROFILE_RATE),
                ),
                *("--format", "raw", "--function", "--nonblocking", "--subprocesses", "-o", str(out)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=duration + 60,
            check=False,
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/module.py:12)"; keep function and file.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", f"{REPO}/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


# Frames on every request's stack (process start-up, the server loop, middleware): left
# out of the inclusive ranking, where they would only push the informative frames down.
_WRAPPERS = (
    "<frozen runpy>",
    "typer/",
    "click/",
    "threading.py",
    "asyncio/runners.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "uvloop/",
    "uvicorn/main.py",
    "uvicorn/server.py",
    "uvicorn/_compat.py",
    "uvicorn/middleware/",
    "starlette/applications.py",
    "starlette/middleware/",
    "starlette/_exception_handler.py",
    "starlette/routing.py",
    "fastapi/middleware/",
    "fastapi/_body_limit.py",
    "fastapi/telemetry/",
    "fastapi/applications.py",
    "fastapi/routing.py",
    "uvicorn/protocols/",
    "hub/cli.py",
)


def _is_wrapper(frame: str) -> bool:
    return any(f"({w}" in frame for w in _WRAPPERS)


def summarise_profile(raw: Path, seconds: float, top: int = 25) -> dict[str, Any]:
    """Top functions by self time and by inclusive time, as % of the busy samples (all
    threads: aiosqlite runs each connection in a thread); busy_threads is how many
    threads were on average doing something."""
    if not raw.exists():
        return {"error": "no profile written (py-spy missing or not permitted?)"}
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("thread ")]
        if not frames:
            continue
        total += n
        self_t[frames[-1]] += n
        for f in set(frames):
            incl[f] += n

    def pct(c: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * n / total, 1)) for f, n in c.most_common(top)]

    for frame in [f for f in incl if _is_wrapper(f)]:
        del incl[frame]

    return {
        "samples": total,
        "busy_threads": round(total / (PROFILE_RATE * seconds), 2),
        "self": pct(self_t),
        "inclusive": pct(incl),
    }


# --- one database ------------------------------------------------------------------------


def verify(client: httpx.Client, client_id: str) -> dict[str, Any]:
    """The spend report has the bench client's 300 lines and each currency's monthly total
    is the sum of its lines; the upcoming page is soonest-first. Failures are collected in
    "problems" (the load still runs, so one wrong figure does not hide the others)."""
    problems: list[str] = []
    facts: dict[str, Any] = {"problems": problems}
    spend = client.get(f"/api/v1/clients/{client_id}/spend")
    if spend.status_code != 200:
        problems.append(f"spend: {spend.status_code} {spend.text[:500]}")
    else:
        report = spend.json()
        lines = report["lines"]
        if len(lines) != BENCH_SUBSCRIPTIONS:
            problems.append(f"spend: {len(lines)} lines, expected {BENCH_SUBSCRIPTIONS}")
        for total in report["totals"]:
            mine = [ln for ln in lines if ln["currency"] == total["currency"]]
            summed = sum((Decimal(ln["monthly"]) for ln in mine), Decimal("0"))
            if Decimal(total["monthly"]) != summed or total["lines"] != len(mine):
                problems.append(
                    f"spend: {total['currency']} monthly {total['monthly']} != sum of lines {summed}"
                )
        if sum(t["lines"] for t in report["totals"]) != len(lines):
            problems.append("spend: the totals do not cover every line")
        facts.update(
            spend_lines=len(lines),
            spend_bytes=len(spend.content),
            spend_totals={t["currency"]: t["monthly"] for t in report["totals"]},
        )
    upcoming = client.get("/api/v1/renewals/upcoming", params={"within_days": 90})
    if upcoming.status_code != 200:
        problems.append(f"upcoming: {upcoming.status_code} {upcoming.text[:500]}")
    else:
        page = upcoming.json()
        ends = [item["ends_on"] for item in page["items"]]
        if ends != sorted(ends):
            problems.append("upcoming: items are not soonest-first")
        facts.update(
            upcoming_total=page["total"],
            upcoming_items=len(page["items"]),
            upcoming_bytes=len(upcoming.content),
        )
    return facts


def run_loadgen(
    base_url: str,
    path: str,
    token: str | None,
    args: argparse.Namespace,
    *,
    concurrency: int,
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "BENCH_TOKEN"}
    if token:
        env["BENCH_TOKEN"] = token
    cmd = [sys.executable, "-m", "tests.bench.loadgen", "--base-url", base_url, "--path", path]
    cmd += ["--concurrency", str(concurrency), "--warmup", str(warmup)]
    cmd += ["--duration", str(duration), "--client", args.client]
    proc = subprocess.run(
        cmd,
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=warmup + duration + 180,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{proc.stderr.decode(errors='replace')[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    result["load_average"] = load_average()
    return result


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@dataclass(frozen=True)
class RunPlan:
    """What to measure on one freshly seeded database."""

    scale: str
    workers: tuple[int, ...]  # `hub serve --workers N`, one server after the other
    concurrency: tuple[int, ...]
    endpoints: tuple[str, ...]
    duration: float
    warmup: float
    serial_duration: float  # one request at a time first; with the first process count only
    profile: Path | None = None


def seed_database(kind: str, db: BenchDatabase, env: dict[str, str], log: Path, scale: str) -> dict[str, Any]:
    console.print(f"[bold]{kind}[/bold]: seeding ({scale}) ...")
    t0 = time.perf_counter()
    out = run_cli(["seed", "--scale", scale, "--json"], env, log, timeout=1800)
    wall = round(time.perf_counter() - t0, 2)
    summary = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
    size_mb = round(db.size() / MB, 1)
    subscriptions = int(summary.get("subscriptions") or 0)
    figures = {
        "seed": summary,
        "seed_seconds": summary.get("seconds"),
        "seed_wall_s": wall,
        "db_size_mb": size_mb,
        "db_mb_per_10k_subscriptions": round(size_mb * 10_000 / subscriptions, 1) if subscriptions else None,
        "autovacuum": db.autovacuum,
    }
    console.print(
        f"  seeded in {figures['seed_seconds']} s ({wall} s with migrations and start-up),"
        f" database {size_mb} MB ({figures['db_mb_per_10k_subscriptions']} MB per 10,000 subscriptions)"
    )
    return figures


def start_server(
    env: dict[str, str], log: Path, port: int, processes: int, args: argparse.Namespace
) -> subprocess.Popen[bytes]:
    cmd = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes)]
    if not args.embedded_worker:
        # The API alone, as docker-compose's api service runs it (jobs in `hub worker`).
        cmd.append("--no-worker")
    with log.open("ab") as server_log:
        return subprocess.Popen(hub_cmd(*cmd), env=env, cwd=REPO, stdout=server_log, stderr=server_log)


def wait_ready(server: subprocess.Popen[bytes], base_url: str, log: Path, processes: int) -> float:
    """Until /livez answers and, with several processes, every worker process is up and
    has answered (each new connection lands on whichever worker accepts it first)."""
    started = time.monotonic()
    with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as http:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"server exited:\n{log.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if http.get("/livez").status_code == 200:
                    break
            if time.monotonic() - started > 90:
                raise RuntimeError("server did not answer /livez within 90 s")
            time.sleep(0.1)
    if processes > 1:
        parent = psutil.Process(server.pid)
        while len(parent.children()) < processes and time.monotonic() - started < 90:
            time.sleep(0.2)
        # A worker accepts only once its app is built: fresh connections until every one
        # has had time to.
        deadline = time.monotonic() + 3 * processes
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(httpx.HTTPError),
                httpx.Client(base_url=base_url, timeout=30, trust_env=False) as one,
            ):
                one.get("/livez")
            time.sleep(0.05)
    return round(time.monotonic() - started, 2)


def _annotate(run: dict[str, Any], sampler: Sampler) -> None:
    """The server's side of a load generator's window: CPU, memory, and CPU per answer
    (steadier than req/s on a shared machine, where the server gets whatever share of the
    cores the other processes leave it)."""
    run.update(sampler.window(run["window_start_mono"], run["window_end_mono"]))
    run["peak_rss_mb"] = sampler.peak_rss_mb(run["window_start_mono"], run["window_end_mono"])
    run["client_bound"] = run["loadgen_core_share"] >= CLIENT_BOUND_SHARE
    cpu_pct = run["server_cpu_pct"]
    ok = run["rps"] and not math.isnan(cpu_pct)
    run["server_cpu_ms_per_request"] = round(10 * cpu_pct / run["rps"], 2) if ok else None


def measure_endpoint(
    kind: str,
    name: str,
    path: str,
    bearer: str | None,
    plan: RunPlan,
    args: argparse.Namespace,
    *,
    base_url: str,
    server_pid: int,
    sampler: Sampler,
    serial: bool,
    tag: str,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, "serial": None, "concurrency": {}}
    if serial and plan.serial_duration > 0:
        run = run_loadgen(
            base_url, path, bearer, args, concurrency=1, warmup=1, duration=plan.serial_duration
        )
        _annotate(run, sampler)
        entry["serial"] = run
        console.print(
            f"    1 at a time: {run['rps']} req/s, p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms,"
            f" errors {run['errors']}, server CPU {run['server_cpu_ms_per_request']} ms per answer,"
            f" load {run['load_average'][0]}"
        )
    for concurrency in plan.concurrency:
        # The profile covers the highest concurrency's measured window (about).
        profiler = None
        raw = plan.profile / f"{tag}-{name}.txt" if plan.profile else None
        if raw is not None and name != "livez" and concurrency == max(plan.concurrency):
            raw.unlink(missing_ok=True)
            profiler = start_profiler(server_pid, raw, plan.warmup + 0.5, plan.duration - 1)
        load = run_loadgen(
            base_url, path, bearer, args, concurrency=concurrency, warmup=plan.warmup, duration=plan.duration
        )
        _annotate(load, sampler)
        if profiler is not None and raw is not None:
            profiler.join(plan.duration + 90)
            load["profile"] = summarise_profile(raw, int(plan.duration - 1))
        entry["concurrency"][str(concurrency)] = load
        console.print(
            f"    {concurrency:>3} concurrent: {load['rps']} req/s, p50 {load['p50_ms']} ms,"
            f" p99 {load['p99_ms']} ms, errors {load['errors']}, server CPU {load['server_cpu_pct']}%"
            f" ({load['server_cpu_ms_per_request']} ms per answer),"
            f" load generator {round(100 * load['loadgen_core_share'])}% of a core,"
            f" load {load['load_average'][0]}"
        )
        for run in (entry["serial"], load):
            if run and run["first_error"]:
                console.print(f"    [red]first error[/red] {run['first_error']}")
    return entry


def bench_database(kind: str, plan: RunPlan, args: argparse.Namespace) -> dict[str, Any]:
    from hub.seed import SCALES

    spec = SCALES[plan.scale]
    result: dict[str, Any] = {
        "database": kind,
        "scale": plan.scale,
        "spec": {
            "clients": spec.clients,
            "subscriptions": spec.subscriptions,
            "assets": spec.assets,
            "domains": spec.domains,
        },
        "load_average": {"start": load_average()},
        "workers": {},
    }
    tmp = Path(tempfile.mkdtemp(prefix=f"hub-bench-{kind}-"))
    server: subprocess.Popen[bytes] | None = None
    sampler: Sampler | None = None
    log = tmp / "hub.log"
    try:
        with fresh_database(kind, tmp) as db, contextlib.ExitStack() as stack:
            # Unwound before the database is dropped: the server goes first.
            stack.callback(lambda: stop_process(server))
            stack.callback(lambda: sampler.stop() if sampler else None)
            env = base_env(tmp, db.url)
            result.update(seed_database(kind, db, env, log, plan.scale))

            result["analyzed"] = args.analyze
            if args.analyze:
                t0 = time.perf_counter()
                db.analyze()
                result["analyze_s"] = round(time.perf_counter() - t0, 2)
                console.print(f"  planner statistics refreshed in {result['analyze_s']} s")

            token = run_cli(["tokens", "create", "--name", "bench", "--role", "admin"], env, log, 120)
            token = token.strip().splitlines()[-1].strip()
            client_id: str | None = None

            for index, processes in enumerate(plan.workers):
                port = free_port()
                base_url = f"http://127.0.0.1:{port}"
                server = start_server(env, log, port, processes, args)
                sampler = Sampler(server.pid)
                sampler.start()
                run: dict[str, Any] = {"processes": processes}
                run["startup_s"] = wait_ready(server, base_url, log, processes)
                if client_id is None:
                    with httpx.Client(
                        base_url=base_url,
                        timeout=30,
                        trust_env=False,
                        headers={"Authorization": f"Bearer {token}"},
                    ) as http:
                        found = http.get("/api/v1/clients", params={"q": BENCH_SLUG})
                        found.raise_for_status()
                        matches = [c for c in found.json()["items"] if c["slug"] == BENCH_SLUG]
                        if not matches:
                            raise RuntimeError(f"no client with slug {BENCH_SLUG}: is the seed right?")
                        client_id = matches[0]["id"]
                        result["verify"] = verify(http, client_id)
                    checks = result["verify"]
                    console.print(f"  checks: {checks}")
                    for problem in checks["problems"]:
                        console.print(f"  [red]CHECK FAILED[/red] {problem}")
                run["idle_rss_mb"] = sampler.peak_rss_mb()
                run["idle_process_rss_mb"] = sampler.peak_process_rss_mb()
                run["server_processes"] = sampler.processes()
                console.print(
                    f"  [bold]hub serve --workers {processes}[/bold]: up in {run['startup_s']} s,"
                    f" {run['server_processes']} processes, idle RSS {run['idle_rss_mb']} MB"
                )
                run["endpoints"] = {}
                for name in plan.endpoints:
                    template, needs_token = ENDPOINTS[name]
                    path = template.format(client_id=client_id)
                    console.print(f"  {name}: {path}")
                    run["endpoints"][name] = measure_endpoint(
                        kind,
                        name,
                        path,
                        token if needs_token else None,
                        plan,
                        args,
                        base_url=base_url,
                        server_pid=server.pid,
                        sampler=sampler,
                        serial=index == 0,
                        tag=f"{kind}-{plan.scale}-w{processes}",
                    )
                run["peak_rss_mb"] = sampler.peak_rss_mb()
                run["peak_process_rss_mb"] = sampler.peak_process_rss_mb()
                failed = any(
                    load["errors"]
                    for entry in run["endpoints"].values()
                    for load in [entry["serial"] or {"errors": 0}, *entry["concurrency"].values()]
                )
                if failed:
                    # The server logs why it answered 500 (the run's directory is removed).
                    run["server_log_tail"] = log.read_text(errors="replace")[-4000:]
                    console.print(f"  [red]errors; the server log ends:[/red]\n{run['server_log_tail']}")
                sampler.stop()
                stop_process(server)
                server = None
                result["workers"][str(processes)] = run
            one = result["workers"].get(str(plan.workers[0]), {})
            result["idle_rss_mb"] = one.get("idle_rss_mb")
            result["peak_rss_mb"] = one.get("peak_rss_mb")
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        console.print(f"[red]{kind} ({plan.scale}) failed:[/red] {result['error']}")
    finally:
        if sampler is not None:
            sampler.stop()
        stop_process(server)
        shutil.rmtree(tmp, ignore_errors=True)
    result["load_average"]["end"] = load_average()
    return result


# --- growth -----------------------------------------------------------------------------

# Per point: what is read from a bench_database result.
GROWTH_METRICS: dict[str, Callable[[dict[str, Any]], float | None]] = {
    "seed_s": lambda r: r.get("seed_seconds"),
    "db_size_mb": lambda r: r.get("db_size_mb"),
    "idle_rss_mb": lambda r: r.get("idle_rss_mb"),
    "peak_rss_mb": lambda r: r.get("peak_rss_mb"),
    "spend_p50_serial_ms": lambda r: _serial(r, "spend", "p50_ms"),
    "upcoming_p50_serial_ms": lambda r: _serial(r, "upcoming", "p50_ms"),
    "spend_p50_loaded_ms": lambda r: _loaded(r, "spend", "p50_ms"),
    "upcoming_p50_loaded_ms": lambda r: _loaded(r, "upcoming", "p50_ms"),
}


def _first_workers(result: dict[str, Any]) -> dict[str, Any]:
    workers = result.get("workers") or {}
    return next(iter(workers.values()), {}) if workers else {}


def _serial(result: dict[str, Any], endpoint: str, key: str) -> float | None:
    serial = _first_workers(result).get("endpoints", {}).get(endpoint, {}).get("serial")
    value: float | None = serial.get(key) if serial else None
    return value


def _loaded(result: dict[str, Any], endpoint: str, key: str) -> float | None:
    runs = _first_workers(result).get("endpoints", {}).get(endpoint, {}).get("concurrency", {})
    if not runs:
        return None
    return runs[max(runs, key=int)].get(key)  # type: ignore[no-any-return]


def loglog_slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(value) against log(size): 1 is linear, 0 flat."""
    pts = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx == 0:
        return None
    return round(sum((x - mx) * (y - my) for x, y in pts) / sxx, 2)


def growth_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One database's points, smallest first, each metric's log-log slope against the
    number of subscriptions, and the metrics that grew faster than linearly."""
    ok = sorted((r for r in results if "error" not in r), key=lambda r: r["spec"]["subscriptions"])
    if not ok:
        return {"points": {}, "slopes": {}, "superlinear": [], "errors": [r.get("error") for r in results]}
    base = ok[0]["spec"]["subscriptions"]
    points: dict[str, Any] = {}
    for r in ok:
        point = {**r["spec"], "factor": round(r["spec"]["subscriptions"] / base, 2)}
        point.update({name: read(r) for name, read in GROWTH_METRICS.items()})
        point["db_mb_per_10k_subscriptions"] = r.get("db_mb_per_10k_subscriptions")
        point["upcoming_total"] = r.get("verify", {}).get("upcoming_total")
        point["load_average"] = r.get("load_average")
        points[r["scale"]] = point
    slopes = {
        name: loglog_slope(
            [(p["subscriptions"], p[name]) for p in points.values() if p.get(name) is not None]
        )
        for name in GROWTH_METRICS
    }
    superlinear = [name for name, slope in slopes.items() if slope is not None and slope > SUPERLINEAR_SLOPE]
    return {
        "points": points,
        "slopes": slopes,
        "superlinear": superlinear,
        "superlinear_above_slope": SUPERLINEAR_SLOPE,
        "errors": [r["error"] for r in results if "error" in r],
    }


# --- report -----------------------------------------------------------------------------


def _ok(value: float | None, limit: float | None, *, at_least: bool = False) -> str:
    if limit is None or value is None:
        return ""
    good = value >= limit if at_least else value < limit
    return "[green]ok[/green]" if good else "[red]MISSED[/red]"


def report_console() -> Console:
    # Wide enough for the endpoint table even when stdout is a pipe or a file.
    return Console() if sys.stdout.isatty() else Console(width=220)


def _stats_label(result: dict[str, Any]) -> str:
    # `hub seed` ends with ANALYZE; --analyze refreshes the statistics once more.
    if result.get("analyzed"):
        return "seed ANALYZE + ANALYZE"
    return "seed ANALYZE"


def _f(value: Any, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def target_checks(main: dict[str, dict[str, Any]], concurrency: tuple[int, ...]) -> dict[str, Any]:
    """Issue 14's API targets, against the one-process server."""
    top = str(max(concurrency))
    checks: dict[str, Any] = {}

    def loaded(kind: str, endpoint: str, key: str) -> float | None:
        run = _first_workers(main.get(kind, {})).get("endpoints", {}).get(endpoint, {})
        value: float | None = run.get("concurrency", {}).get(top, {}).get(key)
        return value

    if "sqlite" in main:
        value = loaded("sqlite", "spend", "rps")
        checks["sqlite_spend_rps"] = {
            "value": value,
            "target": f">= {SPEND_RPS_TARGET:.0f} req/s at {top} concurrent",
            "ok": value is not None and value >= SPEND_RPS_TARGET,
        }
    for kind in main:
        value = _serial(main[kind], "upcoming", "p50_ms")
        checks[f"{kind}_upcoming_serial_p50_ms"] = {
            "value": value,
            "target": f"< {UPCOMING_SERIAL_P50_TARGET_MS:.0f} ms one at a time",
            "ok": value is not None and value < UPCOMING_SERIAL_P50_TARGET_MS,
        }
        for endpoint in ("spend", "upcoming"):
            limit = p99_target(endpoint, kind)
            if limit is not None:
                value = loaded(kind, endpoint, "p99_ms")
                checks[f"{kind}_{endpoint}_p99_ms"] = {
                    "value": value,
                    "target": f"< {limit:.0f} ms at {top} concurrent",
                    "ok": value is not None and value < limit,
                }
        peak = main[kind].get("peak_rss_mb")
        checks[f"{kind}_peak_rss_mb"] = {
            "value": peak,
            "target": f"< {PEAK_RSS_TARGET_MB:.0f} MB (one process)",
            "ok": peak is not None and peak < PEAK_RSS_TARGET_MB,
        }
    return checks


def flat_figures(main: dict[str, dict[str, Any]], growth: dict[str, Any]) -> dict[str, Any]:
    """Every headline figure under one flat key (for tests/bench/summary.py)."""
    figures: dict[str, Any] = {}
    for kind, result in main.items():
        figures[f"{kind}_db_mb_per_10k_subscriptions"] = result.get("db_mb_per_10k_subscriptions")
        figures[f"{kind}_idle_rss_mb"] = result.get("idle_rss_mb")
        figures[f"{kind}_peak_rss_mb"] = result.get("peak_rss_mb")
        for processes, run in result.get("workers", {}).items():
            suffix = "" if processes == "1" else f"_w{processes}"
            figures[f"{kind}_peak_rss_mb{suffix}"] = run.get("peak_rss_mb")
            for endpoint, entry in run.get("endpoints", {}).items():
                serial = entry.get("serial")
                if serial:
                    figures[f"{kind}_{endpoint}_serial_p50_ms"] = serial["p50_ms"]
                    figures[f"{kind}_{endpoint}_serial_p99_ms"] = serial["p99_ms"]
                    figures[f"{kind}_{endpoint}_serial_cpu_ms"] = serial["server_cpu_ms_per_request"]
                for c, load in entry.get("concurrency", {}).items():
                    for key in ("rps", "p50_ms", "p99_ms", "server_cpu_ms_per_request"):
                        figures[f"{kind}_{endpoint}_{key}_c{c}{suffix}"] = load[key]
    for kind, summary in growth.items():
        figures[f"{kind}_growth_slopes"] = summary.get("slopes")
        figures[f"{kind}_growth_superlinear"] = summary.get("superlinear")
    return figures


def print_tables(
    main: dict[str, dict[str, Any]],
    growth: dict[str, Any],
    checks: dict[str, Any],
    args: argparse.Namespace,
) -> None:
    out = report_console()
    results = list(main.values())
    stats = (
        "statistics refreshed again after seeding" if args.analyze else "statistics from the seed's ANALYZE"
    )
    summary = Table(title=f"Hub API benchmark: scale {args.scale}, {stats}")
    for col in (
        "database",
        "seed s",
        "seed wall s",
        "DB MB",
        "MB / 10k subs",
        "planner stats",
        "idle RSS MB",
        "peak RSS MB",
        "target",
    ):
        summary.add_column(col, justify="right" if col != "database" else "left")
    for r in results:
        peak = r.get("peak_rss_mb")
        summary.add_row(
            r["database"] + (" [red](failed)[/red]" if "error" in r else ""),
            str(r.get("seed_seconds", "-")),
            str(r.get("seed_wall_s", "-")),
            str(r.get("db_size_mb", "-")),
            str(r.get("db_mb_per_10k_subscriptions", "-")),
            _stats_label(r),
            str(r.get("idle_rss_mb", "-")),
            str(peak if peak is not None else "-"),
            f"< {PEAK_RSS_TARGET_MB:.0f} {_ok(peak, PEAK_RSS_TARGET_MB)}",
        )
    out.print(summary)

    table = Table(
        title=f"Endpoints: {args.duration:g} s measured after {args.warmup:g} s warm-up per concurrency;"
        f" 1 = one at a time for {args.serial_duration:g} s (first process count only)"
    )
    cols = ["database", "processes", "endpoint", "concurrent", "req/s", "p50 ms", "p90 ms", "p99 ms"]
    cols += ["max ms", "errors", "p99 target", "server CPU %", "CPU ms / req", "machine CPU %"]
    cols += ["loadgen CPU s (% core)"]
    cols += ["peak RSS MB", "load 1 min"]
    for col in cols:
        table.add_column(col, justify="left" if col in ("database", "endpoint") else "right")
    for r in results:
        for processes, run in r.get("workers", {}).items():
            for name, entry in run.get("endpoints", {}).items():
                rows = [("1", entry["serial"])] if entry.get("serial") else []
                rows += list(entry.get("concurrency", {}).items())
                for c, e in rows:
                    target = p99_target(name, r["database"]) if c == str(max(args.concurrency)) else None
                    bound = " [yellow]client-bound[/yellow]" if e.get("client_bound") else ""
                    table.add_row(
                        r["database"],
                        processes,
                        name,
                        c,
                        f"{e['rps']:.0f}",
                        f"{e['p50_ms']:.1f}",
                        f"{e['p90_ms']:.1f}",
                        f"{e['p99_ms']:.1f}",
                        f"{e['max_ms']:.1f}",
                        str(e["errors"]) if not e["errors"] else f"[red]{e['errors']}[/red]",
                        f"< {target:.0f} {_ok(e['p99_ms'], target)}" if target else "-",
                        _f(e.get("server_cpu_pct"), "{:.0f}"),
                        _f(e.get("server_cpu_ms_per_request"), "{:.2f}"),
                        _f(e.get("machine_cpu_pct"), "{:.0f}"),
                        f"{e['loadgen_cpu_s']:.1f} ({100 * e['loadgen_core_share']:.0f}%){bound}",
                        _f(e.get("peak_rss_mb"), "{:.0f}"),
                        _f(e.get("load_average", [None])[0], "{:.2f}"),
                    )
    out.print(table)

    for kind, r in main.items():
        workers = r.get("workers", {})
        if len(workers) < 2:
            continue
        scaling = Table(
            title=f"{kind}: req/s by server processes (hub serve --workers N; {psutil.cpu_count()} cores)"
        )
        scaling.add_column("endpoint", justify="left")
        scaling.add_column("concurrent", justify="right")
        for processes in workers:
            scaling.add_column(f"{processes} proc req/s (p50/p99 ms)", justify="right")
            scaling.add_column(f"x{processes}/x1", justify="right")
        first = next(iter(workers.values()))
        for name in first.get("endpoints", {}):
            for c in first["endpoints"][name].get("concurrency", {}):
                cells: list[str] = []
                base = first["endpoints"][name]["concurrency"][c]["rps"]
                for run in workers.values():
                    e = run.get("endpoints", {}).get(name, {}).get("concurrency", {}).get(c)
                    if not e:
                        cells += ["-", "-"]
                        continue
                    cells.append(f"{e['rps']:.0f} ({e['p50_ms']:.0f}/{e['p99_ms']:.0f})")
                    cells.append(f"{e['rps'] / base:.2f}" if base else "-")
                scaling.add_row(name, c, *cells)
        out.print(scaling)
        peaks = ", ".join(
            f"{p} proc: {run.get('peak_rss_mb')} MB ({run.get('peak_process_rss_mb')} MB largest process)"
            for p, run in workers.items()
        )
        out.print(f"{kind} peak RSS of the server's processes together: {peaks}")

    for kind, g in growth.items():
        if not g.get("points"):
            continue
        gt = Table(
            title=f"{kind}: growth with the data (one process;"
            " slope of log(figure) vs log(subscriptions): 1 = linear)"
        )
        cols = ["scale", "x", "clients", "subs", "assets", "domains", "seed s", "DB MB", "MB / 10k subs"]
        cols += ["idle RSS", "peak RSS", "spend p50 1-at-a-time", "upcoming p50 1-at-a-time"]
        cols += ["spend p50 loaded", "upcoming p50 loaded", "upcoming total", "load"]
        for col in cols:
            gt.add_column(col, justify="left" if col == "scale" else "right")
        for scale, p in g["points"].items():
            gt.add_row(
                scale,
                f"{p['factor']:g}",
                str(p["clients"]),
                str(p["subscriptions"]),
                str(p["assets"]),
                str(p["domains"]),
                _f(p.get("seed_s")),
                _f(p.get("db_size_mb")),
                _f(p.get("db_mb_per_10k_subscriptions")),
                _f(p.get("idle_rss_mb"), "{:.0f}"),
                _f(p.get("peak_rss_mb"), "{:.0f}"),
                _f(p.get("spend_p50_serial_ms"), "{:.2f}"),
                _f(p.get("upcoming_p50_serial_ms"), "{:.2f}"),
                _f(p.get("spend_p50_loaded_ms")),
                _f(p.get("upcoming_p50_loaded_ms")),
                str(p.get("upcoming_total", "-")),
                _f((p.get("load_average") or {}).get("start", [None])[0], "{:.1f}"),
            )
        sl = g["slopes"]
        gt.add_row(
            "slope",
            "",
            "",
            "",
            "",
            "",
            *(_f(sl.get(k), "{:.2f}") for k in ("seed_s", "db_size_mb")),
            "",
            *(
                _f(sl.get(k), "{:.2f}")
                for k in (
                    "idle_rss_mb",
                    "peak_rss_mb",
                    "spend_p50_serial_ms",
                    "upcoming_p50_serial_ms",
                    "spend_p50_loaded_ms",
                    "upcoming_p50_loaded_ms",
                )
            ),
            "",
            "",
        )
        out.print(gt)
        if g["superlinear"]:
            out.print(
                f"[red]{kind}: faster than linear (slope > {SUPERLINEAR_SLOPE}):[/red]"
                f" {', '.join(g['superlinear'])}"
            )
        else:
            out.print(f"{kind}: nothing grew faster than linearly (every slope <= {SUPERLINEAR_SLOPE})")
        for error in g.get("errors", []):
            out.print(f"[red]{kind} growth point failed:[/red] {error}")

    for name, check in checks.items():
        mark = "[green]ok[/green]" if check["ok"] else "[red]MISSED[/red]"
        out.print(f"target {name}: {check['value']} (target {check['target']}) {mark}")

    for r in results:
        if "error" in r:
            out.print(f"[red]{r['database']}: {r['error']}[/red]")
        for problem in r.get("verify", {}).get("problems", []):
            out.print(f"[red]{r['database']} correctness check failed:[/red] {problem}")
        if r.get("verify") and not r["verify"]["problems"]:
            out.print(f"{r['database']}: correctness checks passed ({r['verify']})")
        for processes, run in r.get("workers", {}).items():
            for name, entry in run.get("endpoints", {}).items():
                for c, e in entry.get("concurrency", {}).items():
                    prof = e.get("profile")
                    if prof and "self" in prof:
                        out.print(
                            f"\n[bold]{r['database']} {processes} proc {name} at {c}[/bold]: py-spy,"
                            f" {prof['samples']} busy samples, {prof['busy_threads']} threads busy on average"
                        )
                        out.print("  self:      " + "; ".join(f"{f} {p}%" for f, p in prof["self"][:10]))
                        out.print("  inclusive: " + "; ".join(f"{f} {p}%" for f, p in prof["inclusive"][:25]))
    out.print(
        "Server CPU % is of one core, all the server's processes together (aiosqlite's threads can"
        " take one process past 100); machine CPU % is of all cores (includes the database and"
        " anything else running); 'client-bound' marks a"
        f" load generator at >= {CLIENT_BOUND_SHARE:.0%} of a core, when the figure is the"
        " harness's limit rather than the server's."
    )


def _int_list(text: str) -> tuple[int, ...]:
    values = tuple(int(x) for x in text.split(",") if x.strip())
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"a comma-separated list of positive integers, not {text!r}")
    return values


def _scale_list(text: str) -> tuple[str, ...]:
    from hub.seed import SCALES

    if text.strip().lower() in ("", "none", "0"):
        return ()
    values = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = [v for v in values if v not in SCALES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown scale(s) {unknown}: choose from {sorted(SCALES)}")
    return values


def main(argv: list[str] | None = None) -> int:
    from hub.seed import SCALES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--scale", choices=sorted(SCALES), default="large")
    parser.add_argument(
        "--concurrency", type=_int_list, default=(10, 50), help="closed-loop workers, comma-separated"
    )
    parser.add_argument(
        "--server-workers",
        type=_int_list,
        default=(1, 2, 4),
        help="PostgreSQL: `hub serve --workers N` for each N in turn (SQLite: always 1)",
    )
    parser.add_argument(
        "--growth",
        type=_scale_list,
        default=("tenth", "half"),
        help="also seed these scales (one process, spend and upcoming only) and report how the"
        " figures grow up to --scale; 'none' skips",
    )
    parser.add_argument(
        "--growth-duration", type=float, default=3.0, help="measured seconds per loaded run of a growth point"
    )
    parser.add_argument(
        "--duration", type=float, default=6.0, help="measured seconds per endpoint and concurrency"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each")
    parser.add_argument(
        "--serial-duration",
        type=float,
        default=4.0,
        help="also measure each endpoint one request at a time for this long (0: skip)",
    )
    parser.add_argument(
        "--client", choices=["auto", "aiohttp", "httpx"], default="auto", help="load generator's client"
    )
    parser.add_argument(
        "--embedded-worker",
        action="store_true",
        help="serve with the embedded job worker (default: --no-worker, the API alone)",
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="refresh planner statistics again after seeding (the seed itself ends with ANALYZE)",
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--profile", type=Path, help="py-spy the server into this directory")
    args = parser.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    # Stopped by SIGTERM (or SIGINT where the shell ignored it): unwind through the
    # `finally` blocks that stop the server and drop the database.
    def _interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    growth_scales = [s for s in args.growth if s != args.scale]
    started = time.perf_counter()
    load_start = load_average()
    main_results: dict[str, dict[str, Any]] = {}
    growth: dict[str, Any] = {}
    try:
        for kind in kinds:
            workers = args.server_workers if kind == "postgresql" else (1,)
            plan = RunPlan(
                scale=args.scale,
                workers=tuple(workers),
                concurrency=tuple(args.concurrency),
                endpoints=tuple(ENDPOINTS),
                duration=args.duration,
                warmup=args.warmup,
                serial_duration=args.serial_duration,
                profile=args.profile,
            )
            main_results[kind] = bench_database(kind, plan, args)
            if growth_scales:
                points = [
                    bench_database(
                        kind,
                        RunPlan(
                            scale=scale,
                            workers=(1,),
                            concurrency=(max(args.concurrency),),
                            endpoints=("spend", "upcoming"),
                            duration=args.growth_duration,
                            warmup=args.warmup,
                            serial_duration=args.serial_duration,
                        ),
                        args,
                    )
                    for scale in growth_scales
                ]
                growth[kind] = growth_summary([*points, main_results[kind]])
                growth[kind]["runs"] = {p["scale"]: p for p in points}
    except KeyboardInterrupt as exc:
        console.print(f"[red]interrupted ({exc}); processes stopped, databases dropped[/red]")
        return 130
    total = round(time.perf_counter() - started, 1)
    checks = target_checks(main_results, tuple(args.concurrency))
    print_tables(main_results, growth, checks, args)
    load_end = load_average()
    report_console().print(f"total {total} s; load average {load_start} at the start, {load_end} at the end")
    if args.out:
        payload = {
            "config": {
                k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in vars(args).items()
            },
            "machine": {
                "cpus": psutil.cpu_count(),
                "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
                "python": sys.version.split()[0],
            },
            "load_average": {"start": load_start, "end": load_end},
            "total_s": total,
            "targets": {
                "p99_ms": P99_TARGET_MS,
                "peak_rss_mb": PEAK_RSS_TARGET_MB,
                "sqlite_spend_rps": SPEND_RPS_TARGET,
                "upcoming_serial_p50_ms": UPCOMING_SERIAL_P50_TARGET_MS,
            },
            "checks": checks,
            "figures": flat_figures(main_results, growth),
            **main_results,
            "growth": growth,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    failed = any("error" in r or r.get("verify", {}).get("problems") for r in main_results.values())
    failed = failed or any(g.get("errors") for g in growth.values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
