"""Checks benchmark: `hub check domains` and `hub check dnsbl` against a synthetic world
served by NSD on loopback, side by side with checkdmarc, directly and through a proxy
that holds every answer 20 ms. Scores the hub's output against what the world contains.

    .venv/bin/python -m tests.bench.bench_checks                       # the full run
    .venv/bin/python -m tests.bench.bench_checks --domains 500 --rtt-ms 0 --dnsbl-ips 2000   # a quick look

See tests/bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tests.bench.checks_world import World, build_world
from tests.bench.nsd_server import AuthServer, dnsperf, start_server

ROOT = Path(__file__).resolve().parents[2]
HUB = Path(sys.executable).parent / "hub"
# As a user runs it: from the bytecode cache (PYTHONDONTWRITEBYTECODE, set in some shells
# and CI images, would compile every hub module from source on each start).
HUB_ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "COLUMNS": "200"}
console = Console(width=int(os.environ.get("COLUMNS", "180")))


@dataclass
class Figure:
    tool: str
    rtt_ms: float
    domains: int
    seconds: float
    queries: int
    note: str = ""
    correctness: dict[str, int] = field(default_factory=dict)
    # the whole command as a user waits for it: interpreter start-up, imports, workers
    wall_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.domains / self.seconds if self.seconds else 0.0

    @property
    def per_domain(self) -> float:
        return self.queries / self.domains if self.domains else 0.0


def ensure_bench_venv(path: Path) -> Path | None:
    """checkdmarc (and the profilers) live only in the benchmark's own venv."""
    python = path / "bin" / "python"
    if (
        python.exists()
        and subprocess.run([python, "-c", "import checkdmarc"], capture_output=True).returncode == 0
    ):
        return python
    console.print(f"[dim]creating {path} with checkdmarc (pip)[/dim]")
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    done = subprocess.run([python, "-m", "pip", "install", "-q", "checkdmarc", "py-spy"], capture_output=True)
    if done.returncode != 0:
        console.print(f"[red]pip install checkdmarc failed:[/red] {done.stderr.decode()[-400:]}")
        return None
    return python


def start_proxy(server: AuthServer, delay_ms: float, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = workdir / f"proxy-{delay_ms:g}.port"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bench.delay_proxy",
            "--upstream",
            server.address,
            "--delay-ms",
            str(delay_ms),
            "--port-file",
            str(port_file),
        ],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 20
    while not port_file.exists() or not port_file.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("delay proxy did not start")
        time.sleep(0.05)
    return process, f"127.0.0.1:{port_file.read_text()}"


def score_domains(world: World, out: Path, names: list[str]) -> dict[str, int]:
    """false: findings the world does not contain; missed: planted codes not reported;
    unknown: domains with a check that could not finish."""
    expected = {d.name: d for d in world.domains}
    seen: set[str] = set()
    false = missed = unknown = exact = 0
    for line in out.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        domain = expected.get(row["domain"])
        if domain is None:
            false += 1
            continue
        seen.add(domain.name)
        got = set(row["findings"])
        false += len(got - domain.expected)
        missed += len(domain.expected - got)
        unknown += bool(row.get("unknown"))
        exact += got == domain.expected and not row.get("unknown")
    missing_lines = len(set(names) - seen)
    planted = sum(len(expected[n].expected) for n in names)
    return {
        "false": false,
        "missed": missed,
        "unknown": unknown,
        "no_line": missing_lines,
        "exact": exact,
        "planted": planted,
    }


