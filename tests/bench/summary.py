"""Issue 14's figures in one table: `python -m tests.bench.summary [--before DIR]`.

Measures here, in this run, the figures that take a minute (CLI start-up, the cost of one
renewal on the happy path), on both sides when `--before DIR` names a checkout of the
commit to compare with (e.g. `git worktree add ../perf-before 4e5003e`; the two harness
files the old tree lacks are copied into it, the code measured stays its own). The long
benchmarks (`make bench` runs them first) leave their JSON in `--results` (var/bench);
a figure with no result says how to get it. The 'before' of a figure not measured here is
the recorded one (tests/bench/before.json: the issue's, or this machine's on 2026-12-07).
The load average is printed with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.bench import bench_startup

REPO = Path(__file__).resolve().parents[2]
RECORDED = json.loads((Path(__file__).with_name("before.json")).read_text())["figures"]
HARNESS = ["tests/bench/bench_renewal_cost.py", "tests/renewal/storm_sim.py", "tests/bench/bench_startup.py"]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _prepare_before(tree: Path) -> None:
    for name in HARNESS:
        source, target = REPO / name, tree / name
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)
            print(f"(harness {name} copied into {tree}; the code measured is that tree's)")


def _renewal_cost(tree: Path, renewals: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.bench.bench_renewal_cost",
                "--renewals",
                str(renewals),
                "--json",
                out.name,
            ],
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode != 0:
            raise SystemExit(f"{tree}: bench_renewal_cost failed:\n{done.stderr[-3000:]}")
        return dict(json.loads(Path(out.name).read_text()))


def _result(results: Path, name: str) -> dict[str, Any] | None:
    path = results / name
    return json.loads(path.read_text()) if path.exists() else None


def _planner(figures: dict[str, Any]) -> str:
    """`bench_renewals --planner --json`: plan() and queue_due() over every due renewal,
    all due at once, per database."""
    sides = []
    for kind in ("sqlite", "postgresql"):
        run = figures.get(f"{kind}_all_due")
        sides.append(f"{run['plan_s']} + {run['queue_all_s']} s" if run else "-")
    return " / ".join(sides) + f" (load {figures.get('load_before', '?')})"


def _checks_rows(checks: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    """`bench_checks --json`: the 200-domain run at 20 ms as a user waits for it, and the
    hub beside checkdmarc at each size and round trip."""
    if not checks:
        return [
            ("checks", "200 domains at 20 ms RTT, wall incl. start-up", "< 2 s", "not run (make bench)"),
            ("checks", "hub vs checkdmarc, 2,000 / 10,000 domains", "report", "not run (make bench)"),
        ]
    runs = checks.get("domains", [])
    load = " ".join(f"{x:.2f}" for x in checks.get("load_average", {}).get("start", []))
    rows = []
    for run in runs:
        if run["tool"] == "hub" and run["domains"] == 200 and run["rtt_ms"] == 20:
            rows.append(
                (
                    "checks",
                    "200 domains at 20 ms RTT, wall incl. start-up",
                    "< 2 s",
                    f"{run['wall_seconds']:.2f} s (its own run {run['seconds']} s; load {load})",
                )
            )
    for rtt in sorted({r["rtt_ms"] for r in runs}):
        peers = [r for r in runs if r["tool"] == "checkdmarc" and r["rtt_ms"] == rtt]
        for run in (r for r in runs if r["tool"] == "hub" and r["rtt_ms"] == rtt and r["domains"] >= 2000):
            peer = next((p for p in peers if p["domains"] == run["domains"]), peers[-1] if peers else None)
            versus = "; checkdmarc not run"
            if peer and peer["rate"]:
                ratio = run["rate"] / peer["rate"]
                versus = f"; checkdmarc {peer['rate']:.1f}/s over {peer['domains']:,} ({ratio:.1f}x)"
            c = run.get("correctness", {})
            rows.append(
                (
                    "checks",
                    f"hub {run['domains']:,} domains at {rtt:g} ms: domains/s",
                    "report (>= 2x checkdmarc)",
                    f"{run['rate']:.1f}/s{versus}; false {c.get('false', '?')}, "
                    f"missed {c.get('missed', '?')}",
                )
            )
    return rows


def _api_rows(api: dict[str, Any] | None) -> list[tuple[str, str, str, str, str]]:
    """`bench_api --out` (its flat `figures`, see tests/bench/README.md): one process on
    SQLite, 1/2/4 processes on PostgreSQL, 10 and 50 concurrent, and growth."""
    spend_before = f"{RECORDED['spend_sqlite_rps']['value']} req/s (issue)"
    if not api:
        missing = "not run (make bench)"
        return [
            (
                "api",
                "spend, SQLite, 1 process, 300 lines, 50 concurrent",
                ">= 1,000 req/s",
                spend_before,
                missing,
            ),
            ("api", "upcoming p50, one at a time", "< 10 ms", "-", missing),
            ("memory", "API peak RSS; DB size per 10,000 subscriptions; growth", "linear", "-", missing),
        ]
    f = api.get("figures", {})
    load = " ".join(f"{x:.2f}" for x in api.get("load_average", {}).get("start", []))

    def ms(key: str) -> str:
        return _fmt(f.get(key), " ms")

    def ms_mb(key: str) -> str:
        return _fmt(f.get(key), " MB")

    rows = [
        (
            "api",
            "spend, SQLite, 1 process, 300 lines, 50 concurrent",
            ">= 1,000 req/s",
            spend_before,
            f"{_fmt(f.get('sqlite_spend_rps_c50'), ' req/s')} (load {load})",
        )
    ]
    for db in ("sqlite", "postgresql"):
        rows.append(
            ("api", f"{db}: upcoming p50, one at a time", "< 10 ms", "-", ms(f"{db}_upcoming_serial_p50_ms"))
        )
        for endpoint in ("spend", "upcoming"):
            cells = [
                f"c{c}: {ms(f'{db}_{endpoint}_p50_ms_c{c}')} / {ms(f'{db}_{endpoint}_p99_ms_c{c}')}"
                for c in (10, 50)
            ]
            rows.append(("api", f"{db}: {endpoint} p50 / p99, 1 process", "report", "-", "; ".join(cells)))
    for endpoint in ("spend", "upcoming"):
        # one process has no `_w1` suffix
        scaling = [
            f"{w}: {_fmt(f.get(f'postgresql_{endpoint}_rps_c50' + (f'_w{w}' if w > 1 else '')))}"
            for w in (1, 2, 4)
        ]
        rows.append(
            (
                "api",
                f"postgresql: {endpoint} req/s at 50 concurrent by processes",
                "scales (2 cores)",
                "-",
                ", ".join(scaling),
            )
        )
    for db in ("sqlite", "postgresql"):
        slopes = f.get(f"{db}_growth_slopes") or {}
        steepest = max(slopes.items(), key=lambda kv: kv[1]) if slopes else None
        superlinear = f.get(f"{db}_growth_superlinear") or []
        rows.append(
            (
                "memory",
                f"{db}: API peak RSS (1 process); DB MB per 10,000 subscriptions",
                "< 300 MB; report",
                "-",
                f"{ms_mb(f'{db}_peak_rss_mb')}; {ms_mb(f'{db}_db_mb_per_10k_subscriptions')}",
            )
        )
        rows.append(
            (
                "growth",
                f"{db}: tenth / half / large (1x/5x/10x): steepest log-log slope",
                "<= 1 (linear)",
                "-",
                (f"{steepest[0]} {steepest[1]:.2f}" if steepest else "-")
                + (
                    f"; faster than linear: {', '.join(superlinear)}"
                    if superlinear
                    else "; none faster than linear"
                ),
            )
        )
    return rows


def _checks_before(figure: str) -> str:
    recorded = RECORDED.get("checks", {})
    return str(recorded.get(figure, "-"))


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return f"{value}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, help="checkout of the commit to compare with")
    parser.add_argument("--results", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--renewals", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    before_tree = args.before.resolve() if args.before else None
    if before_tree:
        _prepare_before(before_tree)

    trees = {"after": REPO, **({"before": before_tree} if before_tree else {})}
    load_start = _load()
    startup = bench_startup.measure(trees, args.runs)
    load_startup = _load()
    cost = {side: _renewal_cost(tree, args.renewals) for side, tree in trees.items()}
    load_cost = _load()

    rec = RECORDED
    rows: list[tuple[str, str, str, str, str]] = []

    def row(area: str, figure: str, target: str, before: str, after: str) -> None:
        rows.append((area, figure, target, before, after))

    def side(figures: dict[str, Any], key: str, scale: float = 1.0, unit: str = "") -> str:
        value = figures.get(key)
        return _fmt(value * scale if value is not None else None, unit)

    b_start = startup.get("before", {})
    row(
        "start-up",
        "hub --help wall (CPU)",
        "< 0.3 s",
        f"{side(b_start, 'help', unit=' s')} ({side(b_start, 'help_cpu', unit=' s')})"
        if b_start
        else f"{rec['help_seconds']['value']} s (issue)",
        f"{side(startup['after'], 'help', unit=' s')} ({side(startup['after'], 'help_cpu', unit=' s')})",
    )
    row(
        "start-up",
        "hub check domains, 1 domain wall (CPU)",
        "< 0.5 s",
        f"{side(b_start, 'check', unit=' s')} ({side(b_start, 'check_cpu', unit=' s')})"
        if b_start
        else "{wall_s} s ({cpu_s} s) (2026-12-07, loaded)".format(
            **rec["measured_2026_12_07"]["check_one_domain"]
        ),
        f"{side(startup['after'], 'check', unit=' s')} ({side(startup['after'], 'check_cpu', unit=' s')})",
    )
    b_cost = cost.get("before", {}).get("per_renewal", {})
    a_cost = cost["after"]["per_renewal"]
    for key, label, target, recorded in (
        ("cpu_ms", "renewal: hub CPU per renewal", "<= 30 ms", "renewal_cpu_ms"),
        ("statements", "renewal: SQL statements (SQLite; BEGIN apart)", "<= 12", "renewal_statements"),
        ("transactions", "renewal: transactions (SQLite)", "-", "renewal_transactions"),
        ("requests", "renewal: vendor requests", "<= 4", "renewal_requests"),
    ):
        unit = " ms" if key == "cpu_ms" else ""
        issue = rec[recorded]["value"] if recorded in rec else "-"
        before = side(b_cost, key, unit=unit) if b_cost else f"{issue}{unit} (issue)"
        row("renewals", label, target, before, side(a_cost, key, unit=unit))

    storm = _result(args.results, "storm.json")
    row(
        "renewals",
        "storm 10,000 renewals, 4 workers, PostgreSQL: wall",
        "< 900 s",
        f"> {rec['storm_seconds']['value']} s (issue, 5.6/s)",
        f"{storm['wall_seconds']} s, {storm['renewals_per_second']}/s" if storm else "not run (make bench)",
    )
    row(
        "renewals",
        "storm: duplicates / misses",
        "0 / 0",
        "0 / 0 (issue)",
        f"{storm['duplicates']} / {storm['missed']}" if storm else "not run (make bench)",
    )
    planner_run = _result(args.results, "planner.json")
    row(
        "renewals",
        "planner, 30,000 due: plan + queue_due (SQLite / PostgreSQL)",
        "< 5 s each",
        f"? / {rec['planner_pg_seconds']['value']} s (issue)",
        _planner(planner_run) if planner_run else "not run (make bench)",
    )
    jobs = _result(args.results, "jobs.json") or {}
    # bench_jobs (this tree's harness) run on the commit before issue 14's jobs work
    jobs_before = rec.get("jobs_measured", {})

    def jobs_fig(db: str, step: str, key: str, unit: str = "") -> str:
        value = jobs.get(db, {}).get(step, {}).get(key)
        return _fmt(value, unit) if value is not None else "not run (make bench)"

    quiet = rec.get("jobs_measured_quiet", {})

    def jobs_was(db: str, step: str, key: str, unit: str = "") -> str:
        value = jobs_before.get(db, {}).get(step, {}).get(key)
        if value is None:
            return "-"
        calm = quiet.get(db, {}).get(step, {}).get(key)
        # the same harness on the old commit: at load ~10, and in a quiet window (load ~2)
        return f"{_fmt(value, unit)} (load 10), " + (
            f"{_fmt(calm, unit)} (load 2)" if calm is not None else ""
        )

    row(
        "jobs",
        "PostgreSQL end to end, 4 workers",
        ">= 600 jobs/s",
        f"{rec['jobs_pg_per_second']['value']} jobs/s (issue); "
        + jobs_was("postgresql", "end_to_end", "jobs_per_second", " jobs/s"),
        jobs_fig("postgresql", "end_to_end", "jobs_per_second", " jobs/s"),
    )
    row(
        "jobs",
        "SQLite end to end, 1 worker (embedded's)",
        ">= 400 jobs/s",
        jobs_was("sqlite", "end_to_end", "jobs_per_second", " jobs/s"),
        jobs_fig("sqlite", "end_to_end", "jobs_per_second", " jobs/s"),
    )
    row(
        "jobs",
        "PostgreSQL: commits per job (end to end)",
        "fewer",
        jobs_was("postgresql", "end_to_end", "commits_per_job"),
        jobs_fig("postgresql", "end_to_end", "commits_per_job"),
    )

    def cpu_per_job(figures: dict[str, Any], db: str) -> str:
        run = figures.get(db, {}).get("end_to_end", {})
        parts = [run.get(k) for k in ("worker_cpu_ms_per_job", "db_cpu_ms_per_job", "enqueue_cpu_ms_per_job")]
        if run.get("worker_cpu_ms_per_job") is None:
            return "-"
        total = sum(x for x in parts if x is not None)
        return f"{total:.2f} ms (" + " + ".join(_fmt(x) for x in parts if x is not None) + ")"

    for db in ("sqlite", "postgresql"):
        row(
            "jobs",
            f"{db}: CPU per job, workers + database backends + enqueuer",
            "lower",
            cpu_per_job(jobs_before, db),
            cpu_per_job(jobs, db) if jobs else "not run (make bench)",
        )
        row(
            "jobs",
            f"{db}: load average during the end-to-end run",
            "(shared machine)",
            jobs_before.get(db, {}).get("end_to_end", {}).get("load_average", "-"),
            jobs.get(db, {}).get("end_to_end", {}).get("load_average", "-"),
        )
    for db in ("sqlite", "postgresql"):
        for size in ("2000", "10000", "20000"):
            before_lat = jobs_before.get(db, {}).get("latency", {}).get(size, {})
            after_lat = jobs.get(db, {}).get("latency", {}).get(size, {})

            def p50_p99(lat: dict[str, Any]) -> str:
                return f"{_fmt(lat.get('claim_p50_ms'), ' ms')} / {_fmt(lat.get('claim_p99_ms'), ' ms')}"

            row(
                "jobs",
                f"{db}: claim p50/p99 with {int(size):,} queued",
                "flat (1x/5x/10x)",
                f"{p50_p99(before_lat)} (2026-12-07)" if before_lat else "-",
                p50_p99(after_lat) if after_lat else "not run (make bench)",
            )
    row(
        "memory",
        "worker peak RSS (SQLite / PostgreSQL)",
        "report",
        f"{jobs_was('sqlite', 'end_to_end', 'worker_peak_rss_mb', ' MB')} / "
        f"{jobs_was('postgresql', 'end_to_end', 'worker_peak_rss_mb', ' MB')}",
        f"{jobs_fig('sqlite', 'end_to_end', 'worker_peak_rss_mb', ' MB')} / "
        f"{jobs_fig('postgresql', 'end_to_end', 'worker_peak_rss_mb', ' MB')}",
    )
    checks = _result(args.results, "checks.json")
    for area, figure, target, after in _checks_rows(checks):
        row(area, figure, target, _checks_before(figure), after)
    api = _result(args.results, "api.json")
    for area, figure, target, before, after in _api_rows(api):
        row(area, figure, target, before, after)

    print()
    print(
        f"Issue 14 figures (load average: start {load_start}; after start-up {load_startup}; "
        f"after renewal cost {load_cost})"
    )
    if before_tree:
        print(f"'before' measured in this run from {before_tree}")
    widths = [
        max(len(r[i]) for r in [("area", "figure", "target", "before", "after"), *rows]) for i in range(5)
    ]
    header = ("area", "figure", "target", "before", "after")
    for line in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
