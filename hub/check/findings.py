"""Findings, their stable codes and severities, and how findings make a status.

The code catalogue is the contract with alerts, reports and the benchmark: a code never
changes meaning, and its severity lives here only, so every kind reports it the same way.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from hub.check.enums import CheckStatus


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


S = Severity

CODES: dict[str, Severity] = {
    # NS / SOA / CAA
    "ns_missing": S.error,
    "ns_single": S.warning,
    "ns_unresolvable": S.error,
    "soa_expire_too_short": S.warning,
    "soa_negative_ttl_too_long": S.info,
    "caa_missing": S.info,
    "caa_unknown_critical": S.warning,
    # MX and reverse DNS
    "mx_missing": S.error,
    "mx_null": S.info,
    "mx_null_mixed": S.error,
    "mx_host_unresolvable": S.error,
    "mx_cname": S.warning,
    "mx_ip_literal": S.error,
    "ptr_missing": S.warning,
    "ptr_mismatch": S.warning,
    "ptr_unexpected": S.warning,
    # SPF (RFC 7208)
    "spf_missing": S.error,
    "spf_multiple_records": S.error,
    "spf_syntax_error": S.error,
    "spf_too_many_lookups": S.error,
    "spf_too_many_void_lookups": S.error,
    "spf_include_no_record": S.error,
    "spf_pass_all": S.critical,
    "spf_neutral_all": S.warning,
    "spf_no_all": S.warning,
    "spf_softfail_all": S.info,
    "spf_ptr_mechanism": S.warning,
    # DMARC (RFC 7489)
    "dmarc_missing": S.error,
    "dmarc_multiple_records": S.error,
    "dmarc_syntax_error": S.error,
    "dmarc_policy_none": S.warning,
    "dmarc_pct_partial": S.warning,
    "dmarc_rua_missing": S.info,
    "dmarc_rua_external_unauthorized": S.warning,
    "dmarc_ruf_external_unauthorized": S.warning,
    "dmarc_sp_none": S.info,
    # DKIM (RFC 6376)
    "dkim_missing": S.warning,
    "dkim_weak_key": S.warning,
    "dkim_revoked": S.info,
    "dkim_syntax_error": S.error,
    # SMTP TLS reporting (RFC 8460)
    "tlsrpt_missing": S.info,
    "tlsrpt_syntax_error": S.warning,
    # Registration (RDAP)
    "domain_expired": S.critical,
    "domain_expiring_7d": S.error,
    "domain_expiring_30d": S.warning,
    # DNS block lists
    "dnsbl_listed": S.error,
    # TLS endpoints
    "tls_cert_expired": S.critical,
    "tls_cert_expiring_7d": S.error,
    "tls_cert_expiring_30d": S.warning,
    "tls_chain_invalid": S.error,
    "tls_hostname_mismatch": S.error,
    "tls_starttls_unsupported": S.error,
    # Firmware drift
    "firmware_outdated_major": S.error,
    "firmware_outdated_minor": S.warning,
    "firmware_outdated_patch": S.info,
}


class Finding(BaseModel):
    code: str
    severity: Severity
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)


def finding(code: str, message: str, **evidence: Any) -> Finding:
    """A finding with the catalogue's severity (an unknown code is a programming error)."""
    return Finding(code=code, severity=CODES[code], message=message, evidence=evidence)


class Evaluation(BaseModel):
    """What `evaluate()` returns: the status, the findings, and why it is unknown, if so."""

    status: CheckStatus
    findings: list[Finding] = Field(default_factory=list)
    # Reasons the check could not be completed (timeout, SERVFAIL, refused zone...).
    unknown: list[str] = Field(default_factory=list)
    # Facts worth storing beside the findings (an expiry date, a key size...).
    facts: dict[str, Any] = Field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


_FAILING = {Severity.error, Severity.critical}


def evaluation(
    findings: list[Finding], unknown: list[str] | None = None, facts: dict[str, Any] | None = None
) -> Evaluation:
    """Status from findings: a certain failure is `fail` even if another part could not be
    checked; otherwise anything incomplete is `unknown`, so a lookup that timed out never
    reads as healthy and never reads as failing."""
    reasons = list(unknown or [])
    severities = {f.severity for f in findings}
    if severities & _FAILING:
        status = CheckStatus.fail
    elif reasons:
        status = CheckStatus.unknown
    elif Severity.warning in severities:
        status = CheckStatus.warn
    else:
        status = CheckStatus.ok
    return Evaluation(status=status, findings=findings, unknown=reasons, facts=facts or {})


def merge(evaluations: list[Evaluation]) -> Evaluation:
    findings = [f for e in evaluations for f in e.findings]
    unknown = [u for e in evaluations for u in e.unknown]
    facts: dict[str, Any] = {}
    for e in evaluations:
        facts.update(e.facts)
    return evaluation(findings, unknown, facts)
