"""Delegation and zone hygiene: NS (RFC 1034 wants at least two), SOA timers (RFC 1912,
RFC 2308) and CAA (RFC 8659)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from hub.check.dns.client import Lookup, normalise
from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, Finding, evaluation, finding
from hub.check.kinds.base import CheckKind, Params

if TYPE_CHECKING:
    from hub.check.context import CheckContext

# Property tags RFC 8659 and its registry define; a critical tag outside this set forbids
# every CA from issuing (RFC 8659 §4.1), which is rarely what the owner meant.
KNOWN_CAA_TAGS = frozenset(
    {"issue", "issuewild", "iodef", "contactemail", "contactphone", "issuemail", "issuevmc"}
)
CAA_CRITICAL = 128


class ZoneParams(Params):
    # Secondaries stop answering after `expire`; below a week an outage of the primary over
    # a long weekend takes the zone down (Zonemaster SOA03 uses the same bound).
    soa_min_expire: int = 604_800
    # RFC 2308 §5: "values exceeding one day are problematic" for negative caching.
    soa_max_negative_ttl: int = 86_400


@dataclass
class ZoneData:
    domain: str
    ns: Lookup
    soa: Lookup
    # Per NS host: its A and AAAA lookups.
    ns_addresses: dict[str, list[Lookup]] = field(default_factory=dict)
    # CAA lookups climbing from the domain towards the TLD, up to the first one that answers.
    caa: list[tuple[str, Lookup]] = field(default_factory=list)


def caa_names(domain: str) -> list[str]:
    """The names RFC 8659 §3 climbs, stopping below the TLD (no CA reads CAA at a TLD)."""
    labels = normalise(domain).split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


async def collect_caa(ctx: CheckContext, domain: str) -> list[tuple[str, Lookup]]:
    found: list[tuple[str, Lookup]] = []
    for name in caa_names(domain):
        lookup = await ctx.dns.lookup(name, "CAA")
        found.append((name, lookup))
        if not lookup.void:
            break
    return found


def _evaluate_ns(data: ZoneData) -> tuple[list[Finding], list[str]]:
    if data.ns.failed:
        return [], [data.ns.reason(data.domain, "NS")]
    if data.ns.void:
        return [finding("ns_missing", f"{data.domain} has no NS records", domain=data.domain)], []
    findings: list[Finding] = []
    unknown: list[str] = []
    hosts = sorted({normalise(r) for r in data.ns.records})
    if len(hosts) == 1:
        findings.append(
            finding("ns_single", f"{data.domain} is served by a single nameserver ({hosts[0]})", ns=hosts)
        )
    for host in hosts:
        lookups = data.ns_addresses.get(host, [])
        if any(lk.outcome == "ok" for lk in lookups):
            continue
        failures = [lk for lk in lookups if lk.failed]
        if failures or not lookups:
            unknown.append(
                f"addresses of nameserver {host}: {failures[0].error if failures else 'not looked up'}"
            )
            continue
        findings.append(
            finding(
                "ns_unresolvable", f"nameserver {host} has no A or AAAA record", ns=host, domain=data.domain
            )
        )
    return findings, unknown


def _evaluate_soa(data: ZoneData, params: ZoneParams) -> tuple[list[Finding], list[str]]:
    if data.soa.failed:
        return [], [data.soa.reason(data.domain, "SOA")]
    if data.soa.outcome != "ok":
        return [], []  # not a zone apex (or no zone at all: ns_missing says so)
    parts = data.soa.records[0].split()
    if len(parts) != 7:
        return [], [f"SOA {data.domain}: unparsable record {data.soa.records[0]!r}"]
    expire, minimum = int(parts[5]), int(parts[6])
    findings: list[Finding] = []
    if expire < params.soa_min_expire:
        findings.append(
            finding(
                "soa_expire_too_short",
                f"SOA expire is {expire}s; secondaries give up after that (recommended >= "
                f"{params.soa_min_expire}s)",
                expire=expire,
                minimum_recommended=params.soa_min_expire,
            )
        )
    if minimum > params.soa_max_negative_ttl:
        findings.append(
            finding(
                "soa_negative_ttl_too_long",
                f"SOA negative-caching TTL is {minimum}s: a record added after a failed lookup "
                f"stays invisible that long",
                negative_ttl=minimum,
                maximum_recommended=params.soa_max_negative_ttl,
            )
        )
    return findings, []


def _evaluate_caa(data: ZoneData) -> tuple[list[Finding], list[str]]:
    for name, lookup in data.caa:
        if lookup.failed:
            return [], [lookup.reason(name, "CAA")]
        if lookup.outcome != "ok":
            continue
        findings = []
        for record in lookup.records:
            flags_text, tag, *_ = [*record.split(maxsplit=2), ""]
            if int(flags_text) & CAA_CRITICAL and tag.lower() not in KNOWN_CAA_TAGS:
                findings.append(
                    finding(
                        "caa_unknown_critical",
                        f"CAA at {name} has critical unknown tag {tag!r}: no CA may issue for the domain",
                        name=name,
                        record=record,
                    )
                )
        return findings, []
    return [
        finding(
            "caa_missing",
            f"no CAA record at {data.domain} or its parents: any CA may issue certificates",
            checked=[name for name, _ in data.caa],
        )
    ], []


class ZoneCheck(CheckKind[ZoneParams, ZoneData]):
    name = "dns_zone"
    target = CheckTarget.domain
    params_model = ZoneParams
    codes = frozenset(
        {
            "ns_missing",
            "ns_single",
            "ns_unresolvable",
            "soa_expire_too_short",
            "soa_negative_ttl_too_long",
            "caa_missing",
            "caa_unknown_critical",
        }
    )

    async def collect(self, ctx: CheckContext, target: str, params: ZoneParams) -> ZoneData:
        ns, soa, caa = await asyncio.gather(
            ctx.dns.lookup(target, "NS"), ctx.dns.lookup(target, "SOA"), collect_caa(ctx, target)
        )
        hosts = sorted({normalise(r) for r in ns.records}) if ns.outcome == "ok" else []
        addresses = await asyncio.gather(*(ctx.dns.addresses(h) for h in hosts))
        return ZoneData(
            domain=target,
            ns=ns,
            soa=soa,
            ns_addresses={h: lookups for h, (_, lookups) in zip(hosts, addresses, strict=True)},
            caa=caa,
        )

    def evaluate(self, data: ZoneData, params: ZoneParams, now: datetime) -> Evaluation:
        findings: list[Finding] = []
        unknown: list[str] = []
        for part_findings, part_unknown in (
            _evaluate_ns(data),
            _evaluate_soa(data, params),
            _evaluate_caa(data),
        ):
            findings += part_findings
            unknown += part_unknown
        return evaluation(findings, unknown)
