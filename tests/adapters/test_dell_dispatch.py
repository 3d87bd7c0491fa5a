"""Dell TechDirect Self-Dispatch (adapters/dell_techdirect, CaseDesk) against the SOAP
simulator over a real loopback socket: work orders through review, approval, shipping
and denial on the simulator's clock, Dell's validation notes, lost answers and lagging
lists, and the credentials a dispatch needs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from adapters.dell_techdirect import spec
from adapters.dell_techdirect.adapter import DellTechDirectAdapter
from adapters.dell_techdirect.simulator import CLIENT_ID, CLIENT_SECRET, DellSimulator
from adapters.dell_techdirect.simulator_dispatch import TECH_PASSWORD
from hub.sdk.context import AdapterContext, RetryPolicy
from hub.sdk.errors import (
    AuthenticationFailed,
    ConfigurationError,
    NotFound,
    OutcomeUnknown,
    Rejected,
    UnsupportedOperation,
)
from hub.sdk.oauth import MemoryTokenCache
from hub.sdk.records import CaseAttachment, CaseRequest, CaseState, PartRequest
from hub.sdk.testing import Fault

FAST = RetryPolicy(max_attempts=4, deadline=5.0, backoff_initial=0.01, backoff_max=0.05, max_retry_after=5)
CREATE = {"method": "POST", "path": r"/dispatch/v3/service$", "request_body": r"CreateDispatch>"}
NOTE = "Fans at 100% and POST error 2000-0511; ePSA fan test fails on FAN2; reseated, fault persists."


class Now:
    """The adapter's clock, moved by the test (the simulator has its own)."""

    def __init__(self) -> None:
        self.value = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.value


@asynccontextmanager
async def connected(
    sim: DellSimulator | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    dispatch: dict[str, Any] | None = None,
    **config: Any,
) -> AsyncIterator[tuple[DellTechDirectAdapter, DellSimulator]]:
    sim = sim or DellSimulator()

    async def no_wait(_: float) -> None:
        await asyncio.sleep(0)

    now = clock or (lambda: datetime.now(UTC))
    async with sim.serve("loopback", http_timeout=5.0) as endpoint:
        ctx = AdapterContext(
            http=endpoint.http,
            tokens=MemoryTokenCache(now),
            clock=now,
            retry=FAST,
            timeout=5.0,
            sleep=no_wait,
        )
        base = sim.config(endpoint.base_url)
        if dispatch is not None:
            base["dispatch"] = {**base["dispatch"], **dispatch}
        adapter = spec.create({**base, **config}, ctx)
        assert isinstance(adapter, DellTechDirectAdapter)
        yield adapter, sim


def request(reference: str = "hub-disp-0001", **changes: Any) -> CaseRequest:
    fields: dict[str, Any] = {
        "reference": reference,
        "title": "OptiPlex 7010 fan failure",
        "description": NOTE,
        "subject": "4b7mzt2",
        "parts": [{"part_number": "fan", "quantity": 1}],
    }
    return CaseRequest.model_validate({**fields, **changes})


def creates(sim: DellSimulator) -> int:
    return sum(1 for r in sim.requests if Fault(**CREATE).matches_request(r))


async def test_a_work_order_moves_through_review_approval_and_shipping() -> None:
    async with connected() as (adapter, sim):
        opened = await adapter.open_case(request())
        assert opened.external_id.startswith("SR") and opened.reference == "hub-disp-0001"
        assert opened.state is CaseState.pending and opened.case_number is None
        assert opened.details["service_tag"] == "4B7MZT2"

        seen: list[tuple[CaseState, str | None, str]] = []
        ids: list[str] = []
        for step in (0, 10, 30, 260):  # minutes: sent, in review, approved, shipped
            sim.clock.advance(minutes=step)
            record = await adapter.get_case(opened.external_id)
            seen.append((record.state, record.case_number, record.vendor_status))
            (update,) = [u async for u in adapter.list_updates(opened.external_id)]
            (again,) = [u async for u in adapter.list_updates(opened.external_id)]
            assert update.external_id == again.external_id and update.from_vendor
            ids.append(update.external_id)
    assert [s[0] for s in seen] == [CaseState.pending, CaseState.pending, CaseState.open, CaseState.resolved]
    assert [s[2] for s in seen] == ["Request Submitted", "Parts Review", "DSP", "Shipped Parts"]
    assert (
        seen[0][1] is None and seen[2][1] and seen[2][1] == seen[3][1]
    )  # the DPS number arrives on approval
    assert len(set(ids)) == 4  # each new status is a new timeline entry
    assert record.details["waybill"].startswith("1Z")


