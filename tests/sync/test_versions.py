"""Sync and the version people read: sync's bookkeeping (last synced, missing since) does not
move a subscription's version, so a person's edit made on what they read goes through
after any number of syncs; a value people see (seats in use) does move it, and the spend
report follows real changes while its cache survives syncs that change nothing it shows."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import update

from hub.models import Subscription
from tests import factories as f
from tests.sync.helpers import Vendor, create_connection, sync_now


async def _attach(app: Any, subscription_id: str, external_id: str, connection_id: str) -> None:
    async with app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(Subscription)
            .where(Subscription.id == uuid.UUID(subscription_id))
            .values(external_id=external_id, connection_id=uuid.UUID(connection_id))
        )
        await session.commit()


async def _linked_world(app: Any, api: httpx.AsyncClient, vendor: Vendor, external_id: str) -> dict[str, Any]:
    client = await f.client(api, name="Alfa")
    v = await f.vendor(api, name="TestCorp")
    account = await f.account(api, client["id"], v["id"], external_ref="T-ALFA")
    sub = await f.subscription(api, account["id"], quantity=10, unit_cost="30.00")
    partner = vendor.sim.partner(
        "P1",
        tenants=[{"id": "T-ALFA", "name": "Alfa Srl"}],
        licenses=[
            {"id": "L-1", "tenant": "T-ALFA", "code": "AV", "name": "Antivirus", "paid": 10, "used": 3}
        ],
        subscriptions=[{"id": "S-1", "tenant": "T-ALFA", "name": "AV yearly", "quantity": 10}],
    )
    conn = await create_connection(api, vendor.config("P1"))
    await _attach(app, sub["id"], external_id, conn["id"])
    return {"client": client, "sub": sub, "conn": conn, "partner": partner}


async def test_a_patch_after_syncs_succeeds_with_the_version_the_person_read(app, api, vendor):
    w = await _linked_world(app, api, vendor, "S-1")
    await sync_now(app, api, w["conn"]["id"])
    read = (await api.get(f"/subscriptions/{w['sub']['id']}")).json()
    assert read["last_synced_at"] is not None
    for _ in range(2):
        await sync_now(app, api, w["conn"]["id"])
    now = (await api.get(f"/subscriptions/{w['sub']['id']}")).json()
    assert now["last_synced_at"] > read["last_synced_at"]  # sync did write its bookkeeping
    assert (now["version"], now["updated_at"]) == (read["version"], read["updated_at"])
    r = await api.patch(
        f"/subscriptions/{w['sub']['id']}", json={"version": read["version"], "notes": "renewal agreed"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == "renewal agreed"


async def test_seats_in_use_changing_at_the_vendor_moves_the_version_a_stale_edit_is_refused(
    app, api, vendor
):
    w = await _linked_world(app, api, vendor, "L-1")
    await sync_now(app, api, w["conn"]["id"])
    read = (await api.get(f"/subscriptions/{w['sub']['id']}")).json()
    assert read["seats_used"] == 3
    await sync_now(app, api, w["conn"]["id"])  # nothing changed: the version stays
    assert (await api.get(f"/subscriptions/{w['sub']['id']}")).json()["version"] == read["version"]
    w["partner"].licenses[0]["used"] = 7
    await sync_now(app, api, w["conn"]["id"])
    now = (await api.get(f"/subscriptions/{w['sub']['id']}")).json()
    assert now["seats_used"] == 7 and now["version"] == read["version"] + 1
    assert now["updated_at"] > read["updated_at"]
    stale = await api.patch(
        f"/subscriptions/{w['sub']['id']}", json={"version": read["version"], "quantity": 5}
    )
    assert stale.status_code == 409, stale.text
    fresh = await api.patch(
        f"/subscriptions/{w['sub']['id']}", json={"version": now["version"], "quantity": 7}
    )
    assert fresh.status_code == 200, fresh.text


async def test_the_spend_report_cache_survives_a_sync_and_follows_a_real_change(app, api, vendor):
    w = await _linked_world(app, api, vendor, "S-1")
    cache = app.state.spend_cache
    spend = f"/clients/{w['client']['id']}/spend"
    await sync_now(app, api, w["conn"]["id"])
    first = (await api.get(spend)).json()
    assert [line["unit_cost"] for line in first["lines"]] == ["30.00"]
    misses = cache.misses
    await sync_now(app, api, w["conn"]["id"])
    assert (await api.get(spend)).json() == first
    assert cache.misses == misses  # served from the cache: nothing the report shows changed
    sub = (await api.get(f"/subscriptions/{w['sub']['id']}")).json()
    r = await api.patch(
        f"/subscriptions/{w['sub']['id']}", json={"version": sub["version"], "unit_cost": "32.50"}
    )
    assert r.status_code == 200, r.text
    after = (await api.get(spend)).json()
    assert [line["unit_cost"] for line in after["lines"]] == ["32.50"]
    assert cache.misses == misses + 1
