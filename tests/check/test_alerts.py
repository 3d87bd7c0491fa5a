"""Checks that alert: a settled status change reaches the client's technician through the
notice ledger (the e-mail digest over a real SMTP server on loopback, a signed webhook to a
real receiver), once per transition; a flapping check tells nobody; a worker that lost its
lease to a retry adds nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import dns.name
import dns.rdatatype
import httpx
import pytest
from sqlalchemy import select, update

from hub.check.enums import CheckStatus
from hub.db import session_scope
from hub.jobs import LeaseLost, queue
from hub.jobs.worker import run_task
from hub.kit.time import utcnow
from hub.models import Notice, NoticeDelivery
from hub.models.enums import NoticeChannel
from hub.models.job import Job
from hub.notify import delivery
from hub.runtime import HubRuntime
from tests import factories as f
from tests.check.dns_server import DnsTestServer
from tests.check.test_tasks import claimed
from tests.check.world import publish, txt
from tests.notify.conftest import Mailbox, Receiver, add_user, receiver, smtp

__all__ = ["receiver", "smtp"]  # the loopback SMTP server and webhook receiver fixtures

TECH = "tech@msp.example"


@pytest.fixture(autouse=True)
def settings_for_alerts(runtime: HubRuntime, dns_server: DnsTestServer) -> None:
    runtime.use_settings(
        check={
            "dns_nameservers": [dns_server.address],
            "dns_timeout": 2.0,
            "dns_attempts": 1,
            # Two runs in a row settle a status; time alone never does here.
            "check_alert_runs": 2,
            "check_alert_minutes": 0,
        }
    )


def spf(server: DnsTestServer, domain: str, healthy: bool) -> None:
    """Publish or withdraw the domain's SPF record (withdrawn: `spf_missing`, a failure)."""
    key = (dns.name.from_text(domain), dns.rdatatype.TXT)
    server.records.pop(key, None)
    if healthy:
        server.add(domain, "TXT", txt("v=spf1 mx -all"))


async def spf_check(app: Any, api: httpx.AsyncClient, receiver: Receiver, domain: str) -> dict[str, Any]:
    """A client owned by TECH, its webhook, and an SPF check of its domain."""
    owner = await add_user(app, TECH)
    c = await f.client(api, owner_user_id=owner)
    d = await f.domain(api, c["id"], name=domain)
    hook = {"name": "PSA", "url": receiver.url, "secret": receiver.secret, "client_id": c["id"]}
    assert (await api.post("/webhooks", json=hook)).status_code == 201
    r = await api.post("/checks", json={"client_id": c["id"], "kind": "spf", "target_ref": d["id"]})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def run_once(app: Any, api: httpx.AsyncClient, check_id: str) -> str:
    """One run through the job queue, as a worker does; returns the check's status."""
    assert (await api.post(f"/checks/{check_id}/run")).status_code == 202
    await run_task(await claimed(app.state.runtime.sessionmaker, "check.run"))
    return str((await api.get(f"/checks/{check_id}")).json()["status"])


async def notices(app: Any, check_id: str) -> list[Notice]:
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(Notice)
            .where(Notice.subject_type == "check", Notice.subject_id == check_id)
            .order_by(Notice.id)
        )
        return list(rows.scalars())


async def deliver(app: Any) -> None:
    """The digest and the webhook sender, as the worker runs them."""
    runtime = app.state.runtime
    unit = delivery.units(runtime.sessionmaker)
    await delivery.send_digests(unit, runtime.now(), runtime.settings.notify)
    await delivery.deliver_webhooks(unit, runtime.now(), runtime.settings.notify)


