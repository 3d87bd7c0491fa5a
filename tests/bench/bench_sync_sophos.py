"""Sophos partner read benchmark: `python -m tests.bench.bench_sync_sophos`.

The sophos_central adapter reads every tenant and every tenant's licences from its
simulator, served by uvicorn on a loopback port in its own process (as a vendor would be:
a simulator thread in the reading process would share its GIL and its core), with seeded
random faults (5 % 503s and 1 % 429s on data calls by default) and the production retry
policy. Prints wall time, the reading process's peak memory (max RSS) and the records lost
or duplicated against what the simulator holds. Exit status 1 when a record is lost or
duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import resource
import socket
import sys
import threading
import time
from collections import Counter
from typing import Any

import httpx
import uvicorn

from adapters.sophos_central import adapter as sophos_adapter
from adapters.sophos_central import spec
from adapters.sophos_central.simulator import SophosCentralSimulator
from hub.sdk import AdapterContext
from hub.sdk.testing import FaultPlan, RandomFaults


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _serve(
    conn: Any, tenants: int, rates: dict[int | str, float], retry_after: str | None, seed: int
) -> None:
    """Child process: serve the simulator until told to stop, then report what it saw."""
    faults = FaultPlan(
        random=RandomFaults(rates, seed=seed, path=SophosCentralSimulator.data_paths, retry_after=retry_after)
    )
    sim = SophosCentralSimulator(scale=tenants, faults=faults)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(sim.app, log_level="warning", lifespan="off"))

    def stop_when_told() -> None:
        conn.recv()
        server.should_exit = True

    threading.Thread(target=stop_when_told, daemon=True).start()
    conn.send(sock.getsockname()[1])
    server.run(sockets=[sock])
    assert faults.random is not None
    conn.send(
        {
            "requests": len(sim.requests),
            "faults_injected": {str(k): v for k, v in faults.random.hits.items()},
            "token_requests": sim.token_requests,
        }
    )


async def run(tenants: int, rate_503: float, rate_429: float, retry_after: str | None, seed: int) -> int:
    expected = SophosCentralSimulator(scale=tenants)  # deterministic: the same data as the server's
    parent, child = multiprocessing.Pipe()
    rates: dict[int | str, float] = {503: rate_503, 429: rate_429}
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(child, tenants, rates, retry_after, seed), daemon=True
    )
    server.start()
    try:
        port = await asyncio.to_thread(parent.recv)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):  # uvicorn binds before it accepts
            try:
                async with httpx.AsyncClient() as probe:
                    await probe.get(base + "/livez")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        async with httpx.AsyncClient(timeout=15) as client:
            ctx = AdapterContext.standalone(client, logger=logging.getLogger("bench"))
            adapter = spec.create(expected.config(base), ctx)
            started = time.perf_counter()
            tenant_ids = Counter([t.external_id async for t in adapter.list_tenants()])
            tenants_done = time.perf_counter()
            licence_ids = Counter([lic.external_id async for lic in adapter.list_licenses()])
            finished = time.perf_counter()
            await adapter.aclose()
        parent.send("stop")
        seen = await asyncio.to_thread(parent.recv)
    finally:
        server.join(10)
        if server.is_alive():
            server.terminate()

    def diff(got: Counter[str], expected: list[str]) -> dict[str, int]:
        wanted = set(expected)
        return {
            "lost": len(wanted - set(got)),
            "duplicated": sum(n - 1 for n in got.values() if n > 1),
            "unexpected": len(set(got) - wanted),
        }

    report: dict[str, Any] = {
        "tenants": {
            "read": sum(tenant_ids.values()),
            **diff(tenant_ids, [t["id"] for t in expected.tenants]),
        },
        "licences": {
            "read": sum(licence_ids.values()),
            **diff(licence_ids, [lic["id"] for lic in expected.visible_licenses()]),
        },
        "wall_seconds": {
            "tenants": round(tenants_done - started, 2),
            "licences": round(finished - tenants_done, 2),
            "total": round(finished - started, 2),
        },
        **seen,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    print(json.dumps(report, indent=2))
    bad = sum(
        report[kind][k] for kind in ("tenants", "licences") for k in ("lost", "duplicated", "unexpected")
    )
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--rate-503", type=float, default=0.05)
    parser.add_argument("--rate-429", type=float, default=0.01)
    parser.add_argument("--retry-after", default=None, help="Retry-After sent with the 429s (default: none)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--concurrency", type=int, default=None, help="tenants read at once (adapter default)"
    )
    args = parser.parse_args()
    if args.concurrency:
        sophos_adapter.LICENSE_CONCURRENCY = args.concurrency
    sys.exit(asyncio.run(run(args.tenants, args.rate_503, args.rate_429, args.retry_after, args.seed)))


if __name__ == "__main__":
    main()