def run_hub(
    world: World, server: AuthServer, nameserver: str, n: int, rtt: float, workdir: Path, extra: list[str]
) -> Figure:
    names = [d.name for d in world.domains[:n]]
    domains = workdir / f"domains-{n}.txt"
    domains.write_text("".join(f"{x}\n" for x in names), encoding="utf-8")
    selectors = workdir / "selectors.txt"
    selectors.write_text(
        "".join(f"{d.name} {' '.join(d.selectors)}\n" for d in world.domains if d.selectors), encoding="utf-8"
    )
    out = workdir / f"hub-{n}-{rtt:g}.jsonl"
    before = server.queries()
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(HUB),
            "check",
            "domains",
            str(domains),
            "--nameserver",
            nameserver,
            "--out",
            str(out),
            "--dkim-selectors",
            str(selectors),
            "--no-rdap",
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=HUB_ENV,
    )
    wall = time.perf_counter() - started
    queries = server.queries() - before
    if done.returncode != 0:
        raise RuntimeError(f"hub check domains failed: {done.stderr[-1500:]}")
    match = re.search(r"(\d+) domains in ([\d.]+)s", done.stderr)
    seconds = float(match.group(2)) if match else 0.0
    return Figure(
        "hub", rtt, n, seconds, queries, correctness=score_domains(world, out, names), wall_seconds=wall
    )


