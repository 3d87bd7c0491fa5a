"""Clients: create, list with filters, sorting and paging, archive instead of delete."""

from __future__ import annotations

from tests import factories as f


async def test_created_client_is_listed_and_readable(api):
    created = await f.client(api, name="Rossi Ferramenta", slug="rossi", tier="best")
    listed = (await api.get("/clients")).json()
    assert listed["total"] == 1 and listed["items"][0]["slug"] == "rossi"
    got = (await api.get(f"/clients/{created['id']}")).json()
    assert got["tier"] == "best" and got["version"] == 1 and got["default_currency"] == "EUR"


async def test_list_paginates_with_total_and_stable_order(api):
    for i in range(7):
        await f.client(api, name=f"C{i}", slug=f"c-{i}")
    page1 = (await api.get("/clients", params={"limit": 3, "sort": "name"})).json()
    page3 = (await api.get("/clients", params={"limit": 3, "offset": 6, "sort": "name"})).json()
    assert page1["total"] == 7 and [c["name"] for c in page1["items"]] == ["C0", "C1", "C2"]
    assert [c["name"] for c in page3["items"]] == ["C6"] and page3["offset"] == 6


async def test_sort_descending_and_filter_by_tier(api):
    await f.client(api, name="Alpha", slug="alpha", tier="good")
    await f.client(api, name="Beta", slug="beta", tier="best")
    await f.client(api, name="Gamma", slug="gamma", tier="best")
    body = (await api.get("/clients", params={"tier": "best", "sort": "-name"})).json()
    assert [c["name"] for c in body["items"]] == ["Gamma", "Beta"]


async def test_duplicate_slug_is_a_conflict_naming_the_slug(api):
    await f.client(api, slug="acme")
    r = await api.post("/clients", json={"name": "Other", "slug": "acme"})
    assert r.status_code == 409 and "acme" in r.json()["detail"]


async def test_delete_archives_and_restore_brings_back(api):
    c = await f.client(api, slug="leaving")
    assert (await api.delete(f"/clients/{c['id']}")).status_code == 204
    assert (await api.get("/clients")).json()["total"] == 0
    archived = (await api.get("/clients", params={"include_archived": True})).json()
    assert archived["items"][0]["status"] == "archived" and archived["items"][0]["archived_at"]
    # Its data is still there and readable.
    assert (await api.get(f"/clients/{c['id']}")).json()["status"] == "archived"
    restored = await api.post(f"/clients/{c['id']}/restore")
    assert restored.status_code == 200 and restored.json()["status"] == "active"


async def test_nothing_new_can_be_added_to_an_archived_client(api):
    c = await f.client(api)
    v = await f.vendor(api)
    await api.delete(f"/clients/{c['id']}")
    r = await api.post(
        "/vendor-accounts", json={"client_id": c["id"], "vendor_id": v["id"], "account_number": "X"}
    )
    assert r.status_code == 409 and "archived" in r.json()["detail"]


async def test_archiving_via_patch_is_refused_with_field(api):
    c = await f.client(api)
    r = await api.patch(f"/clients/{c['id']}", json={"version": 1, "status": "archived"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"
