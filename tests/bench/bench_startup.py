"""CLI start-up (issue 14): `python -m tests.bench.bench_startup [--before DIR]`.

Times, as a user would see them, `hub --help` and `hub check domains` on one domain
(against a loopback DNS server, no RDAP), as fresh interpreters: the median of `--runs`.
With `--before DIR` (a checkout of an earlier commit, e.g. a `git worktree` of 4e5003e)
the same commands run from that tree too, interleaved with this one so that both sides
see the same load; the load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hub.demo.dns_server import DnsServer
from tests.check.world import publish

REPO = Path(__file__).resolve().parents[2]
TARGETS = {"help": 0.3, "check": 0.5}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _time(tree: Path, args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one fresh `hub` process."""
    # PYTHONDONTWRITEBYTECODE (set in some shells and CI images) would compile every hub
    # module from source on each start; an installed hub runs from its bytecode cache.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["HUB_DATA_DIR"] = tempfile.gettempdir()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], cwd=tree, env=env, capture_output=True, timeout=120
    )
    elapsed = time.perf_counter() - started
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"{tree}: hub {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    return elapsed, cpu_seconds


def measure(trees: dict[str, Path], runs: int) -> dict[str, dict[str, float]]:
    """{side: {"help": s, "help_cpu": s, "check": s, "check_cpu": s}}: medians, both sides
    interleaved run by run."""
    with DnsServer() as dns, tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        publish(dns, "example.test")
        domains = Path(tmp) / "domains.txt"
        domains.write_text("example.test\n")
        commands = {
            "help": ["--help"],
            "check": [
                "check",
                "domains",
                str(domains),
                "--out",
                str(Path(tmp) / "out.jsonl"),
                "--nameserver",
                dns.address,
                "--no-rdap",
            ],
        }
        samples: dict[str, dict[str, list[float]]] = {
            side: {k: [] for key in commands for k in (key, f"{key}_cpu")} for side in trees
        }
        for side, tree in trees.items():  # warm the file cache once
            for args in commands.values():
                _time(tree, args)
        for _ in range(runs):
            for side, tree in trees.items():
                for key, args in commands.items():
                    wall, cpu = _time(tree, args)
                    samples[side][key].append(wall)
                    samples[side][f"{key}_cpu"].append(cpu)
    return {side: {k: statistics.median(v) for k, v in per.items()} for side, per in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, help="a checkout of the commit to compare with")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", help="figures as JSON to this file")
    args = parser.parse_args()
    trees = {"after": REPO}
    if args.before:
        trees = {"before": args.before.resolve(), "after": REPO}
    load_before = _load()
    figures = measure(trees, args.runs)
    load_after = _load()
    print(f"CLI start-up, median of {args.runs} (load average {load_before} -> {load_after})")
    for key, label in (("help", "hub --help"), ("check", "hub check domains, 1 domain")):
        after = figures["after"]
        row = f"  {label:<30} {after[key]:6.3f} s wall ({after[key + '_cpu']:.3f} s CPU)"
        row += f"  target < {TARGETS[key]} s"
        if "before" in figures:
            before = figures["before"]
            row += f"   before {before[key]:6.3f} s wall ({before[key + '_cpu']:.3f} s CPU)"
        print(row)
    if args.json:
        Path(args.json).write_text(json.dumps({"figures": figures, "load": [load_before, load_after]}))


if __name__ == "__main__":
    main()
