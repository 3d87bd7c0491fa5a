"""A closed-loop HTTP load generator: N workers, each sending its next request as soon as
the previous one has answered, over one keep-alive connection pool of N connections.
The HTTP client is aiohttp when it is installed, else httpx (--client picks one).

Run as its own process so that its CPU use is measurable and does not share a GIL with
the harness (which samples the server's memory meanwhile):

    BENCH_TOKEN=hub_... python -m tests.bench.loadgen --base-url http://127.0.0.1:8123 \
        --path /api/v1/renewals/upcoming?within_days=90 --concurrency 50 --warmup 3 --duration 20

It prints one JSON object on stdout (see `LoadResult`). Every non-200 answer, and every
transport failure, counts as an error; the first one's status and body are kept.

Only requests *started* inside the measured window are counted, each with its full
latency (even when it finishes after the window closes), and the rate is their number
divided by the time from the window's start to the last of them finishing. The warm-up
requests before the window are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class LoadResult:
    path: str
    client: str  # aiohttp or httpx
    concurrency: int
    duration_s: float  # from the window's start to the last counted request finishing
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    first_error: str | None
    status_counts: dict[str, int] = field(default_factory=dict)
    # The load generator's own CPU time (user + system) inside the measured window, and
    # as a share of one core; near 1.0 means the figures are bounded by the client.
    loadgen_cpu_s: float = 0.0
    loadgen_core_share: float = 0.0
    # time.monotonic() (system-wide on Linux) at the window's start and end, so that the
    # harness can line its own samples (server CPU, RSS) up with the window.
    window_start_mono: float = 0.0
    window_end_mono: float = 0.0


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


Fetch = Callable[[str], Awaitable[tuple[str, bytes]]]


@contextlib.asynccontextmanager
async def _httpx_fetch(base_url: str, concurrency: int, headers: dict[str, str]) -> AsyncIterator[Fetch]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=60.0, headers=headers, trust_env=False
    ) as client:

        async def fetch(path: str) -> tuple[str, bytes]:
            try:
                response = await client.get(path)
            except httpx.HTTPError as exc:
                return type(exc).__name__, str(exc).encode()
            return str(response.status_code), response.content

        yield fetch


@contextlib.asynccontextmanager
async def _aiohttp_fetch(base_url: str, concurrency: int, headers: dict[str, str]) -> AsyncIterator[Fetch]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(
        base_url=base_url,
        connector=connector,
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=60),
        trust_env=False,
        auto_decompress=False,
    ) as session:

        async def fetch(path: str) -> tuple[str, bytes]:
            try:
                async with session.get(path) as response:
                    return str(response.status), await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                return type(exc).__name__, str(exc).encode()

        yield fetch


def pick_client(name: str) -> str:
    """'auto' is aiohttp when installed (several times cheaper per request than httpx,
    which matters on a small machine where the load generator shares the CPU)."""
    if name != "auto":
        return name
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return "httpx"
    return "aiohttp"


async def run_load(
    base_url: str,
    path: str,
    *,
    concurrency: int = 50,
    warmup: float = 3.0,
    duration: float = 20.0,
    headers: dict[str, str] | None = None,
    client: str = "auto",
) -> LoadResult:
    client = pick_client(client)
    opener = _aiohttp_fetch if client == "aiohttp" else _httpx_fetch
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    first_error: list[str] = []
    last_done = [0.0]

    async with opener(base_url, concurrency, headers or {}) as fetch:
        loop_start = time.perf_counter()
        t_start = loop_start + warmup
        t_end = t_start + duration
        cpu_marks: dict[str, float] = {}
        mono_marks: dict[str, float] = {}

        async def mark_window() -> None:
            await asyncio.sleep(max(0.0, t_start - time.perf_counter()))
            cpu_marks["start"], mono_marks["start"] = _cpu_seconds(), time.monotonic()
            await asyncio.sleep(max(0.0, t_end - time.perf_counter()))
            cpu_marks["end"], mono_marks["end"] = _cpu_seconds(), time.monotonic()

        async def worker() -> None:
            while True:
                t0 = time.perf_counter()
                if t0 >= t_end:
                    return
                status, body = await fetch(path)
                t1 = time.perf_counter()
                if t0 < t_start:
                    continue
                latencies.append(t1 - t0)
                statuses[status] = statuses.get(status, 0) + 1
                last_done[0] = max(last_done[0], t1)
                if status != "200" and not first_error:
                    first_error.append(f"{status}: {body[:500].decode('utf-8', 'replace')}")

        marker = asyncio.create_task(mark_window())
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await marker

    latencies.sort()
    n = len(latencies)
    elapsed = (last_done[0] - t_start) if n else duration
    cpu = cpu_marks.get("end", 0.0) - cpu_marks.get("start", 0.0)
    window = mono_marks.get("end", 0.0) - mono_marks.get("start", 0.0)
    ms = 1000.0
    return LoadResult(
        path=path,
        client=client,
        concurrency=concurrency,
        duration_s=round(elapsed, 3),
        requests=n,
        errors=n - statuses.get("200", 0),
        rps=round(n / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(latencies, 50) * ms, 2),
        p90_ms=round(percentile(latencies, 90) * ms, 2),
        p99_ms=round(percentile(latencies, 99) * ms, 2),
        max_ms=round(latencies[-1] * ms, 2) if n else math.nan,
        mean_ms=round(sum(latencies) / n * ms, 2) if n else math.nan,
        first_error=first_error[0] if first_error else None,
        status_counts=statuses,
        loadgen_cpu_s=round(cpu, 2),
        loadgen_core_share=round(cpu / window, 3) if window > 0 else 0.0,
        window_start_mono=mono_marks.get("start", 0.0),
        window_end_mono=mono_marks.get("end", 0.0),
    )


def _run(coro: Any) -> Any:
    try:
        import uvloop  # a cheaper event loop leaves more of the core for the requests
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run(coro)
    return uvloop.run(coro)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--client", choices=["auto", "aiohttp", "httpx"], default="auto")
    args = parser.parse_args(argv)
    token = os.environ.get("BENCH_TOKEN")  # not on the command line: `ps` would show it
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    result = _run(
        run_load(
            args.base_url,
            args.path,
            concurrency=args.concurrency,
            warmup=args.warmup,
            duration=args.duration,
            headers=headers,
            client=args.client,
        )
    )
    json.dump(asdict(result), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
