"""The bulk DNSBL path (`hub/check/dns/dnsbl_bulk.py`) against real servers on loopback: the same
results as the general path (the oracle: a `DnsblRun` check per target) on a mixed set, refusal answers
never listings (and a refusing zone costs one query), the per-zone budget (also split
between worker processes), forged answers ignored, a lost query sent again."""

from __future__ import annotations

import dns.message
import pytest

from hub.check.context import CheckContext
from hub.check.dns.client import Nameserver
from hub.check.dns.dnsbl_bulk import run_dnsbl
from hub.check.dns.dnsbl_zones import DnsblResult, Zone
from hub.check.settings import CheckSettings
from hub.check.workers import dnsbl_in_workers
from tests.check.dns.dnsbl_oracle import general_dnsbl
from tests.check.dns.test_dnsbl import REFUSING, URIBL, ZEN
from tests.check.dns.test_transport import _answer, _RogueServer
from tests.check.dns_server import DnsTestServer, answered_from_a_child_process

BL2 = Zone(zone="bl2.bl.test", codes={"127.0.0.2": "listed"})
SLOW = Zone(zone="slow.bl.test", codes={"127.0.0.2": "listed"})
BROKEN = Zone(zone="broken.bl.test", codes={"127.0.0.2": "listed"})


def _rev(ip: str, zone: str) -> str:
    return ".".join(reversed(ip.split("."))) + "." + zone


def _full(result: DnsblResult) -> tuple[object, ...]:
    return result.target, result.listed, result.meanings, result.errors, list(result.listed)


async def _both(
    settings: CheckSettings, targets: list[str], zones: list[Zone]
) -> tuple[list[DnsblResult], list[DnsblResult]]:
    async with CheckContext.create(settings) as ctx:
        general = await general_dnsbl(ctx.dns, targets, zones, settings.check_concurrency)
    bulk, _, _ = await run_dnsbl(settings, targets, zones)
    return general, bulk


