"""Inbound mail on cases: the relay endpoint and the IMAP poller file each message once
with the signal that matched it, learn the vendor's case number, record the first
response (never from an auto-reply), and send anything uncertain to triage, where a
technician files or dismisses it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from hub.case import poller
from hub.db import session_scope
from hub.mail.world import LoopbackImapServer
from hub.runtime import HubRuntime
from tests.case.helpers import MAIL_SETTINGS, blank_case, mails, vendor_world

RELAY = "relay-secret-" + "z" * 20


@pytest.fixture(autouse=True)
def mail_identity(runtime: HubRuntime) -> None:
    runtime.use_settings(case={**MAIL_SETTINGS, "relay_token": RELAY})


def vendor_reply(
    *,
    to: str = "cases@msp.example",
    subject: str,
    body: str,
    sender: str = "support@mailhost.example",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    extra: str = "",
) -> bytes:
    head = [
        f"From: MailHost Support <{sender}>",
        f"To: {to}",
        f"Subject: {subject}",
        f"Message-ID: <{message_id or uuid.uuid4().hex + '@crm.mailhost.example'}>",
        "Date: Mon, 07 Dec 2026 10:00:00 +0000",
    ]
    if in_reply_to:
        head.append(f"In-Reply-To: <{in_reply_to}>")
    if extra:
        head.append(extra)
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


async def relay(api: httpx.AsyncClient, raw: bytes, token: str | None = RELAY) -> httpx.Response:
    headers = {"X-Hub-Relay-Token": token} if token else {}
    return await api.post("/cases/inbound", content=raw, headers=headers)


async def submitted(api: httpx.AsyncClient, runtime: HubRuntime) -> tuple[dict[str, Any], str]:
    w = await vendor_world(api)
    case = await blank_case(api, w, submit=True)
    [out] = await mails(runtime.sessionmaker, case["id"])
    assert out.message_id is not None
    return case, out.message_id


async def test_a_reply_is_filed_by_its_thread_and_its_case_number_learnt_and_first_response_recorded(
    api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    case, our_id = await submitted(api, runtime)
    auto = vendor_reply(
        subject=f"Automatic reply: [HUB-{case['token']}] Mail bounces",
        body="I am out of the office until Monday.",
        in_reply_to=our_id,
        extra="Auto-Submitted: auto-replied",
    )
    r = await relay(api, auto)
    assert r.status_code == 200 and r.json()["outcome"] == "filed", r.text
    got = (await api.get(f"/cases/{case['id']}")).json()
    assert got["first_response_at"] is None and got["status"] == "waiting_vendor"
    assert got["clock"][0]["met_at"] is None  # an auto-reply never stops the vendor's clock

    human = vendor_reply(
        subject=f"RE: [HUB-{case['token']}] Mail bounces (Case #00412345)",
        body="Hello,\n\nwe are looking into Case #00412345. Please send the headers.\n\nMailHost",
        in_reply_to=our_id,
    )
    r = await relay(api, human)
    assert r.json()["outcome"] == "filed" and r.json()["signal"] == "in_reply_to", r.text
    got = (await api.get(f"/cases/{case['id']}")).json()
    assert got["vendor_case_number"] == "00412345"
    assert got["first_response_at"] is not None and got["status"] == "open"
    assert got["clock"][0]["met_at"] is not None
    filed = [e for e in got["timeline"] if e["kind"] == "email_in"]
    assert [e["meta"]["vendor_response"] for e in filed] == [False, True]
    assert "we are looking into Case #00412345" in filed[1]["body"]

    # The same message again (a relay retry, or the poller seeing it too): filed once.
    again = await relay(api, human)
    assert again.json()["outcome"] == "duplicate"
    assert (
        len(
            [e for e in (await api.get(f"/cases/{case['id']}")).json()["timeline"] if e["kind"] == "email_in"]
        )
        == 2
    )

    # Later mail with only the vendor's number (the token dropped) still finds the case.
    later = vendor_reply(subject="Case #00412345: update", body="Our second level is on Case #00412345.")
    r = await relay(api, later)
    assert r.json()["outcome"] == "filed" and r.json()["signal"] == "vendor_case_number", r.text


async def test_uncertain_mail_goes_to_triage_and_a_technician_files_or_dismisses_it(
    api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    case, _ = await submitted(api, runtime)
    stranger = vendor_reply(sender="info@elsewhere.example", subject="Hello", body="Who are you?")
    wrong_token = vendor_reply(subject="[HUB-ZZZZZ] something", body="A token we never issued")
    for raw in (stranger, wrong_token):
        r = await relay(api, raw)
        assert r.json()["outcome"] == "triage", r.text
    queue = (await api.get("/triage")).json()["items"]
    assert {i["reason"] for i in queue} == {"no_signal", "unknown_token"}
    first, second = queue
    r = await api.post(f"/triage/{first['id']}/assign", json={"case_id": case["id"]})
    assert r.status_code == 200 and r.json()["state"] == "filed", r.text
    r = await api.post(f"/triage/{first['id']}/assign", json={"case_id": case["id"]})
    assert r.status_code == 409
    r = await api.post(f"/triage/{second['id']}/dismiss")
    assert r.json()["state"] == "dismissed"
    assert (await api.get("/triage")).json()["items"] == []
    timeline = (await api.get(f"/cases/{case['id']}")).json()["timeline"]
    assert [e["meta"]["signal"] for e in timeline if e["kind"] == "email_in"] == ["manual"]


async def test_the_relay_needs_its_token(api: httpx.AsyncClient, runtime: HubRuntime) -> None:
    raw = vendor_reply(subject="x", body="y")
    assert (await relay(api, raw, token=None)).status_code == 401
    assert (await relay(api, raw, token="wrong")).status_code == 401
    r = await relay(api, b"   ")
    assert r.status_code == 422
    runtime.use_settings(case={"relay_token": ""})
    assert (await relay(api, raw)).status_code == 403
    assert (await api.get("/triage")).json()["total"] == 0


@pytest.fixture
def imap_server() -> Iterator[LoopbackImapServer]:
    server = LoopbackImapServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_the_poller_stopped_mid_mailbox_files_every_message_exactly_once(
    api: httpx.AsyncClient, runtime: HubRuntime, imap_server: LoopbackImapServer
) -> None:
    case, our_id = await submitted(api, runtime)
    imap = imap_server.settings()
    runtime.use_settings(
        case={
            "imap_host": imap.host,
            "imap_port": imap.port,
            "imap_security": "none",
            "imap_username": imap.username,
            "imap_password": imap.password.get_secret_value(),
        }
    )
    messages = [
        vendor_reply(subject=f"RE: [HUB-{case['token']}] update {n}", body=f"Update {n}", in_reply_to=our_id)
        for n in range(6)
    ]
    imap_server.append_sync(messages)
    units_opened = 0

    @asynccontextmanager
    async def crashing_units() -> Any:
        nonlocal units_opened
        units_opened += 1
        async with session_scope(runtime.sessionmaker) as session:
            yield session
            if units_opened == 4:  # the third message's unit: it dies before committing
                raise RuntimeError("poller killed")

    settings = runtime.settings.case
    with pytest.raises(RuntimeError):
        await poller.poll(crashing_units, runtime.now, settings)
    first = [m for m in await mails(runtime.sessionmaker) if m.direction.value == "inbound"]
    assert len(first) == 2
    result = await poller.poll(lambda: session_scope(runtime.sessionmaker), runtime.now, settings)
    assert result.outcomes == {"filed": 4}
    again = await poller.poll(lambda: session_scope(runtime.sessionmaker), runtime.now, settings)
    assert again.outcomes == {}
    inbound = [m for m in await mails(runtime.sessionmaker) if m.direction.value == "inbound"]
    assert sorted(m.subject for m in inbound) == sorted(
        f"RE: [HUB-{case['token']}] update {n}" for n in range(6)
    )
    assert all(m.case_id == uuid.UUID(case["id"]) for m in inbound)
