"""Pax8 read benchmark: `python -m tests.bench.bench_sync_pax8`.

Reads every company and every subscription of a generated partner (2,000 companies,
30,000 subscriptions by default) through the adapter, over real loopback HTTP, while the
simulator injects 5 % 503s and 1 % 429s (without Retry-After, as Pax8 answers) on the
data endpoints. The simulator runs in its own process so that the figures are the
adapter's: wall time, peak RSS of this process (and, with --trace, the tracemalloc peak of
the read itself), records read, and the ids lost or duplicated against the simulator's
own list. Target: under 60 s on 2 cores, zero lost, zero duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import socket
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import httpx

from adapters.pax8 import spec
from adapters.pax8.simulator import Pax8Simulator
from hub.sdk.context import AdapterContext, RetryPolicy
from hub.sdk.oauth import MemoryTokenCache
from hub.sdk.testing import RandomFaults


def _serve(port: int, companies: int, subscriptions: int, ready: Any, stop: Any, conn: Any) -> None:
    import uvicorn

    sim = Pax8Simulator(scale=(companies, subscriptions))
    sim.faults.random = RandomFaults({503: 0.05, 429: 0.01}, seed=11, path=Pax8Simulator.data_paths)
    conn.send((sorted(sim.companies), sorted(sim.subscriptions), sim.config(f"http://127.0.0.1:{port}")))
    server = uvicorn.Server(
        uvicorn.Config(sim.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    threading.Thread(target=lambda: (stop.wait(), setattr(server, "should_exit", True)), daemon=True).start()
    ready.set()
    server.run()
    statuses: dict[int, int] = {}
    for request in sim.requests:
        statuses[request.status or 0] = statuses.get(request.status or 0, 0) + 1
    conn.send({"requests": len(sim.requests), "statuses": statuses, "injected": dict(sim.faults.random.hits)})


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _read(sim_config: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=15) as client:
        ctx = AdapterContext(
            http=client, tokens=MemoryTokenCache(lambda: datetime.now(UTC)), retry=RetryPolicy(deadline=60)
        )
        adapter = spec.create(sim_config, ctx)
        counts: dict[str, Any] = {}
        for kind, iterator in (
            ("companies", adapter.list_tenants()),
            ("subscriptions", adapter.list_subscriptions()),
        ):
            seen: set[str] = set()
            duplicated = 0
            async for record in iterator:  # type: ignore[attr-defined]
                if record.external_id in seen:
                    duplicated += 1
                seen.add(record.external_id)
            counts[kind] = (seen, duplicated)
        await adapter.aclose()
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=30000)
    parser.add_argument("--trace", action="store_true", help="also measure the tracemalloc peak (slower)")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    parent, child = ctx.Pipe()
    port = _port()
    process = ctx.Process(target=_serve, args=(port, args.companies, args.subscriptions, ready, stop, child))
    process.start()
    try:
        expected_companies, expected_subs, config = parent.recv()
        ready.wait(60)
        time.sleep(0.3)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if args.trace:
            tracemalloc.start()
        started = time.perf_counter()
        counts = asyncio.run(_read(config))
        wall = time.perf_counter() - started
        traced = tracemalloc.get_traced_memory()[1] if args.trace else None
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        stop.set()
        stats = parent.recv() if parent.poll(30) else {}
        process.join(30)
    print(f"Pax8 read: {args.companies} companies / {args.subscriptions} subscriptions over loopback")
    print(f"  wall time        {wall:.1f} s (target < 60 s)")
    print(f"  peak RSS         {rss_after / 1024:.0f} MiB (before the read {rss_before / 1024:.0f} MiB)")
    if traced is not None:
        print(f"  tracemalloc peak {traced / 2**20:.1f} MiB (during the read)")
    for kind, expected in (("companies", expected_companies), ("subscriptions", expected_subs)):
        seen, duplicated = counts[kind]
        lost = len(set(expected) - seen)
        extra = len(seen - set(expected))
        print(
            f"  {kind:<16} read {len(seen)} of {len(expected)}: "
            f"lost {lost}, duplicated {duplicated}, unknown {extra}"
        )
    print(f"  simulator        {stats.get('requests')} requests, statuses {stats.get('statuses')}")
    print(f"  injected faults  {stats.get('injected')}")
    ok = all(
        len(counts[k][0]) == len(e) and counts[k][1] == 0
        for k, e in (("companies", expected_companies), ("subscriptions", expected_subs))
    )
    raise SystemExit(0 if ok and wall < 60 else 1)


if __name__ == "__main__":
    main()
