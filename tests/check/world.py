"""Test zones: a domain with nothing wrong, and the same domain with one thing changed."""

from __future__ import annotations

import itertools

from hub.demo.zones import rsa_key_b64, txt
from tests.check.dns_server import DnsTestServer

Records = dict[tuple[str, str], list[str]]

__all__ = ["STRONG_KEY", "WEAK_KEY", "good_records", "publish", "rsa_key_b64", "txt"]

_addresses = itertools.count(1)


STRONG_KEY = rsa_key_b64(2048)
WEAK_KEY = rsa_key_b64(512)


def good_records(name: str, mx_ip: str) -> Records:
    return {
        ("@", "NS"): [f"ns1.{name}.", f"ns2.{name}."],
        ("ns1", "A"): ["192.0.2.53"],
        ("ns2", "AAAA"): ["2001:db8::53"],
        ("@", "SOA"): [f"ns1.{name}. hostmaster.{name}. 1 7200 3600 1209600 3600"],
        ("@", "CAA"): ['0 issue "letsencrypt.org"'],
        ("@", "MX"): [f"10 mx.{name}."],
        ("mx", "A"): [mx_ip],
        ("@", "TXT"): [txt("v=spf1 mx ip4:192.0.2.0/24 -all"), txt("google-site-verification=abc")],
        ("_dmarc", "TXT"): [txt(f"v=DMARC1; p=reject; rua=mailto:dmarc@{name}")],
        ("selector1._domainkey", "TXT"): [txt(f"v=DKIM1; k=rsa; p={STRONG_KEY}")],
        ("_smtp._tls", "TXT"): [txt(f"v=TLSRPTv1; rua=mailto:tlsrpt@{name}")],
    }


def publish(server: DnsTestServer, name: str, changes: Records | None = None) -> str:
    """Publishes a healthy `name`, with `changes` replacing (or, when empty, removing)
    record sets. The MX address gets a forward-confirmed PTR unless changed."""
    index = next(_addresses)
    mx_ip = f"10.{index // 250}.{index % 250}.25"
    records = good_records(name, mx_ip)
    records.update(changes or {})
    for (owner, rdtype), values in records.items():
        full = name if owner == "@" else f"{owner}.{name}"
        for value in values:
            server.add(full, rdtype, value)
    if ("mx", "A") not in (changes or {}):
        reverse = ".".join(reversed(mx_ip.split("."))) + ".in-addr.arpa"
        server.add(reverse, "PTR", f"mx.{name}.")
    return name
