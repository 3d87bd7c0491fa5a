"""DNS block lists against a real DNS server: listings read per zone, refusal answers
never counted as listings, zone budgets and rates honoured; answers classified per zone."""

from __future__ import annotations

import time

import pytest

from hub.check.context import CheckContext
from hub.check.dns.dnsbl_bulk import run_dnsbl
from hub.check.dns.dnsbl_zones import Zone
from hub.check.enums import CheckStatus
from hub.check.kinds.registry import get_kind
from hub.check.settings import CheckSettings
from tests.check.dns_server import DnsTestServer

ZEN = Zone(
    zone="zen.bl.test",
    codes={
        "127.0.0.2": "SBL",
        "127.0.0.3": "CSS",
        "127.0.0.4": "XBL",
        "127.0.0.10": "PBL",
        "127.0.0.11": "PBL",
    },
    errors={
        "127.255.255.252": "typo in DQS key",
        "127.255.255.254": "public resolver",
        "127.255.255.255": "rate",
    },
)
REFUSING = Zone(zone="refusing.bl.test", codes={"127.0.0.2": "listed"})
URIBL = Zone(zone="multi.uribl.test", kind="domain", bitmask={"2": "black", "4": "grey", "8": "red"})


def _listing(server: DnsTestServer, ip: str, zone: str, *answers: str) -> None:
    server.add(".".join(reversed(ip.split("."))) + "." + zone, "A", *answers)


async def _run(
    settings: CheckSettings, targets: list[str], zones: list[Zone]
) -> dict[str, dict[str, object]]:
    results, _, _ = await run_dnsbl(settings, targets, zones)
    return {r.target: r.line() for r in results}


async def test_listing_is_reported_with_every_code_and_clean_address_is_not(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    _listing(dns_server, "192.0.2.99", "zen.bl.test", "127.0.0.2", "127.0.0.4")
    lines = await _run(check_settings, ["192.0.2.99", "192.0.2.1"], [ZEN])
    assert lines["192.0.2.99"] == {
        "ip": "192.0.2.99",
        "listed": {"zen.bl.test": ["127.0.0.2", "127.0.0.4"]},
        "errors": [],
    }
    assert lines["192.0.2.1"] == {"ip": "192.0.2.1", "listed": {}, "errors": []}
    assert dns_server.count("99.2.0.192.zen.bl.test", "A") == 1


@pytest.mark.parametrize("answer", ["127.255.255.252", "127.255.255.254", "127.255.255.255"])
async def test_spamhaus_refusal_answer_makes_the_zone_an_error_for_every_address_never_a_listing(
    answer: str, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    _listing(dns_server, "192.0.2.99", "zen.bl.test", answer)
    _listing(dns_server, "192.0.2.50", "zen.bl.test", "127.0.0.2")  # answered before or after the refusal
    lines = await _run(check_settings, ["192.0.2.50", "192.0.2.99", "192.0.2.1"], [ZEN])
    for line in lines.values():
        assert line["listed"] == {}
        assert line["errors"] == ["zen.bl.test"]


@pytest.mark.parametrize("answer", ["127.255.255.253", "127.0.0.1", "198.51.100.7"])
async def test_unconfigured_refusal_and_hijacked_answers_are_errors_not_listings(
    answer: str, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    _listing(dns_server, "192.0.2.99", "refusing.bl.test", answer)
    _listing(dns_server, "192.0.2.99", "zen.bl.test", "127.0.0.10")
    lines = await _run(check_settings, ["192.0.2.99"], [ZEN, REFUSING])
    assert lines["192.0.2.99"]["listed"] == {"zen.bl.test": ["127.0.0.10"]}
    assert lines["192.0.2.99"]["errors"] == ["refusing.bl.test"]


async def test_zone_that_times_out_is_an_error_for_that_address(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    dns_server.timeout_names.add("99.2.0.192.zen.bl.test")
    lines = await _run(check_settings, ["192.0.2.99", "192.0.2.1"], [ZEN])
    assert lines["192.0.2.99"] == {"ip": "192.0.2.99", "listed": {}, "errors": ["zen.bl.test"]}
    assert lines["192.0.2.1"]["errors"] == []


async def test_domain_zone_prepends_the_name_and_reads_the_bitmask(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    dns_server.add("spammy.example.multi.uribl.test", "A", "127.0.0.6")
    async with CheckContext.create(check_settings) as ctx:
        kind = get_kind("dnsbl")
        result = await kind.run(
            ctx, "spammy.example", kind.parse_params({"zones": [URIBL.model_dump(), ZEN.model_dump()]})
        )
    assert result.codes == ["dnsbl_listed"]
    assert result.findings[0].evidence["meanings"] == {"127.0.0.6": "black, grey"}
    assert result.status == CheckStatus.fail


async def test_query_budget_stops_queries_and_marks_the_rest_unknown(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    zone = ZEN.model_copy(update={"budget": 2})
    lines = await _run(check_settings, ["192.0.2.1", "192.0.2.2", "192.0.2.3"], [zone])
    assert sum(1 for line in lines.values() if line["errors"] == ["zen.bl.test"]) == 1
    assert sum(1 for n, _, _ in dns_server.queries if n.endswith("zen.bl.test")) == 2


async def test_zone_rate_limit_spaces_the_queries(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    zone = ZEN.model_copy(update={"rate": 50.0})
    started = time.monotonic()
    await _run(check_settings, [f"192.0.2.{i}" for i in range(1, 11)], [zone])
    assert time.monotonic() - started >= 9 / 50 * 0.9


def test_query_names_follow_rfc_5782() -> None:
    assert ZEN.query_name("192.0.2.99") == "99.2.0.192.zen.bl.test"
    assert ZEN.query_name("2001:db8::1") == "1.0.0.0." + "0." * 20 + "8.b.d.0.1.0.0.2.zen.bl.test"
    assert ZEN.query_name("example.com") is None
    assert URIBL.query_name("Example.COM") == "example.com.multi.uribl.test"
    dqs = Zone(zone="zen.dq.spamhaus.net", dqs_key="abc123")
    assert dqs.query_name("192.0.2.99") == "99.2.0.192.abc123.zen.dq.spamhaus.net"


def test_zones_file_entries_ignore_unknown_keys() -> None:
    zone = Zone.model_validate({"zone": "z.test", "kind": "ip", "codes": {}, "comment": "free tier"})
    assert zone.zone == "z.test"


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
