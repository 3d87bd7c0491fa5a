"""MX records (RFC 5321 §5, null MX RFC 7505, no aliases RFC 2181 §10.3) and forward-
confirmed reverse DNS of every MX address (receivers reject mail from hosts without it)."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from hub.check.dns.client import Lookup, normalise, reverse_name
from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, Finding, evaluation, finding
from hub.check.kinds.base import CheckKind, Params

if TYPE_CHECKING:
    from hub.check.context import CheckContext


class MxParams(Params):
    pass


@dataclass
class AddressData:
    ptr: Lookup
    # A or AAAA (the address's family) of every name the PTR lookup returned.
    forward: dict[str, Lookup] = field(default_factory=dict)


@dataclass
class MxHostData:
    lookups: list[Lookup]  # A, AAAA
    addresses: dict[str, AddressData] = field(default_factory=dict)


@dataclass
class MxData:
    domain: str
    mx: Lookup
    hosts: dict[str, MxHostData] = field(default_factory=dict)


def parse_mx(record: str) -> tuple[int, str]:
    preference, _, exchange = record.partition(" ")
    return int(preference), normalise(exchange)


def ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _same_address(a: str, b: str) -> bool:
    return ipaddress.ip_address(a) == ipaddress.ip_address(b)


async def _collect_address(ctx: CheckContext, address: str) -> AddressData:
    ptr = await ctx.dns.lookup(reverse_name(address), "PTR")
    rdtype = "A" if ipaddress.ip_address(address).version == 4 else "AAAA"
    names = [normalise(r) for r in ptr.records] if ptr.outcome == "ok" else []
    forward = await asyncio.gather(*(ctx.dns.lookup(n, rdtype) for n in names))
    return AddressData(ptr, dict(zip(names, forward, strict=True)))


async def _collect_host(ctx: CheckContext, host: str) -> MxHostData:
    addresses, lookups = await ctx.dns.addresses(host)
    details = await asyncio.gather(*(_collect_address(ctx, a) for a in addresses))
    return MxHostData(lookups, dict(zip(addresses, details, strict=True)))


def _evaluate_address(host: str, address: str, data: AddressData) -> tuple[list[Finding], list[str]]:
    if data.ptr.failed:
        return [], [data.ptr.reason(reverse_name(address), "PTR")]
    if data.ptr.void:
        return [
            finding(
                "ptr_missing", f"MX address {address} ({host}) has no PTR record", host=host, address=address
            )
        ], []
    confirmed = any(
        lk.outcome == "ok" and any(_same_address(address, r) for r in lk.records)
        for lk in data.forward.values()
    )
    if confirmed:
        return [], []
    failed = [f"{name}: {lk.error}" for name, lk in data.forward.items() if lk.failed]
    if failed:
        return [], [f"forward lookup of PTR names of {address}: {'; '.join(failed)}"]
    return [
        finding(
            "ptr_mismatch",
            f"PTR of MX address {address} ({host}) is {', '.join(data.forward)}, "
            "which does not resolve back to it",
            host=host,
            address=address,
            ptr=sorted(data.forward),
            forward={name: list(lk.records) for name, lk in data.forward.items()},
        )
    ], []


def _evaluate_host(host: str, data: MxHostData) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    unknown: list[str] = []
    aliases = next((lk.cnames for lk in data.lookups if lk.cnames), ())
    if aliases:
        findings.append(
            finding(
                "mx_cname",
                f"MX host {host} is an alias (CNAME to {aliases[-1]})",
                host=host,
                cnames=list(aliases),
            )
        )
    if not data.addresses:
        failures = [lk.error for lk in data.lookups if lk.failed]
        if failures:
            unknown.append(f"addresses of MX host {host}: {failures[0]}")
        else:
            findings.append(
                finding("mx_host_unresolvable", f"MX host {host} has no A or AAAA record", host=host)
            )
        return findings, unknown
    for address, detail in data.addresses.items():
        part_findings, part_unknown = _evaluate_address(host, address, detail)
        findings += part_findings
        unknown += part_unknown
    return findings, unknown


class MxCheck(CheckKind[MxParams, MxData]):
    name = "mx"
    target = CheckTarget.domain
    params_model = MxParams
    codes = frozenset(
        {
            "mx_missing",
            "mx_null",
            "mx_null_mixed",
            "mx_host_unresolvable",
            "mx_cname",
            "mx_ip_literal",
            "ptr_missing",
            "ptr_mismatch",
        }
    )

    async def collect(self, ctx: CheckContext, target: str, params: MxParams) -> MxData:
        mx = await ctx.dns.lookup(target, "MX")
        hosts = (
            sorted({h for _, h in map(parse_mx, mx.records) if h and not ip_literal(h)})
            if mx.outcome == "ok"
            else []
        )
        details = await asyncio.gather(*(_collect_host(ctx, h) for h in hosts))
        return MxData(target, mx, dict(zip(hosts, details, strict=True)))

    def evaluate(self, data: MxData, params: MxParams, now: datetime) -> Evaluation:
        if data.mx.failed:
            return evaluation([], [data.mx.reason(data.domain, "MX")])
        if data.mx.void:
            return evaluation([finding("mx_missing", f"{data.domain} has no MX record", domain=data.domain)])
        records = [parse_mx(r) for r in data.mx.records]
        if any(host == "" for _, host in records):
            if len(records) == 1:
                return evaluation(
                    [finding("mx_null", f"{data.domain} publishes a null MX: it accepts no mail (RFC 7505)")]
                )
            return evaluation(
                [
                    finding(
                        "mx_null_mixed",
                        f"{data.domain} publishes a null MX beside other MX records (RFC 7505 forbids it)",
                        records=list(data.mx.records),
                    )
                ]
            )
        findings: list[Finding] = []
        unknown: list[str] = []
        for _, host in sorted(records):
            if ip_literal(host):
                findings.append(
                    finding(
                        "mx_ip_literal",
                        f"MX of {data.domain} is an IP address ({host}), not a host name",
                        host=host,
                    )
                )
        for host, detail in sorted(data.hosts.items()):
            part_findings, part_unknown = _evaluate_host(host, detail)
            findings += part_findings
            unknown += part_unknown
        return evaluation(findings, unknown)
