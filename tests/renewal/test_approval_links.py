"""Signed approval links: an admin creates one for a renewal waiting for approval, the
client opens it without an account, approves once, and the audit trail says who did; any
expired, forged, reused or outdated link answers 404 and changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from adapters.pax8.simulator import Pax8Simulator
from hub.models import AuditEvent, Renewal, VendorAccount
from hub.models.enums import RenewalState
from hub.runtime import HubRuntime
from hub.sdk.testing import serve_on_loopback
from tests import factories as f
from tests.renewal import pax8_world as w


@pytest.fixture
async def pax8(runtime: HubRuntime) -> AsyncIterator[tuple[Pax8Simulator, str]]:
    sim = Pax8Simulator(scale=(2, 3), ends_within_days=10, activation_seconds=0)
    async with serve_on_loopback(sim.app) as base:
        runtime.renewers = w.opener_for(sim, base)
        yield sim, base


async def waiting_for_approval(app: Any, api: httpx.AsyncClient, pax8: Any) -> tuple[w.Pax8World, Renewal]:
    """A renewal the price cap stopped: Pax8 raised the price by 25 %."""
    sim, base = pax8
    wd = await w.build(api, app.state.runtime.sessionmaker, sim, base, [sim.subscriptions[sim._sub_order[0]]])
    [(hub_id, sim_sub)] = wd.subs.items()
    sim.set_price(sim_sub.product_id, sim_sub.partner_cost * Decimal("1.25"))
    sm = app.state.runtime.sessionmaker
    await w.plan_and_queue(sm)
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, hub_id)
    assert renewal.state is RenewalState.awaiting_approval, renewal.reason
    return wd, renewal


def anonymous(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_a_client_opens_a_link_approves_once_and_the_audit_names_the_client(app, api, pax8):
    wd, renewal = await waiting_for_approval(app, api, pax8)
    created = await api.post(f"/renewals/{renewal.id}/approval-link")
    assert created.status_code == 200, created.text
    link = created.json()
    assert link["url"].startswith("http://hub.test/api/v1/approvals/")
    async with anonymous(app) as client:
        seen = await client.get(link["url"])
        assert seen.status_code == 200, seen.text
        assert seen.json()["renewal"]["id"] == str(renewal.id)
        assert seen.json()["expires_at"] == link["expires_at"]
        assert seen.headers["cache-control"] == "no-store"
        # The client-safe projection: what the client will pay, not the MSP's quote.
        page = seen.json()
        assert page["pays"] == "msp" and page["unit_price"] is None  # resold, no client price set
        assert not set(page["renewal"]) & {"quoted_price", "quoted_total", "previous_unit_cost", "reason"}
        assert str(renewal.quoted_price) not in seen.text
        approved = await client.post(link["url"])
        assert approved.status_code == 200, approved.text
        assert approved.json()["state"] == "approved"
        # Reused: the renewal has moved on, the link is spent.
        assert (await client.get(link["url"])).status_code == 404
        assert (await client.post(link["url"])).status_code == 404
    sm = app.state.runtime.sessionmaker
    async with sm() as session:
        events = (
            (await session.execute(select(AuditEvent).where(AuditEvent.subject_id == str(renewal.id))))
            .scalars()
            .all()
        )
    decided = [e for e in events if e.after and e.after.get("state") == "approved"]
    assert len(decided) == 1
    assert "approval link" in decided[0].actor and "client" in decided[0].actor
    assert any(e.meta.get("action") == "renewal.approval_link_created" for e in events)
    # The approval is what an admin's would be: the next step orders it, once.
    await w.run_due(sm)
    assert (await w.renewal_of(sm, str(renewal.subscription_id))).state is RenewalState.confirmed
    assert wd.orders_for(str(renewal.subscription_id)) == 1


async def test_expired_forged_and_outdated_links_answer_404_and_change_nothing(app, api, pax8, runtime):
    _, renewal = await waiting_for_approval(app, api, pax8)
    link = (await api.post(f"/renewals/{renewal.id}/approval-link")).json()
    token = token_of(link["url"])
    base = link["url"].removesuffix(token)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    async with anonymous(app) as client:
        for bad in (flipped, token[:-5], "A" * 60, token + "A"):
            for method in ("GET", "POST"):
                r = await client.request(method, base + bad)
                assert r.status_code == 404, (method, bad, r.text)
        # Expired: eight days later (links live seven).
        real_clock = runtime.clock
        runtime.clock = lambda: real_clock() + timedelta(days=8)
        try:
            assert (await client.get(link["url"])).status_code == 404
            assert (await client.post(link["url"])).status_code == 404
        finally:
            runtime.clock = real_clock
        assert (await client.get(link["url"])).status_code == 200
        # Outdated: an admin declined meanwhile; the link no longer approves anything.
        declined = await api.post(
            f"/renewals/{renewal.id}/decline", json={"version": renewal.version, "note": "no"}
        )
        assert declined.status_code == 200, declined.text
        assert (await client.get(link["url"])).status_code == 404
        assert (await client.post(link["url"])).status_code == 404
    state = (await api.get(f"/renewals/{renewal.id}")).json()["state"]
    assert state == "declined"


async def test_a_link_is_only_for_a_renewal_waiting_for_approval(app, api, pax8):
    _, renewal = await waiting_for_approval(app, api, pax8)
    await api.post(f"/renewals/{renewal.id}/decline", json={"version": renewal.version, "note": "no"})
    r = await api.post(f"/renewals/{renewal.id}/approval-link")
    assert r.status_code == 409, r.text


async def test_a_crafted_support_pin_is_not_an_approval_link(app, api, pax8):
    """Before per-purpose keys a support PIN and an approval link were ciphertexts under
    one key: a technician could store a PIN that decrypted to a link payload and approve a
    renewal anonymously, audited as the client. A PIN's ciphertext is no link now."""
    _, renewal = await waiting_for_approval(app, api, pax8)
    crafted = json.dumps({"r": str(renewal.id), "v": renewal.version, "exp": "2999-01-01T00:00:00+00:00"})
    v = await f.vendor(api)
    account = await f.account(api, str(renewal.client_id), v["id"], support_pin=crafted)
    async with app.state.runtime.sessionmaker() as session:
        stored = await session.get(VendorAccount, uuid.UUID(account["id"]))
        assert stored is not None and stored.support_pin_encrypted
        token = stored.support_pin_encrypted
    async with anonymous(app) as client:
        for method in ("GET", "POST"):
            r = await client.request(method, f"/api/v1/approvals/{token}")
            assert r.status_code == 404, r.text
    assert (await api.get(f"/renewals/{renewal.id}")).json()["state"] == "awaiting_approval"
