"""`hub demo`'s vendor cases, read back through the API as a technician would: every state
the issue lists is there after the demo's setup (made through the case services over a
loopback mail world, the Dell simulator's API and a dead loopback port), and a second run
adds nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hub.case import desk
from hub.demo import cases as demo_cases
from hub.demo import live as demo_live
from hub.demo.checks import start_checks, stop_checks, world_plan
from hub.demo.dataset import load_demo
from hub.demo.world import DemoWorld
from hub.errors import Conflict, InvalidInput
from hub.kit.time import today


async def _all(api: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    r = await api.get(path, params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["items"] if isinstance(body, dict) else body  # type: ignore[no-any-return]


def _when(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def test_the_demo_shows_a_case_in_every_state_and_a_second_run_adds_none(
    app: Any, api: httpx.AsyncClient
) -> None:
    runtime = app.state.runtime
    async with runtime.unit_of_work() as session:
        await load_demo(session)
    async with runtime.unit_of_work(write=False) as session:
        plan = await world_plan(session, today())
    prepared = await demo_live.prepare(runtime, plan, today())
    world = DemoWorld.for_demo(plan)
    demo_live.add_services(prepared, world)
    with world:
        checks = await start_checks(runtime.sessionmaker, world.plan, world.check_settings())
        await demo_live.start(runtime, prepared, world)
        first = await demo_cases.ensure_demo_cases(runtime, world)
        second = await demo_cases.ensure_demo_cases(runtime, world)
        await stop_checks(runtime.sessionmaker, checks.ids)
        await demo_live.stop(runtime, prepared)
    assert first.skipped == [] and first.created == 5 and first.triage_open == 1

    listed = await _all(api, "/cases")
    by_title = {c["title"]: c for c in listed}
    assert len(by_title) == len(listed) == 5
    now = runtime.now()

    # Opened from the failing SPF check, sent to the mail host, only acknowledged: waiting
    # on the vendor, its clock running.
    spf = by_title[demo_cases.SPF_TITLE]
    assert spf["status"] == "waiting_vendor" and spf["check_run_id"] is not None
    assert _when(spf["vendor_sla_due_at"]) > now and spf["first_response_at"] is None

    # The vendor answered with its case number; the re-check passed: resolved.
    dmarc = (await api.get(f"/cases/{by_title[demo_cases.DMARC_TITLE]['id']}")).json()
    assert dmarc["status"] == "resolved" and dmarc["vendor_case_number"]
    assert dmarc["first_response_at"] is not None
    checked = [e["body"] for e in dmarc["timeline"] if e["kind"] == "verification"]
    assert len(checked) == 1 and "it passes" in checked[0]

    # A silent vendor past its target: breaching, a chaser sent.
    breaching = await _all(api, "/cases", breaching="true")
    assert [c["title"] for c in breaching] == [demo_cases.BREACH_TITLE]
    chased = (await api.get(f"/cases/{breaching[0]['id']}")).json()
    assert [m["state"] for m in chased["mails"] if m["kind"] == "chaser"] == ["sent"]

    # Opened through the Dell TechDirect API: the work order number is the case number.
    api_case = by_title[demo_cases.API_TITLE]
    assert api_case["channel"] == "api" and api_case["status"] == "waiting_vendor"
    assert api_case["vendor_case_number"]
    api_detail = (await api.get(f"/cases/{api_case['id']}")).json()
    assert [e["meta"]["vendor_status"] for e in api_detail["timeline"] if e["kind"] == "api_in"] == [
        "Request Submitted"
    ]
    # Only a draft on the api channel goes through a vendor's API.
    with pytest.raises(InvalidInput, match="api channel"):
        await desk.open_through_api(runtime, demo_cases.DEMO, uuid.UUID(spf["id"]), uuid.uuid4())
    with pytest.raises(Conflict, match="only a draft"):
        await desk.open_through_api(runtime, demo_cases.DEMO, uuid.UUID(api_case["id"]), uuid.uuid4())

    # The line probing a dead port went down and opened its case with the ISP.
    [outage] = [c for c in listed if c["line_id"] is not None]
    assert outage["status"] == "waiting_vendor" and "is down" in outage["title"]

    # The message nobody could place waits in triage.
    triage = await _all(api, "/triage")
    assert [t["state"] for t in triage] == ["open"]

    # The second run made nothing and changed nothing.
    assert second.created == 0 and second.triage_open == 1
    assert [(r.title, r.status) for r in second.rows] == [(r.title, r.status) for r in first.rows]
    assert len(await _all(api, "/cases")) == 5 and len(await _all(api, "/triage")) == 1
