"""Every change is audited; vendor secrets are encrypted at rest, write-only, redacted."""

from __future__ import annotations

import logging

from sqlalchemy import text

from tests import factories as f

PIN = "PIN-7d1f-SECRET"


async def test_create_update_delete_write_audit_events_with_the_change(api):
    v = await f.vendor(api, name="Kyocera", category="printer")
    await api.patch(f"/vendors/{v['id']}", json={"version": 1, "default_response_sla_hours": 8})
    await api.delete(f"/vendors/{v['id']}")
    events = (await api.get("/audit", params={"subject_id": v["id"], "sort": "id"})).json()["items"]
    assert [e["action"] for e in events] == ["create", "update", "delete"]
    assert events[0]["after"]["name"] == "Kyocera" and events[0]["actor"].startswith("token:hub_")
    assert events[1]["before"] == {"default_response_sla_hours": None}
    assert events[1]["after"] == {"default_response_sla_hours": 8}
    assert events[2]["before"]["name"] == "Kyocera"


async def test_support_pin_is_encrypted_at_rest_never_returned_and_redacted(api, app, caplog):
    caplog.set_level(logging.DEBUG)
    c = await f.client(api)
    v = await f.vendor(api)
    acc = await f.account(api, c["id"], v["id"], support_pin=PIN)
    assert acc["support_pin_set"] is True and PIN not in str(acc)
    assert PIN not in (await api.get(f"/vendor-accounts/{acc['id']}")).text
    assert PIN not in (await api.get("/vendor-accounts")).text
    async with app.state.runtime.sessionmaker() as session:
        stored = (
            await session.execute(text("SELECT support_pin_encrypted FROM vendor_accounts"))
        ).scalar_one()
    assert stored and PIN not in stored
    audit = (await api.get("/audit", params={"subject_id": acc["id"]})).text
    assert PIN not in audit and "[redacted]" in audit
    assert PIN not in caplog.text


async def test_reveal_gives_the_pin_to_staff_and_is_audited(api):
    c = await f.client(api)
    v = await f.vendor(api)
    acc = await f.account(api, c["id"], v["id"], support_pin=PIN)
    r = await api.post(f"/vendor-accounts/{acc['id']}/support-pin/reveal")
    assert r.status_code == 200 and r.json()["support_pin"] == PIN
    events = (await api.get("/audit", params={"subject_id": acc["id"], "action": "reveal_secret"})).json()
    assert events["total"] == 1 and PIN not in str(events)


async def test_changing_and_clearing_the_pin(api):
    c = await f.client(api)
    v = await f.vendor(api)
    acc = await f.account(api, c["id"], v["id"], support_pin=PIN)
    changed = (
        await api.patch(f"/vendor-accounts/{acc['id']}", json={"version": 1, "support_pin": "NEW"})
    ).json()
    assert changed["support_pin_set"] and changed["support_pin_changed_at"] >= acc["support_pin_changed_at"]
    assert (await api.post(f"/vendor-accounts/{acc['id']}/support-pin/reveal")).json()["support_pin"] == "NEW"
    cleared = (
        await api.patch(f"/vendor-accounts/{acc['id']}", json={"version": 2, "support_pin": ""})
    ).json()
    assert cleared["support_pin_set"] is False
    assert (await api.post(f"/vendor-accounts/{acc['id']}/support-pin/reveal")).status_code == 404


async def test_subscription_terms_are_history_not_overwrites(api):
    s = (await f.world(api))["subscription"]
    r = await api.post(
        f"/subscriptions/{s['id']}/terms",
        json={"version": 1, "ends_on": "2027-12-31", "unit_cost": "32.00", "note": "renewed"},
    )
    assert r.status_code == 201 and r.json()["starts_on"] == "2027-01-01"
    terms = (await api.get(f"/subscriptions/{s['id']}/terms")).json()
    assert [(t["starts_on"], t["ends_on"], t["unit_cost"], t["renewed_by"]) for t in terms] == [
        ("2026-01-01", "2026-12-31", "30.00", "initial"),
        ("2027-01-01", "2027-12-31", "32.00", "manual"),
    ]
    now = (await api.get(f"/subscriptions/{s['id']}")).json()
    assert (now["starts_on"], now["ends_on"], now["unit_cost"]) == ("2027-01-01", "2027-12-31", "32.00")
    overlapping = await api.post(
        f"/subscriptions/{s['id']}/terms",
        json={"version": now["version"], "starts_on": "2027-06-01", "ends_on": "2028-05-31"},
    )
    assert overlapping.status_code == 422 and overlapping.json()["errors"][0]["field"] == "starts_on"
