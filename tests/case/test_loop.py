"""The whole loop on loopback: a case opened from a failing SPF check (real DNS server)
goes out through the outbox (real SMTP) to the vendor mailbox simulator, whose answers
come back through a real IMAP server and the poller; the vendor's "resolved" re-runs
the check: passing resolves the case with the evidence, failing reopens it and tells the
vendor. Chasers follow up with a silent vendor once per level."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from hub.case import chasers, outbox, poller
from hub.db import session_scope
from hub.kit.time import utcnow
from hub.mail.parse import parse_message
from hub.mail.simulator import Step, VendorPersona
from hub.mail.world import MailWorld
from hub.runtime import HubRuntime
from tests import factories as f
from tests.case.helpers import run_jobs, vendor_world, world_case_settings
from tests.check.dns_server import DnsTestServer
from tests.check.world import publish, txt

PERSONA = VendorPersona(
    "mailhost",
    "MailHost",
    "mailhost.example",
    "salesforce",
    script=(Step(1, "auto_ack"), Step(60, "need_info"), Step(600, "resolved")),
)
SILENT = VendorPersona("blackhole", "Blackhole Telecom", "blackhole.example", "salesforce", silent=True)


@pytest.fixture
async def world(runtime: HubRuntime, dns_server: DnsTestServer) -> AsyncIterator[MailWorld]:
    async with MailWorld.start([PERSONA, SILENT], time_scale=0.0005) as mail_world:
        runtime.use_settings(
            case=world_case_settings(mail_world, chaser_interval_seconds=3600),
            check={"dns_nameservers": [dns_server.address], "dns_timeout": 2.0, "dns_attempts": 1},
        )
        yield mail_world


async def failing_spf_case(
    api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> dict[str, Any]:
    w = await vendor_world(api, domain="mailhost.example")
    name = publish(
        dns_server, f"c{w['client']['slug']}.test", {("@", "TXT"): [txt("google-site-verification=1")]}
    )
    d = await f.domain(api, w["client"]["id"], name=name)
    check = (
        await api.post("/checks", json={"client_id": w["client"]["id"], "kind": "spf", "target_ref": d["id"]})
    ).json()
    assert (await api.post(f"/checks/{check['id']}/run")).status_code == 202
    assert await run_jobs(runtime, "check.run") == 1
    r = await api.post(
        "/cases", json={"vendor_account_id": w["account"]["id"], "check_id": check["id"], "submit": True}
    )
    assert r.status_code == 201, r.text
    return {**r.json(), "domain": name}


async def exchange(runtime: HubRuntime, world: MailWorld) -> None:
    """Our outbox to the vendors, their answers to our mailbox, the mailbox to the cases."""
    await outbox.send_due(lambda: session_scope(runtime.sessionmaker), utcnow(), runtime.settings.case)
    await world.simulator.drain()
    await poller.poll(lambda: session_scope(runtime.sessionmaker), runtime.now, runtime.settings.case)


async def test_from_a_failing_check_to_a_verified_resolution(
    api: httpx.AsyncClient, runtime: HubRuntime, world: MailWorld, dns_server: DnsTestServer
) -> None:
    case = await failing_spf_case(api, runtime, dns_server)
    assert case["status"] == "waiting_vendor" and case["check_run_id"] is not None
    assert case["title"].startswith("SPF check failing for ")
    await exchange(runtime, world)
    [(sent, _)] = world.sink.received
    ours = parse_message(sent)
    assert [a.filename for a in ours.attachments] == [f"check-spf-{case['check_run_id']}.json"]
    assert f"Domain: {case['domain']}" in ours.text and "spf" in ours.text.lower()

    got = (await api.get(f"/cases/{case['id']}")).json()
    vendor_number = world.simulator.cases["mailhost"][0].number
    assert got["vendor_case_number"] == vendor_number
    assert got["first_response_at"] is not None
    kinds = [e["meta"]["message_kind"] for e in got["timeline"] if e["kind"] == "email_in"]
    assert kinds[0] != "human" and kinds.count("human") == 2  # the ack, then two answers

    # The vendor says it is resolved: the SPF record is now published, the re-check passes.
    dns_server.add(case["domain"], "TXT", txt("v=spf1 mx ip4:192.0.2.0/24 -all"))
    assert await run_jobs(runtime, "case.verify") == 1
    got = (await api.get(f"/cases/{case['id']}")).json()
    assert got["status"] == "resolved"
    verification = [e for e in got["timeline"] if e["kind"] == "verification"]
    assert len(verification) == 1 and "it passes" in verification[0]["body"]
    assert len(got["attachments"]) == 2


async def test_a_fix_that_did_not_work_reopens_the_case_and_tells_the_vendor(
    api: httpx.AsyncClient, runtime: HubRuntime, world: MailWorld, dns_server: DnsTestServer
) -> None:
    case = await failing_spf_case(api, runtime, dns_server)
    r = await api.post(
        f"/cases/{case['id']}/status", json={"status": "resolved", "note": "vendor says fixed"}
    )
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert await run_jobs(runtime, "case.verify") == 1  # still no SPF record
    got = (await api.get(f"/cases/{case['id']}")).json()
    assert got["status"] == "waiting_vendor"
    statuses = [(e["meta"]["from"], e["meta"]["to"]) for e in got["timeline"] if e["kind"] == "status_change"]
    assert statuses[-2:] == [("resolved", "open"), ("open", "waiting_vendor")]
    reopen = [m for m in got["mails"] if m["kind"] == "reopen"]
    assert len(reopen) == 1 and reopen[0]["subject"].startswith(f"[HUB-{case['token']}]")
    await outbox.send_due(lambda: session_scope(runtime.sessionmaker), utcnow(), runtime.settings.case)
    last = parse_message(world.sink.received[-1][0])
    assert "Still failing" in last.subject and len(last.attachments) == 1
    await world.simulator.drain()  # its answers land in the mailbox before the world stops


async def test_a_silent_vendor_is_chased_once_per_level_and_a_technician_can_pause_it(
    api: httpx.AsyncClient, runtime: HubRuntime, world: MailWorld
) -> None:
    w = await vendor_world(api, domain="blackhole.example", sla="1h")
    r = await api.patch(
        f"/vendors/{w['vendor']['id']}",
        json={
            "version": w["vendor"]["version"],
            "escalation_levels": [
                {"level": 2, "name": "Duty manager", "contact": "duty@blackhole.example"},
                {"level": 3, "name": "Account manager", "contact": "am@blackhole.example"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    case = (
        await api.post(
            "/cases", json={"vendor_account_id": w["account"]["id"], "title": "Line down", "submit": True}
        )
    ).json()
    paused = (
        await api.post(
            "/cases", json={"vendor_account_id": w["account"]["id"], "title": "Other", "submit": True}
        )
    ).json()
    assert (await api.put(f"/cases/{paused['id']}/chasers", json={"chasers_paused": True})).status_code == 200
    settings = runtime.settings.case
    start = utcnow()

    async def chase(hours: float) -> list[tuple[str, int]]:
        async with session_scope(runtime.sessionmaker) as session:
            return await chasers.chase(session, start + timedelta(hours=hours), settings)

    assert await chase(0.5) == []  # within the vendor's hour
    assert await chase(1.5) == [(case["id"], 1)]
    assert await chase(1.6) == []  # level 2 waits for the interval
    assert await chase(3) == [(case["id"], 2)]
    assert await chase(5) == [(case["id"], 3)]
    assert await chase(30) == []  # no level beyond the account manager
    got = (await api.get(f"/cases/{case['id']}")).json()
    chased = [m for m in got["mails"] if m["kind"] == "chaser"]
    assert [m["recipients"] for m in chased] == [
        ["support@blackhole.example"],
        ["support@blackhole.example", "duty@blackhole.example"],
        ["support@blackhole.example", "am@blackhole.example"],
    ]
    assert [e["body"] for e in got["timeline"] if e["kind"] == "escalation"] == [
        "Escalated to level 2: Duty manager",
        "Escalated to level 3: Account manager",
    ]
    assert [
        m for m in (await api.get(f"/cases/{paused['id']}")).json()["mails"] if m["kind"] == "chaser"
    ] == []
    await outbox.send_due(lambda: session_scope(runtime.sessionmaker), start + timedelta(hours=31), settings)
    subjects = [parse_message(raw).subject for raw, _ in world.sink.received]
    assert sum("Escalation: Line down" in s for s in subjects) == 2
    assert sum("Reminder: Line down" in s for s in subjects) == 1