async def test_bulk_path_gives_exactly_what_the_general_path_gives_on_a_mixed_set(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    # Listed on two zones with several codes, on one, not at all; a zone that times out for
    # one address and SERVFAILs for another; an answer through an alias (the general reader
    # takes it); a domain zone read as a bitmask; an IPv6 address; a malformed line.
    dns_server.add(_rev("192.0.2.10", "zen.bl.test"), "A", "127.0.0.4", "127.0.0.2")
    dns_server.add(_rev("192.0.2.10", "bl2.bl.test"), "A", "127.0.0.2")
    dns_server.add(_rev("192.0.2.11", "bl2.bl.test"), "A", "127.0.0.2")
    dns_server.add(_rev("192.0.2.12", "zen.bl.test"), "CNAME", "alias.zen.bl.test.")
    dns_server.add("alias.zen.bl.test", "A", "127.0.0.10")
    dns_server.add("spammy.example.multi.uribl.test", "A", "127.0.0.6")
    dns_server.add("1.0.0.0." + "0." * 20 + "8.b.d.0.1.0.0.2.zen.bl.test", "A", "127.0.0.3")
    dns_server.timeout_names.add(_rev("192.0.2.13", "slow.bl.test"))
    dns_server.servfail_names.add(_rev("192.0.2.14", "broken.bl.test"))
    for i in range(20, 40):  # a crowd of clean addresses around them
        dns_server.add(_rev(f"192.0.2.{i}", "refusing.bl.test"), "A", "127.255.255.254")
    targets = [
        "192.0.2.10",
        "192.0.2.11",
        "192.0.2.12",
        "192.0.2.13",
        "192.0.2.14",
        "2001:db8::1",
        "spammy.example",
        "clean.example",
        "not an address",
        *[f"192.0.2.{i}" for i in range(20, 40)],
    ]
    zones = [ZEN, BL2, SLOW, BROKEN, URIBL]
    # Both paths must see the same timeouts: only the name that never answers. The fixture's
    # server is a thread of this process and, starved of the GIL on a loaded machine, once
    # let names time out in one path only; a child process answers whatever this one does.
    # The timeout leaves room for a machine under CI load.
    with answered_from_a_child_process(dns_server) as address:
        check_settings = check_settings.model_copy(update={"dns_timeout": 1.5, "dns_nameservers": [address]})
        general, bulk = await _both(check_settings, targets, zones)
        # With the refusing zone too: it is an error everywhere, in both paths.
        general_refusing, bulk_refusing = await _both(check_settings, targets, [*zones, REFUSING])
    assert [_full(r) for r in bulk] == [_full(r) for r in general]
    lines = {r.target: r.line() for r in bulk}
    assert lines["192.0.2.10"]["listed"] == {
        "zen.bl.test": ["127.0.0.2", "127.0.0.4"],
        "bl2.bl.test": ["127.0.0.2"],
    }
    assert lines["192.0.2.12"]["listed"] == {"zen.bl.test": ["127.0.0.10"]}
    assert lines["192.0.2.13"]["errors"] == ["slow.bl.test"]
    assert lines["192.0.2.14"]["errors"] == ["broken.bl.test"]
    assert "timeout after 1.5s" in bulk[3].errors["slow.bl.test"]
    assert bulk[4].errors["broken.bl.test"].startswith("SERVFAIL from 127.0.0.1:")
    assert lines["2001:db8::1"]["listed"] == {"zen.bl.test": ["127.0.0.3"]}
    assert lines["spammy.example"] == {
        "domain": "spammy.example",
        "listed": {"multi.uribl.test": ["127.0.0.6"]},
        "errors": [],
    }

    assert [_full(r) for r in bulk_refusing] == [_full(r) for r in general_refusing]
    assert all("refusing.bl.test" in r.errors for r in bulk_refusing if r.target[0].isdigit())


async def test_refusal_answers_are_never_listings_and_a_refusing_zone_gets_one_query(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    targets = [f"192.0.2.{i}" for i in range(1, 201)]
    for ip in targets:  # listing codes for every address but the first...
        dns_server.add(_rev(ip, "zen.bl.test"), "A", "127.0.0.2")
    dns_server.add(_rev(targets[0], "zen.bl.test"), "A", "127.255.255.254")  # ...which is refused
    results, refused, _ = await run_dnsbl(check_settings, targets, [ZEN])
    assert refused == {"zen.bl.test": "zen.bl.test answered 127.255.255.254: public resolver"}
    assert all(r.listed == {} and list(r.errors) == ["zen.bl.test"] for r in results)
    # The zone's first query went alone; its refusal stopped every other one.
    assert sum(1 for n, _, _ in dns_server.queries if n.endswith("zen.bl.test")) == 1


async def test_refusal_answered_after_listings_still_removes_them(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    targets = [f"192.0.2.{i}" for i in range(1, 101)]
    for ip in targets:
        dns_server.add(_rev(ip, "zen.bl.test"), "A", "127.0.0.2")
    dns_server.add(_rev(targets[-1], "zen.bl.test"), "A", "127.255.255.255")
    dns_server.add(_rev(targets[0], "bl2.bl.test"), "A", "127.0.0.2")
    # 200 answers from the Python test server: a 0.3 s timeout can lose the one refusal on a
    # busy machine, and this test is about refusals, not timeouts.
    patient = check_settings.model_copy(update={"dns_timeout": 3.0, "dns_attempts": 2})
    results, _, _ = await run_dnsbl(patient, targets, [ZEN, BL2])
    assert all("zen.bl.test" not in r.listed and "zen.bl.test" in r.errors for r in results)
    assert results[0].listed == {"bl2.bl.test": ["127.0.0.2"]}


async def test_budget_asks_the_first_targets_only_and_marks_the_rest_unknown(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    zone = ZEN.model_copy(update={"budget": 3})
    targets = [f"192.0.2.{i}" for i in range(1, 11)]
    results, _, stats = await run_dnsbl(check_settings, targets, [zone, URIBL])
    assert [bool(r.errors) for r in results] == [False] * 3 + [True] * 7
    assert results[5].errors == {"zen.bl.test": "query budget of 3 exhausted"}
    asked = sorted(n for n, _, _ in dns_server.queries)
    assert asked == sorted(_rev(ip, "zen.bl.test") for ip in targets[:3])
    assert stats.queries == 3


def test_budget_is_shared_between_worker_processes(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    zone = ZEN.model_copy(update={"budget": 5})
    targets = [f"192.0.2.{i}" for i in range(1, 41)]
    results, stats = dnsbl_in_workers(check_settings, targets, [zone], 2, lambda n: None)
    assert [r.target for r in results] == targets
    assert [bool(r.errors) for r in results] == [False] * 5 + [True] * 35
    assert stats.queries == 5
    assert sorted(n for n, _, _ in dns_server.queries) == sorted(
        _rev(ip, "zen.bl.test") for ip in targets[:5]
    )


def _settings(port: int, attempts: int = 1, timeout: float = 0.3) -> CheckSettings:
    return CheckSettings(
        dns_nameservers=[str(Nameserver("127.0.0.1", port))], dns_timeout=timeout, dns_attempts=attempts
    )


async def test_forged_answers_are_ignored() -> None:
    # Before each real answer: one with another id, one for another question with our id.
    def reply(query: dns.message.Message) -> list[bytes]:
        return [
            _answer(query, "127.0.0.4", qid=(query.id + 1) & 0xFFFF),
            _answer(query, "127.0.0.4", qname="99.2.0.192.zen.bl.test."),
            _answer(query, "127.0.0.2"),
        ]

    targets = [f"192.0.2.{i}" for i in range(1, 21)]
    with _RogueServer(reply) as server:
        results, _, stats = await run_dnsbl(_settings(server.port), targets, [ZEN])
    assert all(r.listed == {"zen.bl.test": ["127.0.0.2"]} and not r.errors for r in results)
    assert stats.queries == 20 and stats.timeouts == 0


async def test_only_forged_answers_make_the_zone_unknown_not_listed() -> None:
    def reply(query: dns.message.Message) -> list[bytes]:
        return [_answer(query, "127.0.0.2", qid=(query.id + 7) & 0xFFFF)]

    with _RogueServer(reply) as server:
        results, _, stats = await run_dnsbl(_settings(server.port), ["192.0.2.1", "192.0.2.2"], [ZEN])
    assert [r.listed for r in results] == [{}, {}]
    assert all("timeout after 0.3s" in r.errors["zen.bl.test"] for r in results)
    assert stats.timeouts == 2


async def test_a_lost_query_is_sent_again_once() -> None:
    seen: dict[str, int] = {}

    def reply(query: dns.message.Message) -> list[bytes]:
        name = query.question[0].name.to_text()
        seen[name] = seen.get(name, 0) + 1
        return [] if seen[name] == 1 else [_answer(query, "127.0.0.2")]  # the first try is lost

    with _RogueServer(reply) as server:
        results, _, stats = await run_dnsbl(_settings(server.port, attempts=2), ["192.0.2.1"], [ZEN])
    assert results[0].listed == {"zen.bl.test": ["127.0.0.2"]} and not results[0].errors
    assert stats.queries == 2 and stats.timeouts == 1


@pytest.mark.parametrize("window", [1, 7])
async def test_a_small_window_still_asks_everything(
    window: int, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    targets = [f"192.0.2.{i}" for i in range(1, 31)]
    dns_server.add(_rev("192.0.2.7", "bl2.bl.test"), "A", "127.0.0.2")
    settings = check_settings.model_copy(update={"dnsbl_window": window})
    results, _, stats = await run_dnsbl(settings, targets, [ZEN, BL2])
    assert stats.queries == 60
    assert [r.target for r in results if r.listed] == ["192.0.2.7"]
