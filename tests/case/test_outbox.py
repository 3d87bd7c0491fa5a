"""The outbox against a real SMTP server on loopback (aiosmtpd), faults included: every
message leaves exactly once, an uncertain delivery is never resent by itself, retries
back off and end in `dead`, and a person's resend carries the same Message-ID."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from hub.case import outbox
from hub.db import session_scope
from hub.kit.time import utcnow
from hub.mail.parse import parse_message
from hub.models import CaseMail
from hub.models.enums import MailState
from hub.runtime import HubRuntime
from tests import factories as f
from tests.case.helpers import MAIL_SETTINGS, blank_case, mails, run_jobs, vendor_world
from tests.mail.test_smtp import FaultyServer, _Controller, _free_port


@pytest.fixture
def smtp(runtime: HubRuntime) -> Iterator[FaultyServer]:
    handler = FaultyServer()
    port = _free_port()
    controller = _Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    runtime.use_settings(
        case={
            **MAIL_SETTINGS,
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "smtp_timeout_seconds": 1.0,
            "outbox_max_attempts": 3,
            "outbox_backoff_seconds": 60,
        }
    )
    try:
        yield handler
    finally:
        controller.stop()


async def _pass(runtime: HubRuntime, at: Any = None) -> outbox.OutboxResult:
    return await outbox.send_due(
        lambda: session_scope(runtime.sessionmaker), at or utcnow(), runtime.settings.case
    )


async def test_a_submitted_case_reaches_the_vendor_once_with_token_reply_to_and_evidence(
    api: httpx.AsyncClient, runtime: HubRuntime, smtp: FaultyServer
) -> None:
    w = await vendor_world(api, category="hardware", domain="ironbox.example")
    asset = await f.asset(api, w["client"]["id"], model="R650", serial="ABC1234")
    r = await api.post(
        "/cases", json={"vendor_account_id": w["account"]["id"], "asset_id": asset["id"], "submit": True}
    )
    case = r.json()
    assert await run_jobs(runtime, "case.outbox") == 1
    assert await run_jobs(runtime, "case.outbox") == 0
    await _pass(runtime)  # nothing left to send
    [raw] = smtp.received
    msg = parse_message(raw)
    token = case["token"]
    assert msg.subject.startswith(f"[HUB-{token}] ")
    assert msg.reply_to == (f"cases+{token}@msp.example".lower(),)  # addresses are read lower-cased
    assert msg.message_id == f"case-{token}.1.casetest1@msp.example"
    assert [a.filename for a in msg.attachments] == ["asset-ABC1234.json"]
    assert "serial ABC1234" in msg.text and "R650" in msg.text
    [row] = await mails(runtime.sessionmaker, case["id"])
    assert row.state is MailState.sent and row.attempts == 1 and row.sent_at is not None


async def test_an_italian_vendor_gets_the_italian_template(
    api: httpx.AsyncClient, runtime: HubRuntime, smtp: FaultyServer
) -> None:
    w = await vendor_world(api, category="antivirus", language="it", domain="fibra.example")
    await blank_case(api, w, description="Il firewall non aggiorna le firme", submit=True)
    await _pass(runtime)
    msg = parse_message(smtp.received[0])
    assert "apriamo una segnalazione per conto del nostro cliente" in msg.text
    assert "Il firewall non aggiorna le firme" in msg.text


async def test_temporary_failures_back_off_then_the_message_is_dead(
    api: httpx.AsyncClient, runtime: HubRuntime, smtp: FaultyServer
) -> None:
    w = await vendor_world(api)
    case = await blank_case(api, w, submit=True)
    smtp.fault = "data_4xx"
    now = utcnow()
    first = await _pass(runtime, now)
    assert first.retried == 1
    assert (await _pass(runtime, now + timedelta(seconds=30))).retried == 0  # backing off
    assert (await _pass(runtime, now + timedelta(seconds=61))).retried == 1
    assert (await _pass(runtime, now + timedelta(seconds=300))).dead == 1
    [row] = await mails(runtime.sessionmaker, case["id"])
    assert row.state is MailState.dead and row.attempts == 3 and "451" in (row.last_error or "")
    timeline = (await api.get(f"/cases/{case['id']}")).json()["timeline"]
    assert any("was not delivered" in e["body"] and not e["client_visible"] for e in timeline)
    assert smtp.received == []


async def test_a_permanent_refusal_is_dead_at_once(
    api: httpx.AsyncClient, runtime: HubRuntime, smtp: FaultyServer
) -> None:
    w = await vendor_world(api)
    case = await blank_case(api, w, submit=True)
    smtp.fault = "data_5xx"
    assert (await _pass(runtime)).dead == 1
    [row] = await mails(runtime.sessionmaker, case["id"])
    assert row.state is MailState.dead and row.attempts == 1


@pytest.mark.parametrize("fault", ["hang_after_data", "disconnect_after_data"])
async def test_an_unknown_outcome_is_never_resent_by_itself_and_a_resend_keeps_the_message_id(
    api: httpx.AsyncClient, runtime: HubRuntime, smtp: FaultyServer, fault: str
) -> None:
    w = await vendor_world(api)
    case = await blank_case(api, w, submit=True)
    smtp.fault = fault
    assert (await _pass(runtime)).unknown == 1
    smtp.fault = "none"
    for later in (60, 3600, 86400):
        await _pass(runtime, utcnow() + timedelta(seconds=later))
    assert len(smtp.received) == 1  # the server got it once; the outbox did not try again
    [row] = await mails(runtime.sessionmaker, case["id"])
    assert row.state is MailState.unknown
    async with runtime.unit_of_work() as session:
        from hub.auth.principal import CLI

        await outbox.resend(session, CLI, uuid.UUID(case["id"]), row.id, utcnow())
    await _pass(runtime)
    assert len(smtp.received) == 2
    assert {parse_message(r).message_id for r in smtp.received} == {row.message_id}


async def test_a_sender_that_died_mid_send_leaves_the_message_unknown_not_queued(
    api: httpx.AsyncClient, runtime: HubRuntime, smtp: FaultyServer
) -> None:
    w = await vendor_world(api)
    case = await blank_case(api, w, submit=True)
    async with runtime.unit_of_work() as session:
        claimed = await outbox._claim(session, utcnow())  # claimed, then the process died
    assert len(claimed) == 1
    await _pass(runtime, utcnow() + timedelta(minutes=10))
    [row] = await mails(runtime.sessionmaker, case["id"])
    assert row.state is MailState.unknown and smtp.received == []


async def test_replies_follow_the_thread_and_carry_every_earlier_message_id(
    api: httpx.AsyncClient, runtime: HubRuntime, smtp: FaultyServer
) -> None:
    w = await vendor_world(api)
    case = await blank_case(api, w, submit=True)
    r = await api.post(f"/cases/{case['id']}/reply", json={"body": "Any news on this?"})
    assert r.status_code == 201, r.text
    await _pass(runtime)
    first, second = (parse_message(raw) for raw in smtp.received)
    assert first.message_id in second.references
    assert "Any news on this?" in second.text and second.subject.startswith(f"[HUB-{case['token']}]")


async def test_without_an_smtp_host_nothing_is_sent_and_the_message_waits(
    api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    runtime.use_settings(case=MAIL_SETTINGS)
    w = await vendor_world(api)
    case = await blank_case(api, w, submit=True)
    assert await run_jobs(runtime, "case.outbox") == 1
    [row] = await mails(runtime.sessionmaker, case["id"])
    assert row.state is MailState.queued and isinstance(row, CaseMail)
