"""The demo world's data: DNS zones for every demo domain, the mail providers they use,
DNS block lists and registry (RDAP) answers, all generated from the demo catalogue.

Most domains are healthy, as most are at a well-run MSP. A few carry on purpose the faults
the checks exist to find, so `hub demo` shows every status:

- `colombologistics.com` collected SPF includes for every marketing tool ever tried: more
  than the 10 DNS lookups RFC 7208 allows (`spf_too_many_lookups`, fail);
- two domains publish DMARC `p=none` (`dmarc_policy_none`, warn);
- Bruno Meccanica's own mail gateway (an MX address) is listed on SpamCop
  (`dnsbl_listed`, fail), and the Spamhaus zone answers every query with its "public
  resolver" refusal code, which must read as unknown, never as a listing;
- the registry's expiry dates are the domains' own (two demo domains expire in days);
- firewall firmware is compared with `CURRENT_FIRMWARE` (two firewalls are a major release
  behind).

Addresses come from the documentation ranges (RFC 5737, RFC 3849): they appear in answers
and are never contacted.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.demo.catalogue import CLIENTS, CURRENT_FIRMWARE, ClientProfile
from hub.models.enums import MailProvider

# (owner, type, rdata), owner absolute without the trailing dot.
Record = tuple[str, str, str]

SPF_FAIL_DOMAIN = "colombologistics.com"
DMARC_NONE_DOMAINS = frozenset({"panificioesposito.it", "gallohotels.ch"})
# The client whose mail gateway got listed (a compromised PC relayed spam through it).
LISTED_CLIENT = "bruno-meccanica"

LISTING_ZONE = "bl.spamcop.net"
CLEAN_ZONE = "b.barracudacentral.org"
REFUSING_ZONE = "zen.spamhaus.org"
LISTED_ANSWER = "127.0.0.2"
# What Spamhaus answers to queries that arrive through a public resolver.
REFUSAL_ANSWER = "127.255.255.254"
DNSBL_ZONES: list[dict[str, Any]] = [
    {"zone": LISTING_ZONE, "kind": "ip", "codes": {"127.0.0.2": "listed on SpamCop"}},
    {"zone": CLEAN_ZONE, "kind": "ip", "codes": {"127.0.0.2": "listed on Barracuda"}},
    {
        "zone": REFUSING_ZONE,
        "kind": "ip",
        "codes": {
            "127.0.0.2": "SBL: spam source",
            "127.0.0.3": "CSS: snowshoe spam",
            "127.0.0.4": "XBL: exploited host",
            "127.0.0.10": "PBL: end-user range (ISP)",
            "127.0.0.11": "PBL: end-user range (Spamhaus)",
        },
        "errors": {
            "127.255.255.252": "typing error in the DNSBL name",
            "127.255.255.254": "query through a public or open resolver",
            "127.255.255.255": "excessive number of queries",
        },
    },
]

# The version table the MSP maintains for the firmware checks (one entry per vendor).
FIRMWARE_TABLE: list[dict[str, str]] = [
    {"manufacturer": maker, "latest": version} for maker, version in sorted(CURRENT_FIRMWARE.items())
]

CLOUDFLARE_NS = ("ada.ns.cloudflare.com", "bob.ns.cloudflare.com")
GOOGLE_MX = (
    (1, "aspmx.l.google.com"),
    (5, "alt1.aspmx.l.google.com"),
    (5, "alt2.aspmx.l.google.com"),
    (10, "alt3.aspmx.l.google.com"),
    (10, "alt4.aspmx.l.google.com"),
)
# Registrations nobody entered an expiry for: what the demo registry says instead.
DEFAULT_REGISTRATION_DAYS = 300


def txt(text: str) -> str:
    """TXT rdata: quoted, split into 255-byte strings as a zone file needs."""
    return " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))


def rsa_key_b64(bits: int) -> str:
    """A DKIM public key of `bits` bits. Only the modulus size matters to a checker, so no
    key is generated (slow, and refused below 1024 bits): a random odd modulus will do."""
    rng = random.Random(bits)
    modulus = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
    key = rsa.RSAPublicNumbers(65537, modulus).public_key()
    return base64.b64encode(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()


DKIM_KEY = rsa_key_b64(2048)


def reverse_name(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


@dataclass
class WorldPlan:
    """Everything the demo world serves, and what the demo's checks point at."""

    records: list[Record] = field(default_factory=list)
    # Domain -> registration expiry, as the registry's RDAP server reports it.
    expiries: dict[str, date] = field(default_factory=dict)
    # Client slug -> the addresses its DNSBL checks watch (its own mail gateway).
    dnsbl_targets: dict[str, list[str]] = field(default_factory=dict)

    def add(self, owner: str, rdtype: str, *rdata: str) -> None:
        self.records.extend((owner.rstrip(".").lower(), rdtype, value) for value in rdata)