async def test_the_dispatch_carries_our_reference_and_an_escaped_password() -> None:
    async with connected() as (adapter, sim):
        await adapter.open_case(request(onsite=True))
    (sent,) = [r for r in sim.requests if Fault(**CREATE).matches_request(r)]
    root = fromstring(sent.body)
    values = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
    assert values["Password"] == TECH_PASSWORD  # "<" and "&" survived as text
    assert values["ReferencePONumber"] == "hub-disp-0001"
    assert values["ServiceTag"] == "4B7MZT2" and values["PartNumber"] == "FAN" and values["Quanitity"] == "1"
    assert values["RequestOnSiteTechnician"] == "true"
    assert values["TroubleshootingNote"].startswith("OptiPlex 7010 fan failure")
    assert sent.headers["soapaction"].strip('"').endswith("/IDispatchService/CreateDispatch")


async def test_a_thin_note_is_denied_and_waits_on_us() -> None:
    async with connected() as (adapter, sim):
        opened = await adapter.open_case(request(title="Fan", description="broken"))
        sim.clock.advance(hours=1)
        record = await adapter.get_case(opened.external_id)
        (update,) = [u async for u in adapter.list_updates(opened.external_id)]
    assert record.state is CaseState.waiting_on_us and record.vendor_status == "Dispatch Denied"
    assert "Insufficient troubleshooting" in record.details["denied_reason"]
    assert "Denied: Insufficient troubleshooting" in update.body


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"parts": [{"part_number": "XYZ"}]}, "not a valid DOSD commodity part"),
        ({"parts": [{"part_number": "BATT"}]}, "PPID is required"),
        ({"subject": "ZZZ9999"}, "Invalid Service Tag"),
    ],
)
async def test_dells_validation_notes_become_the_refusal(changes: dict[str, Any], message: str) -> None:
    async with connected() as (adapter, sim):
        with pytest.raises(Rejected, match=message):
            await adapter.open_case(request(**changes))
    assert creates(sim) == 1 and not sim.desk.dispatches.keys() - {"SR1000000001"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject": None}, "subject"),
        ({"subject": "AB,CD"}, "subject"),
        ({"parts": []}, "parts"),
        ({"parts": [{"part_number": p} for p in ("FAN", "MBD", "KBD", "LCD", "MEM")]}, "parts"),
    ],
)
async def test_what_dell_would_refuse_is_refused_before_sending(changes: dict[str, Any], field: str) -> None:
    async with connected() as (adapter, sim):
        with pytest.raises(Rejected, match=f"^{field}:"):
            await adapter.open_case(request(**changes))
    assert creates(sim) == 0


async def test_a_long_description_is_cut_to_dells_limit_and_sent_whole_as_a_file() -> None:
    long = "ePSA log:\n" + "\n".join(f"{n:04d} fan FAN2 rpm 0 expected 3200" for n in range(120))
    photo = CaseAttachment(filename="fan2.jpg", content_type="image/jpeg", content=b"\xff\xd8jpeg")
    async with connected() as (adapter, sim):
        opened = await adapter.open_case(request(description=long, attachments=(photo,)))
    stored = sim.desk.dispatches[opened.external_id]
    assert len(stored.note) == 1000 and stored.note.endswith("case-description.txt)")
    files = {name: data for name, _, data in stored.attachments}
    assert files["fan2.jpg"] == photo.content
    assert files["case-description.txt"].decode().endswith("0119 fan FAN2 rpm 0 expected 3200")


async def test_a_lost_answer_is_found_by_the_po_number_and_not_sent_again() -> None:
    sim = DellSimulator()
    sim.faults.add(Fault(commit_then_fail=True, status=502, **CREATE))
    async with connected(sim) as (adapter, sim):
        sent_at = datetime.now(UTC)
        with pytest.raises(OutcomeUnknown):
            await adapter.open_case(request())
        found = await adapter.find_case("hub-disp-0001", like=request(), placed_after=sent_at)
    assert found is not None and found.reference == "hub-disp-0001" and found.external_id.startswith("SR2")
    assert creates(sim) == 1


async def test_without_echoed_references_the_service_tag_and_time_decide_or_a_person_does() -> None:
    sim = DellSimulator(echo_fields=False)
    sim.faults.add(Fault(commit_then_fail=True, status=502, **CREATE))
    async with connected(sim) as (adapter, sim):
        sent_at = datetime.now(UTC)
        with pytest.raises(OutcomeUnknown):
            await adapter.open_case(request())
        # Dell lists neither references nor tags: nothing to tell work orders apart by.
        with pytest.raises(OutcomeUnknown, match="neither references nor service tags"):
            await adapter.find_case("hub-disp-0001", like=request(), placed_after=sent_at)
        with pytest.raises(OutcomeUnknown, match="cannot be told apart"):
            await adapter.find_case("hub-disp-0001")
    assert creates(sim) == 1


