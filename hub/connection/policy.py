"""Where a connection may send its credentials (pure: no I/O).

An adapter's manifest names the config fields that decide where its credentials go
(`endpoint_fields`) and its vendor's own hosts (`official_hosts`). The rules (issue 11
§7.1: a technician once pointed a connection's token URL at a host of their own, kept
the stored secret, and pressed "test"):
- changing an endpoint field drops the stored secrets: they must be sent again;
- a host that is neither official nor on `HUB_ADAPTER_ALLOW_HOSTS` needs an admin.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*\.?$")


def host_of(text: str) -> str | None:
    """The host a config value names: a URL's host, or a bare host name or address
    (anything else, such as a PEM block or a label with spaces, names none)."""
    text = text.strip()
    if "://" in text:
        try:
            host = urlsplit(text).hostname
        except ValueError:
            return None
        return host.lower().rstrip(".") if host else None
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    return text.lower().rstrip(".") if _HOSTNAME.match(text) else None


def hosts_in(value: Any) -> set[str]:
    """Every host named anywhere in a config value (nested models and lists too: a
    printer connection lists one host per printer)."""
    if isinstance(value, str):
        host = host_of(value)
        return {host} if host else set()
    if isinstance(value, Mapping):
        return {h for item in value.values() for h in hosts_in(item)}
    if isinstance(value, list | tuple):
        return {h for item in value for h in hosts_in(item)}
    return set()


def host_matches(host: str, pattern: str) -> bool:
    """`*` matches any host, `*.vendor.com` any subdomain of vendor.com (not vendor.com
    itself), anything else the host exactly (case-insensitive)."""
    host, pattern = host.lower().rstrip("."), pattern.strip().lower().rstrip(".")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def allowed(host: str, patterns: Iterable[str]) -> bool:
    return any(host_matches(host, p) for p in patterns if p.strip())


def parse_patterns(text: str) -> tuple[str, ...]:
    return tuple(p.strip().lower() for p in text.split(",") if p.strip())


def changed_endpoints(fields: Iterable[str], old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The endpoint fields whose value differs between two stored configs."""
    return [name for name in fields if old.get(name) != new.get(name)]


def unofficial_hosts(
    fields: Iterable[str], config: Mapping[str, Any], official: Iterable[str], extra: Iterable[str]
) -> dict[str, list[str]]:
    """Per endpoint field, the hosts it names that are neither official nor allowed."""
    patterns = [*official, *extra]
    out: dict[str, list[str]] = {}
    for name in fields:
        bad = sorted(h for h in hosts_in(config.get(name)) if not allowed(h, patterns))
        if bad:
            out[name] = bad
    return out


__all__ = [
    "allowed",
    "changed_endpoints",
    "host_matches",
    "host_of",
    "hosts_in",
    "parse_patterns",
    "unofficial_hosts",
]
