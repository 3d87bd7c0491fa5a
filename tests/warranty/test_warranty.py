"""The daily warranty lookup against the Dell TechDirect simulator over loopback HTTP, run
as a worker runs its jobs, and the quarterly review list (API, CSV, CLI)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from adapters.dell_techdirect import spec as dell_spec
from adapters.dell_techdirect.simulator import DellSimulator
from hub.db import session_scope
from hub.jobs import enqueue, queue
from hub.jobs.worker import run_task
from hub.kit.time import today
from hub.models import AuditEvent, Warranty
from hub.models.enums import Role
from hub.models.sync import Discrepancy
from hub.runtime import HubRuntime
from hub.sdk.registry import Registry
from hub.sdk.testing import Fault, serve_on_loopback
from hub.warranty import service
from hub.warranty.schemas import RefreshWarranties
from tests import factories as f
from tests.cli.test_cli import cli_env, invoke
from tests.conftest import client_for, make_token
from tests.sync.helpers import claim

__all__ = ["cli_env"]


@pytest.fixture
def dell_registry(runtime: HubRuntime) -> Registry:
    runtime.adapters = Registry({"dell_techdirect": dell_spec}, {})
    return runtime.adapters


@pytest.fixture
async def dell(dell_registry: Registry) -> AsyncIterator[tuple[DellSimulator, str]]:
    sim = DellSimulator(page_size=2)  # 2 tags per call: the batching shows with a handful of assets
    async with serve_on_loopback(sim.app) as base_url:
        yield sim, base_url


def _in(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


async def manual_warranty(api: httpx.AsyncClient, asset_id: str, level: str, ends_in: int) -> dict[str, Any]:
    r = await api.post(
        "/warranties",
        json={"asset_id": asset_id, "level": level, "starts_on": _in(-1000), "ends_on": _in(ends_in)},
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def world(api: httpx.AsyncClient, base_url: str, sim: DellSimulator) -> dict[str, Any]:
    alfa = await f.client(api, name="Alfa", slug="alfa")
    beta = await f.client(api, name="Beta", slug="beta")
    a = {
        serial: (await f.asset(api, alfa["id"], name=f"pc-{serial.lower()}", serial=serial, model="Latitude"))
        for serial in ("7XK2QH3", "2MLDC93", "9FQW8R3", "4B7MZT2", "UNKNWN1")
    }
    hp = await f.asset(api, alfa["id"], name="printer", kind="printer", manufacturer="HP", serial="HPX0001")
    old = await f.asset(api, beta["id"], name="old-laptop", serial="CN3RJ62", model="Latitude 7490")
    # Covered for longer than any reminder: not asked about.
    await manual_warranty(api, a["9FQW8R3"]["id"], "ProSupport Plus (contract)", 400)
    # Entered by hand, ending in 10 days; Dell says ProSupport runs 35 more days.
    manual = await manual_warranty(api, a["4B7MZT2"]["id"], "NBD (contract)", 10)
    await manual_warranty(api, old["id"], "Basic", -1000)
    r = await api.post(
        "/connections",
        json={"name": "Dell", "adapter_slug": "dell_techdirect", "config": sim.config(base_url)},
    )
    assert r.status_code == 201, r.text
    return {"alfa": alfa, "beta": beta, "assets": a, "hp": hp, "old": old, "manual": manual, "conn": r.json()}


async def run_refresh(app: Any) -> int:
    """The daily job as the scheduler would queue it, then every lookup it queued, as a
    worker runs them."""
    sm = app.state.runtime.sessionmaker
    async with session_scope(sm) as session:
        await enqueue(session, RefreshWarranties())
    ctx = await claim(sm, service.REFRESH_TASK)
    assert ctx is not None
    await run_task(ctx)
    ran = 0
    while (ctx := await claim(sm, service.LOOKUP_TASK)) is not None:
        await run_task(ctx)
        if not ctx.finished:
            async with session_scope(sm) as session:
                await queue.complete(session, ctx.job_id, ctx.attempt, ctx.owner)
        ran += 1
    return ran


async def warranties_of(app: Any, asset_id: str) -> list[Warranty]:
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(select(Warranty).where(Warranty.asset_id == uuid.UUID(asset_id)))
        return list(rows.scalars())


async def test_the_daily_lookup_asks_only_what_ends_within_the_ladder_in_batches_and_writes_warranties(
    app, api, dell
):
    sim, base_url = dell
    w = await world(api, base_url, sim)
    assert await run_refresh(app) == 1
    asked = [tag for batch in sim.lookups for tag in batch]
    # Due: no warranty known, or ending within 90 days (the warranty ladder's largest step);
    # only Dell's hardware goes to Dell; the asset covered for 400 days is not asked about.
    assert sorted(asked) == ["2MLDC93", "4B7MZT2", "7XK2QH3", "CN3RJ62", "UNKNWN1"]
    assert all(len(batch) <= 2 for batch in sim.lookups) and len(sim.lookups) == 3
    # Found entitlements become adapter-sourced warranties.
    a = w["assets"]
    new = await warranties_of(app, a["7XK2QH3"]["id"])
    assert {(x.level, x.source.value, x.ends_on.isoformat()) for x in new} == {
        ("ND", "adapter", _in(320)),  # Dell's service level codes
        ("KK", "adapter", _in(320)),
    }
    assert all(x.last_checked_at is not None for x in new)
    assert [x.ends_on.isoformat() for x in await warranties_of(app, a["2MLDC93"]["id"])] == [_in(5)]
    assert await warranties_of(app, a["UNKNWN1"]["id"]) == []
    # The manual warranty is never changed; Dell's later date is flagged instead.
    by_level = {x.level: x for x in await warranties_of(app, a["4B7MZT2"]["id"])}
    assert by_level["NBD (contract)"].ends_on.isoformat() == _in(10)
    assert by_level["NBD (contract)"].source.value == "manual"
    assert by_level["NBD (contract)"].version == w["manual"]["version"]
    async with app.state.runtime.sessionmaker() as session:
        flagged = (await session.execute(select(Discrepancy))).scalars().all()
        events = (
            (await session.execute(select(AuditEvent).where(AuditEvent.subject_id == w["conn"]["id"])))
            .scalars()
            .all()
        )
    assert [(d.subject_type, d.hub_value, d.vendor_value) for d in flagged] == [
        ("warranty", _in(10), _in(35))
    ]
    lookups = [e.meta for e in events if e.meta.get("action") == "warranty_lookup"]
    assert len(lookups) == 1 and lookups[0]["ok"] is True
    assert lookups[0]["stats"]["asked"] == 5 and lookups[0]["stats"]["found"] == 4
    assert lookups[0]["stats"]["horizon_days"] == 90

    # The next day: what now ends beyond the horizon is not asked about again.
    sim.lookups.clear()
    assert await run_refresh(app) == 1
    assert sorted(t for batch in sim.lookups for t in batch) == ["2MLDC93", "4B7MZT2", "CN3RJ62", "UNKNWN1"]
    async with app.state.runtime.sessionmaker() as session:
        still = (await session.execute(select(Discrepancy))).scalars().all()
    assert [d.resolved_at for d in still] == [None]


async def test_a_longer_warranty_ladder_widens_the_lookup(app, api, dell):
    sim, base_url = dell
    await world(api, base_url, sim)
    r = await api.post("/notify/ladders", json={"scope": "category", "key": "warranty", "days": [500, 30]})
    assert r.status_code in (200, 201), r.text
    await run_refresh(app)
    assert "9FQW8R3" in {t for batch in sim.lookups for t in batch}  # 400 days < 500


async def test_a_failing_vendor_is_audited_and_writes_no_warranty(app, api, dell):
    sim, base_url = dell
    w = await world(api, base_url, sim)
    sim.faults.add(Fault(status=401, times=100, path=r"/PROD/"))
    await run_refresh(app)
    assert await warranties_of(app, w["assets"]["7XK2QH3"]["id"]) == []
    async with app.state.runtime.sessionmaker() as session:
        events = (await session.execute(select(AuditEvent))).scalars().all()
    failed = [e.meta for e in events if e.meta.get("action") == "warranty_lookup"]
    assert failed and all(m["ok"] is False for m in failed)
    assert all("dell-sim-secret" not in json.dumps(m) for m in failed)


async def test_the_review_lists_assets_out_of_or_ending_warranty_per_client_scoped_for_viewers(
    app, api, dell
):
    sim, base_url = dell
    w = await world(api, base_url, sim)
    await run_refresh(app)
    r = await api.get("/warranties/review", params={"days": 90})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = [(i["client"]["slug"], i["serial"], i["status"], i["warranty_ends_on"]) for i in body["items"]]
    assert rows == [
        ("alfa", "2MLDC93", "ending", _in(5)),
        ("alfa", "4B7MZT2", "ending", _in(35)),
        ("alfa", "UNKNWN1", "unknown", None),  # unknown last, then by asset name
        ("alfa", "HPX0001", "unknown", None),
        ("beta", "CN3RJ62", "expired", _in(-1000)),
    ]
    assert body["total"] == 5
    first = body["items"][0]
    assert (first["manufacturer"], first["model"], first["days_left"]) == ("Dell", "Latitude", 5)
    narrow = (await api.get("/warranties/review", params={"days": 7, "client_id": w["alfa"]["id"]})).json()
    assert [i["serial"] for i in narrow["items"]] == ["2MLDC93", "UNKNWN1", "HPX0001"]
    text = (await api.get("/warranties/review", params={"format": "csv"})).text
    table = list(csv.DictReader(io.StringIO(text)))
    assert [row["serial"] for row in table] == ["2MLDC93", "4B7MZT2", "UNKNWN1", "HPX0001", "CN3RJ62"]
    assert table[0]["manufacturer"] == "Dell" and table[0]["warranty_ends_on"] == _in(5)
    # A viewer of Beta sees Beta's assets only, whatever it asks for.
    token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["beta"]["id"]))
    async with client_for(app, token) as viewer:
        own = (await viewer.get("/warranties/review")).json()
        asked_alfa = (await viewer.get("/warranties/review", params={"client_id": w["alfa"]["id"]})).json()
        csv_text = (await viewer.get("/warranties/review", params={"format": "csv"})).text
    assert [i["serial"] for i in own["items"]] == ["CN3RJ62"]
    assert asked_alfa["items"] == [] and asked_alfa["total"] == 0
    assert "alfa" not in csv_text.lower() and "CN3RJ62" in csv_text


async def test_the_cli_review_prints_the_same_list(app, api, dell, cli_env):
    sim, base_url = dell
    await world(api, base_url, sim)
    result = await asyncio.to_thread(invoke, "warranties", "review", "--client", "beta", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(i["serial"], i["status"]) for i in data["items"]] == [("CN3RJ62", "expired")]
    table = await asyncio.to_thread(invoke, "warranties", "review", "--days", "30")
    assert table.exit_code == 0 and "CN3RJ62" in table.stdout and "UNKNWN1" in table.stdout
    missing = await asyncio.to_thread(invoke, "warranties", "review", "--client", "nobody")
    assert missing.exit_code == 1


async def test_the_review_csv_neutralises_a_formula_after_a_semicolon(api):
    c = await f.client(api)
    await f.asset(api, c["id"], name='srv;=HYPERLINK("http://x")', manufacturer="Acme;+cmd|'/C calc'!A0")
    text = (await api.get("/warranties/review", params={"format": "csv"})).text
    assert "srv" in text
    # Read as a spreadsheet set to ';' reads it: every cell, none a formula.
    cells = [cell.strip().strip('"') for line in text.splitlines() for cell in line.split(";")]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@")], cells
