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
        embedded = embedded_ipv4(address)
        if embedded:
            # An IPv6 address that carries an IPv4 one reaches that IPv4 host (through a
            # NAT64 gateway, a 6to4 relay, a dual stack): judge the host it reaches, so
            # ::ffff:127.0.0.1 or 64:ff9b::7f00:1 is loopback, whatever IPv6 says.
            return all(self.address_allowed(inner, by_name=by_name) for inner in embedded)
        if any(address in net for net in self.networks):
            return True
        # A listed name may resolve to the public internet, never to an internal address.
        return by_name and address.is_global


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local use: never global
_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291 IPv4-compatible (deprecated)


def embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: IPv4-mapped (::ffff:a.b.c.d),
    IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo
    (2001::/32, server and client). An address in NAT64's local-use prefix is reported as
    0.0.0.0 (its embedding is the network's own, so it is judged as no public host)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _NAT64:
        return [low32]
    if address in _NAT64_LOCAL:
        return [ipaddress.IPv4Address(0)]
    if address in _COMPATIBLE and int(address) > 1:  # not :: nor ::1
        return [low32]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    return []


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
