"""Renewal routes (issue 11 §3): a Sophos licence ordered at the distributor and confirmed by
reading the licence back at Sophos Central; a FortiGate bundle ordered at the distributor,
its contract code registered at FortiCare, and the box's FortiGuard expiry read back. Each
with the distributor's answer to the order lost: one order per term, whatever happens.
Every vendor is its simulator on a real loopback socket, reached through connections made
with the API, the way a deployed hub reaches them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from adapters.fortinet_forticare.simulator import FortiCareSimulator
from adapters.fortinet_fortios.simulator import FortiosSimulator
from adapters.pax8.simulator import Pax8Simulator, SimSubscription
from adapters.sophos_central.simulator import SophosCentralSimulator
from hub.kit.time import utcnow
from hub.models import AuditEvent, Renewal
from hub.models.enums import RenewalState
from hub.renewal.states import TERMINAL
from hub.runtime import HubRuntime
from hub.sdk.testing import Fault, serve_on_loopback
from tests import factories as f
from tests.renewal import pax8_world as w

ORDER_LOST = Fault(commit_then_fail=True, status=502, method="POST", path=r"^/v1/orders$", query=r"^$")


def fast(runtime: HubRuntime) -> None:
    """Vendor retries and the renewal's waits in fractions of a second."""
    runtime.use_settings(
        adapters={
            "retry_max_attempts": 3,
            "retry_deadline_seconds": 5,
            "retry_backoff_initial_seconds": 0.01,
            "retry_backoff_max_seconds": 0.05,
            "http_timeout_seconds": 3,
        },
        renewal={"confirm_recheck_seconds": 0.2, "in_flight_grace_seconds": 4, "retry_base_seconds": 0.2},
    )


async def connect(api: httpx.AsyncClient, name: str, slug: str, config: dict[str, Any], **kw: Any) -> str:
    r = await api.post("/connections", json={"name": name, "adapter_slug": slug, "config": config, **kw})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def pax8_subscription(sim: Pax8Simulator, company_id: str, sku: str, ends_on: date) -> SimSubscription:
    product = sim.product_for(sku)
    assert product is not None
    sub = SimSubscription(
        id=str(uuid.uuid4()),
        company_id=company_id,
        product_id=product.id,
        product_name=product.name,
        quantity=1,
        status="Active",
        billing_term="Annual",
        start_date=ends_on - timedelta(days=364),
        created=utcnow() - timedelta(days=364),
        price=Decimal("38.00"),
        partner_cost=Decimal("28.50"),
        currency="EUR",
        commitment_id=product.commitments[0].id if product.commitments else None,
        commitment_term="1-Year",
        commitment_end=ends_on,
        end_date=ends_on,
    )
    sim.add_subscription(sub)
    return sub


async def settle(app: Any, subscription_id: str, on_step: Any = None, seconds: float = 30) -> Renewal:
    """Run the due renewal jobs as a worker would until the renewal settles; `on_step` sees
    the renewal after each job (the test acts as the vendors' world moving on)."""
    sm = app.state.runtime.sessionmaker
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await w.run_due(sm, rounds=5)
        renewal = await w.renewal_of(sm, subscription_id)
        if on_step is not None:
            await on_step(renewal)
        if renewal.state in TERMINAL:
            return renewal
        if renewal.state is RenewalState.unknown:
            await w.time_passes(sm, renewal.id)  # the sender's deadline and grace, in no time
        await asyncio.sleep(0.1)
    raise AssertionError(f"the renewal did not settle: {renewal.state} {renewal.reason} {renewal.last_error}")


async def audit_meta(app: Any, renewal_id: uuid.UUID) -> list[dict[str, Any]]:
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(AuditEvent.meta).where(
                AuditEvent.subject_type == "renewal", AuditEvent.subject_id == str(renewal_id)
            )
        )
        return list(rows.scalars())


