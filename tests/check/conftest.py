"""Fixtures for the checks engine: a real DNS server on loopback and settings aimed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.check.settings import CheckSettings
from tests.check.dns_server import DnsTestServer


@pytest.fixture
def dns_server() -> Iterator[DnsTestServer]:
    with DnsTestServer() as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture
def check_settings(dns_server: DnsTestServer) -> CheckSettings:
    # One attempt makes query counts exact. The timeout leaves room for a loaded CI machine:
    # the server is a thread of this process and answers only when the process is scheduled
    # and lets go of the GIL (0.3 s once lost a truncated answer's TCP retry). A name the
    # server never answers costs a test these 2 s.
    return CheckSettings(
        dns_nameservers=[dns_server.address],
        dns_timeout=2.0,
        dns_attempts=1,
        dkim_default_selectors=["selector1", "google"],
        rdap_base_url="",
        rdap_bootstrap_url="http://127.0.0.1:9/unused-dns.json",
    )
