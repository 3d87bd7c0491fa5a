"""Webhook targets: only hosts on the allow-list (HUB_WEBHOOK_ALLOWED_HOSTS).

A target's host must be listed by name or be an address inside a listed network. At
delivery time the name is resolved and every address must be public or inside a listed
network: a listed name that resolves to a private, loopback or link-local address (DNS
rebinding, a mistyped record) is refused. The request then goes to the address that was
checked, so a second lookup cannot swap it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(Exception):
    """The URL may not be called; the message says why (it names no secret)."""


@dataclass(frozen=True)
class AllowList:
    names: tuple[str, ...]
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, entries: list[str]) -> AllowList:
        names, networks = [], []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.append(entry.lower().rstrip("."))
        return cls(tuple(names), tuple(networks))

    def name_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for name in self.names:
            if name.startswith("*.") and host.endswith(name[1:]) and host != name[2:]:
                return True
            if host == name:
                return True
        return False

    def address_allowed(self, address: Address, *, by_name: bool) -> bool:
        if any(address in net for net in self.networks):
            return True
        # A listed name may resolve to the public internet, never to an internal address.
        return by_name and address.is_global


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, allow: AllowList) -> tuple[str, str]:
    """(scheme, host) of an allowed URL; TargetRefused otherwise. No DNS lookup."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise TargetRefused("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must be an http:// or https:// URL")
    host = parts.hostname or ""
    if not host:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("credentials in the URL are not allowed; the request is signed instead")
    if not allow.names and not allow.networks:
        raise TargetRefused("no webhook target is allowed: set HUB_WEBHOOK_ALLOWED_HOSTS")
    literal = _literal(host)
    if literal is not None:
        if not allow.address_allowed(literal, by_name=False):
            raise TargetRefused(f"{host} is not in HUB_WEBHOOK_ALLOWED_HOSTS")
    elif not allow.name_allowed(host):
        raise TargetRefused(f"{host} is not in HUB_WEBHOOK_ALLOWED_HOSTS")
    return parts.scheme, host


async def resolve_allowed(url: str, allow: AllowList) -> tuple[str, str]:
    """(host, address to connect to) after checking what the name resolves to."""
    _, host = check_url(url, allow)
    literal = _literal(host)
    if literal is not None:
        return host, str(literal)
    port = urlsplit(url).port or (443 if url.startswith("https") else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"{host} does not resolve: {exc.strerror or exc}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    bad = [a for a in addresses if not allow.address_allowed(a, by_name=True)]
    if not addresses or bad:
        raise TargetRefused(f"{host} resolves to {bad[0] if bad else 'nothing'}, outside the allow-list")
    return host, str(addresses[0])
