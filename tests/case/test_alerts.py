"""Case alerts: a case breaching the vendor's target, or one nobody owns, reaches the
client's technician through the notice ledger (the digest over a real SMTP server on
loopback, a signed webhook to a real receiver): one notice per breach and resolution
cycle, never one per tick, none while the clock waits on the client."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from hub.case import alerts, outage, service
from hub.case.schemas import CaseCreate
from hub.db import session_scope
from hub.kit.time import utcnow
from hub.models import Notice
from hub.notify import delivery
from hub.runtime import HubRuntime
from tests import factories as f
from tests.case.helpers import MAIL_SETTINGS, run_jobs
from tests.notify.conftest import Mailbox, Receiver, add_user, receiver, smtp

__all__ = ["receiver", "smtp"]  # the loopback SMTP server and webhook receiver fixtures

TECH = "tech@msp.example"


class Clock:
    """The runtime's clock, moved by the test (the API's status changes read it too)."""

    def __init__(self) -> None:
        self.at = utcnow()

    def __call__(self) -> datetime:
        return self.at


async def world(app: Any, api: httpx.AsyncClient, runtime: HubRuntime, receiver: Receiver) -> dict[str, Any]:
    """A client owned by TECH with its webhook, and a vendor answering in 1 h, fixing in 8 h."""
    runtime.use_settings(case={**MAIL_SETTINGS, "unowned_alert_hours": 2})
    owner = await add_user(app, TECH)
    c = await f.client(api, owner_user_id=owner)
    v = await f.vendor(api, name="MailHost", category="mail_hosting")
    a = await f.account(api, c["id"], v["id"])
    profile = {
        "support_email": "support@mailhost.example",
        "sla_first_response": "1h",
        "sla_resolution": "8h",
    }
    assert (await api.put(f"/vendors/{v['id']}/case-mail", json=profile)).status_code == 200
    hook = {"name": "PSA", "url": receiver.url, "secret": receiver.secret, "client_id": c["id"]}
    assert (await api.post("/webhooks", json=hook)).status_code == 201
    return {"client": c, "account": a}


async def open_case(api: httpx.AsyncClient, w: dict[str, Any], title: str, **kw: Any) -> str:
    body = {"vendor_account_id": w["account"]["id"], "title": title, "submit": True, **kw}
    r = await api.post("/cases", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def status(api: httpx.AsyncClient, case_id: str, to: str) -> None:
    r = await api.post(f"/cases/{case_id}/status", json={"status": to, "skip_verification": True})
    assert r.status_code == 200, r.text


async def tick(runtime: HubRuntime) -> list[tuple[str, str]]:
    """One run of the periodic job, through the queue as a worker runs it."""
    async with session_scope(runtime.sessionmaker) as session:
        before = set(await _keys(session))
    from hub.case.schemas import RaiseCaseAlerts
    from hub.jobs import enqueue

    async with session_scope(runtime.sessionmaker) as session:
        await enqueue(session, RaiseCaseAlerts(), dedupe_key="case.alerts:test")
    assert await run_jobs(runtime, "case.alerts") == 1
    async with session_scope(runtime.sessionmaker) as session:
        return sorted(set(await _keys(session)) - before)


async def _keys(session: Any) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Notice.subject_id, Notice.threshold).where(Notice.subject_type == "case")
    )
    return [(str(s), str(t)) for s, t in rows.all()]


async def deliver(runtime: HubRuntime) -> None:
    unit = delivery.units(runtime.sessionmaker)
    await delivery.send_digests(unit, runtime.now(), runtime.settings.notify)
    await delivery.deliver_webhooks(unit, runtime.now(), runtime.settings.notify)


async def test_one_notice_per_breach_and_cycle_none_twice_none_while_waiting_on_the_client(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, smtp: Mailbox, receiver: Receiver
) -> None:
    clock = Clock()
    runtime.clock = clock
    start = clock.at
    w = await world(app, api, runtime, receiver)
    late = await open_case(api, w, "Mail bounces")
    paused = await open_case(api, w, "Need the client's logs")
    await status(api, paused, "waiting_client")  # the vendor's clock waits on the client

    clock.at = start + timedelta(minutes=30)
    assert await tick(runtime) == []  # within the hour
    clock.at = start + timedelta(hours=1, minutes=5)
    assert await tick(runtime) == [(late, "breach:first_response")]
    for minutes in (10, 15, 20):  # the job every 5 minutes: nothing new
        clock.at = start + timedelta(hours=1, minutes=minutes)
        assert await tick(runtime) == []
    await deliver(runtime)
    [mail] = smtp.to(TECH)
    assert "breached the first response target (1h" in Mailbox.text(mail)
    [call] = receiver.verified
    data = json.loads(call["body"])["data"]
    assert data["subject_id"] == late and data["threshold"] == "breach:first_response"

    # The resolution target (8 h) passes too: one more notice, once.
    clock.at = start + timedelta(hours=8, minutes=5)
    assert await tick(runtime) == [(late, "breach:1:resolution")]
    clock.at = start + timedelta(hours=8, minutes=10)
    assert await tick(runtime) == []

    # Resolved, then reopened: a new cycle, whose resolution may breach again (once); the
    # first response was the case's, not the cycle's, and is not told again.
    clock.at = start + timedelta(hours=9)
    await status(api, late, "resolved")
    clock.at = start + timedelta(hours=10)
    await status(api, late, "open")  # reopened
    clock.at = start + timedelta(hours=17, minutes=55)
    assert await tick(runtime) == []
    clock.at = start + timedelta(hours=18, minutes=5)
    assert await tick(runtime) == [(late, "breach:2:resolution")]
    clock.at = start + timedelta(hours=18, minutes=10)
    assert await tick(runtime) == []

    # The paused case never breached, however long the client took.
    async with session_scope(runtime.sessionmaker) as session:
        assert {s for s, _ in await _keys(session)} == {late}
    await deliver(runtime)
    # One digest for the two resolution breaches since the first one's.
    assert len(smtp.to(TECH)) == 2
    assert Mailbox.text(smtp.to(TECH)[1]).count("breached the resolution target (8h") == 2
    assert [json.loads(c["body"])["data"]["threshold"] for c in receiver.verified] == [
        "breach:first_response",
        "breach:1:resolution",
        "breach:2:resolution",
    ]


async def test_a_case_the_hub_opened_that_nobody_took_is_raised_once(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, smtp: Mailbox, receiver: Receiver
) -> None:
    clock = Clock()
    runtime.clock = clock
    start = clock.at
    w = await world(app, api, runtime, receiver)
    # Targets far away: only ownership is at stake here.
    far = {"sla_first_response": "200h", "sla_resolution": "400h"}
    account = w["account"]["id"]
    async with session_scope(runtime.sessionmaker) as session:
        ids = []
        for title in ("Line down at HQ", "Line down at the warehouse"):
            data = CaseCreate(vendor_account_id=account, title=title, **far)
            case = await service.create_case(session, outage.AUTOMATION, data)
            await service.submit(session, outage.AUTOMATION, case)
            ids.append(str(case.id))
    nobodys, taken = ids
    mine = await open_case(api, w, "Opened by a technician", **far)  # a person's case is theirs
    r = await api.post(f"/cases/{taken}/events", json={"kind": "note", "body": "I'm on it"})
    assert r.status_code == 201, r.text

    clock.at = start + timedelta(hours=1)
    assert await tick(runtime) == []  # not yet two hours
    clock.at = start + timedelta(hours=2, minutes=5)
    assert await tick(runtime) == [(nobodys, "unowned:1")]
    clock.at = start + timedelta(hours=2, minutes=10)
    assert await tick(runtime) == []
    await deliver(runtime)
    [mail] = smtp.to(TECH)
    assert "Line down at HQ" in Mailbox.text(mail) and "no technician has taken it" in Mailbox.text(mail)
    assert [json.loads(c["body"])["data"]["subject_id"] for c in receiver.verified] == [nobodys]
    assert mine not in {json.loads(c["body"])["data"]["subject_id"] for c in receiver.verified}
    # Raised directly (no job), the same state is still told once.
    async with session_scope(runtime.sessionmaker) as session:
        again = await alerts.raise_alerts(
            session, start + timedelta(hours=3), runtime.settings.case, runtime.settings.notify
        )
    assert again == []
