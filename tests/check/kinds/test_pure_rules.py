"""The pure parts, table-driven: SPF and DMARC syntax, status from findings, DNSBL answer
classification, firmware drift."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.check.dns.dnsbl_zones import Zone
from hub.check.findings import CODES, evaluation, finding
from hub.check.kinds.dmarc import is_external, parse_dmarc
from hub.check.kinds.firmware import FirmwareCheck, FirmwareData, FirmwareParams, FirmwareRelease, latest_for
from hub.check.kinds.spf_syntax import parse_spf
from hub.models.enums import CheckStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("record", "valid"),
    [
        ("v=spf1 -all", True),
        ("v=spf1  mx   -all", True),
        ("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a/24 mx:mail.example.com//64 -all", True),
        ("v=spf1 include:_spf.google.com ~all", True),
        ("v=spf1 exists:%{i}._spf.%{d} -all", True),
        ("v=spf1 include:%{d2}.example.net -all", True),
        ("v=spf1 redirect=_spf.example.com", True),
        ("v=spf1 custom-mod=anything -all", True),
        ("v=spf1 ip4:192.0.2.0/33 -all", False),
        ("v=spf1 ip4:192.0.2 -all", False),
        ("v=spf1 ip6:192.0.2.1 -all", False),
        ("v=spf1 include: -all", False),
        ("v=spf1 include:localhost -all", False),
        ("v=spf1 include:example.123 -all", False),
        ("v=spf1 all:foo", False),
        ("v=spf1 foo -all", False),
        ("v=spf1 redirect=a.example redirect=b.example", False),
        ("v=spf1 exists:%{z}.example.com -all", False),
        ("v=spf1 a/0a -all", False),
        ("v=spf10 -all", False),
    ],
)
def test_spf_syntax(record: str, valid: bool) -> None:
    assert (parse_spf(record).errors == []) is valid


@pytest.mark.parametrize(
    ("record", "valid"),
    [
        ("v=DMARC1; p=reject; rua=mailto:d@example.com", True),
        ("v=DMARC1;p=none", True),
        ("v=DMARC1; p=quarantine; pct=0; adkim=s; aspf=r; fo=0:1:d:s; ri=86400; unknown=tag;", True),
        ("v=DMARC1; rua=mailto:d@example.com!10m; p=reject", True),
        ("p=reject; v=DMARC1", False),
        ("v=DMARC1; rua=mailto:d@example.com", False),
        ("v=DMARC1; p=reject; pct=101", False),
        ("v=DMARC1; p=reject; sp=block", False),
        ("v=DMARC1; p=reject; p=none", False),
        ("v=DMARC1; p=reject; rua=d@example.com", False),
        ("v=DMARC1; p=reject; fo=2", False),
    ],
)
def test_dmarc_syntax(record: str, valid: bool) -> None:
    assert (parse_dmarc(record).errors == []) is valid


@pytest.mark.parametrize(
    ("policy_domain", "report_domain", "external"),
    [
        ("example.com", "example.com", False),
        ("example.com", "reports.example.com", False),
        ("shop.example.com", "example.com", False),
        ("example.com", "dmarc-vendor.net", True),
        ("example.com", "notexample.com", True),
    ],
)
def test_dmarc_report_domain_external(policy_domain: str, report_domain: str, external: bool) -> None:
    assert is_external(policy_domain, report_domain) is external


@pytest.mark.parametrize(
    ("codes", "unknown", "status"),
    [
        ([], [], CheckStatus.ok),
        (["caa_missing"], [], CheckStatus.ok),
        (["ns_single"], [], CheckStatus.warn),
        (["ns_single"], ["timeout"], CheckStatus.unknown),
        (["spf_missing"], ["timeout"], CheckStatus.fail),
        (["spf_pass_all"], [], CheckStatus.fail),
        ([], ["SERVFAIL"], CheckStatus.unknown),
    ],
)
def test_status_from_findings(codes: list[str], unknown: list[str], status: CheckStatus) -> None:
    assert evaluation([finding(c, c) for c in codes], unknown).status == status


def test_every_code_has_a_stable_severity() -> None:
    assert CODES["spf_pass_all"].value == "critical"
    assert CODES["mx_null"].value == "info"
    assert CODES["dmarc_rua_external_unauthorized"].value == "warning"
    assert all(code == code.lower() and " " not in code for code in CODES)


SPAMHAUS = Zone(
    zone="zen.spamhaus.org",
    codes={"127.0.0.2": "SBL", "127.0.0.10": "PBL"},
    errors={"127.255.255.254": "public resolver"},
)


@pytest.mark.parametrize(
    ("answers", "verdict"),
    [
        (("127.0.0.2",), "listed"),
        (("127.0.0.2", "127.0.0.10"), "listed"),
        (("127.0.0.9",), "listed"),
        (("127.255.255.254",), "error"),
        (("127.255.255.252",), "error"),
        (("127.0.0.2", "127.255.255.255"), "error"),
        (("127.0.0.1",), "error"),
        (("203.0.113.5",), "error"),
    ],
)
def test_dnsbl_answer_classification(answers: tuple[str, ...], verdict: str) -> None:
    assert SPAMHAUS.classify(answers)[0] == verdict


TABLE = [
    FirmwareRelease(manufacturer="Fortinet", model="FortiGate-6*", latest="7.4.3"),
    FirmwareRelease(manufacturer="Fortinet", latest="7.2.8"),
]


@pytest.mark.parametrize(
    ("model", "version", "codes", "status"),
    [
        ("FortiGate-60F", "v7.4.3,build2573", [], CheckStatus.ok),
        ("FortiGate-60F", "v7.4.4,build2600", [], CheckStatus.ok),
        ("FortiGate-60F", "v7.4.1,build2463", ["firmware_outdated_patch"], CheckStatus.ok),
        ("FortiGate-60F", "7.2.8", ["firmware_outdated_minor"], CheckStatus.warn),
        ("FortiGate-60F", "6.4.15", ["firmware_outdated_major"], CheckStatus.fail),
        ("FortiGate-100F", "7.2.8", [], CheckStatus.ok),
        ("FortiGate-100F", None, [], CheckStatus.unknown),
        ("FortiGate-100F", "unknown", [], CheckStatus.unknown),
    ],
)
def test_firmware_drift_severity_by_how_far_behind(
    model: str, version: str | None, codes: list[str], status: CheckStatus
) -> None:
    params = FirmwareParams(manufacturer="Fortinet", model=model, version=version, table=TABLE)
    data = FirmwareData(version, latest_for(TABLE, "fortinet", model), "table")
    result = FirmwareCheck().evaluate(data, params, NOW)
    assert (result.codes, result.status) == (codes, status)


def test_firmware_of_a_vendor_missing_from_the_table_is_unknown() -> None:
    params = FirmwareParams(manufacturer="Cisco", model="C9200", version="17.9.4", table=TABLE)
    result = FirmwareCheck().evaluate(
        FirmwareData("17.9.4", latest_for(TABLE, "Cisco", "C9200"), "table"), params, NOW
    )
    assert result.status == CheckStatus.unknown
