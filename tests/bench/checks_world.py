"""A synthetic mail world for the checks benchmark: client domains, the shared mail and DNS
providers they use, DNS block lists, and the finding codes every domain must produce.

Deterministic for a given size and seed. Most clients sit on one of a handful of providers
(shared SPF include trees of known lookup cost, shared MX hosts with forward-confirmed
reverse DNS, DKIM keys at the provider's selectors, some behind a CNAME into the
provider's zone); the rest host their own mail. About a third carry exactly one planted
fault, and the generator knows which codes each fault must produce (the same zones as
tests/check/test_domain_codes.py, one domain each), so a run can be scored for false
findings and misses, not only timed.
"""

from __future__ import annotations

import ipaddress
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tests.check.world import STRONG_KEY, WEAK_KEY, txt

TLD = "test"
SOA_TIMERS = "1 7200 3600 1209600 3600"
LOOKUP_LIMIT = 10


@dataclass(frozen=True)
class Provider:
    name: str
    # DNS lookups that `include:_spf.<name>` costs (the include itself and its whole tree).
    spf_cost: int
    # "selector1"/"selector2" CNAMEs into the provider's zone (Microsoft 365 style), a key
    # published in the client's zone at a provider selector ("google"), or a selector
    # of the provider's own that only a --dkim-selectors file names.
    dkim: str
    share: float  # of provider-hosted clients

    @property
    def zone(self) -> str:
        return f"{self.name}.{TLD}"

    @property
    def index(self) -> int:
        return int(self.name.removeprefix("mailprov"))


PROVIDERS = [
    Provider("mailprov0", 3, "cname", 0.30),
    Provider("mailprov1", 2, "google", 0.25),
    Provider("mailprov2", 1, "google", 0.10),
    Provider("mailprov3", 4, "custom", 0.10),
    Provider("mailprov4", 5, "cname", 0.08),
    Provider("mailprov5", 6, "google", 0.07),
    Provider("mailprov6", 8, "custom", 0.05),
    Provider("mailprov7", 9, "cname", 0.05),
]
# Marketing senders clients add beside their main provider.
SENDERS = [Provider("mailprov8", 2, "none", 0.0), Provider("mailprov9", 4, "none", 0.0)]
DNS_HOSTS = [f"dnshost{i}.{TLD}" for i in range(4)]
DMARC_VENDOR = f"dmarcvendor.{TLD}"
UNAUTHORISED_VENDOR = f"reports-nobody.{TLD}"


# Planted faults: records replaced at the client (owner relative, empty list removes the
# set; "{d}" is the domain, "{ip}"/"{ip2}" its own addresses) -> codes the hub must report.
# `base` "self" builds the fault on a self-hosted domain (own NS, MX and DKIM key), as the
# records it changes belong to those.
@dataclass(frozen=True)
class Fault:
    codes: frozenset[str]
    changes: dict[tuple[str, str], list[str]]
    base: str = "provider"
    # Extra records anywhere: owner ("{d}", "{rev}" for the reverse name of {ip2}) -> rdata.
    extra: tuple[tuple[str, str], ...] = ()


def _f(codes: str, changes: dict[tuple[str, str], list[str]], base: str = "provider", **kw: object) -> Fault:
    return Fault(frozenset(codes.split()), changes, base, **kw)  # type: ignore[arg-type]


