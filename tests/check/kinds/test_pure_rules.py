"""The kinds' pure parts, table-driven: SPF and DMARC syntax, firmware drift."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.check.enums import CheckStatus
from hub.check.kinds.dmarc import is_external, parse_dmarc
from hub.check.kinds.firmware import FirmwareCheck, FirmwareData, FirmwareParams, FirmwareRelease, latest_for
from hub.check.kinds.spf_syntax import parse_spf

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
