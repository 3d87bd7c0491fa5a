"""Every DNS finding code against a real DNS server: a zone that triggers it, and the
healthy zone (plus near misses) that must not."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hub.check.context import CheckContext
from hub.check.enums import CheckStatus
from hub.check.findings import CODES
from hub.check.kinds.registry import get_kind
from hub.check.settings import CheckSettings
from tests.check.dns_server import DnsTestServer
from tests.check.world import WEAK_KEY, Records, publish, txt


@dataclass
class Case:
    kind: str
    changes: Records
    expected: set[str]
    extra: dict[str, list[str]] | None = None  # fully qualified owner -> "TYPE rdata"

    def records(self, name: str) -> Records:
        return {k: [v.replace("{d}", name) for v in values] for k, values in self.changes.items()}


CASES: dict[str, Case] = {
    # NS / SOA / CAA
    "ns_missing": Case("dns_zone", {("@", "NS"): []}, {"ns_missing"}),
    "ns_single": Case("dns_zone", {("@", "NS"): ["ns1.{d}."]}, {"ns_single"}),
    "ns_unresolvable": Case("dns_zone", {("@", "NS"): ["ns1.{d}.", "ghost.{d}."]}, {"ns_unresolvable"}),
    "soa_expire_too_short": Case(
        "dns_zone", {("@", "SOA"): ["ns1.{d}. h.{d}. 1 7200 3600 86400 3600"]}, {"soa_expire_too_short"}
    ),
    "soa_negative_ttl_too_long": Case(
        "dns_zone",
        {("@", "SOA"): ["ns1.{d}. h.{d}. 1 7200 3600 1209600 172800"]},
        {"soa_negative_ttl_too_long"},
    ),
    "caa_missing": Case("dns_zone", {("@", "CAA"): []}, {"caa_missing"}),
    "caa_unknown_critical": Case(
        "dns_zone",
        {("@", "CAA"): ['0 issue "letsencrypt.org"', '128 tbs "unknown"']},
        {"caa_unknown_critical"},
    ),
    # MX and reverse DNS
    "mx_missing": Case("mx", {("@", "MX"): []}, {"mx_missing"}),
    "mx_null": Case("mx", {("@", "MX"): ["0 ."]}, {"mx_null"}),
    "mx_null_mixed": Case("mx", {("@", "MX"): ["0 .", "10 mx.{d}."]}, {"mx_null_mixed"}),
    "mx_host_unresolvable": Case(
        "mx", {("@", "MX"): ["10 mx.{d}.", "20 gone.{d}."]}, {"mx_host_unresolvable"}
    ),
    "mx_cname": Case("mx", {("@", "MX"): ["10 mail.{d}."], ("mail", "CNAME"): ["mx.{d}."]}, {"mx_cname"}),
    "mx_ip_literal": Case("mx", {("@", "MX"): ["10 mx.{d}.", "20 192.0.2.1."]}, {"mx_ip_literal"}),
    "ptr_missing": Case("mx", {("mx", "A"): ["10.99.0.1"]}, {"ptr_missing"}),
    "ptr_mismatch": Case(
        "mx",
        {("mx", "A"): ["10.99.0.2"]},
        {"ptr_mismatch"},
        {"2.0.99.10.in-addr.arpa": ["PTR elsewhere.{d}."], "elsewhere.{d}": ["A 10.99.0.3"]},
    ),
    # SPF
    "spf_missing": Case("spf", {("@", "TXT"): [txt("google-site-verification=abc")]}, {"spf_missing"}),
    "spf_multiple_records": Case(
        "spf", {("@", "TXT"): [txt("v=spf1 mx -all"), txt("v=spf1 a -all")]}, {"spf_multiple_records"}
    ),
    "spf_syntax_error": Case("spf", {("@", "TXT"): [txt("v=spf1 ip4:300.1.1.1 -all")]}, {"spf_syntax_error"}),
    "spf_too_many_void_lookups": Case(
        "spf",
        {("@", "TXT"): [txt("v=spf1 a:v1.{d} a:v2.{d} mx:v3.{d} -all")]},
        {"spf_too_many_void_lookups"},
    ),
    "spf_include_no_record": Case(
        "spf",
        {("@", "TXT"): [txt("v=spf1 include:other.{d} -all")], ("other", "TXT"): [txt("not spf")]},
        {"spf_include_no_record"},
    ),
    "spf_pass_all": Case("spf", {("@", "TXT"): [txt("v=spf1 mx +all")]}, {"spf_pass_all"}),
    "spf_neutral_all": Case("spf", {("@", "TXT"): [txt("v=spf1 mx ?all")]}, {"spf_neutral_all"}),
    "spf_no_all": Case("spf", {("@", "TXT"): [txt("v=spf1 mx")]}, {"spf_no_all"}),
    "spf_softfail_all": Case("spf", {("@", "TXT"): [txt("v=spf1 mx ~all")]}, {"spf_softfail_all"}),
    "spf_ptr_mechanism": Case("spf", {("@", "TXT"): [txt("v=spf1 ptr mx -all")]}, {"spf_ptr_mechanism"}),
    # DMARC
    "dmarc_missing": Case("dmarc", {("_dmarc", "TXT"): [txt("something else")]}, {"dmarc_missing"}),
    "dmarc_multiple_records": Case(
        "dmarc",
        {("_dmarc", "TXT"): [txt("v=DMARC1; p=reject; rua=mailto:a@{d}"), txt("v=DMARC1; p=none")]},
        {"dmarc_multiple_records"},
    ),
    "dmarc_syntax_error": Case(
        "dmarc", {("_dmarc", "TXT"): [txt("v=DMARC1; p=block; rua=mailto:a@{d}")]}, {"dmarc_syntax_error"}
    ),
    "dmarc_policy_none": Case(
        "dmarc", {("_dmarc", "TXT"): [txt("v=DMARC1; p=none; rua=mailto:a@{d}")]}, {"dmarc_policy_none"}
    ),
    "dmarc_pct_partial": Case(
        "dmarc",
        {("_dmarc", "TXT"): [txt("v=DMARC1; p=quarantine; pct=50; rua=mailto:a@{d}")]},
        {"dmarc_pct_partial"},
    ),
    "dmarc_rua_missing": Case(
        "dmarc", {("_dmarc", "TXT"): [txt("v=DMARC1; p=reject")]}, {"dmarc_rua_missing"}
    ),
    "dmarc_rua_external_unauthorized": Case(
        "dmarc",
        {("_dmarc", "TXT"): [txt("v=DMARC1; p=reject; rua=mailto:a@{d},mailto:r@reports-nobody.test")]},
        {"dmarc_rua_external_unauthorized"},
    ),
    "dmarc_ruf_external_unauthorized": Case(
        "dmarc",
        {("_dmarc", "TXT"): [txt("v=DMARC1; p=reject; rua=mailto:a@{d}; ruf=mailto:f@reports-nobody.test")]},
        {"dmarc_ruf_external_unauthorized"},
    ),
    "dmarc_sp_none": Case(
        "dmarc",
        {("_dmarc", "TXT"): [txt("v=DMARC1; p=reject; sp=none; rua=mailto:a@{d}")]},
        {"dmarc_sp_none"},
    ),
    # DKIM
    "dkim_missing": Case("dkim", {("selector1._domainkey", "TXT"): []}, {"dkim_missing"}),
    "dkim_weak_key": Case(
        "dkim", {("selector1._domainkey", "TXT"): [txt(f"v=DKIM1; k=rsa; p={WEAK_KEY}")]}, {"dkim_weak_key"}
    ),
    "dkim_revoked": Case(
        "dkim",
        {
            ("selector1._domainkey", "TXT"): [txt("v=DKIM1; p=")],
            ("google._domainkey", "TXT"): [txt("v=DKIM1; p=")],
        },
        # A revoked key is no key: both are true.
        {"dkim_revoked", "dkim_missing"},
    ),
    "dkim_syntax_error": Case(
        "dkim",
        {("selector1._domainkey", "TXT"): [txt("v=DKIM1; k=rsa; p=!!notbase64")]},
        {"dkim_syntax_error"},
    ),
    # TLS-RPT
    "tlsrpt_missing": Case("tlsrpt", {("_smtp._tls", "TXT"): []}, {"tlsrpt_missing"}),
    "tlsrpt_syntax_error": Case(
        "tlsrpt", {("_smtp._tls", "TXT"): [txt("v=TLSRPTv1;")]}, {"tlsrpt_syntax_error"}
    ),
}

DNS_KINDS = ("dns_zone", "mx", "spf", "dmarc", "dkim", "tlsrpt")

# Variants that look close to a problem and must not be reported as one (the codes a
# variant does produce are given after its records).
NEAR_MISSES: dict[str, tuple[str, Records, dict[str, list[str]] | None, set[str]]] = {
    "ipv6-only nameserver resolves": ("dns_zone", {("@", "NS"): ["ns2.{d}.", "ns1.{d}."]}, None, set()),
    "SOA expire of exactly a week": (
        "dns_zone",
        {("@", "SOA"): ["ns1.{d}. h.{d}. 1 7200 3600 604800 86400"]},
        None,
        set(),
    ),
    "critical known CAA tag": ("dns_zone", {("@", "CAA"): ['128 issue "letsencrypt.org"']}, None, set()),
    "several MX all with FCrDNS": ("mx", {("@", "MX"): ["10 mx.{d}.", "20 mx.{d}."]}, None, set()),
    "redirect to a record ending in -all": (
        "spf",
        {("@", "TXT"): [txt("v=spf1 mx redirect=_spf.{d}")], ("_spf", "TXT"): [txt("v=spf1 -all")]},
        None,
        set(),
    ),
    "two void lookups are allowed": (
        "spf",
        {("@", "TXT"): [txt("v=spf1 a:v1.{d} mx:v2.{d} -all")]},
        None,
        set(),
    ),
    "a on an IPv6-only host is not void": (
        "spf",
        {("@", "TXT"): [txt("v=spf1 a:six.{d} a:v1.{d} a:v2.{d} -all")], ("six", "AAAA"): ["2001:db8::25"]},
        None,
        set(),
    ),
    "external rua with authorisation": (
        "dmarc",
        {("_dmarc", "TXT"): [txt("v=DMARC1; p=reject; rua=mailto:r@reports-ok.test")]},
        {"{d}._report._dmarc.reports-ok.test": ['TXT "v=DMARC1"']},
        set(),
    ),
    "rua at a subdomain is internal": (
        "dmarc",
        {("_dmarc", "TXT"): [txt("v=DMARC1; p=reject; rua=mailto:r@reports.{d}")]},
        None,
        set(),
    ),
    "a revoked selector beside a valid key": (
        "dkim",
        {("google._domainkey", "TXT"): [txt("v=DKIM1; p=")]},
        None,
        {"dkim_revoked"},  # and not dkim_missing: selector1 has a key
    ),
    "wildcard-like SPF TXT at a selector is not a DKIM key": (
        "dkim",
        {("google._domainkey", "TXT"): [txt("v=spf1 -all")]},
        None,
        set(),
    ),
}


def _publish_case(
    server: DnsTestServer, name: str, changes: Records, extra: dict[str, list[str]] | None
) -> None:
    publish(server, name, {k: [v.replace("{d}", name) for v in vs] for k, vs in changes.items()})
    for owner, entries in (extra or {}).items():
        for entry in entries:
            rdtype, _, rdata = entry.partition(" ")
            server.add(owner.replace("{d}", name), rdtype, rdata.replace("{d}", name))


async def _run(settings: CheckSettings, kind: str, name: str) -> tuple[set[str], CheckStatus, list[str]]:
    async with CheckContext.create(settings) as ctx:
        check = get_kind(kind)
        result = await check.run(ctx, name, check.parse_params({}))
    return set(result.codes), result.status, result.unknown


@pytest.mark.parametrize("kind", ["dkim", "tlsrpt"])
async def test_a_parked_domain_is_not_asked_for_dkim_or_tls_reporting(
    kind: str, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    # Null MX + `v=spf1 -all`, no DKIM key, no TLS-RPT policy: exactly how a domain that
    # neither sends nor receives mail should look (M3AAWG parked-domain advice).
    parked = {
        ("@", "MX"): ["0 ."],
        ("@", "TXT"): [txt("v=spf1 -all")],
        ("selector1._domainkey", "TXT"): [],
        ("_smtp._tls", "TXT"): [],
    }
    _publish_case(dns_server, "parked.test", parked, None)
    assert await _run(check_settings, kind, "parked.test") == (set(), CheckStatus.ok, [])


async def test_a_domain_that_sends_mail_still_needs_dkim_even_with_a_null_mx(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    sender = {("@", "MX"): ["0 ."], ("selector1._domainkey", "TXT"): [], ("_smtp._tls", "TXT"): []}
    _publish_case(dns_server, "sends-only.test", sender, None)
    assert (await _run(check_settings, "dkim", "sends-only.test"))[0] == {"dkim_missing"}
    assert (await _run(check_settings, "tlsrpt", "sends-only.test"))[0] == set()


@pytest.mark.parametrize("code", sorted(CASES))
async def test_zone_built_to_show_a_problem_reports_exactly_that_code(
    code: str, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    case = CASES[code]
    name = f"{code.replace('_', '-')}.test"
    _publish_case(dns_server, name, case.changes, case.extra)
    codes, status, unknown = await _run(check_settings, case.kind, name)
    assert codes == case.expected
    assert unknown == []
    worst = max(CODES[c] for c in codes)
    expected_status = {"info": CheckStatus.ok, "warning": CheckStatus.warn}.get(worst.value, CheckStatus.fail)
    assert status == expected_status


@pytest.mark.parametrize("kind", DNS_KINDS)
async def test_healthy_domain_has_no_finding_in_any_check(
    kind: str, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(dns_server, "healthy.test")
    codes, status, unknown = await _run(check_settings, kind, "healthy.test")
    assert (codes, status, unknown) == (set(), CheckStatus.ok, [])


@pytest.mark.parametrize("label", sorted(NEAR_MISSES))
async def test_near_miss_is_not_reported(
    label: str, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    kind, changes, extra, expected = NEAR_MISSES[label]
    name = "near-miss.test"
    _publish_case(dns_server, name, changes, extra)
    codes, _, unknown = await _run(check_settings, kind, name)
    assert codes == expected
    assert unknown == []


def test_every_dns_code_in_the_catalogue_has_a_triggering_zone() -> None:
    dns_codes = {code for kind in DNS_KINDS for code in get_kind(kind).codes}
    # spf_too_many_lookups has its own hand-counted include trees in test_spf_lookups.py.
    assert dns_codes == set(CASES) | {"spf_too_many_lookups"}
    assert all(CASES[code].kind in DNS_KINDS and code in get_kind(CASES[code].kind).codes for code in CASES)


async def test_caa_published_only_at_the_parent_covers_a_subdomain(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(dns_server, "parent-caa.test")
    dns_server.add("www.parent-caa.test", "A", "192.0.2.1")
    codes, _, _ = await _run(check_settings, "dns_zone", "www.parent-caa.test")
    assert "caa_missing" not in codes
    assert dns_server.count("parent-caa.test", "CAA") == 1
