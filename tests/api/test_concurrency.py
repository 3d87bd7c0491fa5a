"""Optimistic concurrency: a stale write is refused with 409 and loses nothing."""

from __future__ import annotations

import asyncio

import httpx

from tests import factories as f


async def test_stale_version_is_refused_and_first_write_kept(api):
    c = await f.client(api, name="Original")
    first = await api.patch(f"/clients/{c['id']}", json={"version": 1, "name": "First"})
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = await api.patch(f"/clients/{c['id']}", json={"version": 1, "notes": "second"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    now = (await api.get(f"/clients/{c['id']}")).json()
    assert now["name"] == "First" and now["notes"] == "" and now["version"] == 2


async def test_concurrent_updates_one_wins_one_conflicts(api):
    s = (await f.world(api))["subscription"]
    url = f"/subscriptions/{s['id']}"
    results = await asyncio.gather(
        api.patch(url, json={"version": 1, "quantity": 11}),
        api.patch(url, json={"version": 1, "quantity": 12}),
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409]
    winner = next(r for r in results if r.status_code == 200).json()
    stored = (await api.get(url)).json()
    assert stored["quantity"] == winner["quantity"] and stored["version"] == 2


async def test_many_concurrent_updates_never_lose_an_acknowledged_write(api):
    c = await f.client(api)
    url = f"/clients/{c['id']}"
    results = await asyncio.gather(*(api.patch(url, json={"version": 1, "notes": f"n{i}"}) for i in range(8)))
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 1, [r.status_code for r in results]
    assert all(r.status_code == 409 for r in results if r.status_code != 200)
    assert (await api.get(url)).json()["notes"] == ok[0].json()["notes"]


async def test_a_failed_commit_is_an_error_response_not_a_false_success(app, api, monkeypatch):
    """The transaction commits before the response is sent: if committing fails, the
    caller gets an error, never a 2xx for data that was not stored."""
    from sqlalchemy.ext.asyncio import AsyncSession

    async def failing_commit(self):  # the database refuses the commit (disk full, lost lock...)
        raise RuntimeError("commit failed")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=str(api.base_url), headers=api.headers) as raw:
        monkeypatch.setattr(AsyncSession, "commit", failing_commit)
        r = await raw.post("/clients", json={"name": "Ghost", "slug": "ghost"})
        monkeypatch.undo()
    assert r.status_code == 500
    assert (await api.get("/clients", params={"q": "ghost"})).json()["total"] == 0
