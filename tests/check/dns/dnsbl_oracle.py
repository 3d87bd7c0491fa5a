"""The general DNSBL path, kept as a test oracle: a `DnsblRun` check per target over
`DnsClient.lookup` (a task, the cache and the semaphore per lookup), each zone's budget,
rate and refusal state shared by the run. The hub runs only the bulk path
(`hub.check.dns.dnsbl_bulk`); `tests/check/dns/test_dnsbl_bulk.py` holds it to exactly
what this simple version gives on the same targets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from hub.check.dns.client import DnsClient
from hub.check.dns.dnsbl_zones import DnsblResult, Zone, apply_refusals
from hub.check.engine import pool


class RateLimiter:
    """Spaces queries `1/rate` seconds apart (callers wait their turn, none is dropped)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass
class _ZoneState:
    zone: Zone
    limiter: RateLimiter | None
    sent: int = 0
    refused: str | None = None


class DnsblRun:
    """One run over many targets: shares each zone's budget, rate and refusal state."""

    def __init__(self, dns: DnsClient, zones: list[Zone]) -> None:
        self.dns = dns
        self._zones = [_ZoneState(z, RateLimiter(z.rate) if z.rate else None) for z in zones]

    @property
    def zone_errors(self) -> dict[str, str]:
        return {s.zone.zone: s.refused for s in self._zones if s.refused}

    async def check(self, target: str) -> DnsblResult:
        result = DnsblResult(target)
        await asyncio.gather(*(self._check_zone(state, target, result) for state in self._zones))
        return result

    async def _check_zone(self, state: _ZoneState, target: str, result: DnsblResult) -> None:
        zone = state.zone
        name = zone.query_name(target)
        if name is None:
            return  # an IP against a domain zone or the reverse: not applicable
        if state.refused:
            result.errors[zone.zone] = state.refused
            return
        if zone.budget is not None and state.sent >= zone.budget:
            result.errors[zone.zone] = f"query budget of {zone.budget} exhausted"
            return
        state.sent += 1
        if state.limiter:
            await state.limiter.wait()
        lookup = await self.dns.lookup(name, "A")
        if lookup.failed:
            result.errors[zone.zone] = lookup.error or "lookup failed"
            return
        if lookup.void:
            return
        verdict, detail = zone.classify(lookup.records)
        if verdict == "error":
            answer, reason = next(iter(detail.items()))
            state.refused = f"{zone.zone} answered {answer}: {reason}"
            result.errors[zone.zone] = state.refused
            return
        result.listed[zone.zone] = sorted(detail)
        result.meanings[zone.zone] = detail

    def finalise(self, results: list[DnsblResult]) -> list[DnsblResult]:
        """A zone that refused once is unknown for the whole run: its earlier answers are
        dropped too, so a run never mixes a zone's listings with its refusals."""
        return apply_refusals(results, [s.zone for s in self._zones], self.zone_errors)


async def general_dnsbl(
    dns: DnsClient, targets: Sequence[str], zones: list[Zone], concurrency: int
) -> list[DnsblResult]:
    """Every target against every zone, results in target order (what `bulk_dnsbl` returns)."""
    unique = list(dict.fromkeys(t.strip() for t in targets if t.strip()))
    run = DnsblRun(dns, zones)
    collected: list[DnsblResult] = []

    async def one(target: str) -> None:
        collected.append(await run.check(target))

    await pool(unique, one, concurrency)
    order = {t: i for i, t in enumerate(unique)}
    return run.finalise(sorted(collected, key=lambda r: order[r.target]))