FAULTS: dict[str, Fault] = {
    "ns_single": _f("ns_single", {("@", "NS"): ["ns1.{d}."]}, "self"),
    "ns_unresolvable": _f("ns_unresolvable", {("@", "NS"): ["ns1.{d}.", "ghost.{d}."]}, "self"),
    "soa_expire_too_short": _f(
        "soa_expire_too_short", {("@", "SOA"): ["ns1.{d}. h.{d}. 1 7200 3600 86400 3600"]}, "self"
    ),
    "soa_negative_ttl_too_long": _f(
        "soa_negative_ttl_too_long", {("@", "SOA"): ["ns1.{d}. h.{d}. 1 7200 3600 1209600 172800"]}, "self"
    ),
    "caa_missing": _f("caa_missing", {("@", "CAA"): []}),
    "caa_unknown_critical": _f(
        "caa_unknown_critical", {("@", "CAA"): ['0 issue "letsencrypt.org"', '128 tbs "unknown"']}
    ),
    "mx_missing": _f("mx_missing", {("@", "MX"): []}, "self"),
    "mx_null": _f(
        "mx_null",
        {("@", "MX"): ["0 ."], ("@", "TXT"): [txt("v=spf1 -all")], ("selector1._domainkey", "TXT"): []},
        "self",
    ),
    "mx_host_unresolvable": _f("mx_host_unresolvable", {("@", "MX"): ["10 mx.{d}.", "20 gone.{d}."]}, "self"),
    "mx_cname": _f("mx_cname", {("@", "MX"): ["10 mail.{d}."], ("mail", "CNAME"): ["mx.{d}."]}, "self"),
    "ptr_missing": _f("ptr_missing", {("mx", "A"): ["{ip2}"]}, "self"),
    "ptr_mismatch": _f(
        "ptr_mismatch",
        {("mx", "A"): ["{ip2}"], ("elsewhere", "A"): ["{ip}"]},
        "self",
        extra=(("{rev2}", "PTR elsewhere.{d}."),),
    ),
    "spf_missing": _f("spf_missing", {("@", "TXT"): [txt("google-site-verification=abc")]}),
    "spf_multiple_records": _f(
        "spf_multiple_records", {("@", "TXT"): [txt("v=spf1 mx -all"), txt("v=spf1 a -all")]}
    ),
    "spf_syntax_error": _f("spf_syntax_error", {("@", "TXT"): [txt("v=spf1 ip4:300.1.1.1 -all")]}),
    "spf_too_many_void_lookups": _f(
        "spf_too_many_void_lookups", {("@", "TXT"): [txt("v=spf1 a:v1.{d} a:v2.{d} mx:v3.{d} -all")]}
    ),
    "spf_include_no_record": _f(
        "spf_include_no_record",
        {("@", "TXT"): [txt("v=spf1 include:other.{d} -all")], ("other", "TXT"): [txt("not spf")]},
    ),
    "spf_pass_all": _f("spf_pass_all", {("@", "TXT"): [txt("v=spf1 mx +all")]}),
    "spf_neutral_all": _f("spf_neutral_all", {("@", "TXT"): [txt("v=spf1 mx ?all")]}),
    "spf_no_all": _f("spf_no_all", {("@", "TXT"): [txt("v=spf1 mx")]}),
    "spf_softfail_all": _f("spf_softfail_all", {("@", "TXT"): [txt("v=spf1 mx ~all")]}),
    "spf_ptr_mechanism": _f("spf_ptr_mechanism", {("@", "TXT"): [txt("v=spf1 ptr mx -all")]}),
    "dmarc_missing": _f("dmarc_missing", {("_dmarc", "TXT"): [txt("something else")]}),
    "dmarc_multiple_records": _f(
        "dmarc_multiple_records",
        {("_dmarc", "TXT"): [txt("v=DMARC1; p=reject; rua=mailto:a@{d}"), txt("v=DMARC1; p=none")]},
    ),
    "dmarc_syntax_error": _f(
        "dmarc_syntax_error", {("_dmarc", "TXT"): [txt("v=DMARC1; p=block; rua=mailto:a@{d}")]}
    ),
    "dmarc_policy_none": _f(
        "dmarc_policy_none", {("_dmarc", "TXT"): [txt("v=DMARC1; p=none; rua=mailto:a@{d}")]}
    ),
    "dmarc_pct_partial": _f(
        "dmarc_pct_partial", {("_dmarc", "TXT"): [txt("v=DMARC1; p=quarantine; pct=50; rua=mailto:a@{d}")]}
    ),
    "dmarc_rua_missing": _f("dmarc_rua_missing", {("_dmarc", "TXT"): [txt("v=DMARC1; p=reject")]}),
    "dmarc_rua_external_unauthorized": _f(
        "dmarc_rua_external_unauthorized",
        {("_dmarc", "TXT"): [txt(f"v=DMARC1; p=reject; rua=mailto:a@{{d}},mailto:r@{UNAUTHORISED_VENDOR}")]},
    ),
    "dmarc_sp_none": _f(
        "dmarc_sp_none", {("_dmarc", "TXT"): [txt("v=DMARC1; p=reject; sp=none; rua=mailto:a@{d}")]}
    ),
    "dkim_missing": _f("dkim_missing", {("selector1._domainkey", "TXT"): []}, "self"),
    "dkim_weak_key": _f(
        "dkim_weak_key", {("selector1._domainkey", "TXT"): [txt(f"v=DKIM1; k=rsa; p={WEAK_KEY}")]}, "self"
    ),
    "dkim_revoked": _f(
        "dkim_revoked dkim_missing",
        {
            ("selector1._domainkey", "TXT"): [txt("v=DKIM1; p=")],
            ("google._domainkey", "TXT"): [txt("v=DKIM1; p=")],
        },
        "self",
    ),
    "dkim_syntax_error": _f(
        "dkim_syntax_error", {("selector1._domainkey", "TXT"): [txt("v=DKIM1; k=rsa; p=!!notbase64")]}, "self"
    ),
    "tlsrpt_missing": _f("tlsrpt_missing", {("_smtp._tls", "TXT"): []}),
    "tlsrpt_syntax_error": _f("tlsrpt_syntax_error", {("_smtp._tls", "TXT"): [txt("v=TLSRPTv1;")]}),
    # Provider-level: the client's includes together cost more than 10 lookups.
    "spf_too_many_lookups": _f("spf_too_many_lookups", {}),
}


