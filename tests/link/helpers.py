"""A partner at the test vendor with two tenants, Alfa (mapped to the hub client Alfa by a
technician) and Beta (mapped through Beta's vendor account), their vendor subscriptions
and licences, a connection synced once, and hub subscriptions not linked to anything."""

from __future__ import annotations

from typing import Any

import httpx

from tests import factories as f
from tests.sync.helpers import Vendor, create_connection, sync_now


async def linkable_world(
    app: Any, api: httpx.AsyncClient, vendor: Vendor, *, sync: bool = True
) -> dict[str, Any]:
    alfa = await f.client(api, name="Alfa")
    beta = await f.client(api, name="Beta")
    v = await f.vendor(api, name="TestCorp")
    alfa_account = await f.account(api, alfa["id"], v["id"])  # no external ref: mapped by hand
    beta_account = await f.account(api, beta["id"], v["id"], external_ref="T-BETA")
    alfa_sub = await f.subscription(
        api,
        alfa_account["id"],
        product="AV yearly",
        quantity=10,
        starts_on="2026-01-01",
        ends_on="2026-12-31",
    )
    beta_sub = await f.subscription(api, beta_account["id"], product="AV yearly", quantity=5)
    partner = vendor.sim.partner(
        "P1",
        tenants=[
            {"id": "T-ALFA", "name": "Alfa Srl"},
            {"id": "T-BETA", "name": "Beta Spa"},
            {"id": "T-NEW", "name": "Nobody Yet"},
        ],
        licenses=[
            {"id": "L-1", "tenant": "T-ALFA", "code": "AV", "name": "Antivirus", "paid": 10, "used": 4},
        ],
        subscriptions=[
            {"id": "S-1", "tenant": "T-ALFA", "name": "AV yearly", "quantity": 10, "end": "2026-12-31"},
            {"id": "S-2", "tenant": "T-BETA", "name": "AV yearly", "quantity": 5, "end": "2026-12-31"},
            {"id": "S-3", "tenant": "T-NEW", "name": "AV yearly", "quantity": 1, "end": "2026-12-31"},
        ],
    )
    conn = await create_connection(api, vendor.config("P1"), name="TestCorp partner")
    r = await api.put(f"/connections/{conn['id']}/tenants/T-ALFA", json={"client_id": alfa["id"]})
    assert r.status_code == 200, r.text
    if sync:
        await sync_now(app, api, conn["id"])
    return {
        "alfa": alfa,
        "beta": beta,
        "alfa_account": alfa_account,
        "beta_account": beta_account,
        "alfa_sub": alfa_sub,
        "beta_sub": beta_sub,
        "partner": partner,
        "conn": conn,
    }


async def link(api: httpx.AsyncClient, sub_id: str, connection_id: str, external_id: str) -> httpx.Response:
    version = (await api.get(f"/subscriptions/{sub_id}")).json()["version"]
    return await api.post(
        f"/subscriptions/{sub_id}/link",
        json={"connection_id": connection_id, "external_id": external_id, "version": version},
    )
