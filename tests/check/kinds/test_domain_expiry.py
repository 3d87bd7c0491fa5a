"""Domain expiry over RDAP from a real HTTP server on loopback, found through the
bootstrap file or a configured base URL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from hub.check.context import CheckContext
from hub.check.enums import CheckStatus
from hub.check.kinds.domain_expiry import base_for
from hub.check.kinds.registry import get_kind
from hub.check.settings import CheckSettings
from tests.check.http_server import RdapTestServer, rdap_domain

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _at(delta: timedelta) -> str:
    return (NOW + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def rdap() -> Iterator[RdapTestServer]:
    with RdapTestServer() as server:
        server.domains = {
            "expired.test": rdap_domain("expired.test", _at(timedelta(days=-1))),
            "in-three-days.test": rdap_domain("in-three-days.test", _at(timedelta(days=3))),
            "in-twenty-days.test": rdap_domain("in-twenty-days.test", _at(timedelta(days=20))),
            "in-thirty-one-days.test": rdap_domain("in-thirty-one-days.test", _at(timedelta(days=31))),
            "no-expiry.test": rdap_domain("no-expiry.test", None),
            "broken.test": 500,
        }
        yield server


async def _expiry(settings: CheckSettings, domain: str) -> tuple[list[str], CheckStatus, dict[str, object]]:
    async with CheckContext.create(settings, now=NOW) as ctx:
        kind = get_kind("domain_expiry")
        result = await kind.run(ctx, domain, kind.parse_params({}))
    return result.codes, result.status, {"unknown": result.unknown, **result.facts}


@pytest.mark.parametrize(
    ("domain", "codes", "status"),
    [
        ("expired.test", ["domain_expired"], CheckStatus.fail),
        ("in-three-days.test", ["domain_expiring_7d"], CheckStatus.fail),
        ("in-twenty-days.test", ["domain_expiring_30d"], CheckStatus.warn),
        ("in-thirty-one-days.test", [], CheckStatus.ok),
        ("no-expiry.test", [], CheckStatus.unknown),
        ("broken.test", [], CheckStatus.unknown),
        ("unregistered.test", [], CheckStatus.unknown),
    ],
)
async def test_expiry_is_judged_from_the_rdap_expiration_event(
    domain: str, codes: list[str], status: CheckStatus, rdap: RdapTestServer, check_settings: CheckSettings
) -> None:
    settings = check_settings.model_copy(update={"rdap_bootstrap_url": rdap.bootstrap_url})
    found_codes, found_status, facts = await _expiry(settings, domain)
    assert (found_codes, found_status) == (codes, status)
    assert bool(facts["unknown"]) is (status == CheckStatus.unknown)


async def test_expiry_date_is_returned_for_the_domain_record(
    rdap: RdapTestServer, check_settings: CheckSettings
) -> None:
    settings = check_settings.model_copy(update={"rdap_base_url": rdap.base_url})
    _, _, facts = await _expiry(settings, "in-twenty-days.test")
    assert facts["expires_on"] == "2026-03-21"
    assert facts["registrar"] == "Example Registrar"
    assert "/dns.json" not in rdap.requests  # a base URL skips the bootstrap


async def test_bootstrap_file_is_fetched_once_per_run(
    rdap: RdapTestServer, check_settings: CheckSettings
) -> None:
    settings = check_settings.model_copy(update={"rdap_bootstrap_url": rdap.bootstrap_url})
    async with CheckContext.create(settings, now=NOW) as ctx:
        kind = get_kind("domain_expiry")
        for domain in ("expired.test", "in-three-days.test", "in-twenty-days.test"):
            await kind.run(ctx, domain, kind.parse_params({}))
    assert rdap.requests.count("/dns.json") == 1


async def test_unreachable_rdap_server_is_unknown(check_settings: CheckSettings) -> None:
    settings = check_settings.model_copy(
        update={"rdap_base_url": "http://127.0.0.1:9/rdap/", "rdap_timeout": 1.0}
    )
    codes, status, _ = await _expiry(settings, "anything.test")
    assert (codes, status) == ([], CheckStatus.unknown)


def test_bootstrap_picks_the_longest_suffix_and_prefers_https() -> None:
    bootstrap = {
        "services": [
            [["uk"], ["https://rdap.nominet.uk/uk/"]],
            [["co.uk"], ["http://plain.example/", "https://secure.example/"]],
        ]
    }
    assert base_for(bootstrap, "shop.example.co.uk") == "https://secure.example/"
    assert base_for(bootstrap, "example.uk") == "https://rdap.nominet.uk/uk/"
    assert base_for(bootstrap, "example.com") is None
