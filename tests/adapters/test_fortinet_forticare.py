"""FortiCare adapter against its simulator over real loopback HTTP: the sign-in that must
not lock the API user out, listings, the read-back of a unit's term, and registering a
contract code exactly once whatever FortiCare answers. The last test follows a FortiGate
bundle from the distributor's order to the box's own FortiGuard expiry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from adapters.fortinet_forticare import spec
from adapters.fortinet_forticare.adapter import FortiCareAdapter
from adapters.fortinet_forticare.simulator import (
    API,
    TOKEN_PATH,
    UNKNOWN_CODE,
    UNKNOWN_SERIAL,
    FortiCareSimulator,
)
from hub.sdk import (
    AdapterContext,
    AuthenticationFailed,
    ConfigurationError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Rejected,
)
from hub.sdk.oauth import MemoryTokenCache
from hub.sdk.records import DeliverableKind, OrderRequest, TermState
from hub.sdk.testing import Clock, Fault
from hub.sdk.testing.conformance import FAST_RETRY

REGISTER = f"{API}/licenses/register"


@asynccontextmanager
async def connected(sim: FortiCareSimulator, **overrides: Any) -> AsyncIterator[FortiCareAdapter]:
    async def sleep(_: float) -> None:
        await asyncio.sleep(0)  # retries wait no wall-clock time

    async with sim.serve("loopback") as endpoint:
        ctx = AdapterContext(
            http=endpoint.http,
            tokens=MemoryTokenCache(sim.clock),
            clock=sim.clock,
            retry=FAST_RETRY,
            sleep=sleep,
        )
        adapter = spec.create({**sim.config(endpoint.base_url), **overrides}, ctx)
        assert isinstance(adapter, FortiCareAdapter)
        try:
            yield adapter
        finally:
            await adapter.aclose()


def calls(sim: FortiCareSimulator, path: str) -> list[Any]:
    return [r for r in sim.requests if r.path == path]


async def test_sign_in_is_a_json_password_grant_for_asset_management() -> None:
    sim = FortiCareSimulator()
    async with connected(sim) as adapter:
        identity = await adapter.verify()
    (token_call,) = calls(sim, TOKEN_PATH)
    body = json.loads(token_call.body)
    assert token_call.headers["content-type"].startswith("application/json")
    assert body["grant_type"] == "password" and body["client_id"] == "assetmanagement"
    assert body["username"] == sim.username
    assert identity.account_ref == sim.username and identity.details["units_with_entitlements"] == "3"


async def test_a_refused_sign_in_is_never_retried_and_cannot_lock_the_api_user_out() -> None:
    sim = FortiCareSimulator(lockout_after=3)
    async with connected(sim, password="forticloud-wrong-password-0") as adapter:
        with pytest.raises(AuthenticationFailed, match="Invalid credentials"):
            await adapter.verify()
        with pytest.raises(AuthenticationFailed):
            await adapter.verify()
    assert len(calls(sim, TOKEN_PATH)) == 2, "one sign-in per attempt, never a retry"
    assert sim.locked_until is None
    # A third failure locks the user out: then even the right password is refused.
    async with connected(sim, password="forticloud-wrong-password-0") as adapter:
        with pytest.raises(AuthenticationFailed):
            await adapter.verify()
    async with connected(sim) as adapter:
        with pytest.raises(AuthenticationFailed, match="locked"):
            await adapter.verify()
        sim.clock.advance(seconds=sim.lockout_seconds + 1)
        await adapter.verify()


async def test_a_token_url_without_its_trailing_slash_is_a_configuration_error() -> None:
    sim = FortiCareSimulator()
    async with sim.serve("asgi") as endpoint:
        ctx = AdapterContext.standalone(endpoint.http, retry=FAST_RETRY)
        adapter = spec.create(
            {**sim.config(endpoint.base_url), "token_url": endpoint.base_url + "/api/v1/oauth/token"}, ctx
        )
        with pytest.raises(ConfigurationError) as caught:
            await adapter.verify()
    assert caught.value.field == "token_url"


async def test_a_revoked_token_is_replaced_once() -> None:
    sim = FortiCareSimulator()
    async with connected(sim) as adapter:
        await adapter.verify()
        sim.revoke_tokens()
        assets = [a async for a in adapter.list_assets()]
    assert len(assets) == 3 and sim.sign_ins == 2


@pytest.mark.parametrize("size", [1, 2, 50])
async def test_units_and_entitlements_are_read_page_by_page(size: int) -> None:
    sim = FortiCareSimulator(page_size=size)
    async with connected(sim) as adapter:
        assets = [a async for a in adapter.list_assets()]
        warranties = await adapter.lookup_warranties(["fg60ftk2309a0b1c", UNKNOWN_SERIAL, "FG60FTK2309A0B1C"])
    assert sorted(a.external_id for a in assets) == sorted(sim.units)
    assert {a.model for a in assets} == {"FortiGate-60F", "FortiGate-40F", "FortiGate-100F"}
    known, unknown = warranties
    assert known.found and known.external_id == "FG60FTK2309A0B1C"
    # The warranty is the hardware cover (240 days), not the bundle's services (12 days).
    assert [e.description for e in known.entitlements] == ["Hardware"]
    assert known.ends_on == sim.today + timedelta(days=240)
    assert not unknown.found
    bodies = [json.loads(r.body) for r in calls(sim, f"{API}/products/list")]
    assert all(b["serialNumber"] == "%" for b in bodies)
    assert [b["pageNumber"] for b in bodies][: -(-3 // size)] == list(range(1, -(-3 // size) + 1))


async def test_an_empty_account_answers_null_assets_and_lists_nothing() -> None:
    sim = FortiCareSimulator()
    sim.units.clear()
    async with connected(sim) as adapter:
        assert [a async for a in adapter.list_assets()] == []
        with pytest.raises(NotFound):
            await adapter.read_term("FG60FTK2309A0B1C")


async def test_rate_limits_are_waited_out_or_reported() -> None:
    sim = FortiCareSimulator(requests_per_minute=2, retry_after=None)
    async with connected(sim) as adapter:
        await adapter.verify()
        await adapter.verify()
        with pytest.raises(RateLimited):  # 429 without Retry-After: backoff, then give up
            await adapter.verify()
    sim = FortiCareSimulator()
    sim.faults.add(Fault(status=429, retry_after="3600", times=1, path=API))
    async with connected(sim) as adapter:
        with pytest.raises(RateLimited) as caught:
            await adapter.verify()
    assert caught.value.retry_after == pytest.approx(3600, abs=5)  # too long to wait in a job


async def test_registration_is_exactly_once_whatever_forticare_answers() -> None:
    sim = FortiCareSimulator()
    serial, other = "FG60FTK2309A0B1C", "FGT40FTK2201C3D4"
    code = "K06V2-U795H-9PKR7-2TXNM-V8GL6B"
    sim.faults.add(Fault(commit_then_fail=True, status=502, method="POST", path=REGISTER))
    async with connected(sim) as adapter:
        first = await adapter.register_contract(serial.lower(), f" {code.lower()} ")  # answer lost, resent
        again = await adapter.register_contract(serial, code)
        with pytest.raises(Rejected, match="already registered, not to FGT40FTK2201C3D4"):
            await adapter.register_contract(other, code)
        with pytest.raises(Rejected, match="Invalid license registration code"):
            await adapter.register_contract(serial, UNKNOWN_CODE)
        with pytest.raises(Rejected, match="not registered in this account"):
            await adapter.register_contract(UNKNOWN_SERIAL, "R4ZQ8-N2W7C-LT5XD-93HFP-Q6YB1M")
        with pytest.raises(Rejected, match="not a registration code"):
            await adapter.register_contract(serial, "x")
    assert sim.registrations == [(serial, code)]
    assert first.already_registered and first.serial_number == serial and first.contract_code == code
    assert again.already_registered and again.contract_number == sim.codes[code].contract_number
    assert (
        sim.codes["R4ZQ8-N2W7C-LT5XD-93HFP-Q6YB1M"].registered_to is None
    )  # the unknown serial took nothing
    posts = [r.status for r in calls(sim, REGISTER)]
    assert posts[:2] == [502, 400]  # committed then lost; the resend met "already registered"


async def test_refusals_in_a_200_body_are_still_refusals() -> None:
    sim = FortiCareSimulator(errors_as_200=True)
    async with connected(sim) as adapter:
        registered = await adapter.register_contract("FG60FTK2309A0B1C", "K06V2-U795H-9PKR7-2TXNM-V8GL6B")
        with pytest.raises(Rejected):
            await adapter.register_contract("FG60FTK2309A0B1C", UNKNOWN_CODE)
        repeated = await adapter.register_contract("FG60FTK2309A0B1C", "K06V2-U795H-9PKR7-2TXNM-V8GL6B")
    assert not registered.already_registered and repeated.already_registered


async def test_entitlements_move_some_time_after_the_registration() -> None:
    sim = FortiCareSimulator(entitlement_delay=600)
    serial = "FG60FTK2309A0B1C"
    async with connected(sim) as adapter:
        before = await adapter.read_term(serial)
        support = await adapter.read_term(f"{serial}/Enhanced Support")
        registered = await adapter.register_contract(serial, "K06V2-U795H-9PKR7-2TXNM-V8GL6B")
        still = await adapter.read_term(f"{serial}/11")
        sim.clock.advance(seconds=601)
        after = await adapter.read_term(f"{serial}/11")
        with pytest.raises(NotFound):
            await adapter.read_term(f"{serial}/Telepathy Support")
        with pytest.raises(NotFound):
            await adapter.read_term(UNKNOWN_SERIAL)
    assert before.ends_on == sim.today + timedelta(days=240)  # hardware runs longest
    assert support.ends_on == sim.today + timedelta(days=12) and support.state is TermState.active
    assert registered.ends_on == before.ends_on  # what FortiCare showed right after: not moved yet
    assert still.ends_on == support.ends_on
    assert after.ends_on == support.ends_on + timedelta(days=365)
    assert "Enhanced Support (Premium)" in after.evidence


async def test_a_fortigate_bundle_goes_from_the_distributor_to_the_box() -> None:
    """Order the bundle at Pax8 (its answer lost), read the registration code off the
    provisioned order, register it at FortiCare, and watch FortiCare, then the box, move."""
    from adapters.fortinet_fortios import spec as fortios_spec
    from adapters.fortinet_fortios.simulator import FortiosSimulator
    from adapters.pax8 import spec as pax8_spec
    from adapters.pax8.simulator import Pax8Simulator

    clock = Clock()
    box = FortiosSimulator(clock=clock)
    forticare = FortiCareSimulator(
        clock=clock,
        entitlement_delay=300,
        on_registered=lambda serial, end: (
            box.extend_services(end, after=120) if serial == box.serial else None
        ),
    )
    pax8 = Pax8Simulator(
        clock=clock, provisioning_delay=180, keep_order_email=False, code_issuer=forticare.issue_code
    )
    pax8.faults.add(
        Fault(commit_then_fail=True, status=502, method="POST", path=r"^/v1/orders$", query=r"^$")
    )
    bundle = next(p for p in pax8.products.values() if p.vendor_sku == "FC-10-0060F-950-02-12")
    company = next(iter(pax8.companies))
    async with (
        pax8.serve("loopback") as p_end,
        forticare.serve("loopback") as f_end,
        box.serve("loopback") as b_end,
    ):

        def ctx(endpoint: Any) -> AdapterContext:
            return AdapterContext(
                endpoint.http, tokens=MemoryTokenCache(clock), clock=clock, retry=FAST_RETRY
            )

        distributor = pax8_spec.create(pax8.config(p_end.base_url), ctx(p_end))
        care = spec.create(forticare.config(f_end.base_url), ctx(f_end))
        fortigate = fortios_spec.create(box.config(b_end.base_url), ctx(b_end))
        request = OrderRequest(
            reference="rnw-fgt-acme-2026",
            tenant_external_id=company,
            product_external_id=bundle.id,
            quantity=1,
            term_months=12,
        )
        sent_at = clock()
        with pytest.raises(OutcomeUnknown):
            await distributor.place_order(request)
        found = await distributor.find_order(request.reference, company, like=request, placed_after=sent_at)
        assert found.pending and found.deliverables == ()  # accepted, not provisioned: no code yet
        clock.advance(seconds=181)
        provisioned = await distributor.get_order(found.external_id, company)
        (code,) = [d for d in provisioned.deliverables if d.kind is DeliverableKind.registration_code]

        before = await fortigate.read_term("bundle")
        registration = await care.register_contract(box.serial, code.value)
        assert (await care.read_term(f"{box.serial}/22")).ends_on == forticare.today + timedelta(days=12)
        clock.advance(seconds=301)
        care_term = await care.read_term(f"{box.serial}/22")
        box_not_yet = await fortigate.read_term("bundle")
        clock.advance(seconds=121)
        box_term = await fortigate.read_term("bundle")
    assert registration.contract_code == code.value and not registration.already_registered
    assert care_term.ends_on == forticare.today + timedelta(days=12 + 365)
    assert box_not_yet.ends_on == before.ends_on
    assert box_term.ends_on == care_term.ends_on and box_term.state is TermState.active
    assert pax8.orders_for(company, bundle.id) == 1 and forticare.registrations == [(box.serial, code.value)]


async def test_a_seeded_unit_reads_back_like_any_other() -> None:
    sim = FortiCareSimulator()
    ends = sim.today + timedelta(days=30)
    sim.add_unit(
        "fgt60ftk9999zz01",
        "FortiGate-60F",
        ends,
        sku="FC-10-0060F-950-02-12",
        support_ends_on=ends + timedelta(days=90),
    )
    async with connected(sim) as adapter:
        term = await adapter.read_term("FGT60FTK9999ZZ01/22")
        whole = await adapter.read_term("FGT60FTK9999ZZ01")
        code = sim.issue_code("FC-10-0060F-950-02-12", 12)
        registered = await adapter.register_contract("FGT60FTK9999ZZ01", code)
    assert term.ends_on == ends and whole.ends_on == ends + timedelta(days=90)
    assert registered.sku == "FC-10-0060F-950-02-12" and registered.contract_number