def run_checkdmarc(
    python: Path,
    server: AuthServer,
    nameserver: str,
    world: World,
    n: int,
    rtt: float,
    workdir: Path,
    threads: int,
) -> Figure:
    domains = workdir / f"cd-domains-{n}.txt"
    domains.write_text("".join(f"{d.name}\n" for d in world.domains[:n]), encoding="utf-8")
    before = server.queries()
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(python),
            str(ROOT / "tests/bench/checkdmarc_driver.py"),
            str(domains),
            "--nameserver",
            nameserver,
            "--threads",
            str(threads),
            "--timeout",
            "2",
            "--out",
            str(workdir / f"cd-{n}-{rtt:g}.jsonl"),
        ],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    queries = server.queries() - before
    if done.returncode != 0:
        raise RuntimeError(f"checkdmarc driver failed: {done.stderr[-1500:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    note = f"{threads} threads" + (f", {result['exceptions']} exceptions" if result["exceptions"] else "")
    return Figure("checkdmarc", rtt, n, result["seconds"], queries, note, wall_seconds=wall)


@dataclass
class DnsblFigure:
    rtt_ms: float
    ips: int
    zones: int
    seconds: float
    queries: int
    correctness: dict[str, int]


def run_dnsbl(
    world: World, server: AuthServer, nameserver: str, rtt: float, workdir: Path, n: int
) -> DnsblFigure:
    ips = world.dnsbl_ips[:n]
    (workdir / "ips.txt").write_text("".join(f"{ip}\n" for ip in ips), encoding="utf-8")
    (workdir / "zones.json").write_text(json.dumps(world.dnsbl_zones), encoding="utf-8")
    out = workdir / f"dnsbl-{rtt:g}.jsonl"
    before = server.queries()
    done = subprocess.run(
        [
            str(HUB),
            "check",
            "dnsbl",
            str(workdir / "ips.txt"),
            "--zones",
            str(workdir / "zones.json"),
            "--nameserver",
            nameserver,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=HUB_ENV,
    )
    queries = server.queries() - before
    if done.returncode != 0:
        raise RuntimeError(f"hub check dnsbl failed: {done.stderr[-1500:]}")
    match = re.search(r"(\d+) addresses in ([\d.]+)s", done.stderr)
    seconds = float(match.group(2)) if match else 0.0
    wanted = set(ips)
    false = missed = refused_listings = refusal_reported = 0
    for line in out.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for zone in world.refusing_zones:
            refused_listings += zone in row["listed"]
            refusal_reported += zone in row["errors"]
        for zone, listing in world.listings.items():
            truth = listing.get(row["ip"])
            got = row["listed"].get(zone)
            if got and got != truth:
                false += 1
            if truth and got != truth:
                missed += 1
    expected = sum(1 for listing in world.listings.values() for ip in listing if ip in wanted)
    return DnsblFigure(
        rtt,
        len(ips),
        len(world.dnsbl_zones),
        seconds,
        queries,
        {
            "listings": expected,
            "false": false,
            "missed": missed,
            "refusal_zone_listings": refused_listings,
            "refusal_zone_errors": refusal_reported,
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="checks benchmark (see tests/bench/README.md)")
    parser.add_argument("--domains", default="200,2000,10000", help="comma-separated run sizes")
    parser.add_argument("--rtt-ms", default="0,20", help="comma-separated round trips (0: no proxy)")
    parser.add_argument("--world", type=int, default=10_000, help="domains in the world")
    parser.add_argument(
        "--checkdmarc-rtt-sample", type=int, default=200, help="checkdmarc's domains at RTT > 0"
    )
    parser.add_argument("--checkdmarc-threads", type=int, default=32)
    parser.add_argument(
        "--checkdmarc-max", type=int, default=0, help="cap checkdmarc's domains at any RTT (0: no cap)"
    )
    parser.add_argument("--no-checkdmarc", action="store_true")
    parser.add_argument(
        "--bench-venv", type=Path, default=Path(os.environ.get("BENCH_VENV", "/tmp/bench-venv"))
    )
    parser.add_argument("--dnsbl-ips", type=int, default=20_000)
    parser.add_argument("--dnsperf-seconds", type=int, default=5)
    parser.add_argument("--hub-args", default="", help="extra arguments for `hub check domains`")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    sizes = [int(x) for x in args.domains.split(",")]
    rtts = [float(x) for x in args.rtt_ms.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="bench-checks-"))
    started = time.perf_counter()
    loads = {"start": os.getloadavg()}
    console.print(f"load average at start: {' '.join(f'{x:.2f}' for x in loads['start'])}")
    world = build_world(max(args.world, *sizes), dnsbl_ips=args.dnsbl_ips)
    rows = sum(len(r) for r in world.zones.values())
    console.print(
        f"world: {len(world.domains)} domains, {len(world.zones)} zones, {rows} records, "
        f"{sum(1 for d in world.domains if d.fault)} with a planted fault, {len(world.dnsbl_ips)} DNSBL IPs "
        f"({time.perf_counter() - started:.1f}s)"
    )
    python = None if args.no_checkdmarc else ensure_bench_venv(args.bench_venv)
    server = start_server(world, workdir / "server")
    for note in server.notes:
        console.print(f"[yellow]{note}[/yellow]")
    console.print(f"authoritative server: {server.kind} on {server.address}")
    proxies: list[subprocess.Popen[bytes]] = []
    figures: list[Figure] = []
    dnsbl: list[DnsblFigure] = []
    ceiling: dict[str, float] = {}
    try:
        ceiling = dnsperf(server, world.names_for_dnsperf, workdir, args.dnsperf_seconds)
        console.print(f"dnsperf: {ceiling}")
        for rtt in rtts:
            nameserver = server.address
            if rtt > 0:
                proxy, nameserver = start_proxy(server, rtt, workdir)
                proxies.append(proxy)
            for n in sizes:
                figure = run_hub(world, server, nameserver, n, rtt, workdir, args.hub_args.split())
                figures.append(figure)
                console.print(
                    f"hub {n} @ {rtt:g} ms: {figure.rate:.1f}/s, {figure.per_domain:.1f} q/domain, "
                    f"{figure.correctness}"
                )
            if python is not None:
                for n in sizes:
                    cd_n = n if rtt == 0 else min(n, args.checkdmarc_rtt_sample)
                    cd_n = min(cd_n, args.checkdmarc_max or cd_n)
                    if any(f.tool == "checkdmarc" and f.rtt_ms == rtt and f.domains == cd_n for f in figures):
                        continue
                    figure = run_checkdmarc(
                        python, server, nameserver, world, cd_n, rtt, workdir, args.checkdmarc_threads
                    )
                    figures.append(figure)
                    console.print(
                        f"checkdmarc {cd_n} @ {rtt:g} ms: {figure.rate:.1f}/s, "
                        f"{figure.per_domain:.1f} q/domain"
                    )
            if args.dnsbl_ips:
                figure_bl = run_dnsbl(world, server, nameserver, rtt, workdir, args.dnsbl_ips)
                dnsbl.append(figure_bl)
                console.print(
                    f"dnsbl @ {rtt:g} ms: {figure_bl.queries / max(figure_bl.seconds, 1e-9):.0f} lookups/s"
                )
    finally:
        for proxy in proxies:
            proxy.terminate()
            proxy.wait(10)
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            console.print(f"kept {workdir}")

    loads["end"] = os.getloadavg()
    report(figures, dnsbl, ceiling, server, args)
    console.print(
        "load average (1, 5, 15 min) at start: "
        + " ".join(f"{x:.2f}" for x in loads["start"])
        + ", at end: "
        + " ".join(f"{x:.2f}" for x in loads["end"])
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "server": server.kind,
                    "dnsperf": ceiling,
                    "domains": [f.__dict__ | {"rate": f.rate, "per_domain": f.per_domain} for f in figures],
                    "dnsbl": [f.__dict__ for f in dnsbl],
                    "cpus": os.cpu_count(),
                    "load_average": loads,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    bad = any(f.correctness.get("false") for f in figures) or any(
        f.correctness["false"] or f.correctness["refusal_zone_listings"] for f in dnsbl
    )
    return 1 if bad else 0


def report(
    figures: list[Figure], dnsbl: list[DnsblFigure], ceiling: dict[str, float], server: AuthServer, args: Any
) -> None:
    table = Table(title=f"hub check domains vs checkdmarc ({server.kind} on loopback, {os.cpu_count()} CPUs)")
    for column in (
        "tool",
        "RTT ms",
        "domains",
        "seconds",
        "wall s (with start-up)",
        "domains/s",
        "queries/domain",
        "vs checkdmarc",
    ):
        table.add_column(column, justify="right" if column != "tool" else "left")
    table.add_column("correctness (false / missed / unknown / exact)")
    table.add_column("note")
    for f in figures:
        peers = [g for g in figures if g.tool == "checkdmarc" and g.rtt_ms == f.rtt_ms]
        ratio = f"{f.rate / peers[-1].rate:.1f}x" if f.tool == "hub" and peers and peers[-1].rate else ""
        c = f.correctness
        score = (
            f"{c['false']} / {c['missed']} of {c['planted']} / {c['unknown']} / {c['exact']}" if c else "-"
        )
        table.add_row(
            f.tool,
            f"{f.rtt_ms:g}",
            str(f.domains),
            f"{f.seconds:.1f}",
            f"{f.wall_seconds:.2f}",
            f"{f.rate:.1f}",
            f"{f.per_domain:.1f}",
            ratio,
            score,
            f.note,
        )
    console.print(table)
    if dnsbl:
        bl = Table(title="hub check dnsbl")
        for column in (
            "RTT ms",
            "IPs",
            "zones",
            "seconds",
            "queries",
            "lookups/s",
            "listings",
            "false",
            "missed",
            "refusal-zone listings",
            "refusal-zone errors",
        ):
            bl.add_column(column, justify="right")
        for f in dnsbl:
            c = f.correctness
            bl.add_row(
                f"{f.rtt_ms:g}",
                str(f.ips),
                str(f.zones),
                f"{f.seconds:.1f}",
                str(f.queries),
                f"{f.queries / max(f.seconds, 1e-9):.0f}",
                str(c["listings"]),
                str(c["false"]),
                str(c["missed"]),
                str(c["refusal_zone_listings"]),
                str(c["refusal_zone_errors"]),
            )
        console.print(bl)
    if ceiling:
        console.print(
            f"server ceiling (dnsperf, same query mix): {ceiling['qps']:.0f} queries/s, "
            f"{ceiling['lost']:.0f} lost"
        )
    console.print("[dim]Figures from a shared machine: other work on it skews them.[/dim]")


if __name__ == "__main__":
    sys.exit(main())
