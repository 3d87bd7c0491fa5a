"""What a DNS block list run works with, without the check-kind machinery: a zone of
ZONES.json, how its answers read, a target's result, and merging refusals. Kept apart
from `dnsbl.py` so the bulk path (`dnsbl_bulk.py`) and its worker processes load only
this, dnspython and pydantic (`dnsbl.py` pulls in the check registry and the ORM enums).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.check.dns.client import normalise

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


# A dotted quad as Python's ipaddress writes it (no leading zeros): most targets of a bulk
# run, recognised without building an address object.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_CANONICAL = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _is_ip(text: str) -> bool:
    if IPV4_CANONICAL.fullmatch(text):
        return True
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


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


def apply_refusals(
    results: list[DnsblResult], zones: list[Zone], refused: dict[str, str]
) -> list[DnsblResult]:
    """Makes every zone in `refused` unknown in every result it applies to (also used to
    merge the runs of several worker processes: one refusal anywhere counts everywhere)."""
    if not refused:
        return results
    by_name = {z.zone: z for z in zones}
    for result in results:
        is_ip = _is_ip(result.target)
        for zone, reason in refused.items():
            result.listed.pop(zone, None)
            result.meanings.pop(zone, None)
            # What `query_name(target) is not None` says, without building the name.
            applies = zone in by_name and (by_name[zone].kind == "ip") == is_ip
            if zone in result.errors or applies:
                result.errors[zone] = reason
    return results
