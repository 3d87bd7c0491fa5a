"""The line's public addresses through the check engine, against a real DNS server on
loopback: the `ptr` kind (forward-confirmed reverse DNS, the expected name), and a line's
PTR and block-list checks run as the check jobs run them and read back from the line."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hub.check.context import CheckContext
from hub.check.engine import run_kind
from hub.check.service import execute, plan_run, record_run
from hub.check.settings import CheckSettings
from hub.models.check import Check
from hub.runtime import HubRuntime
from tests.check.dns_server import DnsTestServer
from tests.line.conftest import isp, line

ZONES = [{"zone": "bl.test", "kind": "ip", "codes": {"127.0.0.2": "listed for spam"}}]


def reverse(address: str) -> str:
    return ".".join(reversed(address.split("."))) + ".in-addr.arpa"


def publish(dns: DnsTestServer) -> None:
    dns.add(reverse("203.0.113.9"), "PTR", "mail.client.test.")
    dns.add("mail.client.test", "A", "203.0.113.9")
    dns.add(reverse("203.0.113.10"), "PTR", "host-10.isp.test.")
    dns.add("host-10.isp.test", "A", "198.51.100.99")  # does not point back
    dns.add(
        "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR", "v6.client.test."
    )
    dns.add("v6.client.test", "AAAA", "2001:db8::2")
    dns.add("10.113.0.203.bl.test", "A", "127.0.0.2")  # 203.0.113.10 is listed
    dns.add("bl.test", "SOA", "ns.bl.test. hostmaster.bl.test. 1 7200 3600 1209600 3600")


@pytest.mark.parametrize(
    ("address", "params", "status", "codes"),
    [
        ("203.0.113.9", {}, "ok", []),
        ("203.0.113.9", {"expected_names": ["mail.client.test."]}, "ok", []),
        ("203.0.113.9", {"expected_names": ["smtp.client.test"]}, "warn", ["ptr_unexpected"]),
        ("203.0.113.10", {}, "warn", ["ptr_mismatch"]),
        ("203.0.113.11", {}, "warn", ["ptr_missing"]),
        ("2001:db8::2", {}, "ok", []),
    ],
)
async def test_the_ptr_kind_judges_reverse_dns(
    dns_server: DnsTestServer,
    check_settings: CheckSettings,
    address: str,
    params: dict[str, Any],
    status: str,
    codes: list[str],
) -> None:
    publish(dns_server)
    async with CheckContext.create(check_settings, now=datetime.now(UTC)) as ctx:
        result = await run_kind(ctx, "ptr", address, params)
    assert (result.status.value, result.codes) == (status, codes)


async def test_a_ptr_lookup_that_times_out_is_unknown_never_missing(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    dns_server.timeout_names.add(reverse("203.0.113.9"))
    async with CheckContext.create(check_settings) as ctx:
        result = await run_kind(ctx, "ptr", "203.0.113.9", {})
    assert result.status.value == "unknown" and result.codes == []


async def test_a_lines_address_checks_run_and_show_on_the_line(
    runtime: HubRuntime, api: httpx.AsyncClient, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(dns_server)
    runtime.use_settings(line={"dnsbl_zones": ZONES})
    owner = await isp(api)
    made = await line(api, owner, address_blocks=["203.0.113.8/30"])
    for check in (await api.get(f"/lines/{made['id']}/checks")).json():
        async with runtime.unit_of_work(write=False) as session:
            plan = await plan_run(session, uuid.UUID(check["id"]))
        assert plan is not None
        started = runtime.now()
        result = await execute(plan, check_settings)
        async with runtime.unit_of_work() as session:
            row = await session.get(Check, uuid.UUID(check["id"]))
            assert row is not None
            await record_run(session, row, result, started_at=started)
    statuses = {
        (c["kind"], c["target_ref"]): c["status"]
        for c in (await api.get(f"/lines/{made['id']}/checks")).json()
    }
    assert statuses == {
        ("ptr", "203.0.113.9"): "ok",
        ("ptr", "203.0.113.10"): "warn",
        ("dnsbl", "203.0.113.9"): "ok",
        ("dnsbl", "203.0.113.10"): "fail",
    }
