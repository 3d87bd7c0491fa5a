"""Cases through the API: creating (blank, or from a failing check, an asset or a
subscription with the evidence attached), the state machine enforced with clear errors,
the timeline, and what a client user sees of it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from hub.models.enums import Role
from hub.runtime import HubRuntime
from tests import factories as f
from tests.case.helpers import MAIL_SETTINGS, blank_case, vendor_world
from tests.conftest import client_for, make_token


@pytest.fixture(autouse=True)
def mail_identity(runtime: HubRuntime) -> None:
    runtime.use_settings(case=MAIL_SETTINGS)


async def test_a_blank_case_is_a_draft_with_a_token_and_the_vendors_address(api: httpx.AsyncClient) -> None:
    w = await vendor_world(api)
    case = await blank_case(api, w, description="Customers get 550 from the MX")
    assert case["status"] == "draft"
    assert case["client_id"] == w["client"]["id"]
    assert case["to_addresses"] == ["support@mailhost.example"]
    assert case["sla_first_response"] == "4h"
    assert len(case["token"]) == 5
    got = (await api.get(f"/cases/{case['id']}")).json()
    assert [e["body"] for e in got["timeline"]] == ["Case created: Mail bounces"]
    assert got["clock"] == []  # a draft has no clock


async def test_bad_input_is_a_422_naming_the_field(api: httpx.AsyncClient) -> None:
    w = await vendor_world(api)
    account = w["account"]["id"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"vendor_account_id": account}, "title"),
        ({"vendor_account_id": str(uuid.uuid4()), "title": "x"}, "vendor_account_id"),
        ({"vendor_account_id": account, "title": "x", "to": ["not an address"]}, "to[0]"),
        ({"vendor_account_id": account, "title": "x", "sla_first_response": "soonish"}, "sla_first_response"),
        ({"vendor_account_id": account, "asset_id": str(uuid.uuid4())}, "asset_id"),
        ({"vendor_account_id": account, "title": "x", "check_run_id": 999999}, "check_run_id"),
    ]
    for body, field in cases:
        r = await api.post("/cases", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, (body, r.json())


async def test_opening_from_an_asset_attaches_its_evidence_and_queues_the_first_message(
    api: httpx.AsyncClient,
) -> None:
    w = await vendor_world(api, category="hardware", domain="ironbox.example")
    asset = await f.asset(api, w["client"]["id"], model="PowerEdge R650", serial="7XK2Q93")
    r = await api.post(
        "/warranties",
        json={
            "asset_id": asset["id"],
            "level": "ProSupport NBD",
            "starts_on": "2025-01-01",
            "ends_on": "2028-01-01",
        },
    )
    assert r.status_code == 201, r.text
    r = await api.post(
        "/cases", json={"vendor_account_id": w["account"]["id"], "asset_id": asset["id"], "submit": True}
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "waiting_vendor" and case["asset_id"] == asset["id"]
    assert "serial 7XK2Q93" in case["description"] and "ProSupport NBD" in case["description"]
    got = (await api.get(f"/cases/{case['id']}")).json()
    assert [a["filename"] for a in got["attachments"]] == ["asset-7XK2Q93.json"]
    [mail] = got["mails"]
    assert mail["state"] == "queued" and mail["recipients"] == ["support@ironbox.example"]
    assert mail["subject"].startswith(f"[HUB-{case['token']}] ")
    assert [c["target"] for c in got["clock"]] == ["first_response"]
    assert got["vendor_sla_due_at"] is not None


async def test_from_a_subscription_the_vendor_learns_the_contract_never_our_cost(
    api: httpx.AsyncClient, app: Any
) -> None:
    w = await vendor_world(api, category="antivirus")
    sub = await f.subscription(api, w["account"]["id"], unit_cost="31.17", quantity=25)
    r = await api.post(
        "/cases",
        json={"vendor_account_id": w["account"]["id"], "subscription_id": sub["id"], "submit": True},
    )
    assert r.status_code == 201, r.text
    raw = (await _mail_bytes(app, r.json()["id"]))[0]
    assert b"CTR-9" in raw and b"quantity 25" in raw
    assert b"31.17" not in raw


async def _mail_bytes(app: Any, case_id: str) -> list[bytes]:
    from tests.case.helpers import mails

    return [m.raw for m in await mails(app.state.runtime.sessionmaker, case_id)]


async def test_the_state_machine_refuses_what_it_does_not_allow_with_a_409(api: httpx.AsyncClient) -> None:
    w = await vendor_world(api)
    case = await blank_case(api, w)
    url = f"/cases/{case['id']}/status"
    r = await api.post(url, json={"status": "resolved"})
    assert r.status_code == 409 and "a draft case cannot become resolved" in r.json()["detail"]
    r = await api.post(url, json={"status": "sideways"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"
    assert (await api.post(url, json={"status": "open"})).json()["status"] == "waiting_vendor"
    steps = ["waiting_client", "waiting_vendor", "resolved", "closed", "open"]
    for step in steps:
        r = await api.post(url, json={"status": step, "note": f"to {step}"})
        assert r.status_code == 200, (step, r.text)
    r = await api.post(url, json={"status": "open"})
    assert r.status_code == 409 and "already open" in r.json()["detail"]
    timeline = (await api.get(f"/cases/{case['id']}")).json()["timeline"]
    changes = [(e["meta"]["from"], e["meta"]["to"]) for e in timeline if e["kind"] == "status_change"]
    assert changes == [
        ("draft", "open"),
        ("open", "waiting_vendor"),
        ("waiting_vendor", "waiting_client"),
        ("waiting_client", "waiting_vendor"),
        ("waiting_vendor", "resolved"),
        ("resolved", "closed"),
        ("closed", "open"),
    ]


async def test_waiting_on_the_client_pauses_the_vendors_clock(api: httpx.AsyncClient) -> None:
    w = await vendor_world(api)
    case = await blank_case(api, w, submit=True)
    r = await api.post(f"/cases/{case['id']}/status", json={"status": "waiting_client"})
    assert r.status_code == 200
    [clock] = (await api.get(f"/cases/{case['id']}")).json()["clock"]
    assert clock["paused"] is True and clock["breached"] is False


async def test_events_are_internal_unless_marked_and_a_client_sees_only_its_visible_timeline(
    api: httpx.AsyncClient, app: Any
) -> None:
    w = await vendor_world(api)
    other = await vendor_world(api)
    case = await blank_case(api, w, submit=True)
    await blank_case(api, other)
    url = f"/cases/{case['id']}/events"
    for body in (
        {"kind": "note", "body": "Their L1 is useless, ask for Marco"},
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
    r = await api.post(url, json={"kind": "time_spent"})
    assert r.status_code == 422 and "minutes" in r.text
    staff = (await api.get(f"/cases/{case['id']}")).json()
    assert staff["minutes_charged"] == 42
    assert any(e["body"].startswith("Their L1") for e in staff["timeline"])

    token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["client"]["id"]))
    async with client_for(app, token) as viewer:
        listed = (await viewer.get("/cases")).json()
        seen = (await viewer.get(f"/cases/{case['id']}")).json()
        refused = await viewer.post(url, json={"kind": "note", "body": "x"})
    assert [c["id"] for c in listed["items"]] == [case["id"]]
    assert "Their L1" not in str(seen) and "meta" not in seen["timeline"][0]
    assert "mails" not in seen and "token" not in seen and "description" not in seen
    assert seen["minutes_charged"] == 42
    assert {e["kind"] for e in seen["timeline"]} >= {
        "call_logged",
        "time_spent",
        "status_change",
        "email_out",
    }
    assert refused.status_code == 403


async def test_lists_filter_by_client_vendor_state_and_breaching(
    api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    w1 = await vendor_world(api)
    w2 = await vendor_world(api, sla="30m")
    a = await blank_case(api, w1)
    b = await blank_case(api, w2, submit=True)

    async def ids(**params: Any) -> set[str]:
        r = await api.get("/cases", params=params)
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["items"]}

    assert await ids(client_id=w1["client"]["id"]) == {a["id"]}
    assert await ids(vendor_id=w2["vendor"]["id"]) == {b["id"]}
    assert await ids(status="draft") >= {a["id"]} and b["id"] not in await ids(status="draft")
    assert b["id"] not in await ids(breaching=True)
    from datetime import timedelta

    from hub.kit.time import utcnow

    runtime.clock = lambda: utcnow() + timedelta(hours=1)  # the vendor's 30 minutes are gone
    assert b["id"] in await ids(breaching=True)
    assert b["id"] not in await ids(breaching=False)


async def test_a_search_finds_a_case_by_its_title_or_token(api: httpx.AsyncClient) -> None:
    w = await vendor_world(api)
    webmail = await blank_case(api, w, title="Webmail is down")
    other = await blank_case(api, w, title="Printer jam")

    async def found(q: str) -> set[str]:
        r = await api.get("/cases", params={"q": q})
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["items"]}

    assert await found("WEBMAIL") == {webmail["id"]}
    assert await found(other["token"].lower()) == {other["id"]}
    assert await found("nothing like it") == set()
    r = await api.get("/cases", params={"q": "x" * 101})
    assert r.status_code == 422 and "q" in r.text


async def test_a_technician_escalates_through_the_api_to_a_named_contact(
    api: httpx.AsyncClient, app: Any
) -> None:
    w = await vendor_world(api)
    r = await api.patch(
        f"/vendors/{w['vendor']['id']}",
        json={
            "version": w["vendor"]["version"],
            "escalation_levels": [{"level": 2, "name": "Duty manager", "contact": "duty@mailhost.example"}],
        },
    )
    assert r.status_code == 200, r.text
    case = await blank_case(api, w, submit=True)
    url = f"/cases/{case['id']}/escalate"

    stranger = await api.post(url, json={"contact": "evil@attacker.example", "body": "Escalate"})
    assert stranger.status_code == 422 and "contact" in {e["field"] for e in stranger.json()["errors"]}

    body = "Down since 9:00, please escalate"
    r = await api.post(url, json={"contact": "Duty@Mailhost.example", "body": body})
    assert r.status_code == 201, r.text
    mail = r.json()
    assert "duty@mailhost.example" in mail["recipients"] and "support@mailhost.example" in mail["recipients"]
    raw = (await _mail_bytes(app, case["id"]))[-1]
    assert b"Down since 9:00, please escalate" in raw
    timeline = (await api.get(f"/cases/{case['id']}")).json()["timeline"]
    assert timeline[-1]["kind"] == "escalation"
    assert timeline[-1]["body"] == "Escalated to level 2: Duty manager"

    token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["client"]["id"]))
    async with client_for(app, token) as client_user:
        refused = await client_user.post(url, json={"contact": "duty@mailhost.example", "body": "x"})
    assert refused.status_code == 403
