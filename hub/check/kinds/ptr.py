"""Reverse DNS of one address (an ISP line's public address): a PTR record exists, one
of its names resolves back to the address (forward-confirmed, what receiving mail servers
require), and, when the check names the names expected (a client's mail host), the PTR is
one of them. Setting a PTR is the ISP's job: these findings are what a case asks for."""

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


class PtrParams(Params):
    # Names the PTR should be (e.g. the client's mail host); empty: any confirmed name.
    expected_names: list[str] = []


@dataclass
class PtrData:
    address: str
    ptr: Lookup
    # A or AAAA (the address's family) of every name the PTR lookup returned.
    forward: dict[str, Lookup] = field(default_factory=dict)


def _same(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False


class PtrCheck(CheckKind[PtrParams, PtrData]):
    name = "ptr"
    target = CheckTarget.ip
    params_model = PtrParams
    codes = frozenset({"ptr_missing", "ptr_mismatch", "ptr_unexpected"})

    async def collect(self, ctx: CheckContext, target: str, params: PtrParams) -> PtrData:
        address = str(ipaddress.ip_address(target.strip()))
        ptr = await ctx.dns.lookup(reverse_name(address), "PTR")
        rdtype = "A" if ipaddress.ip_address(address).version == 4 else "AAAA"
        names = [normalise(r) for r in ptr.records] if ptr.outcome == "ok" else []
        forward = await asyncio.gather(*(ctx.dns.lookup(n, rdtype) for n in names))
        return PtrData(address, ptr, dict(zip(names, forward, strict=True)))

    def evaluate(self, data: PtrData, params: PtrParams, now: datetime) -> Evaluation:
        address = data.address
        if data.ptr.failed:
            return evaluation([], [data.ptr.reason(reverse_name(address), "PTR")])
        if data.ptr.void:
            return evaluation([finding("ptr_missing", f"{address} has no PTR record", address=address)])
        findings: list[Finding] = []
        names = sorted(data.forward)
        expected = {normalise(n) for n in params.expected_names}
        if expected and not expected.intersection(names):
            findings.append(
                finding(
                    "ptr_unexpected",
                    f"PTR of {address} is {', '.join(names)}, expected {', '.join(sorted(expected))}",
                    address=address,
                    ptr=names,
                    expected=sorted(expected),
                )
            )
        confirmed = any(
            lk.outcome == "ok" and any(_same(address, r) for r in lk.records) for lk in data.forward.values()
        )
        if confirmed:
            return evaluation(findings, facts={"ptr": names})
        failed = [f"{name}: {lk.error}" for name, lk in data.forward.items() if lk.failed]
        if failed:
            return evaluation(findings, [f"forward lookup of PTR names of {address}: {'; '.join(failed)}"])
        findings.append(
            finding(
                "ptr_mismatch",
                f"PTR of {address} is {', '.join(names)}, which does not resolve back to it",
                address=address,
                ptr=names,
                forward={name: list(lk.records) for name, lk in data.forward.items()},
            )
        )
        return evaluation(findings, facts={"ptr": names})