async def test_a_sophos_licence_is_ordered_at_the_distributor_and_confirmed_where_it_lives(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    fast(runtime)
    pax8, sophos = Pax8Simulator(scale=(2, 4), activation_seconds=0), SophosCentralSimulator()
    pax8.faults.add(ORDER_LOST)
    company = next(iter(pax8.companies))
    tenant = next(t for t in sophos.tenants if t["licenses"])
    licence = tenant["licenses"][0]
    ends_on = date.today() + timedelta(days=5)
    licence["endDate"] = ends_on.isoformat()
    at_pax8 = pax8_subscription(pax8, company, "CIXA1CSAA", ends_on)
    async with serve_on_loopback(pax8.app) as pax8_url, serve_on_loopback(sophos.app) as sophos_url:
        client = await f.client(api, name="Studio Rossi")
        distributor = await f.vendor(api, name="Pax8", category="distributor")
        av = await f.vendor(api, name="Sophos", category="antivirus")
        await f.account(api, client["id"], distributor["id"], external_ref=company)
        account = await f.account(api, client["id"], av["id"], external_ref=tenant["id"])
        sub = await f.subscription(
            api,
            account["id"],
            product="Intercept X Advanced",
            quantity=1,
            unit_cost="28.50",
            currency="EUR",
            billing_period="yearly",
            starts_on=str(ends_on - timedelta(days=364)),
            ends_on=str(ends_on),
            renewal_type="auto_hub",
        )
        order_at = await connect(api, "Pax8", "pax8", pax8.config(pax8_url))
        confirm_at = await connect(api, "Sophos Central", "sophos_central", sophos.config(sophos_url))
        r = await api.put(
            f"/subscriptions/{sub['id']}/renewal-route",
            json={
                "order_connection_id": order_at,
                "order_ref": at_pax8.id,
                "order_tenant_ref": company,
                "confirm_connection_id": confirm_at,
                "confirm_ref": f"{tenant['id']}/{licence['id']}",
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["problem"] is None and r.json()["explicit"] is True
        await w.plan_and_queue(app.state.runtime.sessionmaker)
        new_end = ends_on + timedelta(days=365)

        async def sophos_applies_it(renewal: Renewal) -> None:
            # Once the distributor has the order, Sophos extends the licence (later).
            if renewal.vendor_order_ref and pax8.renewals_of(at_pax8.id):
                sophos.extend_licence(licence["id"], new_end)

        renewal = await settle(app, sub["id"], sophos_applies_it)
    assert renewal.state is RenewalState.confirmed, (renewal.reason, renewal.last_error)
    assert renewal.new_term_ends_on == new_end
    assert pax8.renewals_of(at_pax8.id) == 1  # the lost answer was found, never resent
    actions = [m.get("action") for m in await audit_meta(app, renewal.id)]
    assert "renewal.reconciled" in actions and "renewal.confirmed" in actions
    confirmed = next(m for m in await audit_meta(app, renewal.id) if m.get("action") == "renewal.confirmed")
    assert licence["id"] in confirmed["read_back"]  # the evidence names what was read at Sophos
    got = (await api.get(f"/subscriptions/{sub['id']}")).json()
    assert got["ends_on"] == new_end.isoformat()


async def test_a_fortigate_bundle_is_ordered_registered_at_forticare_and_read_back_on_the_box(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime
) -> None:
    fast(runtime)
    box = FortiosSimulator()
    forticare = FortiCareSimulator(
        entitlement_delay=0.3,
        on_registered=lambda serial, end: (
            box.extend_services(end, after=0.3) if serial == box.serial else None
        ),
    )
    ends_on = date.today() + timedelta(days=6)
    forticare.add_unit(box.serial, "FortiGate-60F", ends_on)
    box.extend_services(datetime.combine(ends_on, time(), UTC))  # the box agrees, for now
    pax8 = Pax8Simulator(
        scale=(2, 4), activation_seconds=0, provisioning_delay=0.5, code_issuer=forticare.issue_code
    )
    pax8.faults.add(ORDER_LOST)
    company = next(iter(pax8.companies))
    at_pax8 = pax8_subscription(pax8, company, "FC-10-0060F-950-02-12", ends_on)
    at_pax8.issues_code = True
    async with (
        serve_on_loopback(pax8.app) as pax8_url,
        serve_on_loopback(forticare.app) as care_url,
        serve_on_loopback(box.app) as box_url,
    ):
        client = await f.client(api, name="Officina Bianchi")
        distributor = await f.vendor(api, name="Pax8", category="distributor")
        fortinet = await f.vendor(api, name="Fortinet", category="firewall")
        await f.account(api, client["id"], distributor["id"], external_ref=company)
        account = await f.account(api, client["id"], fortinet["id"])
        sub = await f.subscription(
            api,
            account["id"],
            product="FortiGate-60F UTP bundle",
            quantity=1,
            unit_cost="540.00",
            currency="EUR",
            billing_period="yearly",
            starts_on=str(ends_on - timedelta(days=364)),
            ends_on=str(ends_on),
            renewal_type="auto_hub",
        )
        order_at = await connect(api, "Pax8", "pax8", pax8.config(pax8_url))
        register_at = await connect(api, "FortiCare", "fortinet_forticare", forticare.config(care_url))
        confirm_at = await connect(
            api,
            "FortiGate",
            "fortinet_fortios",
            box.config(box_url),
            client_id=client["id"],
        )
        r = await api.put(
            f"/subscriptions/{sub['id']}/renewal-route",
            json={
                "order_connection_id": order_at,
                "order_ref": at_pax8.id,
                "order_tenant_ref": company,
                "register_connection_id": register_at,
                "register_serial": box.serial,
                "confirm_connection_id": confirm_at,
                "confirm_ref": "bundle",
            },
        )
        assert r.status_code == 200, r.text
        await w.plan_and_queue(app.state.runtime.sessionmaker)

        async def forticare_backend(_renewal: Renewal) -> None:
            forticare.apply_due()

        renewal = await settle(app, sub["id"], forticare_backend)
    assert renewal.state is RenewalState.confirmed, (renewal.reason, renewal.last_error)
    assert pax8.orders_for(company, at_pax8.product_id) == 1
    assert [serial for serial, _ in forticare.registrations] == [box.serial]
    assert renewal.registration_code == forticare.registrations[0][1]
    assert renewal.new_term_ends_on is not None and renewal.new_term_ends_on > ends_on
    actions = [m.get("action") for m in await audit_meta(app, renewal.id)]
    assert actions.count("renewal.registered") == 1


async def test_a_route_whose_connections_cannot_do_their_leg_is_refused_naming_the_field(
    app: Any, api: httpx.AsyncClient
) -> None:
    client = await f.client(api)
    account = await f.account(api, client["id"], (await f.vendor(api))["id"])
    sub = await f.subscription(api, account["id"], renewal_type="auto_hub")
    sophos = SophosCentralSimulator()
    confirm_only = await connect(
        api, "Sophos", "sophos_central", sophos.config("https://api.central.sophos.com")
    )
    r = await api.put(
        f"/subscriptions/{sub['id']}/renewal-route",
        json={"order_connection_id": confirm_only, "order_ref": "x"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "order_connection_id"
    default = (await api.get(f"/subscriptions/{sub['id']}/renewal-route")).json()
    assert default["explicit"] is False and default["problem"] == "no vendor connection to order through"
