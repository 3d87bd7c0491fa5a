"""The reachability probe: TCP connects from the hub to a line's targets, each bounded
by a timeout, all of a round at once (bounded concurrency). No database here: the caller
reads the targets before and records the results after, with no transaction open while
connecting."""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    host: str
    port: int


@dataclass(frozen=True)
class ProbeResult:
    host: str
    port: int
    ok: bool
    latency_ms: float | None
    error: str | None = None


def targets_of(configured: Sequence[dict[str, object]]) -> list[Target]:
    """The (host, port) pairs of a line's stored `probe_targets`."""
    out: list[Target] = []
    for item in configured:
        ports = item.get("ports")
        for port in ports if isinstance(ports, list) else []:
            out.append(Target(str(item["host"]), int(port)))
    return list(dict.fromkeys(out))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError):
        name = errno.errorcode.get(exc.errno or 0)
        text = exc.strerror or str(exc) or type(exc).__name__
        return f"{name}: {text}" if name else text
    return type(exc).__name__


async def connect_once(target: Target, timeout_seconds: float) -> ProbeResult:
    """One TCP connect (name resolution included in the timeout); closed at once."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_seconds):
            _, writer = await asyncio.open_connection(target.host, target.port)
    except (OSError, TimeoutError) as exc:
        return ProbeResult(target.host, target.port, False, None, _reason(exc)[:300])
    latency = (time.perf_counter() - started) * 1000
    writer.close()
    try:
        async with asyncio.timeout(timeout_seconds):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        pass  # the connect succeeded: how the peer takes the close is not the probe's business
    return ProbeResult(target.host, target.port, True, round(latency, 3))


async def probe_round(
    targets: Sequence[Target], *, timeout_seconds: float, concurrency: int
) -> list[ProbeResult]:
    """Every target once, in the order given."""
    limit = asyncio.Semaphore(concurrency)

    async def one(target: Target) -> ProbeResult:
        async with limit:
            return await connect_once(target, timeout_seconds)

    return list(await asyncio.gather(*(one(t) for t in targets)))


__all__ = ["ProbeResult", "Target", "connect_once", "probe_round", "targets_of"]
