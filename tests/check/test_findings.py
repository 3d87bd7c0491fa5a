"""Findings, table-driven: the status they make, and the severities of the catalogue."""

from __future__ import annotations

import pytest

from hub.check.enums import CheckStatus
from hub.check.findings import CODES, evaluation, finding


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
