"""The DNS client against a real server: TCP on truncation, aliases chased, NXDOMAIN and
NODATA as answers, a second nameserver, nameserver settings."""

from __future__ import annotations

import pytest

from hub.check.context import CheckContext
from hub.check.dns.client import DnsClient, Nameserver, parse_nameserver
from hub.check.enums import CheckStatus
from hub.check.kinds.registry import get_kind
from hub.check.settings import CheckSettings
from tests.check.dns_server import DnsTestServer
from tests.check.world import STRONG_KEY, publish, txt


async def test_truncated_udp_answer_is_fetched_again_over_tcp(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(dns_server, "big.test")
    dns_server.truncate_names.add("big.test")
    async with CheckContext.create(check_settings) as ctx:
        lookup = await ctx.dns.lookup("big.test", "TXT")
        assert ctx.dns.stats.tcp_fallbacks == 1
    assert "v=spf1 mx ip4:192.0.2.0/24 -all" in lookup.records
    assert [p for n, t, p in dns_server.queries if n == "big.test"] == ["udp", "tcp"]


async def test_answer_too_big_for_udp_arrives_over_tcp(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    for i in range(12):
        dns_server.add("many.test", "TXT", txt(f"record-{i}-" + "x" * 200))
    async with CheckContext.create(check_settings) as ctx:
        lookup = await ctx.dns.lookup("many.test", "TXT")
    assert len(lookup.records) == 12
    assert ("many.test", "TXT", "tcp") in dns_server.queries


async def test_alias_out_of_the_servers_zones_is_chased_by_the_client(check_settings: CheckSettings) -> None:
    # Like NSD for a target in another zone: the answer carries the CNAME only.
    with DnsTestServer(chase_cnames=False) as server:
        publish(
            server,
            "alias.test",
            {
                ("selector1._domainkey", "TXT"): [],
                ("selector1._domainkey", "CNAME"): ["selector1-alias-test._domainkey.provider.test."],
            },
        )
        server.add(
            "selector1-alias-test._domainkey.provider.test", "TXT", txt(f"v=DKIM1; k=rsa; p={STRONG_KEY}")
        )
        settings = check_settings.model_copy(update={"dns_nameservers": [server.address]})
        async with CheckContext.create(settings) as ctx:
            check = get_kind("dkim")
            result = await check.run(ctx, "alias.test", check.parse_params({}))
        assert result.codes == [] and result.status == CheckStatus.ok
        assert server.count("selector1-alias-test._domainkey.provider.test", "TXT") == 1
    assert not server.errors


async def test_nxdomain_and_nodata_are_answers_not_errors(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    dns_server.add("exists.test", "A", "192.0.2.1")
    async with CheckContext.create(check_settings) as ctx:
        nodata = await ctx.dns.lookup("exists.test", "MX")
        nxdomain = await ctx.dns.lookup("missing.exists.test", "MX")
        empty_non_terminal = await ctx.dns.lookup("test", "MX")
    assert (nodata.outcome, nxdomain.outcome, empty_non_terminal.outcome) == ("nodata", "nxdomain", "nodata")


async def test_second_nameserver_answers_when_the_first_times_out(dns_server: DnsTestServer) -> None:
    dns_server.add("ok.test", "A", "192.0.2.1")
    with DnsTestServer() as dead:
        dead.timeout_names.add("ok.test")
        client = DnsClient(
            [Nameserver("127.0.0.1", dead.port), parse_nameserver(dns_server.address)], timeout=0.2
        )
        lookup = await client.lookup("ok.test", "A")
    assert lookup.records == ("192.0.2.1",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5300", Nameserver("127.0.0.1", 5300)),
        ("127.0.0.1", Nameserver("127.0.0.1", 53)),
        ("[::1]:5300", Nameserver("::1", 5300)),
        ("::1", Nameserver("::1", 53)),
    ],
)
def test_nameserver_setting_accepts_host_and_port_forms(text: str, expected: Nameserver) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["resolver.example:53", "127.0.0.1:0", "127.0.0.1:99999"])
def test_nameserver_setting_rejects_names_and_bad_ports(text: str) -> None:
    with pytest.raises(ValueError, match=r"address|port"):
        parse_nameserver(text)


def test_nameservers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DNS_NAMESERVERS", "127.0.0.1:5300, [::1]:5301")
    ctx = CheckContext.create(CheckSettings())
    assert ctx.dns.nameservers == [Nameserver("127.0.0.1", 5300), Nameserver("::1", 5301)]
