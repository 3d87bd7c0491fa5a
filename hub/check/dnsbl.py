"""DNS block lists (RFC 5782): IP zones (reversed octets or nibbles prepended) and domain
zones (the name prepended), return codes read per zone.

An answer that means "refused" or "over quota" (Spamhaus 127.255.255.252/.254/.255,
URIBL 127.0.0.1, anything outside 127/8 from a resolver that rewrites NXDOMAIN) is not a
listing: it makes the zone unknown for the whole run and is reported as a zone error.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.check.dns import DnsClient, normalise
from hub.check.findings import Evaluation, evaluation, finding
from hub.check.registry import CheckContext, CheckKind, Params, register
from hub.models.enums import CheckTarget

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
# Every public list uses these for errors, none for listings: 127.255.255.0/24 (Spamhaus
# refusals) and 127.0.0.1 (RFC 5782 §5 forbids listing it; URIBL/SURBL use it for
# "query blocked").
_ERROR_NETWORK = ipaddress.ip_network("127.255.255.0/24")
_ERROR_ANSWERS = frozenset({"127.0.0.1"})


class Zone(BaseModel):
    """One entry of ZONES.json; unknown keys are ignored so lists can carry notes."""

    model_config = ConfigDict(extra="ignore")

    zone: str
    kind: Literal["ip", "domain"] = "ip"
    codes: dict[str, str] = Field(default_factory=dict)
    # SURBL/URIBL style: the last octet is a bit field, {"2": "black", "4": "grey"}.
    bitmask: dict[str, str] = Field(default_factory=dict)
    errors: dict[str, str] = Field(default_factory=dict)
    # Most queries this run may send to the zone (free tiers have daily quotas).
    budget: int | None = Field(default=None, ge=0)
    # Queries per second to the zone.
    rate: float | None = Field(default=None, gt=0)
    # Spamhaus DQS: queries go to <target>.<key>.<zone> (zone e.g. zen.dq.spamhaus.net).
    dqs_key: str | None = None

    def query_name(self, target: str) -> str | None:
        base = f"{self.dqs_key}.{normalise(self.zone)}" if self.dqs_key else normalise(self.zone)
        if self.kind == "domain":
            return None if _is_ip(target) else f"{normalise(target)}.{base}"
        if not _is_ip(target):
            return None
        address = ipaddress.ip_address(target)
        if address.version == 4:
            return ".".join(reversed(str(address).split("."))) + "." + base
        return ".".join(reversed(address.exploded.replace(":", ""))) + "." + base

    def classify(self, answers: tuple[str, ...]) -> tuple[Literal["listed", "error"], dict[str, str]]:
        """("error", {answer: reason}) if any answer is an error code, else ("listed",
        {answer: meaning})."""
        errors: dict[str, str] = {}
        listed: dict[str, str] = {}
        for answer in answers:
            try:
                address = ipaddress.ip_address(answer)
            except ValueError:
                errors[answer] = "not an address"
                continue
            if answer in self.errors:
                errors[answer] = self.errors[answer]
            elif answer in self.codes:
                listed[answer] = self.codes[answer]
            elif address not in _LOOPBACK:
                errors[answer] = "answer outside 127.0.0.0/8 (a resolver rewriting NXDOMAIN?)"
            elif address in _ERROR_NETWORK or answer in _ERROR_ANSWERS:
                errors[answer] = "query refused or over quota"
            elif self.bitmask:
                last = int(answer.rsplit(".", 1)[1])
                bits = [meaning for bit, meaning in self.bitmask.items() if last & int(bit)]
                listed[answer] = ", ".join(bits) if bits else "unknown code"
            else:
                listed[answer] = "listed (code not in the zone's table)"
        return ("error", errors) if errors else ("listed", listed)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


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
class DnsblResult:
    target: str
    # zone -> answers that mean "listed"; meanings beside them.
    listed: dict[str, list[str]] = field(default_factory=dict)
    meanings: dict[str, dict[str, str]] = field(default_factory=dict)
    # zone -> why this target could not be checked against it.
    errors: dict[str, str] = field(default_factory=dict)

    def line(self) -> dict[str, object]:
        key = "ip" if _is_ip(self.target) else "domain"
        return {key: self.target, "listed": self.listed, "errors": sorted(self.errors)}


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


def apply_refusals(
    results: list[DnsblResult], zones: list[Zone], refused: dict[str, str]
) -> list[DnsblResult]:
    """Makes every zone in `refused` unknown in every result it applies to (also used to
    merge the runs of several worker processes: one refusal anywhere counts everywhere)."""
    by_name = {z.zone: z for z in zones}
    for result in results:
        for zone, reason in refused.items():
            result.listed.pop(zone, None)
            result.meanings.pop(zone, None)
            applies = zone in by_name and by_name[zone].query_name(result.target) is not None
            if zone in result.errors or applies:
                result.errors[zone] = reason
    return results


def _meaning_text(meanings: dict[str, str]) -> str:
    return ", ".join(sorted(set(meanings.values())))


class DnsblParams(Params):
    zones: list[Zone]


@register
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
