"""DNS block lists (RFC 5782) on one address (or domain) per check: IP zones (reversed
octets or nibbles prepended) and domain zones (the name prepended), return codes read per
zone (`hub.check.dns.dnsbl_zones`).

An answer that means "refused" or "over quota" (Spamhaus 127.255.255.252/.254/.255,
URIBL 127.0.0.1, anything outside 127/8 from a resolver that rewrites NXDOMAIN) is not a
listing: it makes the zone unknown and is reported as a zone error.

The lookups are those of `hub check dnsbl` (`hub.check.dns.dnsbl_bulk`) over one target:
one DNSBL path in the hub, whether it checks one address or a million.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from hub.check.dns.dnsbl_bulk import bulk_dnsbl
from hub.check.dns.dnsbl_zones import DnsblResult, Zone
from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, evaluation, finding
from hub.check.kinds.base import CheckKind, Params

if TYPE_CHECKING:
    from hub.check.context import CheckContext


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
        if not params.zones:
            return DnsblResult(target)
        results, _ = await bulk_dnsbl(ctx.dns, [target], params.zones, ctx.settings.dnsbl_window)
        return results[0] if results else DnsblResult(target)

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
