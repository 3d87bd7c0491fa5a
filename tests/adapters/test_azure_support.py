"""Azure support tickets (adapters/azure_support) against the ARM simulator over a real
loopback socket: asynchronous creation, the vendor's side arriving on its clock, lost
answers, refusals the service makes, files, and CSP on-behalf-of tokens."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from adapters.azure_support import spec
from adapters.azure_support.adapter import AzureSupportAdapter
from adapters.azure_support.simulator import AzureSupportSimulator
from hub.sdk.context import AdapterContext, RetryPolicy
from hub.sdk.errors import AuthenticationFailed, OutcomeUnknown, Rejected, TemporaryFailure
from hub.sdk.oauth import MemoryTokenCache
from hub.sdk.records import (
    CaseAttachment,
    CaseContact,
    CaseRequest,
    CaseSeverity,
    CaseState,
    CaseStatusChange,
    PartRequest,
)
from hub.sdk.testing import Fault

FAST = RetryPolicy(max_attempts=4, deadline=5.0, backoff_initial=0.01, backoff_max=0.05, max_retry_after=5)
VM = "06bfd9d3-516b-d5c6-5802-169c800dec89"
RDP = (
    f"/providers/Microsoft.Support/services/{VM}/problemClassifications/a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a5b"
)
RETIRED = (
    f"/providers/Microsoft.Support/services/{VM}/problemClassifications/a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a5b"
)
TICKET_PUT = r"/supportTickets/[^/]+$"


@asynccontextmanager
async def connected(
    sim: AzureSupportSimulator | None = None, **config: Any
) -> AsyncIterator[tuple[AzureSupportAdapter, AzureSupportSimulator]]:
    sim = sim or AzureSupportSimulator()

    async def no_wait(_: float) -> None:
        await asyncio.sleep(0)

    async with sim.serve("loopback", http_timeout=5.0) as endpoint:
        ctx = AdapterContext(
            http=endpoint.http,
            tokens=MemoryTokenCache(lambda: datetime.now(UTC)),
            retry=FAST,
            timeout=5.0,
            sleep=no_wait,
        )
        base = sim.config(endpoint.base_url, subscription_id=config.pop("subscription_id", None))
        adapter = spec.create({**base, **config}, ctx)
        assert isinstance(adapter, AzureSupportAdapter)
        yield adapter, sim


def request(reference: str = "hub-case-7f3k2", **changes: Any) -> CaseRequest:
    fields: dict[str, Any] = {
        "reference": reference,
        "title": "vm-erp-01 unreachable over RDP",
        "description": "RDP times out since 08:10; the VM answers ping.",
        "category": RDP,
        "subject": "/subscriptions/5a9e2c41-7b3d-4e8f-9a1c-0d2e3f4a5b6c/resourceGroups/erp/providers/"
        "Microsoft.Compute/virtualMachines/vm-erp-01",
    }
    return CaseRequest.model_validate({**fields, **changes})


def sent(sim: AzureSupportSimulator, method: str, path: str) -> list[dict[str, Any]]:
    return [
        json.loads(r.body)
        for r in sim.requests
        if r.method == method and Fault(path=path).matches(method, r.path)
    ]


async def test_a_ticket_is_named_by_our_reference_and_its_number_arrives_with_the_vendor() -> None:
    async with connected() as (adapter, sim):
        opened = await adapter.open_case(request())
        assert opened.external_id == opened.reference == "hub-case-7f3k2"
        assert opened.state is CaseState.pending and opened.case_number is None
        assert opened.vendor_status == "Creating"

        sim.clock.advance(minutes=2)  # the long-running creation has finished
        ready = await adapter.get_case(opened.external_id)
        assert ready.state is CaseState.open and ready.case_number and ready.case_number.startswith("0")
        assert ready.vendor_due_at is not None and ready.assignee is None

        sim.clock.advance(minutes=20)  # an engineer picks it up and writes
        worked = await adapter.get_case(opened.external_id)
        assert worked.assignee and worked.assignee.endswith("@support.microsoft.example")
        updates = [u async for u in adapter.list_updates(opened.external_id)]
    assert [u.from_vendor for u in updates] == [True]
    assert updates[0].occurred_at is not None and "reviewing your case" in updates[0].body


async def test_the_ticket_body_carries_what_azure_requires() -> None:
    wanted = request(
        severity="critical",
        contact=CaseContact(name="Marco De Luca", email="marco@msp.example", phone="+39 333 1234567"),
        parts=(PartRequest(part_number="NIC"),),
        onsite=True,
    )
    async with connected(highest_critical_impact=True) as (adapter, sim):
        await adapter.open_case(wanted)
    (body,) = sent(sim, "PUT", TICKET_PUT)
    props = body["properties"]
    assert props["serviceId"] == f"/providers/Microsoft.Support/services/{VM}"
    assert props["problemClassificationId"] == RDP
    assert props["severity"] == "highestcriticalimpact"
    assert props["technicalTicketDetails"]["resourceId"].endswith("/virtualMachines/vm-erp-01")
    assert props["fileWorkspaceName"] == "hub-case-7f3k2"
    contact = props["contactDetails"]
    assert (contact["firstName"], contact["lastName"], contact["primaryEmailAddress"]) == (
        "Marco De",
        "Luca",
        "marco@msp.example",
    )
    assert contact["country"] == "ita" and contact["preferredTimeZone"] == "W. Europe Standard Time"
    assert "1 x NIC" in props["description"] and "on site" in props["description"]


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("low", "minimal"), ("normal", "moderate"), ("high", "critical"), ("critical", "critical")],
)
async def test_severities_map_to_azures(severity: str, expected: str) -> None:
    async with connected(AzureSupportSimulator(async_create=False)) as (adapter, _):
        opened = await adapter.open_case(request(severity=severity))
    assert opened.severity == expected and opened.state is CaseState.open  # synchronous: numbered at once


async def test_a_lost_answer_is_found_by_name_and_never_makes_a_second_ticket() -> None:
    sim = AzureSupportSimulator()
    sim.faults.add(Fault(commit_then_fail=True, status=502, method="PUT", path=TICKET_PUT))
    async with connected(sim) as (adapter, sim):
        with pytest.raises(OutcomeUnknown):
            await adapter.open_case(request())
        found = await adapter.find_case("hub-case-7f3k2")
        assert found is not None and found.external_id == "hub-case-7f3k2"
        # A caller that sends again anyway gets the same ticket back (Azure keeps names unique).
        again = await adapter.open_case(request())
    assert again.external_id == found.external_id
    assert len([t for t in sim.tickets.values() if t.name == "hub-case-7f3k2"]) == 1


async def test_a_name_used_by_another_ticket_is_refused() -> None:
    async with connected() as (adapter, _):
        with pytest.raises(Rejected, match="already used by another ticket"):
            await adapter.open_case(request("hub-seeded-0001"))


async def test_a_request_without_a_problem_classification_is_refused_before_sending() -> None:
    async with connected() as (adapter, sim):
        with pytest.raises(Rejected, match="problem classification"):
            await adapter.open_case(request(category=None))
        with pytest.raises(Rejected, match="category"):
            await adapter.open_case(request(category="Cannot connect to my VM"))
    assert not [r for r in sim.requests if r.method == "PUT"]


async def test_the_connection_default_classification_is_used_when_the_case_names_none() -> None:
    async with connected(default_problem_classification_id=RDP) as (adapter, sim):
        await adapter.open_case(request(category=None))
    (body,) = sent(sim, "PUT", TICKET_PUT)
    assert body["properties"]["problemClassificationId"] == RDP


async def test_a_creation_that_fails_asynchronously_is_rejected_with_azures_reason() -> None:
    async with connected() as (adapter, _):
        with pytest.raises(Rejected, match="retired"):
            await adapter.open_case(request(category=RETIRED))
        assert await adapter.find_case("hub-case-7f3k2") is None


async def test_severity_cannot_change_once_an_engineer_works_on_the_ticket() -> None:
    async with connected(AzureSupportSimulator(async_create=False)) as (adapter, sim):
        opened = await adapter.open_case(request())
        raised = await adapter.set_severity(opened.external_id, CaseSeverity.high)
        assert raised.severity == "critical"
        sim.clock.advance(minutes=30)
        with pytest.raises(Rejected, match="support engineer"):
            await adapter.set_severity(opened.external_id, CaseSeverity.low)


async def test_a_closed_ticket_takes_no_message_until_reopened() -> None:
    async with connected(AzureSupportSimulator(async_create=False)) as (adapter, _):
        opened = await adapter.open_case(request())
        closed = await adapter.set_status(opened.external_id, CaseStatusChange.closed)
        assert closed.state is CaseState.closed
        with pytest.raises(Rejected, match="closed"):
            await adapter.add_comment(opened.external_id, "Still failing")
        reopened = await adapter.set_status(opened.external_id, CaseStatusChange.reopened)
        assert reopened.state is CaseState.open
        update = await adapter.add_comment(opened.external_id, "Still failing", reference="hub-msg-0001")
    assert update.external_id == "hub-msg-0001" and not update.from_vendor


async def test_a_message_whose_answer_was_lost_is_not_added_twice() -> None:
    sim = AzureSupportSimulator(async_create=False)
    sim.faults.add(Fault(commit_then_fail=True, status=504, method="PUT", path=r"/communications/[^/]+$"))
    async with connected(sim) as (adapter, sim):
        opened = await adapter.open_case(request())
        with pytest.raises(OutcomeUnknown):
            await adapter.add_comment(opened.external_id, "Logs attached", reference="hub-msg-0002")
        again = await adapter.add_comment(opened.external_id, "Logs attached", reference="hub-msg-0002")
        timeline = [u async for u in adapter.list_updates(opened.external_id)]
    assert again.external_id == "hub-msg-0002"
    assert [u.external_id for u in timeline].count("hub-msg-0002") == 1


async def test_the_timeline_pages_ten_at_a_time_and_comes_back_oldest_first() -> None:
    sim = AzureSupportSimulator(async_create=False, page_size=3)
    async with connected(sim) as (adapter, sim):
        opened = await adapter.open_case(request())
        for n in range(7):
            await adapter.add_comment(opened.external_id, f"note {n}", reference=f"hub-msg-{n:04d}")
            sim.clock.advance(seconds=61)
        sim.clock.advance(hours=2)  # the engineer answers, then asks again
        timeline = [u async for u in adapter.list_updates(opened.external_id)]
        since = timeline[5].occurred_at
        later = [u async for u in adapter.list_updates(opened.external_id, since=since)]
    assert len(timeline) == 9
    instants = [u.occurred_at for u in timeline]
    assert instants == sorted(instants)  # type: ignore[type-var]
    assert [u.from_vendor for u in timeline].count(True) == 2
    tops = [
        parse_qs(r.query)["$top"]
        for r in sim.requests
        if r.method == "GET" and r.path.endswith("/communications")
    ]
    assert tops and all(top == ["10"] for top in tops)  # the API's maximum, never more
    pages = [r for r in sim.requests if "%24skipToken" in r.query or "$skipToken" in r.query]
    assert len(pages) == 3  # nine entries three a page, then four: the next links were followed
    assert {u.external_id for u in later} == {u.external_id for u in timeline[5:]}


async def test_files_go_into_the_tickets_workspace_in_chunks() -> None:
    evidence = CaseAttachment(
        filename="boot-diagnostics.png", content_type="image/png", content=b"\x89PNG" * 10
    )
    big = bytes(range(256)) * 6000  # 1.5 MiB: two upload chunks
    async with connected() as (adapter, sim):
        opened = await adapter.open_case(request(attachments=(evidence,)))
        await adapter.attach(opened.external_id, "eventlog.evtx", "application/octet-stream", big)
        with pytest.raises(Rejected, match="already"):
            await adapter.attach(opened.external_id, "eventlog.evtx", "application/octet-stream", b"again")
        with pytest.raises(Rejected, match="filename"):
            await adapter.attach(opened.external_id, "../etc/passwd", "text/plain", b"x")
    assert sim.file_content("hub-case-7f3k2", "boot-diagnostics.png") == evidence.content
    assert sim.file_content("hub-case-7f3k2", "eventlog.evtx") == big
    uploads = [r for r in sim.requests if r.path.endswith("/eventlog.evtx/upload")]
    assert len(uploads) == 2


async def test_a_resent_case_reuses_its_files_instead_of_failing_on_them() -> None:
    evidence = CaseAttachment(filename="dig-mx.txt", content_type="text/plain", content=b"10 mx1.example.")
    sim = AzureSupportSimulator()
    # The first attempt uploads its file, then its ticket PUT gets a 503 (nothing created, but
    # a write cannot know that): the ticket is not found, so the caller sends the case again.
    sim.faults.add(Fault(status=503, times=None, method="PUT", path=TICKET_PUT))
    async with connected(sim) as (adapter, sim):
        with pytest.raises(OutcomeUnknown):
            await adapter.open_case(request(attachments=(evidence,)))
        sim.faults.clear()
        assert await adapter.find_case("hub-case-7f3k2") is None  # a 503 created nothing
        opened = await adapter.open_case(request(attachments=(evidence,)))
    assert opened.external_id == "hub-case-7f3k2"
    assert sim.file_content("hub-case-7f3k2", "dig-mx.txt") == evidence.content


async def test_a_csp_partner_opens_tickets_with_its_auxiliary_token() -> None:
    sim = AzureSupportSimulator(async_create=False)
    csp = "6b0f3d52-8c4e-4f90-8b2d-1e3f4a5b6c7d"
    async with connected(sim, subscription_id=csp) as (adapter, sim):
        opened = await adapter.open_case(request())
        assert opened.state is CaseState.open
    assert any("supportTickets/hub-case-7f3k2" in seen for seen in sim.auxiliary_seen)
    async with connected(AzureSupportSimulator(), subscription_id=csp, partner_tenant_id=None) as (
        adapter,
        _,
    ):
        with pytest.raises(AuthenticationFailed, match="auxiliary"):
            await adapter.open_case(request())


async def test_verify_names_the_subscription() -> None:
    async with connected() as (adapter, _):
        identity = await adapter.verify()
    assert identity.account_ref == "5a9e2c41-7b3d-4e8f-9a1c-0d2e3f4a5b6c"
    assert identity.name == "Colombo Trasporti - Produzione"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error": {"code": "QuotaExceeded", "message": "Too many tickets today"}},
            "QuotaExceeded: Too many tickets",
        ),
        ({"Message": "An error has occurred."}, "An error has occurred."),
        ({"error": "request body too large"}, "request body too large"),
        ({}, "Bad Request"),
    ],
)
async def test_odd_error_bodies_still_say_what_went_wrong(body: dict[str, Any], expected: str) -> None:
    sim = AzureSupportSimulator(async_create=False)
    sim.faults.add(Fault(status=400, method="PATCH", body=body))
    async with connected(sim) as (adapter, _):
        opened = await adapter.open_case(request())
        with pytest.raises(Rejected) as caught:
            await adapter.set_status(opened.external_id, CaseStatusChange.closed)
    assert expected in str(caught.value)


async def test_throttled_reads_recover_and_an_outage_is_temporary() -> None:
    sim = AzureSupportSimulator()
    sim.faults.add(Fault(status=429, retry_after="1", times=2, method="GET", path=r"/communications$"))
    async with connected(sim) as (adapter, sim):
        updates = [u async for u in adapter.list_updates("hub-seeded-0001")]
        assert len(updates) == 3
        sim.faults.add(Fault(status=503, times=None, method="GET"))
        with pytest.raises(TemporaryFailure):
            await adapter.get_case("hub-seeded-0001")


async def test_a_message_from_our_own_sender_is_ours_whatever_its_direction() -> None:
    async with connected() as (adapter, _):
        updates = [u async for u in adapter.list_updates("hub-seeded-0001")]
    ours = [u for u in updates if u.author == "noc@msp.example"]
    assert ours and not any(u.from_vendor for u in ours)
    assert all(u.from_vendor for u in updates if u.author != "noc@msp.example")
    assert updates[0].occurred_at is not None
    assert datetime.now(UTC) - updates[0].occurred_at > timedelta(hours=70)