class _Addresses:
    """Hands out documentation addresses, one per name, the same name the same address."""

    def __init__(self, network: str, first: int = 10) -> None:
        self._prefix = network
        self._next = first
        self.by_name: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self.by_name:
            if self._next > 254:
                raise ValueError(f"{self._prefix}.0/24 is full")
            self.by_name[name] = f"{self._prefix}.{self._next}"
            self._next += 1
        return self.by_name[name]


def demo_domains() -> Iterator[tuple[ClientProfile, str]]:
    for profile in CLIENTS:
        for name in profile.domains:
            yield profile, name


def gateway_host(profile: ClientProfile) -> str:
    """The client's own mail gateway (clients with an SMTP relay receive through it)."""
    return f"mail.{profile.domains[0]}"


def build_world(expiries: Mapping[str, date | None], today: date) -> WorldPlan:
    """The world for the demo catalogue. `expiries` are the registration dates the hub
    holds for the demo domains (the registry agrees with them; a missing one gets a date
    comfortably far away)."""
    plan = WorldPlan()
    provider_ip = _Addresses("192.0.2")
    tenant_ip = _Addresses("198.51.100")
    gateway_ip = _Addresses("203.0.113")

    def host(name: str, address: str) -> None:
        plan.add(name, "A", address)
        plan.add(reverse_name(address), "PTR", f"{name}.")

    for index, ns in enumerate(CLOUDFLARE_NS):
        host(ns, provider_ip(ns))
        plan.add(ns, "AAAA", f"2001:db8:53::{index + 1}")
    for _, mx in GOOGLE_MX:
        host(mx, provider_ip(mx))
    _provider_spf(plan)

    for profile in CLIENTS:
        if profile.smtp_relay:
            gateway = gateway_host(profile)
            address = gateway_ip(gateway)
            host(gateway, address)
            plan.dnsbl_targets[profile.slug] = [address]
            _dnsbl_answers(plan, address, listed=profile.slug == LISTED_CLIENT)

    for profile, name in demo_domains():
        _domain(plan, profile, name, tenant_ip)
        plan.expiries[name] = expiries.get(name) or today + timedelta(days=DEFAULT_REGISTRATION_DAYS)
    return plan


def _provider_spf(plan: WorldPlan) -> None:
    plan.add(
        "spf.protection.outlook.com", "TXT", txt("v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:365::/48 -all")
    )
    plan.add(
        "_spf.google.com",
        "TXT",
        txt("v=spf1 include:_netblocks.google.com include:_netblocks2.google.com ~all"),
    )
    plan.add("_netblocks.google.com", "TXT", txt("v=spf1 ip4:192.0.2.0/25 ~all"))
    plan.add("_netblocks2.google.com", "TXT", txt("v=spf1 ip6:2001:db8:6::/48 ~all"))
    # The marketing and ticketing tools colombologistics.com piled into its SPF record.
    plan.add("servers.mcsv.net", "TXT", txt("v=spf1 ip4:203.0.113.128/27 -all"))
    plan.add("sendgrid.net", "TXT", txt("v=spf1 ip4:203.0.113.160/27 -all"))
    plan.add(
        "_spf.salesforce.com",
        "TXT",
        txt(" ".join(["v=spf1", *(f"include:_spf{n}.salesforce.com" for n in (1, 2, 3)), "-all"])),
    )
    for n in (1, 2, 3):
        plan.add(f"_spf{n}.salesforce.com", "TXT", txt(f"v=spf1 ip4:203.0.113.{192 + n * 8}/29 -all"))
    plan.add("mail.zendesk.com", "TXT", txt("v=spf1 include:_spf.zdsys.com -all"))
    plan.add("_spf.zdsys.com", "TXT", txt("v=spf1 ip4:203.0.113.240/29 -all"))
    plan.add("spf.mandrillapp.com", "TXT", txt("v=spf1 ip4:203.0.113.248/29 -all"))


