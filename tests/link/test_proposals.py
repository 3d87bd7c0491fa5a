"""Sync proposes links, never makes them; a technician accepts (linked, audited) or rejects
(remembered) each in one call; vendor subscriptions the hub does not know are listed and
adopted after confirmation, with the vendor's price."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

from sqlalchemy import func, select
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.models import AuditEvent, LinkProposal
from hub.models.enums import Role
from tests import factories as f
from tests.cli.test_cli import cli_env  # noqa: F401 - fixture
from tests.conftest import client_for, make_token
from tests.link.helpers import link, linkable_world
from tests.sync.helpers import sync_now

runner = CliRunner()


async def proposals(api, **params) -> list[dict]:
    r = await api.get("/link-proposals", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == len(r.json()["items"])
    return r.json()["items"]


async def unknown(api, **params) -> list[dict]:
    r = await api.get("/vendor-subscriptions/unknown", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _actions(app, subject_id: str) -> list[str]:
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(AuditEvent.meta).where(AuditEvent.subject_id == subject_id).order_by(AuditEvent.id)
        )
        return [m.get("action") for m in rows.scalars() if m.get("action")]


async def test_sync_proposes_links_with_a_score_and_a_technician_accepts_one(app, api, vendor):
    w = await linkable_world(app, api, vendor, sync=False)
    alfa_account = w["alfa_account"]["id"]
    decoy = await f.subscription(api, alfa_account, product="Firewall bundle", quantity=10)
    await sync_now(app, api, w["conn"]["id"])
    found = {p["subscription_id"]: p for p in await proposals(api)}
    assert set(found) == {w["alfa_sub"]["id"], w["beta_sub"]["id"]}  # not the decoy
    alfa = found[w["alfa_sub"]["id"]]
    assert (alfa["external_id"], alfa["score"], alfa["confidence"]) == ("S-1", 60, "medium")
    assert alfa["signals"] == ["product", "quantity", "end_date"]
    assert alfa["detail"]["vendor"]["tenant_external_id"] == "T-ALFA"
    assert alfa["detail"]["hub"]["product"] == "AV yearly"
    # Proposed, not linked.
    assert (await api.get(f"/subscriptions/{w['alfa_sub']['id']}")).json()["external_id"] is None
    assert decoy["id"] not in found

    async with client_for(app, await make_token(app, Role.technician)) as tech:
        r = await tech.post(f"/link-proposals/{alfa['id']}/accept")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted" and r.json()["decided_by"].startswith("token:")
    sub = (await api.get(f"/subscriptions/{w['alfa_sub']['id']}")).json()
    assert (sub["connection_id"], sub["external_id"]) == (w["conn"]["id"], "S-1")
    assert await _actions(app, alfa["id"]) == ["link_proposal.accepted"]
    assert "subscription.linked" in await _actions(app, w["alfa_sub"]["id"])
    # Decided once: a second accept is refused, and the next sync does not propose it again.
    assert (await api.post(f"/link-proposals/{alfa['id']}/accept")).status_code == 409
    await sync_now(app, api, w["conn"]["id"])
    assert [p["subscription_id"] for p in await proposals(api)] == [w["beta_sub"]["id"]]
    assert [p["id"] for p in await proposals(api, state="accepted")] == [alfa["id"]]
    # A client's viewer sees none of it.
    viewer = await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["alfa"]["id"]))
    async with client_for(app, viewer) as own:
        assert (await own.get("/link-proposals")).status_code == 403
        assert (await own.post(f"/link-proposals/{alfa['id']}/reject")).status_code == 403


async def test_a_rejected_proposal_is_remembered_and_never_made_again(app, api, vendor):
    w = await linkable_world(app, api, vendor)
    [beta] = await proposals(api, subscription_id=w["beta_sub"]["id"])
    r = await api.post(f"/link-proposals/{beta['id']}/reject")
    assert r.status_code == 200 and r.json()["state"] == "rejected", r.text
    for _ in range(2):
        await sync_now(app, api, w["conn"]["id"])
    assert await proposals(api, subscription_id=w["beta_sub"]["id"]) == []
    assert [p["id"] for p in await proposals(api, state="rejected")] == [beta["id"]]
    assert (await api.post(f"/link-proposals/{beta['id']}/accept")).status_code == 409
    async with app.state.runtime.sessionmaker() as session:
        rows = (await session.execute(select(func.count(LinkProposal.id)))).scalar_one()
    assert rows == 2  # one row per pair, whatever happened to it
    assert await _actions(app, beta["id"]) == ["link_proposal.rejected"]


async def test_open_proposals_are_superseded_by_a_link_by_hand_or_when_the_vendor_drops_it(app, api, vendor):
    w = await linkable_world(app, api, vendor)
    [alfa] = await proposals(api, subscription_id=w["alfa_sub"]["id"])
    [beta] = await proposals(api, subscription_id=w["beta_sub"]["id"])
    assert (await link(api, w["alfa_sub"]["id"], w["conn"]["id"], "L-1")).status_code == 200
    w["partner"].subscriptions = [s for s in w["partner"].subscriptions if s["id"] != "S-2"]
    await sync_now(app, api, w["conn"]["id"])
    assert await proposals(api) == []
    assert {p["id"] for p in await proposals(api, state="superseded")} == {alfa["id"], beta["id"]}
    assert (await api.post(f"/link-proposals/{alfa['id']}/accept")).status_code == 409


async def test_vendor_subscriptions_unknown_to_the_hub_are_listed_and_adopted_with_the_vendors_price(
    app, api, vendor
):
    w = await linkable_world(app, api, vendor, sync=False)
    w["partner"].subscriptions.append(
        {
            "id": "S-4",
            "tenant": "T-BETA",
            "name": "Backup 500 GB",
            "sku": "BK-500",
            "quantity": 3,
            "price": "12.50",
            "currency": "EUR",
            "billing": "Monthly",
            "start": "2026-02-01",
            "end": "2027-01-31",
            "auto_renew": True,
        }
    )
    await sync_now(app, api, w["conn"]["id"])
    listed = {i["external_id"]: i for i in await unknown(api)}
    # S-1 and S-2 have open proposals, S-3 an unmapped tenant, L-1 no price, S-4 all it needs.
    assert set(listed) == {"S-1", "S-2", "S-3", "S-4", "L-1"}
    assert listed["S-1"]["open_proposals"] == 1 and listed["S-4"]["open_proposals"] == 0
    preview = listed["S-4"]["adopt"]
    assert preview == {
        "client_id": w["beta"]["id"],
        "vendor_account_id": w["beta_account"]["id"],  # its external ref is the tenant
        "product": "Backup 500 GB",
        "sku": "BK-500",
        "quantity": 3,
        "unit_cost": "12.50",
        "currency": "EUR",
        "billing_period": "monthly",
        "starts_on": "2026-02-01",
        "ends_on": "2027-01-31",
        "renewal_type": "auto_vendor",  # the vendor renews it by itself: the hub must not order
        "payer": "msp_resold",
        "needs": [],
    }
    assert listed["S-3"]["client_id"] is None and any("tenant" in n for n in listed["S-3"]["adopt"]["needs"])
    assert set(listed["L-1"]["adopt"]["needs"]) == {"unit_cost", "billing_period"}

    adopt = {"connection_id": w["conn"]["id"], "external_id": "S-4"}
    no_confirm = await api.post("/vendor-subscriptions/adopt", json=adopt)
    assert no_confirm.status_code == 422 and no_confirm.json()["errors"][0]["field"] == "confirm"
    r = await api.post("/vendor-subscriptions/adopt", json={**adopt, "confirm": True})
    assert r.status_code == 201, r.text
    sub = r.json()
    assert (sub["client_id"], sub["vendor_account_id"]) == (w["beta"]["id"], w["beta_account"]["id"])
    assert (sub["product"], sub["sku"], sub["quantity"]) == ("Backup 500 GB", "BK-500", 3)
    assert (Decimal(sub["unit_cost"]), sub["currency"], sub["billing_period"]) == (
        Decimal("12.50"),
        "EUR",
        "monthly",
    )
    assert (sub["starts_on"], sub["ends_on"], sub["renewal_type"]) == (
        "2026-02-01",
        "2027-01-31",
        "auto_vendor",
    )
    assert (sub["connection_id"], sub["external_id"], sub["source"]) == (w["conn"]["id"], "S-4", "connection")
    assert await _actions(app, sub["id"]) == ["subscription.linked"]
    async with app.state.runtime.sessionmaker() as session:
        created = (
            await session.execute(
                select(AuditEvent).where(AuditEvent.subject_id == sub["id"], AuditEvent.action == "create")
            )
        ).scalar_one()
    assert created.after["external_id"] is None and created.after["unit_cost"] == "12.50"
    assert "S-4" not in {i["external_id"] for i in await unknown(api)}
    await sync_now(app, api, w["conn"]["id"])
    assert (await api.get(f"/subscriptions/{sub['id']}")).json()["last_synced_at"] is not None

    # Refusals: adopted already, a proposal to decide first, an unmapped tenant, no price.
    again = await api.post("/vendor-subscriptions/adopt", json={**adopt, "confirm": True})
    assert again.status_code == 409 and "already linked" in again.json()["detail"]
    pending = await api.post(
        "/vendor-subscriptions/adopt", json={**adopt, "external_id": "S-1", "confirm": True}
    )
    assert pending.status_code == 409 and "accept or reject that first" in pending.json()["detail"]
    orphan = await api.post(
        "/vendor-subscriptions/adopt", json={**adopt, "external_id": "S-3", "confirm": True}
    )
    assert orphan.status_code == 422 and orphan.json()["errors"][0]["field"] == "external_id"
    licence = {**adopt, "external_id": "L-1", "confirm": True}
    priceless = await api.post("/vendor-subscriptions/adopt", json=licence)
    assert priceless.status_code == 422 and priceless.json()["errors"][0]["field"] == "unit_cost"
    r = await api.post(
        "/vendor-subscriptions/adopt",
        json={**licence, "unit_cost": "4.00", "billing_period": "yearly", "payer": "client_direct"},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["quantity"], r.json()["unit_cost"], r.json()["payer"]) == (10, "4.00", "client_direct")
    assert r.json()["client_id"] == w["alfa"]["id"]  # the tenant a technician mapped to Alfa
    # Linking filled Alfa's vendor account's external ref with its tenant.
    assert (await api.get(f"/vendor-accounts/{w['alfa_account']['id']}")).json()["external_ref"] == "T-ALFA"


async def test_the_cli_lists_and_decides_proposals_and_adopts_after_confirmation(app, api, vendor, cli_env):  # noqa: F811
    w = await linkable_world(app, api, vendor)

    async def hub(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(runner.invoke, cli, list(args), input)

    listed = await hub("subscriptions", "proposals", "--json")
    assert listed.exit_code == 0, listed.output
    by_sub = {p["subscription_id"]: p for p in json.loads(listed.stdout)}
    assert set(by_sub) == {w["alfa_sub"]["id"], w["beta_sub"]["id"]}
    assert (await hub("subscriptions", "accept-proposal", by_sub[w["alfa_sub"]["id"]]["id"])).exit_code == 0
    assert (await hub("subscriptions", "reject-proposal", by_sub[w["beta_sub"]["id"]]["id"])).exit_code == 0
    assert (await api.get(f"/subscriptions/{w['alfa_sub']['id']}")).json()["external_id"] == "S-1"
    again = await hub("subscriptions", "reject-proposal", by_sub[w["beta_sub"]["id"]]["id"])
    assert again.exit_code == 1 and "rejected" in again.output and "Traceback" not in again.output

    table = await hub("subscriptions", "unknown")
    assert table.exit_code == 0 and "S-2" in table.output
    args = ("subscriptions", "adopt", "--connection", w["conn"]["id"], "--external-id", "S-2")
    declined = await hub(*args, input="n\n")
    assert declined.exit_code == 1 and "nothing adopted" in declined.output
    assert "S-2" in {i["external_id"] for i in await unknown(api)}
    done = await hub(*args, "--unit-cost", "9.90", "--billing-period", "yearly", "--yes")
    assert done.exit_code == 0, done.output
    assert "S-2" not in {i["external_id"] for i in await unknown(api)}
    bad = await hub(*args[:-1], "S-404", "--unit-cost", "lots", "--yes")
    assert bad.exit_code == 1 and "unit_cost" in bad.output
