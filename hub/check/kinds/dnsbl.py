"""DNS block lists (RFC 5782): IP zones (reversed octets or nibbles prepended) and domain
zones (the name prepended), return codes read per zone.

An answer that means "refused" or "over quota" (Spamhaus 127.255.255.252/.254/.255,
URIBL 127.0.0.1, anything outside 127/8 from a resolver that rewrites NXDOMAIN) is not a
listing: it makes the zone unknown for the whole run and is reported as a zone error.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from hub.check.dns.client import DnsClient
from hub.check.dns.dnsbl_zones import DnsblResult, Zone, apply_refusals
from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, evaluation, finding
from hub.check.kinds.base import CheckKind, Params

if TYPE_CHECKING:
    from hub.check.context import CheckContext

__all__ = ["DnsblCheck", "DnsblResult", "DnsblRun", "RateLimiter", "Zone", "apply_refusals"]


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


def _meaning_text(meanings: dict[str, str]) -> str:
    return ", ".join(sorted(set(meanings.values())))


class DnsblParams(Params):
    zones: list[Zone]


class DnsblCheck(CheckKind[DnsblParams, DnsblResult]):
    name = "dnsbl"
    target = CheckTarget.ip
    params_model = DnsblParams
    codes = frozenset({"dnsbl_listed"})

    async def collect(self, ctx: CheckContext, target: str, params: DnsblParams) -> DnsblResult:
        run = DnsblRun(ctx.dns, params.zones)
        return run.finalise([await run.check(target)])[0]

    def evaluate(self, data: DnsblResult, params: DnsblParams, now: datetime) -> Evaluation:
        findings = [
            finding(
                "dnsbl_listed",
                f"{data.target} is listed on {zone}: {_meaning_text(data.meanings.get(zone, {}))}",
                zone=zone,
                answers=answers,
                meanings=data.meanings.get(zone, {}),
            )
            for zone, answers in sorted(data.listed.items())
        ]
        unknown = [f"{zone}: {reason}" for zone, reason in sorted(data.errors.items())]
        return evaluation(findings, unknown)