async def test_matching_by_service_tag_takes_only_an_unambiguous_work_order() -> None:
    sim = DellSimulator()
    async with connected(sim) as (adapter, sim):
        sent_at = datetime.now(UTC)
        await adapter.open_case(request("hub-disp-0001"))
        for dispatch in sim.desk.dispatches.values():
            dispatch.reference = ""  # as if Dell had dropped our PO number: only tags come back
        found = await adapter.find_case("hub-disp-0001", like=request(), placed_after=sent_at)
        assert found is not None and found.reference == "hub-disp-0001"
        await adapter.open_case(request("hub-disp-0002"))
        for dispatch in sim.desk.dispatches.values():
            dispatch.reference = ""
        with pytest.raises(OutcomeUnknown, match="2 work order"):
            await adapter.find_case("hub-disp-0001", like=request(), placed_after=sent_at)


async def test_a_lagging_list_is_no_proof_until_it_has_settled() -> None:
    now = Now()
    sim = DellSimulator(dispatch_lag_seconds=120)
    sim.faults.add(Fault(commit_then_fail=True, status=502, **CREATE))
    async with connected(sim, clock=now, dispatch={"settle_seconds": 300}) as (adapter, sim):
        sent_at = now()
        with pytest.raises(OutcomeUnknown):
            await adapter.open_case(request())
        with pytest.raises(OutcomeUnknown, match="look again later"):
            await adapter.find_case("hub-disp-0001", like=request(), placed_after=sent_at)
        sim.clock.advance(minutes=3)
        now.value += timedelta(minutes=3)
        found = await adapter.find_case("hub-disp-0001", like=request(), placed_after=sent_at)
    assert found is not None and creates(sim) == 1


async def test_an_unknown_work_order_is_not_found_without_retrying_the_fault() -> None:
    async with connected() as (adapter, sim):
        with pytest.raises(NotFound):
            await adapter.get_case("SR0000000000")
    assert sum(1 for r in sim.requests if b"GetDispatchStatus>" in r.body) == 1


async def test_a_gateway_500_on_a_status_read_is_retried() -> None:
    sim = DellSimulator()
    sim.faults.add(Fault(status=500, times=2, path=r"/dispatch/", request_body="GetDispatchStatus>"))
    async with connected(sim) as (adapter, _):
        record = await adapter.get_case("SR1000000001")
    assert record.vendor_status == "Shipped Parts" and record.reference is None


async def test_a_wrong_technician_password_is_an_authentication_failure_at_once() -> None:
    async with connected(dispatch={"password": "not-the-password"}) as (adapter, sim):
        with pytest.raises(AuthenticationFailed, match="Invalid Login/Password"):
            await adapter.verify()
    assert sum(1 for r in sim.requests if b"CheckLogin>" in r.body) == 1  # a SOAP fault is final


async def test_verify_checks_the_technicians_dispatch_relationship() -> None:
    async with connected() as (adapter, _):
        identity = await adapter.verify()
    assert identity.details["dispatch_technician"] == "One, Technician"
    async with connected(dispatch={"customer": "Studio Bianchi"}) as (adapter, _):
        with pytest.raises(ConfigurationError) as caught:
            await adapter.verify()
    assert caught.value.field == "dispatch.customer"


async def test_the_warranty_key_cannot_dispatch() -> None:
    async with connected(dispatch={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}) as (adapter, _):
        with pytest.raises(AuthenticationFailed):
            await adapter.open_case(request())


async def test_without_dispatch_settings_warranty_works_and_cases_say_why_not() -> None:
    async with connected(DellSimulator(with_dispatch=False)) as (adapter, _):
        await adapter.verify()
        assert (await adapter.lookup_warranties(["4B7MZT2"]))[0].found
        with pytest.raises(ConfigurationError) as caught:
            await adapter.open_case(request())
    assert caught.value.field == "dispatch"


async def test_unsupported_operations_say_why_and_call_nobody() -> None:
    async with connected() as (adapter, sim):
        before = len(sim.requests)
        with pytest.raises(UnsupportedOperation, match="no notes or messages"):
            await adapter.add_comment("SR1000000001", "any news?")
        with pytest.raises(UnsupportedOperation, match="only be sent with the dispatch"):
            await adapter.attach("SR1000000001", "a.txt", "text/plain", b"x")
    assert len(sim.requests) == before


async def test_a_part_list_is_case_insensitive_and_quantities_travel() -> None:
    async with connected() as (adapter, sim):
        opened = await adapter.open_case(request(parts=[PartRequest(part_number="mem", quantity=2)]))
    assert sim.desk.dispatches[opened.external_id].parts == [("MEM", 2, "")]
