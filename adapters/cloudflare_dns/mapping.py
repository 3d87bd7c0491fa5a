"""Cloudflare shapes <-> hub records (pure functions), and the record identity Cloudflare
uses to refuse duplicates (type, name, content; priority for MX/SRV/URI)."""

from __future__ import annotations

import ipaddress
from typing import Any

from hub.sdk.records import DnsRecordInput, DnsRecordRecord, DnsZoneRecord

from .api import DnsRecord, Zone

HOSTNAME_CONTENT = frozenset({"CNAME", "MX", "NS", "PTR", "SRV", "DNAME"})


def zone(item: Zone) -> DnsZoneRecord:
    return DnsZoneRecord(external_id=item.id, name=item.name, status=item.status)


def record(item: DnsRecord, zone_id: str) -> DnsRecordRecord:
    return DnsRecordRecord(
        external_id=item.id,
        zone_external_id=item.zone_id or zone_id,
        type=item.type,
        name=item.name,
        content=item.content,
        ttl=max(1, item.ttl),
        priority=item.priority,
        proxied=item.proxied,
    )


def fqdn(name: str, zone_name: str) -> str:
    """Cloudflare's reading of a record name: `@` is the apex, a name not ending in the
    zone is relative to it; lower case, no trailing dot."""
    name = name.strip().rstrip(".").lower()
    zone_name = zone_name.strip().rstrip(".").lower()
    if name in ("", "@"):
        return zone_name
    if name == zone_name or name.endswith("." + zone_name):
        return name
    return f"{name}.{zone_name}"


def content_key(record_type: str, content: str) -> str:
    record_type = record_type.upper()
    content = content.strip()
    if record_type in HOSTNAME_CONTENT:
        return content.rstrip(".").lower()
    if record_type in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(content))
        except ValueError:
            return content
    return content


def identity(
    record_type: str, name: str, content: str, priority: int | None, zone_name: str
) -> tuple[Any, ...]:
    record_type = record_type.upper()
    return (
        record_type,
        fqdn(name, zone_name),
        content_key(record_type, content),
        priority if record_type in ("MX", "SRV", "URI") else None,
    )


def same_record(wanted: DnsRecordInput, found: DnsRecord, zone_name: str) -> bool:
    return identity(wanted.type, wanted.name, wanted.content, wanted.priority, zone_name) == identity(
        found.type, found.name, found.content, found.priority, zone_name
    )


def body(wanted: DnsRecordInput) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": wanted.type.upper(),
        "name": wanted.name,
        "content": wanted.content,
        "ttl": wanted.ttl,  # 1 = automatic
    }
    if wanted.priority is not None:
        out["priority"] = wanted.priority
    if wanted.proxied is not None:
        out["proxied"] = wanted.proxied
    return out
