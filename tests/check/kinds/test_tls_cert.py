"""TLS certificate checks against real TLS endpoints on loopback, direct and SMTP STARTTLS."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest

from hub.check.context import CheckContext
from hub.check.enums import CheckStatus, TlsMode
from hub.check.kinds.registry import get_kind
from hub.check.settings import CheckSettings
from tests.check.tls_server import TlsTestServer, make_certificates


async def _tls(
    params: dict[str, object], host: str = "127.0.0.1"
) -> tuple[list[str], CheckStatus, list[str]]:
    settings = CheckSettings(dns_nameservers=["127.0.0.1:9"], tls_timeout=3.0)
    async with CheckContext.create(settings) as ctx:
        kind = get_kind("tls_cert")
        result = await kind.run(ctx, host, kind.parse_params(params))
    return sorted(result.codes), result.status, result.unknown


@pytest.mark.parametrize(
    ("valid_for", "codes", "status"),
    [
        (timedelta(days=5), ["tls_cert_expiring_7d"], CheckStatus.fail),
        (timedelta(days=20), ["tls_cert_expiring_30d"], CheckStatus.warn),
        (timedelta(days=90), [], CheckStatus.ok),
        (timedelta(days=-1), ["tls_cert_expired"], CheckStatus.fail),
    ],
)
async def test_direct_tls_certificate_expiry_is_judged_by_days_left(
    valid_for: timedelta, codes: list[str], status: CheckStatus, tmp_path: Path
) -> None:
    certs = make_certificates(tmp_path, valid_for)
    with TlsTestServer(certs) as server:
        found = await _tls({"port": server.port, "ca_file": str(certs.ca)})
    assert found[:2] == (codes, status)


async def test_certificate_from_an_untrusted_ca_is_an_invalid_chain(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path, timedelta(days=90))
    with TlsTestServer(certs) as server:
        codes, status, _ = await _tls({"port": server.port})  # system store: our CA is unknown
    assert (codes, status) == (["tls_chain_invalid"], CheckStatus.fail)


async def test_certificate_for_another_name_is_a_hostname_mismatch(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path, timedelta(days=90))
    with TlsTestServer(certs) as server:
        codes, _, _ = await _tls({"port": server.port, "ca_file": str(certs.ca), "sni": "mail.other.test"})
    assert codes == ["tls_hostname_mismatch"]


async def test_smtp_starttls_certificate_is_checked_after_the_upgrade(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path, timedelta(days=5))
    with TlsTestServer(certs, mode="smtp") as server:
        codes, status, _ = await _tls(
            {"port": server.port, "mode": TlsMode.smtp_starttls, "ca_file": str(certs.ca), "sni": "localhost"}
        )
    assert (codes, status) == (["tls_cert_expiring_7d"], CheckStatus.fail)


async def test_smtp_server_without_starttls_is_reported(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path, timedelta(days=90))
    with TlsTestServer(certs, mode="smtp-plain") as server:
        codes, _, _ = await _tls(
            {"port": server.port, "mode": TlsMode.smtp_starttls, "ca_file": str(certs.ca)}
        )
    assert codes == ["tls_starttls_unsupported"]


async def test_closed_port_is_unknown_not_a_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        codes, status, unknown = await _tls({"port": port})
    assert (codes, status) == ([], CheckStatus.unknown)
    assert "127.0.0.1" in unknown[0]