@dataclass
class Domain:
    name: str
    provider: str | None  # None: self-hosted
    fault: str | None
    expected: frozenset[str]
    spf_lookups: int
    selectors: tuple[str, ...] = ()  # for the --dkim-selectors file


@dataclass
class World:
    domains: list[Domain]
    # zone origin -> (owner, type, rdata) rows; owners fully qualified, no trailing dot.
    zones: dict[str, list[tuple[str, str, str]]]
    # DNSBL: zone -> {ip: [answers]}; the refusing zone answers every name.
    listings: dict[str, dict[str, list[str]]]
    dnsbl_ips: list[str]
    dnsbl_zones: list[dict[str, object]]
    refusing_zones: list[str]
    names_for_dnsperf: list[tuple[str, str]] = field(default_factory=list)

    def zone_of(self, name: str) -> str:
        labels = name.split(".")
        for i in range(len(labels)):
            candidate = ".".join(labels[i:])
            if candidate in self.zones:
                return candidate
        raise KeyError(name)


def _ip(block: int, index: int) -> str:
    return str(ipaddress.ip_address(f"10.{block}.0.0") + index + 1)


def _reverse(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def _soa(origin: str) -> str:
    return f"ns1.{DNS_HOSTS[0]}. hostmaster.{origin}. {SOA_TIMERS}"


class _Builder:
    def __init__(self) -> None:
        self.zones: dict[str, list[tuple[str, str, str]]] = defaultdict(list)

    def zone(self, origin: str, ns: tuple[str, ...] = (f"ns1.{DNS_HOSTS[0]}", f"ns2.{DNS_HOSTS[0]}")) -> None:
        if origin not in self.zones:
            self.zones[origin].append((origin, "SOA", _soa(origin)))
            for host in ns:
                self.zones[origin].append((origin, "NS", host + "."))

    def add(self, zone: str, owner: str, rdtype: str, rdata: str) -> None:
        self.zones[zone].append((owner, rdtype, rdata))


def _provider_zone(b: _Builder, p: Provider) -> None:
    """_spf.<zone> costs p.spf_cost lookups: itself plus (cost - 1) sub-includes, each a
    record of ip4 ranges only. Two MX hosts with PTRs back to them."""
    b.zone(p.zone)
    subs = [f"_spf{j}.{p.zone}" for j in range(p.spf_cost - 1)]
    b.add(p.zone, f"_spf.{p.zone}", "TXT", txt(f"v=spf1 {' '.join('include:' + s for s in subs)} -all"))
    for j, sub in enumerate(subs):
        b.add(p.zone, sub, "TXT", txt(f"v=spf1 ip4:10.{100 + p.index}.{j}.0/24 -all"))
    for j in (1, 2):
        ip = f"10.{100 + p.index}.255.{j}"
        b.add(p.zone, f"mx{j}.{p.zone}", "A", ip)
        b.add("10.in-addr.arpa", _reverse(ip), "PTR", f"mx{j}.{p.zone}.")


def _client_spf(rng: random.Random, p: Provider, too_many: bool) -> tuple[str, int]:
    includes = [p]
    if too_many:
        # Add senders (and `mx`) until the whole tree costs more than the limit.
        for sender in [*SENDERS, *PROVIDERS]:
            if sum(i.spf_cost for i in includes) + 1 > LOOKUP_LIMIT:
                break
            if sender not in includes:
                includes.append(sender)
    else:
        for sender in SENDERS:
            if rng.random() < 0.3 and sum(i.spf_cost for i in includes) + sender.spf_cost + 1 <= LOOKUP_LIMIT:
                includes.append(sender)
    cost = sum(i.spf_cost for i in includes) + 1  # + the `mx` mechanism
    terms = " ".join(f"include:_spf.{i.zone}" for i in includes)
    return f"v=spf1 mx {terms} ip4:192.0.2.0/24 -all", cost


def build_world(
    size: int = 10_000, seed: int = 4, fault_share: float = 0.35, dnsbl_ips: int = 20_000
) -> World:
    rng = random.Random(seed)
    b = _Builder()
    b.zone(TLD)
    b.zone("10.in-addr.arpa")
    for i, host in enumerate(DNS_HOSTS):
        b.zone(host, (f"ns1.{host}", f"ns2.{host}"))
        b.add(host, f"ns1.{host}", "A", f"10.250.{i}.1")
        b.add(host, f"ns2.{host}", "A", f"10.250.{i}.2")
    for p in [*PROVIDERS, *SENDERS]:
        _provider_zone(b, p)
    for vendor in (DMARC_VENDOR, UNAUTHORISED_VENDOR):
        b.zone(vendor)

    fault_names = sorted(FAULTS)
    weights = [p.share for p in PROVIDERS]
    domains: list[Domain] = []
    for i in range(size):
        name = f"c{i:05d}.{TLD}"
        fault = fault_names[i % len(fault_names)] if rng.random() < fault_share else None
        spec = FAULTS[fault] if fault else None
        provider = None
        if (spec is None and rng.random() < 0.85) or (spec is not None and spec.base == "provider"):
            provider = rng.choices(PROVIDERS, weights)[0]
        ns_host = rng.choice(DNS_HOSTS)
        ip, ip2 = _ip(200, i), _ip(210, i)
        records: dict[tuple[str, str], list[str]] = {
            ("@", "SOA"): [f"ns1.{ns_host}. hostmaster.{name}. {SOA_TIMERS}"],
            ("@", "NS"): [f"ns1.{ns_host}.", f"ns2.{ns_host}."],
            ("@", "CAA"): ['0 issue "letsencrypt.org"'],
            ("_smtp._tls", "TXT"): [txt(f"v=TLSRPTv1; rua=mailto:tlsrpt@{name}")],
        }
        selectors: tuple[str, ...] = ()
        spf_lookups = 2
        if provider is None:
            records.update(
                {
                    ("@", "NS"): [f"ns1.{name}.", f"ns2.{name}."],
                    ("@", "SOA"): [f"ns1.{name}. hostmaster.{name}. {SOA_TIMERS}"],
                    ("ns1", "A"): [f"10.250.9.{1 + i % 250}"],
                    ("ns2", "AAAA"): ["2001:db8::53"],
                    ("@", "MX"): [f"10 mx.{name}."],
                    ("mx", "A"): [ip],
                    ("@", "TXT"): [
                        txt("v=spf1 mx ip4:192.0.2.0/24 -all"),
                        txt("google-site-verification=abc"),
                    ],
                    ("selector1._domainkey", "TXT"): [txt(f"v=DKIM1; k=rsa; p={STRONG_KEY}")],
                }
            )
            b.add("10.in-addr.arpa", _reverse(ip), "PTR", f"mx.{name}.")
        else:
            spf, spf_lookups = _client_spf(rng, provider, fault == "spf_too_many_lookups")
            records.update(
                {
                    ("@", "MX"): [f"10 mx1.{provider.zone}.", f"20 mx2.{provider.zone}."],
                    ("@", "TXT"): [txt(spf), txt(f"{provider.name}-verification={i}")],
                }
            )
            label = name.replace(".", "-")
            if provider.dkim == "cname":
                for sel in ("selector1", "selector2"):
                    target = f"{sel}-{label}._domainkey.{provider.zone}"
                    records[(f"{sel}._domainkey", "CNAME")] = [target + "."]
                    b.add(provider.zone, target, "TXT", txt(f"v=DKIM1; k=rsa; p={STRONG_KEY}"))
            elif provider.dkim == "google":
                records[("google._domainkey", "TXT")] = [txt(f"v=DKIM1; k=rsa; p={STRONG_KEY}")]
            else:
                sel = f"{provider.name}-{i % 7}"
                selectors = (sel,)
                records[(f"{sel}._domainkey", "TXT")] = [txt(f"v=DKIM1; k=rsa; p={STRONG_KEY}")]
        # DMARC: reports to the domain itself, or to a vendor that authorises it (RFC 7489 §7.1).
        if rng.random() < 0.5:
            records[("_dmarc", "TXT")] = [txt(f"v=DMARC1; p=reject; rua=mailto:dmarc@{name}")]
        else:
            records[("_dmarc", "TXT")] = [txt(f"v=DMARC1; p=quarantine; rua=mailto:{i}@{DMARC_VENDOR}")]
            b.add(DMARC_VENDOR, f"{name}._report._dmarc.{DMARC_VENDOR}", "TXT", txt("v=DMARC1"))
        if spec is not None:
            for key, values in spec.changes.items():
                records[key] = [
                    v.replace("{d}", name).replace("{ip2}", ip2).replace("{ip}", ip) for v in values
                ]
            for owner, entry in spec.extra:
                rdtype, _, rdata = entry.partition(" ")
                full = owner.replace("{rev2}", _reverse(ip2)).replace("{d}", name)
                b.add(b_zone_for(full, name), full, rdtype, rdata.replace("{d}", name))
        b.zones[name] = []
        for (owner, rdtype), values in records.items():
            full = name if owner == "@" else f"{owner}.{name}"
            for value in values:
                b.add(name, full, rdtype, value)
        expected = spec.codes if spec else frozenset()
        domains.append(
            Domain(name, provider.name if provider else None, fault, expected, spf_lookups, selectors)
        )

    listings, ips, zones, refusing = _dnsbl(b, rng, dnsbl_ips)
    world = World(domains, dict(b.zones), listings, ips, zones, refusing)
    world.names_for_dnsperf = _dnsperf_names(domains)
    return world


def b_zone_for(owner: str, domain: str) -> str:
    return "10.in-addr.arpa" if owner.endswith(".in-addr.arpa") else domain


ZEN_CODES = {
    "127.0.0.2": "SBL",
    "127.0.0.3": "CSS",
    "127.0.0.4": "XBL",
    "127.0.0.10": "PBL",
    "127.0.0.11": "PBL",
}
SPAMHAUS_ERRORS = {
    "127.255.255.252": "typo in DQS key",
    "127.255.255.254": "public resolver",
    "127.255.255.255": "rate",
}


def _dnsbl(
    b: _Builder, rng: random.Random, count: int
) -> tuple[dict[str, dict[str, str | list[str]]], list[str], list[dict[str, object]], list[str]]:
    """IPs in 10.64.0.0/10; about 2% listed per listing zone; one zone answers only the
    Spamhaus "public resolver" refusal code (a wildcard)."""
    zones = [
        {"zone": "zen.bl.test", "kind": "ip", "codes": ZEN_CODES, "errors": SPAMHAUS_ERRORS},
        {"zone": "bl2.bl.test", "kind": "ip", "codes": {"127.0.0.2": "listed"}},
        {"zone": "psbl.bl.test", "kind": "ip", "codes": {"127.0.0.2": "listed"}},
        {"zone": "refusing.bl.test", "kind": "ip", "codes": ZEN_CODES, "errors": SPAMHAUS_ERRORS},
    ]
    b.zone("bl.test")
    ips = [str(ipaddress.ip_address("10.64.0.0") + rng.randrange(1, 1 << 22)) for _ in range(count)]
    ips = list(dict.fromkeys(ips))
    listings: dict[str, dict[str, list[str]]] = {"zen.bl.test": {}, "bl2.bl.test": {}, "psbl.bl.test": {}}
    for zone, answers in listings.items():
        pool = ["127.0.0.2", "127.0.0.4", "127.0.0.10"] if zone == "zen.bl.test" else ["127.0.0.2"]
        for ip in rng.sample(ips, len(ips) // 50):
            answers[ip] = sorted(set(rng.sample(pool, rng.randint(1, len(pool)))))
            for answer in answers[ip]:
                b.add("bl.test", ".".join(reversed(ip.split("."))) + "." + zone, "A", answer)
    b.add("bl.test", "*.refusing.bl.test", "A", "127.255.255.254")
    return listings, ips, zones, ["refusing.bl.test"]  # type: ignore[return-value]


def _dnsperf_names(domains: list[Domain]) -> list[tuple[str, str]]:
    """A query mix like a check run's: TXT, MX, the DKIM and DMARC names, NXDOMAINs."""
    names: list[tuple[str, str]] = []
    for d in domains:
        names += [
            (d.name, "TXT"),
            (d.name, "MX"),
            (f"_dmarc.{d.name}", "TXT"),
            (f"selector1._domainkey.{d.name}", "TXT"),
            (f"k1._domainkey.{d.name}", "TXT"),
            (d.name, "NS"),
        ]
    return names


def write_zone_files(world: World, directory: Path) -> list[tuple[str, Path]]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for origin, rows in world.zones.items():
        path = directory / f"{origin}.zone"
        lines = [f"$ORIGIN {origin}.", "$TTL 300"]
        lines += [f"{owner}. IN {rdtype} {rdata}" for owner, rdtype, rdata in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append((origin, path))
    return written
