"""The client portal's vendor cases: the list with each case's vendor, status in the
client's words, the vendor's first response against its target (from the case's clock)
and the time charged; and a case's page with the client-visible timeline only, read as
`GET /api/v1/cases/{id}` answers a client user. Never an internal note, an internal
minute, a thread token or an API token's name; another client's case is a 404."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from hub.kit.time import utcnow
from hub.models.enums import Role
from hub.runtime import HubRuntime
from tests.case.helpers import MAIL_SETTINGS, blank_case, mails, vendor_world
from tests.web.conftest import browser, make_user, sign_in

RELAY = "relay-secret-" + "p" * 20
INTERNAL = "Their L1 is useless, ask for Marco"


@pytest.fixture(autouse=True)
def mail_identity(runtime: HubRuntime) -> None:
    runtime.use_settings(case={**MAIL_SETTINGS, "relay_token": RELAY})


def vendor_reply(subject: str, body: str, in_reply_to: str) -> bytes:
    head = [
        "From: MailHost Support <support@mailhost.example>",
        "To: cases@msp.example",
        f"Subject: {subject}",
        f"Message-ID: <{uuid.uuid4().hex}@crm.mailhost.example>",
        "Date: Mon, 07 Dec 2026 10:00:00 +0000",
        f"In-Reply-To: <{in_reply_to}>",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


async def cases_world(api: httpx.AsyncClient, runtime: HubRuntime) -> dict[str, Any]:
    """Alfa: a case the vendor answered (4h target), with an internal note, a visible call
    and visible and internal time, and a case past its 30-minute target with no answer.
    Beta: a case of its own."""
    alfa = await vendor_world(api)
    beta = await vendor_world(api, domain="other-host.example")
    answered = await blank_case(api, alfa, title="Mail bounces from the CRM", submit=True)
    silent = await blank_case(api, alfa, title="Webmail is down", submit=True, sla_first_response="30m")
    theirs = await blank_case(api, beta, title="Beta's private trouble", submit=True)
    url = f"/cases/{answered['id']}/events"
    for body in (
        {"kind": "note", "body": INTERNAL},
        {
            "kind": "call_logged",
            "body": "Called support, ticket escalated",
            "minutes": 12,
            "client_visible": True,
        },
        {"kind": "time_spent", "minutes": 30, "client_visible": True},
        {"kind": "time_spent", "minutes": 45},
    ):
        r = await api.post(url, json=body)
        assert r.status_code == 201, r.text
    [out] = await mails(runtime.sessionmaker, answered["id"])
    assert out.message_id is not None
    reply = vendor_reply(
        f"RE: [HUB-{answered['token']}] Mail bounces (Case #00412345)",
        "Hello,\n\nwe are looking into Case #00412345. Please send the headers.",
        out.message_id,
    )
    r = await api.post("/cases/inbound", content=reply, headers={"X-Hub-Relay-Token": RELAY})
    assert r.json()["outcome"] == "filed", r.text
    return {"alfa": alfa, "beta": beta, "answered": answered, "silent": silent, "theirs": theirs}


async def test_a_client_sees_its_cases_with_first_response_and_time_charged_and_only_its_visible_timeline(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    w = await cases_world(api, runtime)
    runtime.clock = lambda: utcnow() + timedelta(hours=1)  # the 30 minutes of the silent case are gone
    alfa_id = uuid.UUID(w["alfa"]["client"]["id"])
    await make_user(runtime, "boss@alfa.example", Role.client_viewer, client_id=alfa_id)
    async with browser(app) as alfa:
        await sign_in(alfa, "boss@alfa.example")
        home = (await alfa.get("/portal")).text
        page = await alfa.get(f"/portal/cases/{w['answered']['id']}")
        italian = await alfa.get(f"/portal/cases/{w['answered']['id']}", headers={"accept-language": "it"})
        beta_case = await alfa.get(f"/portal/cases/{w['theirs']['id']}")
        missing = await alfa.get(f"/portal/cases/{uuid.uuid4()}")
        bad = await alfa.get("/portal/cases/not-a-case")

    # The list: vendor, status in the client's words, first response against the target, time charged.
    rows = {
        c: home[home.index(f'id="case-{w[c]["id"]}"') :].split("</tr>")[0] for c in ("answered", "silent")
    }
    answered, silent = rows["answered"], rows["silent"]
    vendor = w["alfa"]["vendor"]["name"]
    assert f'href="/portal/cases/{w["answered"]["id"]}"' in answered and vendor in answered
    assert "within the target" in answered and "(target 4h)" in answered and "42 min" in answered
    assert "open" in answered and "waiting_vendor" not in home
    assert "waiting for the vendor" in silent and "late" in silent and "no answer yet" in silent
    assert "(target 30m)" in silent
    assert "Beta&#39;s private trouble" not in home and "Beta's private trouble" not in home

    # The case page: the client-visible timeline, who contacted which vendor and why.
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "Mail bounces from the CRM" in html and vendor in html and "their case 00412345" in html
    assert "We wrote to the vendor" in html and f"Wrote to {vendor}" in html
    assert "The vendor wrote" in html and "we are looking into Case #00412345" in html
    assert "support@mailhost.example" in html  # who answered
    assert "Called support, ticket escalated" in html and "12 min" in html
    assert "within the target" in html and "42 min" in html
    assert "waiting for the vendor" in html and "waiting_vendor" not in html
    for leaked in (INTERNAL, "45 min", w["answered"]["token"], "token:", "cases@msp.example", "Message-ID"):
        assert leaked not in html, leaked
    assert "Prima risposta del fornitore" in italian.text and "nei tempi" in italian.text
    assert "Abbiamo scritto al fornitore" in italian.text and INTERNAL not in italian.text

    # Another client's case, a missing one: the same 404 page; a malformed id: 422.
    assert beta_case.status_code == 404 and missing.status_code == 404
    assert "Beta's private trouble" not in beta_case.text and "Beta&#39;s" not in beta_case.text
    assert bad.status_code == 422


async def test_staff_get_404_on_a_portal_case_page(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    w = await vendor_world(api)
    case = await blank_case(api, w)
    await make_user(runtime, "tech@msp.example", Role.technician)
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        assert (await tech.get(f"/portal/cases/{case['id']}")).status_code == 404
