"""The registry, and the kinds' hooks table-driven: what a kind takes from its target,
what it writes back to it, which params only the server sets."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hub.check.enums import CheckStatus, TlsMode
from hub.check.findings import CODES, Evaluation, evaluation, finding
from hub.check.kinds.base import (
    AssetTarget,
    DomainTarget,
    EndpointTarget,
    IpTarget,
    Params,
    Target,
    TargetUpdate,
)
from hub.check.kinds.registry import KINDS, get_kind


def test_every_kind_is_registered_under_its_own_name_with_catalogued_codes() -> None:
    assert sorted(KINDS) == sorted(
        [
            "dns_zone",
            "mx",
            "spf",
            "dmarc",
            "dkim",
            "tlsrpt",
            "domain_expiry",
            "dnsbl",
            "ptr",
            "tls_cert",
            "firmware",
        ]
    )
    for name, kind in KINDS.items():
        assert kind.name == name
        assert kind.codes <= CODES.keys(), name
        assert issubclass(kind.params_model, Params)


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown check kind 'nope'; known: dkim, dmarc"):
        get_kind("nope")


DOMAIN = DomainTarget("example.test", ("s1", "s2"), "microsoft365")
ENDPOINT = EndpointTarget("mail.example.test", 465, TlsMode.smtp_starttls, "sni.example.test")
ASSET = AssetTarget("fw-1", "Fortinet", "FortiGate-60F", "7.2.8", "7.4.3")


@pytest.mark.parametrize(
    ("kind", "target", "params", "expected"),
    [
        # DKIM: the domain's selectors after the check's own; the provider's selectors too.
        ("dkim", DOMAIN, {}, {"selectors": ["s1", "s2"], "provider": "microsoft365"}),
        (
            "dkim",
            DOMAIN,
            {"selectors": ["own"], "provider": "google_workspace"},
            {"selectors": ["own", "s1", "s2"], "provider": "google_workspace"},
        ),
        ("dkim", DomainTarget("example.test", (), "other"), {}, {"selectors": []}),
        # Not a list: left for validation to refuse, as the caller wrote it.
        ("dkim", DOMAIN, {"selectors": "s9"}, {"selectors": "s9", "provider": "microsoft365"}),
        # TLS: the endpoint's port, mode and SNI, unless the check sets them.
        ("tls_cert", ENDPOINT, {}, {"port": 465, "mode": "smtp_starttls", "sni": "sni.example.test"}),
        (
            "tls_cert",
            EndpointTarget("h.test", 443),
            {"port": 8443, "warn_days": 10},
            {"port": 8443, "mode": "direct", "warn_days": 10},
        ),
        # Firmware: the asset's manufacturer, model, version and synced latest.
        (
            "firmware",
            ASSET,
            {},
            {"manufacturer": "Fortinet", "model": "FortiGate-60F", "version": "7.2.8", "latest": "7.4.3"},
        ),
        (
            "firmware",
            AssetTarget("fw-2", "Fortinet"),
            {"table": []},
            {"manufacturer": "Fortinet", "model": None, "version": None, "table": []},
        ),
        # Kinds that take nothing from their target.
        ("spf", DOMAIN, {}, {}),
        ("domain_expiry", DOMAIN, {"warn_days": 60}, {"warn_days": 60}),
        ("dnsbl", IpTarget("192.0.2.1"), {"zones": []}, {"zones": []}),
    ],
)
def test_params_a_kind_takes_from_its_target(
    kind: str, target: Target, params: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert get_kind(kind).params_for(target, params) == expected


def _run(status: CheckStatus, expires_on: str | None) -> Evaluation:
    findings = [finding("tls_starttls_unsupported", "no STARTTLS")] if status is CheckStatus.fail else []
    unknown = ["timeout"] if status is CheckStatus.unknown else []
    result = evaluation(findings, unknown, {"expires_on": expires_on} if expires_on else {})
    assert result.status is status
    return result


@pytest.mark.parametrize(
    ("kind", "result", "update"),
    [
        ("domain_expiry", _run(CheckStatus.ok, "2030-01-02"), TargetUpdate(date(2030, 1, 2), checked=True)),
        ("domain_expiry", _run(CheckStatus.unknown, None), TargetUpdate()),
        ("tls_cert", _run(CheckStatus.ok, "2030-01-02"), TargetUpdate(date(2030, 1, 2), checked=True)),
        # STARTTLS refused: no certificate, but the endpoint answered.
        ("tls_cert", _run(CheckStatus.fail, None), TargetUpdate(checked=True)),
        ("tls_cert", _run(CheckStatus.unknown, None), TargetUpdate()),
        ("spf", _run(CheckStatus.ok, "2030-01-02"), TargetUpdate()),
        ("firmware", _run(CheckStatus.ok, None), TargetUpdate()),
    ],
)
def test_what_a_run_writes_back_to_its_target(kind: str, result: Evaluation, update: TargetUpdate) -> None:
    assert get_kind(kind).target_update(result) == update


def test_only_the_tls_check_has_a_server_only_param() -> None:
    assert {name: kind.server_only_params for name, kind in KINDS.items() if kind.server_only_params} == {
        "tls_cert": frozenset({"ca_file"})
    }
