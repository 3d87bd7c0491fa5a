"""Sync end to end: the test adapter against its simulator over real loopback HTTP, jobs
run as a worker runs them, results read back through the API."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select, update

from hub.jobs.worker import run_task
from hub.models import Asset, AuditEvent, Connection, Subscription, Warranty
from hub.models.sync import VendorRecord
from hub.sdk.testing import Fault, serve_on_loopback
from hub.sync.schemas import ScheduleSyncs
from tests import factories as f
from tests.sync.helpers import Vendor, create_connection, run_queued_syncs, sync_now
from tests.sync.testvendor import AcmeSimulator


async def _set_external_id(app: Any, subscription_id: str, external_id: str) -> None:
    # The API does not let users set a subscription's external id; an importer would.
    async with app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(Subscription)
            .where(Subscription.id == uuid.UUID(subscription_id))
            .values(external_id=external_id)
        )
        await session.commit()


async def world(app: Any, api: httpx.AsyncClient, vendor: Vendor) -> dict[str, Any]:
    """Alfa (its vendor account's external ref is tenant T-ALFA), Beta (owns beta.example),
    and a partner with those two tenants and one nobody in the hub knows."""
    alfa = await f.client(api, name="Alfa")
    beta = await f.client(api, name="Beta")
    v = await f.vendor(api, name="TestCorp")
    acc = await f.account(api, alfa["id"], v["id"], external_ref="T-ALFA")
    await f.domain(api, beta["id"], name="beta.example")
    sub = await f.subscription(api, acc["id"], quantity=10, starts_on="2026-01-01", ends_on="2026-12-31")
    await _set_external_id(app, sub["id"], "S-1")
    fw_asset = await f.asset(api, alfa["id"], kind="firewall", manufacturer="TestCorp", serial="FW0001")
    hw_asset = await f.asset(api, beta["id"], manufacturer="TestCorp", serial="HW0001")
    p = vendor.sim.partner(
        "P1",
        tenants=[
            {"id": "T-ALFA", "name": "Alfa Srl"},
            {"id": "T-BETA", "name": "Beta Spa", "domain": "BETA.example"},
            {"id": "T-NEW", "name": "Nobody Yet"},
        ],
        licenses=[
            {"id": "L-1", "tenant": "T-ALFA", "code": "AV", "name": "Antivirus", "paid": 10, "used": 12},
            {"id": "L-2", "tenant": "T-BETA", "code": "AV", "name": "Antivirus", "paid": 5, "used": 3},
            {"id": "L-3", "tenant": "T-NEW", "code": "AV", "name": "Antivirus", "paid": 1, "used": 1},
        ],
        subscriptions=[
            {"id": "S-1", "tenant": "T-ALFA", "name": "AV yearly", "quantity": 10, "end": "2027-01-31"}
        ],
        devices=[{"serial": "FW0001", "version": "7.2.1", "latest": "7.2.8"}],
        warranties={"HW0001": [{"level": "ProSupport", "start": "2025-01-01", "end": "2028-01-01"}]},
    )
    conn = await create_connection(api, vendor.config("P1"), name="TestCorp partner")
    return {
        "alfa": alfa,
        "beta": beta,
        "sub": sub,
        "fw": fw_asset,
        "hw": hw_asset,
        "partner": p,
        "conn": conn,
    }


async def records(app: Any, connection_id: str) -> list[VendorRecord]:
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(VendorRecord).where(VendorRecord.connection_id == uuid.UUID(connection_id))
        )
        return list(rows.scalars())


async def test_a_full_sync_stores_records_maps_tenants_writes_facts_and_flags_discrepancies(app, api, vendor):
    w = await world(app, api, vendor)
    conn = await sync_now(app, api, w["conn"]["id"])
    assert conn["health"] == "ok" and conn["last_success_at"] and conn["consecutive_failures"] == 0
    stored = await records(app, conn["id"])
    kinds = sorted((r.kind, r.external_id) for r in stored)
    assert kinds == sorted(
        [("tenants", t) for t in ("T-ALFA", "T-BETA", "T-NEW")]
        + [("license_usage", x) for x in ("L-1", "L-2", "L-3")]
        + [("subscriptions", "S-1"), ("firmware", "FW0001"), ("warranty", "FW0001"), ("warranty", "HW0001")]
    )
    by_id = {r.external_id: r for r in stored if r.kind == "license_usage"}
    assert by_id["L-1"].payload["seats_used"] == 12 and str(by_id["L-1"].client_id) == w["alfa"]["id"]
    assert str(by_id["L-2"].client_id) == w["beta"]["id"] and by_id["L-3"].client_id is None

    tenants = (await api.get(f"/connections/{conn['id']}/tenants")).json()["items"]
    assert {t["external_id"]: (t["client_id"], t["mapped_by"]) for t in tenants} == {
        "T-ALFA": (w["alfa"]["id"], "external_ref"),
        "T-BETA": (w["beta"]["id"], "domain"),
        "T-NEW": (None, None),
    }

    found = (await api.get("/discrepancies", params={"client_id": w["alfa"]["id"]})).json()["items"]
    assert sorted((d["kind"], d["external_id"]) for d in found) == [
        ("end_date_mismatch", "S-1"),
        ("seats_over_paid", "L-1"),
    ]
    end = next(d for d in found if d["kind"] == "end_date_mismatch")
    assert (end["hub_value"], end["vendor_value"]) == ("2026-12-31", "2027-01-31")
    assert end["subject_id"] == w["sub"]["id"]

    fw = (await api.get(f"/assets/{w['fw']['id']}")).json()
    assert fw["firmware_version"] == "7.2.1"
    warranties = (await api.get(f"/assets/{w['hw']['id']}/warranties")).json()
    items = warranties["items"] if isinstance(warranties, dict) else warranties
    assert [(x["level"], x["ends_on"], x["source"]) for x in items] == [
        ("ProSupport", "2028-01-01", "adapter")
    ]
    sub = (await api.get(f"/subscriptions/{w['sub']['id']}")).json()
    assert sub["quantity"] == 10 and sub["ends_on"] == "2026-12-31"  # flagged, never overwritten
    async with app.state.runtime.sessionmaker() as session:
        audits = (
            (await session.execute(select(AuditEvent).where(AuditEvent.subject_id == conn["id"])))
            .scalars()
            .all()
        )
    assert {(a.action.value, a.meta.get("action")) for a in audits} >= {
        ("vendor_action", "sync_requested"),
        ("vendor_action", "sync"),
    }


async def test_a_second_sync_marks_the_vanished_record_missing_and_resolves_what_no_longer_holds(
    app, api, vendor
):
    w = await world(app, api, vendor)
    await sync_now(app, api, w["conn"]["id"])
    first = {(r.kind, r.external_id): r for r in await records(app, w["conn"]["id"])}
    p = w["partner"]
    p.licenses = [lic for lic in p.licenses if lic["id"] != "L-3"]
    p.licenses[0]["used"] = 9  # Alfa no longer uses more seats than it pays for
    await sync_now(app, api, w["conn"]["id"])
    second = {(r.kind, r.external_id): r for r in await records(app, w["conn"]["id"])}
    assert second.keys() == first.keys()  # nothing duplicated, nothing deleted
    assert second[("license_usage", "L-3")].missing_since is not None
    assert all(r.missing_since is None for k, r in second.items() if k != ("license_usage", "L-3"))
    assert second[("license_usage", "L-2")].first_seen_at == first[("license_usage", "L-2")].first_seen_at
    assert second[("license_usage", "L-1")].payload["seats_used"] == 9

    open_now = (await api.get("/discrepancies", params={"client_id": w["alfa"]["id"]})).json()["items"]
    assert [d["kind"] for d in open_now] == ["end_date_mismatch"]
    history = (
        await api.get("/discrepancies", params={"client_id": w["alfa"]["id"], "include_resolved": True})
    ).json()["items"]
    resolved = [d for d in history if d["resolved_at"]]
    assert [d["kind"] for d in resolved] == ["seats_over_paid"]

    # The licence comes back: no longer missing, still one row.
    p.licenses.append(
        {"id": "L-3", "tenant": "T-NEW", "code": "AV", "name": "Antivirus", "paid": 1, "used": 1}
    )
    await sync_now(app, api, w["conn"]["id"])
    third = {(r.kind, r.external_id): r for r in await records(app, w["conn"]["id"])}
    assert len(third) == len(first) and third[("license_usage", "L-3")].missing_since is None


async def test_unmapped_tenants_are_listed_and_a_technician_maps_one(app, api, vendor):
    w = await world(app, api, vendor)
    await sync_now(app, api, w["conn"]["id"])
    unmapped = (await api.get(f"/connections/{w['conn']['id']}/tenants", params={"mapped": False})).json()
    assert [t["external_id"] for t in unmapped["items"]] == ["T-NEW"] and unmapped["total"] == 1
    gamma = await f.client(api, name="Gamma")
    r = await api.put(f"/connections/{w['conn']['id']}/tenants/T-NEW", json={"client_id": gamma["id"]})
    assert r.status_code == 200, r.text
    assert (r.json()["client_id"], r.json()["mapped_by"]) == (gamma["id"], "manual")
    assert (await api.get(f"/connections/{w['conn']['id']}/tenants", params={"mapped": False})).json()[
        "total"
    ] == 0
    lic = next(x for x in await records(app, w["conn"]["id"]) if x.external_id == "L-3")
    assert str(lic.client_id) == gamma["id"]
    # A later sync keeps the technician's choice.
    await sync_now(app, api, w["conn"]["id"])
    t = (await api.get(f"/connections/{w['conn']['id']}/tenants", params={"mapped": True})).json()["items"]
    assert {x["external_id"]: x["client_id"] for x in t}["T-NEW"] == gamma["id"]
    bad = await api.put(
        f"/connections/{w['conn']['id']}/tenants/T-NEW", json={"client_id": str(uuid.uuid4())}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "client_id"


async def test_a_wrong_secret_shows_needs_reauth_in_the_api_without_the_secret(app, api, vendor, caplog):
    caplog.set_level(logging.DEBUG)
    vendor.sim.partner("P9")
    wrong = "Wr0ng-Secret-Value-42"
    conn = await create_connection(api, vendor.config("P9", secret=wrong))
    tested = await api.post(f"/connections/{conn['id']}/test")
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is False and tested.json()["health"] == "needs_reauth"
    got = await sync_now(app, api, conn["id"])
    assert got["health"] == "needs_reauth"
    assert got["last_error"] and "AuthenticationFailed" in got["last_error"]
    assert got["consecutive_failures"] == 2
    assert wrong not in (await api.get("/audit", params={"limit": 1000})).text
    assert wrong not in caplog.text and wrong not in got["last_error"]
    # Fixing the secret (only the secret: the rest of the config is kept) brings it back.
    fixed = await api.patch(
        f"/connections/{conn['id']}",
        json={
            "version": got["version"],
            "config": {**vendor.config("P9"), "client_secret": vendor.sim.partners["P9"].client_secret},
        },
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["health"] == "unknown"
    assert (await sync_now(app, api, conn["id"]))["health"] == "ok"


async def test_a_vendor_failing_with_503_is_degraded_and_does_not_hold_up_another(app, api, vendor):
    broken = AcmeSimulator()
    broken.partner("BAD")
    broken.faults.add(Fault(status=503, times=None, path=r"^/v1/"))
    vendor.sim.partner("GOOD", tenants=[{"id": "T1", "name": "One"}])
    async with serve_on_loopback(broken.app) as broken_url:
        bad = await create_connection(api, broken.config_for(broken_url, "BAD"))
        good = await create_connection(api, vendor.config("GOOD"))
        for c in (bad, good):
            assert (await api.post(f"/connections/{c['id']}/sync")).status_code == 202
        assert await run_queued_syncs(app.state.runtime.sessionmaker) == 2
    bad_now = (await api.get(f"/connections/{bad['id']}")).json()
    good_now = (await api.get(f"/connections/{good['id']}")).json()
    assert bad_now["health"] == "degraded" and "503" in bad_now["last_error"]
    assert bad_now["next_sync_at"] and bad_now["last_success_at"] is None
    assert good_now["health"] == "ok" and len(await records(app, good["id"])) == 1


async def test_a_hung_vendor_ends_at_the_sync_deadline_as_degraded(app, api, runtime, vendor):
    runtime.use_settings(sync={"http_timeout_seconds": 0.5, "deadline_seconds": 2})
    vendor.sim.partner("SLOW")
    vendor.sim.faults.add(Fault(hang=True, times=None, path=r"^/v1/tenants"))
    vendor.sim.faults.hang_seconds = 30
    conn = await create_connection(api, vendor.config("SLOW"))
    got = await sync_now(app, api, conn["id"])
    assert got["health"] == "degraded"
    assert "VendorUnavailable" in got["last_error"]


async def test_secrets_are_write_only_kept_on_update_and_never_logged(app, api, vendor, caplog):
    caplog.set_level(logging.DEBUG)
    vendor.sim.partner("PX", tenants=[{"id": "T1", "name": "One"}])
    config = vendor.config("PX")
    secret = config["client_secret"]
    created = await create_connection(api, config)
    assert (
        created["config"]["client_secret"]["set"] is True and created["config"]["client_secret"]["changed_at"]
    )
    assert created["config"]["partner_id"] == "PX" and created["account_ref"] == "PX"
    listed = await api.get("/connections")
    one = await api.get(f"/connections/{created['id']}")
    assert secret not in listed.text and secret not in one.text and secret not in created.__repr__()
    # Rename and change a non-secret field without resending the secret: it is kept.
    changed_at = created["config"]["client_secret"]["changed_at"]
    patch = {k: v for k, v in config.items() if k != "client_secret"} | {"region": "us"}
    r = await api.patch(
        f"/connections/{created['id']}",
        json={"version": created["version"], "name": "Renamed", "config": patch},
    )
    assert r.status_code == 200, r.text
    assert (
        r.json()["config"]["region"] == "us"
        and r.json()["config"]["client_secret"]["changed_at"] == changed_at
    )
    assert (await sync_now(app, api, created["id"]))["health"] == "ok"
    # Failures everywhere: a test with a bad secret, a sync against a failing vendor.
    vendor.sim.faults.add(Fault(status=500, times=None, path=r"^/v1/"))
    assert (await api.post(f"/connections/{created['id']}/test")).json()["ok"] is False
    await sync_now(app, api, created["id"])
    async with app.state.runtime.sessionmaker() as session:
        row = await session.get(Connection, uuid.UUID(created["id"]))
        assert row is not None and secret not in row.config_encrypted
    everything = [
        (await api.get("/audit", params={"limit": 1000})).text,
        (await api.get(f"/connections/{created['id']}")).text,
        caplog.text,
    ]
    assert all(secret not in text for text in everything)
    assert "client_secret" in (await api.get("/adapters")).text


async def test_config_is_validated_by_the_adapter_and_one_vendor_account_has_one_connection(api, vendor):
    vendor.sim.partner("P1")
    good = vendor.config("P1")
    r = await api.post(
        "/connections",
        json={"name": "x", "adapter_slug": "testvendor", "config": {**good, "client_secret": "short"}},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "config.client_secret"
    assert "short" not in r.text
    r = await api.post("/connections", json={"name": "x", "adapter_slug": "nope", "config": good})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "adapter_slug"
    await create_connection(api, good)
    again = await api.post("/connections", json={"name": "y", "adapter_slug": "testvendor", "config": good})
    assert again.status_code == 409, again.text


async def test_a_client_viewer_sees_only_its_own_connection_and_no_internals(app, api, vendor):
    from hub.models.enums import Role
    from tests.api.test_access import caller
    from tests.conftest import make_token

    w = await world(app, api, vendor)
    vendor.sim.partner(
        "ALFA-OWN", licenses=[{"id": "LA", "tenant": "X", "code": "AV", "name": "AV", "paid": 1, "used": 2}]
    )
    vendor.sim.partner(
        "BETA-OWN", licenses=[{"id": "LB", "tenant": "X", "code": "AV", "name": "AV", "paid": 1, "used": 2}]
    )
    own = await create_connection(api, vendor.config("ALFA-OWN"), client_id=w["alfa"]["id"])
    other = await create_connection(api, vendor.config("BETA-OWN"), client_id=w["beta"]["id"])
    for c in (w["conn"], own, other):
        await sync_now(app, api, c["id"])
    token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["alfa"]["id"]))
    async with caller(app, token) as viewer:
        listed = (await viewer.get("/connections")).json()
        assert [c["id"] for c in listed["items"]] == [own["id"]] and listed["total"] == 1
        assert (await viewer.get(f"/connections/{w['conn']['id']}")).status_code == 404  # MSP-wide
        assert (await viewer.get(f"/connections/{other['id']}")).status_code == 404
        # Its own connection shows which vendor and whether it works, nothing of its config.
        mine = (await viewer.get(f"/connections/{own['id']}")).json()
        assert mine["health"] and not {"config", "account_ref", "last_error"} & set(mine)
        # Tenant mappings and discrepancies are the MSP's work (issue 11 §6): staff only.
        assert (await viewer.get(f"/connections/{own['id']}/tenants")).status_code == 403
        assert (await viewer.get(f"/connections/{other['id']}/tenants")).status_code == 403
        assert (await viewer.get("/discrepancies", params={"limit": 1000})).status_code == 403
        assert (await viewer.post(f"/connections/{own['id']}/sync")).status_code == 403
        assert (await viewer.post(f"/connections/{own['id']}/test")).status_code == 403
        assert (await viewer.get("/adapters")).status_code == 403
    staff = (await api.get("/discrepancies", params={"limit": 1000})).json()["items"]
    assert {d["external_id"] for d in staff} >= {"LA", "LB", "L-1"}


async def test_the_schedule_queues_each_due_connection_once(app, api, vendor):
    from hub.jobs import queue as q
    from tests.sync.helpers import claim

    vendor.sim.partner("P1")
    vendor.sim.partner("P2")
    a = await create_connection(api, vendor.config("P1"))
    await create_connection(api, vendor.config("P2"), enabled=False)
    sm = app.state.runtime.sessionmaker
    for _ in range(2):
        async with sm() as session:
            from hub.db import begin_write

            await begin_write(session)
            await q.enqueue(session, ScheduleSyncs())
            await session.commit()
        ctx = await claim(sm, "sync.schedule")
        assert ctx is not None
        await run_task(ctx)
    from hub.models.job import Job

    async with sm() as session:
        jobs = (
            (await session.execute(select(Job.payload).where(Job.kind == "sync.connection"))).scalars().all()
        )
    assert [j["connection_id"] for j in jobs] == [a["id"]]
    assert await run_queued_syncs(sm) == 1
    async with sm() as session:
        n = (await session.execute(select(func.count()).select_from(Asset))).scalar_one()
        assert n == 0
        assert (await session.execute(select(func.count()).select_from(Warranty))).scalar_one() == 0