async def test_one_notice_per_settled_transition_none_while_flapping_one_on_recovery(
    app: Any, api: httpx.AsyncClient, dns_server: DnsTestServer, smtp: Mailbox, receiver: Receiver
) -> None:
    domain = publish(dns_server, "alerting.test")
    check = await spf_check(app, api, receiver, domain)

    # Healthy from the start: nothing to tell.
    assert [await run_once(app, api, check["id"]) for _ in range(2)] == ["ok", "ok"]
    # Flapping: every other run fails, never twice in a row.
    statuses = []
    for healthy in (False, True, False, True, False, True):
        spf(dns_server, domain, healthy)
        statuses.append(await run_once(app, api, check["id"]))
    assert statuses == ["fail", "ok"] * 3
    assert await notices(app, check["id"]) == []
    await deliver(app)
    assert smtp.messages == [] and receiver.calls == []

    # It breaks and stays broken: one notice on the second failing run, none after.
    spf(dns_server, domain, False)
    assert [await run_once(app, api, check["id"]) for _ in range(4)] == ["fail"] * 4
    [failing] = await notices(app, check["id"])
    assert failing.summary.endswith(f"spf check of {domain} is failing (was ok): spf_missing")
    await deliver(app)
    [mail] = smtp.to(TECH)
    assert "1 alert" in mail["Subject"] and "is failing (was ok): spf_missing" in Mailbox.text(mail)
    [call] = receiver.verified
    event = json.loads(call["body"])
    assert event["type"] == "check.status_changed"
    assert event["data"]["subject_id"] == check["id"] and event["data"]["threshold"] == "1:ok>fail"

    # Fixed: one recovery notice once ok has held for two runs.
    spf(dns_server, domain, True)
    assert await run_once(app, api, check["id"]) == "ok"
    assert len(await notices(app, check["id"])) == 1
    assert [await run_once(app, api, check["id"]) for _ in range(2)] == ["ok", "ok"]
    failing_again, recovered = await notices(app, check["id"])
    assert failing_again.id == failing.id and recovered.threshold == "2:fail>ok"
    assert recovered.summary.endswith(f"spf check of {domain} recovered (ok; was fail)")
    await deliver(app)
    assert len(smtp.to(TECH)) == 2 and "recovered (ok; was fail)" in Mailbox.text(smtp.to(TECH)[1])
    assert [json.loads(c["body"])["data"]["threshold"] for c in receiver.verified] == [
        "1:ok>fail",
        "2:fail>ok",
    ]


async def test_a_retried_run_after_a_lost_lease_tells_the_transition_once(
    app: Any, api: httpx.AsyncClient, dns_server: DnsTestServer, smtp: Mailbox, receiver: Receiver
) -> None:
    domain = publish(dns_server, "retried.test", {("@", "TXT"): []})
    check = await spf_check(app, api, receiver, domain)
    assert await run_once(app, api, check["id"]) == "fail"  # the first failing run: not settled
    sm = app.state.runtime.sessionmaker

    # The second run's worker stalls: its lease runs out, the sweeper gives the job to
    # another worker, which settles the failure; then the first one wakes up.
    assert (await api.post(f"/checks/{check['id']}/run")).status_code == 202
    stalled = await claimed(sm, "check.run")
    a_second_ago = utcnow() - timedelta(seconds=1)
    async with session_scope(sm) as session:
        await session.execute(
            update(Job).where(Job.id == stalled.job_id).values(lease_expires_at=a_second_ago)
        )
        assert await queue.sweep(session, backoff_base=0, backoff_max=0) == 1
        await session.execute(update(Job).where(Job.id == stalled.job_id).values(run_at=a_second_ago))
    retry = await claimed(sm, "check.run")
    assert retry.job_id == stalled.job_id and retry.attempt == stalled.attempt + 1
    await run_task(retry)
    with pytest.raises(LeaseLost):
        await run_task(stalled)

    [notice] = await notices(app, check["id"])
    assert notice.threshold == "1:new>fail"
    async with sm() as session:
        channels = (
            await session.execute(select(NoticeDelivery.channel).where(NoticeDelivery.notice_id == notice.id))
        ).scalars()
        assert sorted(channels) == [NoticeChannel.email, NoticeChannel.webhook]
    await deliver(app)
    assert len(smtp.to(TECH)) == 1 and len(receiver.verified) == 1
    assert (await api.get(f"/checks/{check['id']}")).json()["status"] == CheckStatus.fail.value
