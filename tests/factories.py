"""Builders that create rows through the API, as a user would."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

_seq = itertools.count(1)


def _ok(r: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text}"
    return r.json()  # type: ignore[no-any-return]


async def client(api: httpx.AsyncClient, **kw: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {"name": f"Client {n}", "slug": f"client-{n}", **kw}
    return _ok(await api.post("/clients", json=body))


async def vendor(api: httpx.AsyncClient, **kw: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {"name": f"Vendor {n}", "category": "antivirus", **kw}
    return _ok(await api.post("/vendors", json=body))


async def account(api: httpx.AsyncClient, client_id: str, vendor_id: str, **kw: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {"client_id": client_id, "vendor_id": vendor_id, "account_number": f"ACC-{n}", **kw}
    return _ok(await api.post("/vendor-accounts", json=body))


async def subscription(api: httpx.AsyncClient, account_id: str, **kw: Any) -> dict[str, Any]:
    body = {
        "vendor_account_id": account_id,
        "product": "Intercept X Advanced",
        "quantity": 10,
        "unit_cost": "30.00",
        "billing_period": "yearly",
        "payer": "msp_resold",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        **kw,
    }
    return _ok(await api.post("/subscriptions", json=body))


async def asset(api: httpx.AsyncClient, client_id: str, **kw: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {
        "client_id": client_id,
        "kind": "server",
        "name": f"srv-{n}",
        "manufacturer": "Dell",
        "serial": f"SN{n:06d}",
        **kw,
    }
    return _ok(await api.post("/assets", json=body))


async def domain(api: httpx.AsyncClient, client_id: str, **kw: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {"client_id": client_id, "name": f"client{n}.example.com", **kw}
    return _ok(await api.post("/domains", json=body))


async def world(api: httpx.AsyncClient) -> dict[str, Any]:
    """One client with a vendor, an account and a subscription."""
    c = await client(api)
    v = await vendor(api)
    a = await account(api, c["id"], v["id"])
    s = await subscription(api, a["id"])
    return {"client": c, "vendor": v, "account": a, "subscription": s}
