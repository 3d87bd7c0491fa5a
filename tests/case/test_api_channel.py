"""Cases followed through vendors' case APIs (the api channel), against the Azure support
and Dell Self-Dispatch simulators over real loopback HTTP: opened through a named
connection, the vendor's updates polled onto the timeline exactly once, lost answers
found by our reference instead of sending twice, what a client user sees, the refusals,
and vendor faults during polling."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from adapters.azure_support import spec as azure_spec
from adapters.azure_support.simulator import AzureSupportSimulator
from adapters.dell_techdirect import spec as dell_spec
from adapters.dell_techdirect.simulator import DellSimulator
from hub.case import chasers
from hub.case.schemas import PollCaseDesks
from hub.jobs import enqueue
from hub.models import Connection, Job
from hub.models.enums import ConnectionHealth, Role
from hub.models.job import JobState
from hub.runtime import HubRuntime
from hub.sdk.registry import Registry
from hub.sdk.testing import Fault, serve_on_loopback
from tests import factories as f
from tests.case.helpers import run_jobs
from tests.case.test_cli import cli_env, hub
from tests.check.dns_server import DnsTestServer
from tests.check.world import publish, txt
from tests.conftest import client_for, make_token
from tests.sync import testvendor

RDP = (
    "/providers/Microsoft.Support/services/06bfd9d3-516b-d5c6-5802-169c800dec89"
    "/problemClassifications/a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a5b"
)
__all__ = ["cli_env"]
TICKET_PUT = {"method": "PUT", "path": r"/supportTickets/[^/]+$"}
TICKET_GET = {"method": "GET", "path": r"/supportTickets/[^/]+$"}
COMMENT_PUT = {"method": "PUT", "path": r"/communications/[^/]+$"}
COMMENTS_GET = {"method": "GET", "path": r"/communications$"}
DISPATCH = {"method": "POST", "path": r"/dispatch/v3/service$", "request_body": r"CreateDispatch>"}
NOTE = "PSU 1 reports a failure; the server runs on its redundant supply; reseated, fault persists."


@pytest.fixture(autouse=True)
def desks(runtime: HubRuntime) -> None:
    runtime.adapters = Registry(
        {"azure_support": azure_spec, "dell_techdirect": dell_spec, testvendor.SLUG: testvendor.spec}, {}
    )
    # Retries on loopback: short waits, the same policy.
    runtime.use_settings(
        adapters={
            "retry_max_attempts": 2,
            "retry_deadline_seconds": 5,
            "retry_backoff_initial_seconds": 0.01,
            "retry_backoff_max_seconds": 0.02,
            "http_timeout_seconds": 5,
        }
    )


@pytest.fixture
async def azure() -> AsyncIterator[tuple[AzureSupportSimulator, str]]:
    sim = AzureSupportSimulator()
    async with serve_on_loopback(sim.app) as base_url:
        yield sim, base_url


@pytest.fixture
async def dell() -> AsyncIterator[tuple[DellSimulator, str]]:
    sim = DellSimulator()
    async with serve_on_loopback(sim.app) as base_url:
        yield sim, base_url


async def _world(api: httpx.AsyncClient, slug: str, config: dict[str, Any], **conn: Any) -> dict[str, Any]:
    c = await f.client(api)
    v = await f.vendor(api, category="cloud" if slug == "azure_support" else "hardware")
    a = await f.account(api, c["id"], v["id"])
    r = await api.post("/connections", json={"name": slug, "adapter_slug": slug, "config": config, **conn})
    assert r.status_code == 201, r.text
    return {"client": c, "vendor": v, "account": a, "conn": r.json()}


async def azure_world(api: httpx.AsyncClient, sim: AzureSupportSimulator, base_url: str) -> dict[str, Any]:
    return await _world(
        api, "azure_support", {**sim.config(base_url), "default_problem_classification_id": RDP}
    )


async def draft(api: httpx.AsyncClient, w: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = {
        "vendor_account_id": w["account"]["id"],
        "title": "vm-erp-01 unreachable over RDP",
        "description": "RDP times out since 08:10; the VM answers ping.",
        "channel": "api",
        "sla_first_response": "4h",
        **kw,
    }
    r = await api.post("/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def open_via(
    api: httpx.AsyncClient, case: dict[str, Any], w: dict[str, Any], **kw: Any
) -> httpx.Response:
    return await api.post(f"/cases/{case['id']}/open-via-api", json={"connection_id": w["conn"]["id"], **kw})


async def detail(api: httpx.AsyncClient, case_id: str) -> dict[str, Any]:
    r = await api.get(f"/cases/{case_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def poll(runtime: HubRuntime) -> list[JobState]:
    """The periodic job, queued as the scheduler would and run as a worker runs it."""
    async with runtime.unit_of_work() as session:
        await enqueue(session, PollCaseDesks())
    assert await run_jobs(runtime, "case.api_poll") == 1
    async with runtime.unit_of_work(write=False) as session:
        rows = await session.execute(select(Job.state).where(Job.kind == "case.api_poll").order_by(Job.id))
        return list(rows.scalars())


def received(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in case["timeline"] if e["kind"] == "api_in"]


async def test_an_azure_case_opens_through_the_api_and_the_engineers_answer_lands_once(
    runtime: HubRuntime, app: Any, api: httpx.AsyncClient, azure: tuple[AzureSupportSimulator, str]
) -> None:
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    case = await draft(api, w)
    r = await open_via(api, case, w)
    assert r.status_code == 200, r.text
    opened = r.json()
    assert opened["status"] == "waiting_vendor" and opened["channel"] == "api"
    assert opened["connection_id"] == w["conn"]["id"]
    name = opened["vendor_external_id"]
    ticket = sim.ticket(name)
    assert ticket is not None and ticket.properties["title"] == "vm-erp-01 unreachable over RDP"
    # Created asynchronously: no number yet, the ticket's name stands in for it.
    assert opened["vendor_case_number"] == name

    sim.clock.advance(minutes=2)  # the creation finished: Microsoft's number exists
    assert await poll(runtime) == [JobState.succeeded]
    after = await detail(api, case["id"])
    assert after["vendor_case_number"] == ticket.number and after["vendor_case_number"] != name
    assert any(f"case number is {ticket.number}" in e["body"] for e in after["timeline"])
    assert after["first_response_at"] is None and received(after) == []

    sim.clock.advance(minutes=20)  # an engineer picks it up and writes
    await poll(runtime)
    await poll(runtime)  # polled twice: nothing twice
    after = await detail(api, case["id"])
    [answer] = received(after)
    assert "reviewing your case" in answer["body"] and answer["meta"]["vendor_response"] is True
    assert after["status"] == "open" and after["first_response_at"] is not None
    first = next(t for t in after["clock"] if t["target"] == "first_response")
    assert first["met_at"] is not None and not first["breached"]
    assert after["api_error"] is None


async def test_a_client_user_sees_the_vendors_answer_but_not_our_internals(
    runtime: HubRuntime, app: Any, api: httpx.AsyncClient, azure: tuple[AzureSupportSimulator, str]
) -> None:
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    case = await draft(api, w)
    assert (await open_via(api, case, w)).status_code == 200
    sim.clock.advance(minutes=22)
    await poll(runtime)
    token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["client"]["id"]))
    async with client_for(app, token) as viewer:
        seen = await detail(viewer, case["id"])
        refused = await viewer.post(f"/cases/{case['id']}/comments", json={"body": "hello"})
        polled = await viewer.post(f"/cases/{case['id']}/api-poll")
    kinds = [e["kind"] for e in seen["timeline"]]
    assert "api_in" in kinds and "api_out" in kinds
    assert all("our reference" not in e["body"] for e in seen["timeline"])  # the internal note
    for key in ("api_error", "connection_id", "vendor_external_id", "mails"):
        assert key not in seen
    assert all("meta" not in e for e in seen["timeline"])
    assert refused.status_code == 403 and polled.status_code == 403


async def test_a_lost_open_answer_is_found_by_our_reference_not_opened_again(
    runtime: HubRuntime, api: httpx.AsyncClient, azure: tuple[AzureSupportSimulator, str]
) -> None:
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    case = await draft(api, w)
    sim.faults.add(Fault(commit_then_fail=True, status=502, **TICKET_PUT))
    r = await open_via(api, case, w)
    assert r.status_code == 200, r.text
    puts = [q for q in sim.requests if Fault(**TICKET_PUT).matches_request(q)]
    assert len(puts) == 1 and r.json()["vendor_external_id"] == puts[0].path.rsplit("/", 1)[1]
    assert r.json()["status"] == "waiting_vendor"


async def test_a_dispatch_whose_answer_and_lookup_failed_is_looked_for_before_a_second_try(
    runtime: HubRuntime, api: httpx.AsyncClient, dell: tuple[DellSimulator, str]
) -> None:
    sim, base_url = dell
    w = await _world(api, "dell_techdirect", sim.config(base_url))
    asset = await f.asset(api, w["client"]["id"], serial="4B7MZT2", vendor_account_id=w["account"]["id"])
    case = await draft(api, w, asset_id=asset["id"], title="Power supply failure", description=NOTE)
    # The dispatch is made but its answer is lost, and the look-up fails too.
    sim.faults.add(Fault(commit_then_fail=True, status=502, **DISPATCH))
    sim.faults.add(Fault(status=503, times=None, request_body=r"BulkDispatchesInquiry>"))
    r = await open_via(api, case, w, parts=[{"part_number": "PSU"}])
    assert r.status_code == 502, r.text
    still = await detail(api, case["id"])
    assert still["status"] == "draft" and still["api_error"]
    sim.faults.clear()
    r = await open_via(api, case, w, parts=[{"part_number": "PSU"}])
    assert r.status_code == 200, r.text
    creates = [q for q in sim.requests if Fault(**DISPATCH).matches_request(q)]
    assert len(creates) == 1  # found by our PO number, never dispatched twice
    assert r.json()["vendor_external_id"].startswith("SR") and r.json()["status"] == "waiting_vendor"


async def test_a_dell_dispatch_follows_review_approval_and_shipping_onto_the_timeline(
    runtime: HubRuntime, api: httpx.AsyncClient, dell: tuple[DellSimulator, str]
) -> None:
    sim, base_url = dell
    w = await _world(api, "dell_techdirect", sim.config(base_url))
    asset = await f.asset(api, w["client"]["id"], serial="4B7MZT2", vendor_account_id=w["account"]["id"])
    case = await draft(api, w, asset_id=asset["id"], title="Power supply failure", description=NOTE)
    r = await open_via(api, case, w, parts=[{"part_number": "PSU"}])
    assert r.status_code == 200, r.text
    work_order = r.json()["vendor_external_id"]
    assert r.json()["vendor_case_number"] == work_order
    # Dell takes no messages through the API: said before anything is sent.
    r = await api.post(f"/cases/{case['id']}/comments", json={"body": "Any news?"})
    assert r.status_code == 409 and "no messages" in r.json()["detail"]

    await poll(runtime)  # Request Submitted: Dell's intake, not an answer
    intake = await detail(api, case["id"])
    assert [e["meta"]["vendor_status"] for e in received(intake)] == ["Request Submitted"]
    assert intake["first_response_at"] is None and intake["status"] == "waiting_vendor"

    sim.clock.advance(minutes=31)  # approved: the DPS number
    await poll(runtime)
    await poll(runtime)
    approved = await detail(api, case["id"])
    dps = approved["vendor_case_number"]
    assert dps and dps != work_order and approved["first_response_at"] is not None
    assert [e["meta"]["vendor_status"] for e in received(approved)] == ["Request Submitted", "DSP"]

    sim.clock.advance(hours=5)  # parts shipped: Dell says it is done; nothing to re-check
    await poll(runtime)
    await poll(runtime)
    shipped = await detail(api, case["id"])
    assert shipped["status"] == "resolved"
    assert [e["meta"].get("vendor_status") for e in received(shipped)] == [
        "Request Submitted",
        "DSP",
        "Shipped Parts",
        "Shipped Parts",  # the vendor's state, filed once per resolution cycle
    ]

    # Closing it: Dell has no close operation, which the timeline says.
    r = await api.post(f"/cases/{case['id']}/status", json={"status": "closed"})
    assert r.status_code == 200, r.text
    assert await run_jobs(runtime, "case.api_status") == 1
    closed = await detail(api, case["id"])
    assert any("cannot be told" in e["body"] and e["kind"] == "note" for e in closed["timeline"])


async def test_a_comment_whose_answer_was_lost_is_reconciled_and_never_posted_twice(
    runtime: HubRuntime, api: httpx.AsyncClient, azure: tuple[AzureSupportSimulator, str]
) -> None:
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    case = await draft(api, w)
    name = (await open_via(api, case, w)).json()["vendor_external_id"]
    sim.clock.advance(minutes=2)
    # The message is stored, its answer lost, and the vendor's list cannot be read either.
    sim.faults.add(Fault(commit_then_fail=True, status=502, **COMMENT_PUT))
    sim.faults.add(Fault(status=503, times=None, **COMMENTS_GET))
    r = await api.post(f"/cases/{case['id']}/comments", json={"body": "The VM was restarted at 09:00."})
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["kind"] == "api_out" and event["meta"]["state"] == "unknown"
    sim.faults.clear()

    r = await api.post(f"/cases/{case['id']}/comments/{event['id']}/retry")
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["state"] == "sent"
    ticket = sim.ticket(name)
    assert ticket is not None
    ours = [c for c in ticket.communications if "restarted at 09:00" in c["properties"]["body"]]
    assert len(ours) == 1
    r = await api.post(f"/cases/{case['id']}/comments/{event['id']}/retry")
    assert r.status_code == 409

    # Polled afterwards: our message is not filed as the vendor's, nor twice.
    await poll(runtime)
    after = await detail(api, case["id"])
    assert [e for e in after["timeline"] if "restarted at 09:00" in e["body"]] == [
        e for e in after["timeline"] if e["id"] == event["id"]
    ]


async def test_the_poll_settles_a_comment_whose_answer_was_lost(
    runtime: HubRuntime, api: httpx.AsyncClient, azure: tuple[AzureSupportSimulator, str]
) -> None:
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    case = await draft(api, w)
    name = (await open_via(api, case, w)).json()["vendor_external_id"]
    sim.clock.advance(minutes=2)
    sim.faults.add(Fault(commit_then_fail=True, status=502, **COMMENT_PUT))
    sim.faults.add(Fault(status=503, times=None, **COMMENTS_GET))
    r = await api.post(f"/cases/{case['id']}/comments", json={"body": "Snapshot taken before the restart."})
    event = r.json()
    assert r.status_code == 201 and event["meta"]["state"] == "unknown"
    sim.faults.clear()

    await poll(runtime)
    after = await detail(api, case["id"])
    [mine] = [e for e in after["timeline"] if "Snapshot taken" in e["body"]]
    assert mine["id"] == event["id"] and mine["meta"]["state"] == "sent"
    assert (await api.post(f"/cases/{case['id']}/comments/{event['id']}/retry")).status_code == 409
    ticket = sim.ticket(name)
    assert ticket is not None
    assert len([c for c in ticket.communications if "Snapshot taken" in c["properties"]["body"]]) == 1


async def test_a_comment_goes_to_the_vendor_and_closing_closes_the_ticket(
    runtime: HubRuntime, api: httpx.AsyncClient, azure: tuple[AzureSupportSimulator, str]
) -> None:
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    case = await draft(api, w)
    name = (await open_via(api, case, w)).json()["vendor_external_id"]
    sim.clock.advance(minutes=22)
    await poll(runtime)  # the engineer wrote: our turn (open)
    r = await api.post(f"/cases/{case['id']}/comments", json={"body": "Logs attached in the portal."})
    assert r.status_code == 201 and r.json()["meta"]["state"] == "sent"
    assert (await detail(api, case["id"]))["status"] == "waiting_vendor"
    r = await api.post(f"/cases/{case['id']}/reply", json={"body": "by mail?"})
    assert r.status_code == 409  # an api case is written to through its API

    r = await api.post(f"/cases/{case['id']}/status", json={"status": "closed"})
    assert r.status_code == 200, r.text
    assert await run_jobs(runtime, "case.api_status") == 1
    ticket = sim.ticket(name)
    assert ticket is not None and ticket.status == "Closed"


async def test_vendor_faults_during_polling_leave_the_case_as_it_was_and_the_job_succeeds(
    runtime: HubRuntime, api: httpx.AsyncClient, azure: tuple[AzureSupportSimulator, str]
) -> None:
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    case = await draft(api, w)
    assert (await open_via(api, case, w)).status_code == 200
    sim.clock.advance(minutes=22)
    before = await detail(api, case["id"])
    for fault in (
        Fault(status=503, times=None, **TICKET_GET),
        Fault(status=429, times=None, retry_after="0", **COMMENTS_GET),
        Fault(malformed=True, status=200, times=None, **COMMENTS_GET),
    ):
        sim.faults.clear()
        sim.faults.add(fault)
        states = await poll(runtime)
        assert states[-1] is JobState.succeeded
        now = await detail(api, case["id"])
        assert now["timeline"] == before["timeline"] and now["status"] == before["status"]
        assert now["api_error"] and now["vendor_case_number"] == before["vendor_case_number"]
    async with runtime.unit_of_work(write=False) as session:
        conn = await session.get(Connection, uuid.UUID(w["conn"]["id"]))
        assert conn is not None and conn.health is ConnectionHealth.degraded and conn.last_error

    sim.faults.clear()
    await poll(runtime)
    healed = await detail(api, case["id"])
    assert healed["api_error"] is None and len(received(healed)) == 1
    assert healed["status"] == "open"
    trail = (await api.get("/audit", params={"limit": 1000})).json()["items"]
    polls = [
        e["meta"] for e in trail if e["meta"].get("action") == "api_poll" and e["subject_id"] == case["id"]
    ]
    assert sorted(m["ok"] for m in polls) == [False, False, False, True]  # faults and what was filed
    assert all(sim.client_secret not in str(m) for m in polls)  # no secret in the trail


async def test_opening_through_an_api_refuses_what_cannot_be_opened_naming_the_field(
    runtime: HubRuntime, api: httpx.AsyncClient, azure: tuple[AzureSupportSimulator, str]
) -> None:
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    other = await f.client(api)
    r = await api.post(
        "/connections",
        json={
            "name": "other's",
            "adapter_slug": "azure_support",
            "config": sim.config(
                base_url, subscription_id=next(s for s in sim.subscriptions if s != sim.subscription_id)
            ),
            "scope": "client",
            "client_id": other["id"],
        },
    )
    assert r.status_code == 201, r.text
    foreign = r.json()
    acme = testvendor.AcmeSimulator()
    acme.partner("P-1")
    r = await api.post(
        "/connections",
        json={"name": "no case API", "adapter_slug": testvendor.SLUG, "config": acme.config(base_url)},
    )
    assert r.status_code == 201, r.text
    no_desk = r.json()
    case = await draft(api, w)

    async def refused(body: dict[str, Any], case_id: str = case["id"]) -> tuple[int, str]:
        r = await api.post(f"/cases/{case_id}/open-via-api", json=body)
        fields = [e["field"] for e in r.json().get("errors") or []]
        return r.status_code, fields[0] if fields else r.json()["detail"]

    assert await refused({"connection_id": foreign["id"]}) == (422, "connection_id")
    assert await refused({"connection_id": str(uuid.uuid4())}) == (422, "connection_id")
    assert await refused({"connection_id": no_desk["id"]}) == (422, "connection_id")
    assert (await refused({}))[0] == 422
    mail_case = await draft(api, w, channel="email")
    assert await refused({"connection_id": w["conn"]["id"]}, mail_case["id"]) == (422, "channel")
    assert (await open_via(api, case, w)).status_code == 200
    status, detail_ = await refused({"connection_id": w["conn"]["id"]})
    assert status == 409 and "only a draft" in detail_
    assert not [q for q in sim.requests if "other" in q.path]  # nothing was sent for the refusals


async def test_a_technician_opens_answers_and_polls_an_api_case_from_the_terminal(
    runtime: HubRuntime, api: httpx.AsyncClient, azure: tuple[AzureSupportSimulator, str], cli_env: None
) -> None:
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    account, via = w["account"]["account_number"], w["conn"]["name"]
    what = ["--title", "VM lost its disk", "--description", "The data disk vanished after maintenance."]
    opened = await hub(["cases", "open", "--account", account, *what, "--via", via, "--json"])
    assert opened.exit_code == 0, opened.output
    row = json.loads(opened.stdout)
    assert row["status"] == "waiting_vendor" and row["vendor_case_number"]
    ticket = sim.ticket(row["vendor_case_number"])
    assert ticket is not None and ticket.properties["title"] == "VM lost its disk"

    sim.clock.advance(minutes=22)
    polled = await hub(["cases", "poll"])
    assert polled.exit_code == 0 and "1 cases read" in polled.stdout, polled.output
    replied = await hub(["cases", "reply", f"HUB-{row['token']}", "Restored from backup, thanks."])
    assert replied.exit_code == 0 and "Through the vendor's API: sent" in replied.stdout, replied.output
    assert any("Restored from backup" in c["properties"]["body"] for c in ticket.communications)

    again = await hub(["cases", "open-via", row["token"], "--via", w["conn"]["name"]])
    assert again.exit_code == 1 and "only a draft" in again.output
    bad = await hub(["cases", "open-via", row["token"], "--via", "nope", "--part", "PSU:0"])
    assert bad.exit_code == 1 and "--part" in bad.output


async def test_a_ticket_the_vendor_closes_is_rechecked_and_a_failing_check_goes_back_with_its_evidence(
    runtime: HubRuntime,
    api: httpx.AsyncClient,
    azure: tuple[AzureSupportSimulator, str],
    dns_server: DnsTestServer,
) -> None:
    runtime.use_settings(
        check={"dns_nameservers": [dns_server.address], "dns_timeout": 2.0, "dns_attempts": 1}
    )
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    name = publish(
        dns_server, f"c{w['client']['slug']}.test", {("@", "TXT"): [txt("google-site-verification=1")]}
    )
    d = await f.domain(api, w["client"]["id"], name=name)
    r = await api.post("/checks", json={"client_id": w["client"]["id"], "kind": "spf", "target_ref": d["id"]})
    check = r.json()
    assert (await api.post(f"/checks/{check['id']}/run")).status_code == 202
    assert await run_jobs(runtime, "check.run") == 1
    r = await api.post(
        "/cases", json={"vendor_account_id": w["account"]["id"], "check_id": check["id"], "channel": "api"}
    )
    assert r.status_code == 201, r.text
    case = r.json()
    ticket_name = (await open_via(api, case, w)).json()["vendor_external_id"]
    sim.clock.advance(minutes=2)
    ticket = sim.ticket(ticket_name)
    assert ticket is not None
    ticket.status = "Closed"  # Microsoft's engineer calls it fixed and closes the ticket

    await poll(runtime)
    await poll(runtime)  # the vendor's "closed" re-runs the check once
    assert await run_jobs(runtime, "case.verify") == 1
    assert await run_jobs(runtime, "case.api_evidence") == 1
    after = await detail(api, case["id"])
    checked = [e["body"] for e in after["timeline"] if e["kind"] == "verification"]
    assert len(checked) == 1 and "still failing" in checked[0]
    assert ticket.status == "Open"  # reopened at Microsoft, then told why, with the file
    told = [c for c in ticket.communications if "still failing" in c["properties"]["body"]]
    assert len(told) == 1
    evidence = [a["filename"] for a in after["attachments"] if a["filename"].startswith("check-spf-")]
    workspace = sim.workspaces[(sim.subscription_id, ticket_name)]
    assert evidence and evidence[-1] in workspace
    assert any(e["body"].startswith(f"Sent {evidence[-1]}") for e in after["timeline"])
    assert after["status"] == "waiting_vendor"


async def test_a_silent_vendor_on_the_api_is_chased_once_per_level_through_its_api(
    runtime: HubRuntime, api: httpx.AsyncClient, azure: tuple[AzureSupportSimulator, str]
) -> None:
    sim, base_url = azure
    w = await azure_world(api, sim, base_url)
    r = await api.patch(
        f"/vendors/{w['vendor']['id']}",
        json={
            "version": w["vendor"]["version"],
            "escalation_levels": [{"level": 2, "name": "Duty manager", "contact": "duty@azure.example"}],
        },
    )
    assert r.status_code == 200, r.text
    case = await draft(api, w)
    opened = (await open_via(api, case, w)).json()
    start = datetime.fromisoformat(opened["opened_at"])
    settings = runtime.settings.case

    def ours() -> list[str]:
        ticket = sim.ticket(opened["vendor_external_id"])
        assert ticket is not None
        return [c["properties"]["body"] for c in ticket.communications]

    assert await chasers.chase_api(runtime, start + timedelta(hours=3), settings) == []  # within 4 h
    assert await chasers.chase_api(runtime, start + timedelta(hours=5), settings) == [(case["id"], 1)]
    assert await chasers.chase_api(runtime, start + timedelta(hours=5), settings) == []  # never twice
    assert await chasers.chase_api(runtime, start + timedelta(hours=9), settings) == [(case["id"], 2)]
    assert await chasers.chase_api(runtime, start + timedelta(hours=30), settings) == []  # no level 3
    reminders = [body for body in ours() if body.startswith("Reminder")]
    assert len(reminders) == 2 and "waiting for a first answer" in reminders[0]
    assert reminders[1].endswith("Please escalate it to Duty manager.")
    after = await detail(api, case["id"])
    assert [e["body"] for e in after["timeline"] if e["kind"] == "escalation"] == [
        "Escalated to level 2: Duty manager"
    ]


async def test_a_dell_dispatch_past_its_target_asks_a_person_to_call_instead(
    runtime: HubRuntime, api: httpx.AsyncClient, dell: tuple[DellSimulator, str]
) -> None:
    sim, base_url = dell
    w = await _world(api, "dell_techdirect", sim.config(base_url))
    asset = await f.asset(api, w["client"]["id"], serial="4B7MZT2", vendor_account_id=w["account"]["id"])
    case = await draft(api, w, asset_id=asset["id"], title="Power supply failure", description=NOTE)
    opened = (await open_via(api, case, w, parts=[{"part_number": "PSU"}])).json()
    start = datetime.fromisoformat(opened["opened_at"])
    assert await chasers.chase_api(runtime, start + timedelta(hours=5), runtime.settings.case) == []
    notes = [e for e in (await detail(api, case["id"]))["timeline"] if e["kind"] == "chaser"]
    assert len(notes) == 1 and notes[0]["body"].endswith("call the vendor")
    assert notes[0]["client_visible"] is False
    timeline = (await detail(api, case["id"]))["timeline"]
    assert not [e for e in timeline if e["kind"] == "api_out" and e["actor"] == "chaser"]