def _dnsbl_answers(plan: WorldPlan, address: str, *, listed: bool) -> None:
    reversed_ip = ".".join(reversed(address.split(".")))
    if listed:
        plan.add(f"{reversed_ip}.{LISTING_ZONE}", "A", LISTED_ANSWER)
        plan.add(
            f"{reversed_ip}.{LISTING_ZONE}",
            "TXT",
            txt(f"Blocked - see https://www.spamcop.net/bl.shtml?{address}"),
        )
    # Spamhaus refuses whoever asks through a public resolver, listed or not.
    plan.add(f"{reversed_ip}.{REFUSING_ZONE}", "A", REFUSAL_ANSWER)


def _domain(plan: WorldPlan, profile: ClientProfile, name: str, tenant_ip: _Addresses) -> None:
    plan.add(name, "NS", *(f"{ns}." for ns in CLOUDFLARE_NS))
    plan.add(name, "SOA", f"{CLOUDFLARE_NS[0]}. dns.cloudflare.com. 2025010101 10000 2400 1209600 1800")
    plan.add(name, "CAA", '0 issue "letsencrypt.org"', '0 iodef "mailto:security@msp.example"')
    plan.add(f"www.{name}", "A", tenant_ip(f"www.{name}"))
    # Clients with their own gateway receive their main domain's mail through it.
    if profile.smtp_relay and name == profile.domains[0]:
        plan.add(name, "MX", f"10 {gateway_host(profile)}.")
    elif profile.mail is MailProvider.microsoft365:
        mx = f"{name.replace('.', '-')}.mail.protection.outlook.com"
        plan.add(name, "MX", f"0 {mx}.")
        address = tenant_ip(mx)
        plan.add(mx, "A", address)
        plan.add(reverse_name(address), "PTR", f"{mx}.")
    else:
        plan.add(name, "MX", *(f"{pref} {host}." for pref, host in GOOGLE_MX))
    plan.add(name, "TXT", txt(_spf(profile, name)), txt(f"{profile.slug}-site-verification=demo"))
    policy = (
        "none" if name in DMARC_NONE_DOMAINS else ("reject" if profile.tier.value == "best" else "quarantine")
    )
    plan.add(f"_dmarc.{name}", "TXT", txt(f"v=DMARC1; p={policy}; rua=mailto:dmarc@{name}; adkim=r; aspf=r"))
    _dkim(plan, profile, name)
    if profile.tier.value != "good":  # the better plans include TLS reporting
        plan.add(f"_smtp._tls.{name}", "TXT", txt(f"v=TLSRPTv1; rua=mailto:tlsrpt@{name}"))


def _spf(profile: ClientProfile, name: str) -> str:
    if name == SPF_FAIL_DOMAIN:
        return (
            "v=spf1 a mx include:spf.protection.outlook.com include:servers.mcsv.net include:sendgrid.net"
            " include:_spf.salesforce.com include:mail.zendesk.com include:spf.mandrillapp.com -all"
        )
    relay = f" a:{gateway_host(profile)}" if profile.smtp_relay else ""
    if profile.mail is MailProvider.microsoft365:
        return f"v=spf1{relay} include:spf.protection.outlook.com -all"
    return f"v=spf1{relay} include:_spf.google.com ~all"


def _dkim(plan: WorldPlan, profile: ClientProfile, name: str) -> None:
    record = txt(f"v=DKIM1; k=rsa; p={DKIM_KEY}")
    if profile.mail is MailProvider.google_workspace:
        plan.add(f"google._domainkey.{name}", "TXT", record)
        return
    # Microsoft 365 publishes the keys in the tenant's zone; the domain points at them.
    tenant = f"{profile.slug.replace('-', '')}.onmicrosoft.com"
    for selector in ("selector1", "selector2"):
        target = f"{selector}-{name.replace('.', '-')}._domainkey.{tenant}"
        plan.add(f"{selector}._domainkey.{name}", "CNAME", f"{target}.")
        plan.add(target, "TXT", record)


__all__ = [
    "DNSBL_ZONES",
    "FIRMWARE_TABLE",
    "LISTED_CLIENT",
    "REFUSING_ZONE",
    "SPF_FAIL_DOMAIN",
    "WorldPlan",
    "build_world",
    "demo_domains",
    "rsa_key_b64",
    "txt",
]
