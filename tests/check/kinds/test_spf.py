"""SPF lookup counting through include/redirect trees (RFC 7208 §4.6.4), hand-counted,
against a real DNS server."""

from __future__ import annotations

import pytest

from hub.check.context import CheckContext
from hub.check.enums import CheckStatus
from hub.check.kinds.registry import get_kind
from hub.check.settings import CheckSettings
from tests.check.dns_server import DnsTestServer
from tests.check.world import publish, txt


def _tree(server: DnsTestServer, name: str, top: str) -> None:
    """A tree whose lookups are counted by hand in the comments. `host.<name>` has A and MX
    so no lookup is void."""
    publish(server, name, {("@", "TXT"): [txt(top.replace("{d}", name))]})
    records = {
        # include:l1 (1) -> a (2) mx (3) include:l2 (4); ip4 and -all cost nothing
        "l1": "v=spf1 a:host.{d} mx:host.{d} include:l2.{d} ip4:192.0.2.0/24 -all",
        # a a exists (5, 6, 7) include:l3 (8)
        "l2": "v=spf1 a:host.{d} a:host.{d} exists:host.{d} include:l3.{d} -all",
        # mx a (9, 10); exp= does not count
        "l3": "v=spf1 mx:host.{d} a:host.{d} exp=explain.{d} -all",
        "last": "v=spf1 -all",
    }
    for owner, text in records.items():
        server.add(f"{owner}.{name}", "TXT", txt(text.replace("{d}", name)))
    server.add(f"host.{name}", "A", "192.0.2.7")
    server.add(f"host.{name}", "MX", f"10 host.{name}.")


async def _spf(settings: CheckSettings, name: str) -> tuple[set[str], int, CheckStatus]:
    async with CheckContext.create(settings) as ctx:
        kind = get_kind("spf")
        data = await kind.collect(ctx, name, kind.parse_params({}))
        result = kind.evaluate(data, kind.parse_params({}), ctx.now)
    return set(result.codes), result.facts["spf_lookups"], result.status


@pytest.mark.parametrize(
    ("top", "lookups", "too_many"),
    [
        ("v=spf1 include:l1.{d} -all", 10, False),
        ("v=spf1 include:l1.{d} a:host.{d} -all", 11, True),
        # no "all": the redirect is followed and counts (11)
        ("v=spf1 include:l1.{d} redirect=last.{d}", 11, True),
        # with an "all" the redirect is ignored and does not count (§6.1)
        ("v=spf1 include:l1.{d} -all redirect=last.{d}", 10, False),
        # ip4/ip6/all never count, however many
        ("v=spf1 ip4:192.0.2.1 ip4:192.0.2.2 ip6:2001:db8::1 include:l1.{d} -all", 10, False),
    ],
)
async def test_lookup_count_over_the_include_tree_matches_the_hand_count(
    top: str, lookups: int, too_many: bool, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    _tree(dns_server, "tree.test", top)
    codes, counted, status = await _spf(check_settings, "tree.test")
    assert counted == lookups
    assert ("spf_too_many_lookups" in codes) is too_many
    assert (status == CheckStatus.fail) is too_many


async def test_include_loop_stops_at_the_limit_instead_of_running_forever(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(dns_server, "loop.test", {("@", "TXT"): [txt("v=spf1 include:b.loop.test -all")]})
    dns_server.add("b.loop.test", "TXT", txt("v=spf1 include:loop.test -all"))
    codes, counted, _ = await _spf(check_settings, "loop.test")
    assert "spf_too_many_lookups" in codes
    assert counted == 11
    assert dns_server.count("loop.test", "TXT") == 1  # the run's cache asks each name once


async def test_shared_provider_include_is_queried_once_for_many_domains(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    dns_server.add("_spf.provider.test", "TXT", txt("v=spf1 ip4:198.51.100.0/24 -all"))
    names = [
        publish(
            dns_server, f"client{i}.test", {("@", "TXT"): [txt("v=spf1 include:_spf.provider.test -all")]}
        )
        for i in range(20)
    ]
    async with CheckContext.create(check_settings) as ctx:
        kind = get_kind("spf")
        for name in names:
            result = await kind.run(ctx, name, kind.parse_params({}))
            assert result.codes == []
    assert dns_server.count("_spf.provider.test", "TXT") == 1


async def test_include_that_times_out_is_unknown_not_a_missing_record(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(dns_server, "slow-include.test", {("@", "TXT"): [txt("v=spf1 include:_spf.slow.test -all")]})
    dns_server.timeout_names.add("_spf.slow.test")
    codes, _, status = await _spf(check_settings, "slow-include.test")
    assert codes == set()
    assert status == CheckStatus.unknown


async def test_macro_include_is_counted_but_not_fetched(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(
        dns_server,
        "macro.test",
        {("@", "TXT"): [txt("v=spf1 include:%{i}._ip.macro.test exists:%{l}.x.macro.test -all")]},
    )
    codes, counted, status = await _spf(check_settings, "macro.test")
    assert (codes, counted, status) == (set(), 2, CheckStatus.ok)
