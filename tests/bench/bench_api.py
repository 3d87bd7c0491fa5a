"""End-to-end API benchmark: seed a fresh database, serve it with a real `hub serve`
process and load two report endpoints (plus `/livez` as the harness's ceiling).

    python -m tests.bench.bench_api [--db sqlite|postgresql|both] [--scale large|small]
                                    [--concurrency 50] [--duration 20] [--warmup 3]
                                    [--out results.json] [--profile DIR]

See tests/bench/README.md for what every figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


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
    rss: int
    server_cpu: float  # the server process, user + system seconds
    sys_busy: float  # whole machine, all cores, busy seconds
    sys_total: float


@dataclass
class Sampler:
    """Samples the server's RSS and CPU (and the machine's) every `interval` seconds."""

    pid: int
    interval: float = 0.1
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._proc = psutil.Process(self.pid)
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self._proc.oneshot():
                    rss = self._proc.memory_info().rss
                    cpu = self._proc.cpu_times()
                machine = psutil.cpu_times()
            except psutil.Error:
                return
            idle = machine.idle + getattr(machine, "iowait", 0.0)
            total = sum(machine)
            self.samples.append(Sample(time.monotonic(), rss, cpu.user + cpu.system, total - idle, total))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)

    def peak_rss_mb(self, start: float | None = None, end: float | None = None) -> float:
        rss = [s.rss for s in self.samples if (start is None or s.t >= start) and (end is None or s.t <= end)]
        return round(max(rss) / MB, 1) if rss else float("nan")

    def window(self, start: float, end: float) -> dict[str, float]:
        """Server CPU (% of one core) and machine CPU (% of all cores) over a window."""
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
                *("--format", "raw", "--function", "--nonblocking", "-o", str(out)),
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
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
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
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"database": kind, "scale": args.scale}
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

            console.print(f"[bold]{kind}[/bold]: seeding ({args.scale}) ...")
            t0 = time.perf_counter()
            out = run_cli(["seed", "--scale", args.scale, "--json"], env, log, timeout=1200)
            result["seed_wall_s"] = round(time.perf_counter() - t0, 2)
            summary = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
            result["seed"] = summary
            result["seed_seconds"] = summary.get("seconds")
            result["db_size_mb"] = round(db.size() / MB, 1)
            result["autovacuum"] = db.autovacuum
            console.print(
                f"  seeded in {result['seed_seconds']} s ({result['seed_wall_s']} s with migrations"
                f" and start-up), database {result['db_size_mb']} MB"
            )

            result["analyzed"] = args.analyze
            if args.analyze:
                t0 = time.perf_counter()
                db.analyze()
                result["analyze_s"] = round(time.perf_counter() - t0, 2)
                console.print(f"  planner statistics refreshed in {result['analyze_s']} s")

            token = run_cli(["tokens", "create", "--name", "bench", "--role", "admin"], env, log, 120)
            token = token.strip().splitlines()[-1].strip()

            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            with log.open("ab") as server_log:
                server = subprocess.Popen(
                    hub_cmd("serve", "--host", "127.0.0.1", "--port", str(port)),
                    env=env,
                    cwd=REPO,
                    stdout=server_log,
                    stderr=server_log,
                )
            sampler = Sampler(server.pid)
            sampler.start()
            started = time.monotonic()
            with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as http:
                while True:
                    if server.poll() is not None:
                        raise RuntimeError(f"server exited:\n{log.read_text(errors='replace')[-3000:]}")
                    with contextlib.suppress(httpx.HTTPError):
                        if http.get("/livez").status_code == 200:
                            break
                    if time.monotonic() - started > 60:
                        raise RuntimeError("server did not answer /livez within 60 s")
                    time.sleep(0.1)
                result["startup_s"] = round(time.monotonic() - started, 2)
                http.headers["Authorization"] = f"Bearer {token}"
                found = http.get("/api/v1/clients", params={"q": BENCH_SLUG})
                found.raise_for_status()
                matches = [c for c in found.json()["items"] if c["slug"] == BENCH_SLUG]
                if not matches:
                    raise RuntimeError(f"no client with slug {BENCH_SLUG}: is the seed right?")
                client_id = matches[0]["id"]
                result["verify"] = verify(http, client_id)
            result["idle_rss_mb"] = sampler.peak_rss_mb()
            checks = result["verify"]
            console.print(f"  server up in {result['startup_s']} s; checks: {checks}")
            for problem in checks["problems"]:
                console.print(f"  [red]CHECK FAILED[/red] {problem}")

            result["endpoints"] = {}
            for name, (template, needs_token) in ENDPOINTS.items():
                path = template.format(client_id=client_id)
                console.print(f"  loading {name}: {path}")
                bearer = token if needs_token else None
                serial = None
                if args.serial_duration > 0:
                    serial = run_loadgen(
                        base_url, path, bearer, args, concurrency=1, warmup=1, duration=args.serial_duration
                    )
                # The profile covers the concurrent load's measured window (about).
                profiler = None
                raw = Path(args.profile) / f"{kind}-{name}.txt" if args.profile else None
                if raw is not None and name != "livez":
                    raw.unlink(missing_ok=True)
                    profiler = start_profiler(server.pid, raw, args.warmup + 0.5, args.duration - 1)
                load = run_loadgen(
                    base_url,
                    path,
                    bearer,
                    args,
                    concurrency=args.concurrency,
                    warmup=args.warmup,
                    duration=args.duration,
                )
                load["serial"] = serial
                load.update(sampler.window(load["window_start_mono"], load["window_end_mono"]))
                load["peak_rss_mb"] = sampler.peak_rss_mb(load["window_start_mono"], load["window_end_mono"])
                load["client_bound"] = load["loadgen_core_share"] >= CLIENT_BOUND_SHARE
                if profiler is not None and raw is not None:
                    profiler.join(args.duration + 90)
                    load["profile"] = summarise_profile(raw, int(args.duration - 1))
                result["endpoints"][name] = load
                console.print(
                    f"    {load['rps']} req/s, p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms,"
                    f" errors {load['errors']}, server CPU {load['server_cpu_pct']}%,"
                    f" load generator {round(100 * load['loadgen_core_share'])}% of a core"
                )
                if serial:
                    console.print(
                        f"    one at a time: {serial['rps']} req/s, p50 {serial['p50_ms']} ms,"
                        f" p99 {serial['p99_ms']} ms, errors {serial['errors']}"
                    )
                for run in (serial, load):
                    if run and run["first_error"]:
                        console.print(f"    [red]first error[/red] {run['first_error']}")
            result["peak_rss_mb"] = sampler.peak_rss_mb()
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        console.print(f"[red]{kind} failed:[/red] {result['error']}")
    finally:
        if sampler is not None:
            sampler.stop()
            result.setdefault("peak_rss_mb", sampler.peak_rss_mb())
        stop_process(server)
        shutil.rmtree(tmp, ignore_errors=True)
    return result


# --- report -----------------------------------------------------------------------------


def _ok(value: float | None, limit: float | None) -> str:
    if limit is None or value is None:
        return ""
    return "[green]ok[/green]" if value < limit else "[red]MISSED[/red]"


def report_console() -> Console:
    # Wide enough for the endpoint table even when stdout is a pipe or a file.
    return Console() if sys.stdout.isatty() else Console(width=200)


def _stats_label(result: dict[str, Any]) -> str:
    # `hub seed` ends with ANALYZE; --analyze refreshes the statistics once more.
    if result.get("analyzed"):
        return "seed ANALYZE + ANALYZE"
    return "seed ANALYZE"


def print_tables(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    out = report_console()
    stats = (
        "statistics refreshed again after seeding" if args.analyze else "statistics from the seed's ANALYZE"
    )
    summary = Table(title=f"Hub API benchmark: scale {args.scale}, {args.concurrency} workers, {stats}")
    for col in (
        "database",
        "seed s",
        "seed wall s",
        "DB MB",
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
            _stats_label(r),
            str(r.get("idle_rss_mb", "-")),
            str(peak if peak is not None else "-"),
            f"< {PEAK_RSS_TARGET_MB:.0f} {_ok(peak, PEAK_RSS_TARGET_MB)}",
        )
    out.print(summary)

    table = Table(
        title=f"Endpoints: {args.concurrency} workers, {args.duration:g} s measured after"
        f" {args.warmup:g} s warm-up; and, before that, one at a time for {args.serial_duration:g} s"
    )
    cols = ["database", "endpoint", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"]
    cols += ["p99 target", "server CPU %", "machine CPU %", "loadgen CPU s (% core)", "peak RSS MB"]
    cols += ["1-at-a-time req/s", "p50 / p99 ms"]
    for col in cols:
        table.add_column(col, justify="left" if col in ("database", "endpoint") else "right")
    for r in results:
        for name, e in r.get("endpoints", {}).items():
            target = p99_target(name, r["database"])
            bound = " [yellow]client-bound[/yellow]" if e["client_bound"] else ""
            table.add_row(
                r["database"],
                name,
                f"{e['rps']:.0f}",
                f"{e['p50_ms']:.1f}",
                f"{e['p90_ms']:.1f}",
                f"{e['p99_ms']:.1f}",
                f"{e['max_ms']:.1f}",
                str(e["errors"]) if not e["errors"] else f"[red]{e['errors']}[/red]",
                f"< {target:.0f} {_ok(e['p99_ms'], target)}" if target else "-",
                f"{e['server_cpu_pct']:.0f}",
                f"{e['machine_cpu_pct']:.0f}",
                f"{e['loadgen_cpu_s']:.1f} ({100 * e['loadgen_core_share']:.0f}%){bound}",
                f"{e['peak_rss_mb']:.0f}",
                *(
                    (f"{s['rps']:.0f}", f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f}")
                    if (s := e.get("serial"))
                    else ("-", "-")
                ),
            )
    out.print(table)
    for r in results:
        if "error" in r:
            out.print(f"[red]{r['database']}: {r['error']}[/red]")
        for problem in r.get("verify", {}).get("problems", []):
            out.print(f"[red]{r['database']} correctness check failed:[/red] {problem}")
        if r.get("verify") and not r["verify"]["problems"]:
            out.print(f"{r['database']}: correctness checks passed ({r['verify']})")
        for name, e in r.get("endpoints", {}).items():
            if e.get("first_error"):
                out.print(f"[red]{r['database']} {name} first error:[/red] {e['first_error']}")
            prof = e.get("profile")
            if prof and "self" in prof:
                out.print(
                    f"\n[bold]{r['database']} {name}[/bold]: py-spy, {prof['samples']} busy samples,"
                    f" {prof['busy_threads']} threads busy on average"
                )
                out.print("  self:      " + "; ".join(f"{f} {p}%" for f, p in prof["self"][:10]))
                out.print("  inclusive: " + "; ".join(f"{f} {p}%" for f, p in prof["inclusive"][:25]))
    out.print(
        "Server CPU % is of one core (one process; aiosqlite's threads can take it past 100);"
        " machine CPU % is of all cores (includes the database and anything else running);"
        " 'client-bound' marks a"
        f" load generator at >= {CLIENT_BOUND_SHARE:.0%} of a core, when the figure is the"
        " harness's limit rather than the server's."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--scale", choices=["small", "large"], default="large")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each")
    parser.add_argument(
        "--serial-duration",
        type=float,
        default=5.0,
        help="also measure each endpoint one request at a time for this long (0: skip)",
    )
    parser.add_argument(
        "--client", choices=["auto", "aiohttp", "httpx"], default="auto", help="load generator's client"
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
    started = time.perf_counter()
    try:
        results = [bench_database(kind, args) for kind in kinds]
    except KeyboardInterrupt as exc:
        console.print(f"[red]interrupted ({exc}); processes stopped, databases dropped[/red]")
        return 130
    total = round(time.perf_counter() - started, 1)
    print_tables(results, args)
    report_console().print(f"total {total} s")
    if args.out:
        payload = {
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "machine": {
                "cpus": psutil.cpu_count(),
                "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
                "python": sys.version.split()[0],
            },
            "total_s": total,
            "targets": {"p99_ms": P99_TARGET_MS, "peak_rss_mb": PEAK_RSS_TARGET_MB},
            "results": results,
        }
        args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    failed = any("error" in r or r.get("verify", {}).get("problems") for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
