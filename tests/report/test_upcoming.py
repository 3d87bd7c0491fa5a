"""What ends soon across all clients: subscriptions, warranties, domains, certificates."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta

from hub.kit.crypto import Keyring
from hub.kit.time import today
from tests import factories as f


def _in(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


async def _world(api):
    a = await f.client(api, name="Alfa", slug="alfa")
    b = await f.client(api, name="Beta", slug="beta")
    v = await f.vendor(api, name="Sophos")
    acc_a = await f.account(api, a["id"], v["id"])
    acc_b = await f.account(api, b["id"], v["id"])
    s1 = await f.subscription(api, acc_a["id"], product="AV A", starts_on=_in(-300), ends_on=_in(20))
    s2 = await f.subscription(
        api,
        acc_b["id"],
        product="AV B",
        starts_on=_in(-300),
        ends_on=_in(5),
        payer="client_direct",
        unit_cost="10",
        quantity=3,
    )
    await f.subscription(api, acc_b["id"], product="Far away", starts_on=_in(-10), ends_on=_in(200))
    lapsed = await f.subscription(api, acc_a["id"], product="Lapsed", starts_on=_in(-400), ends_on=_in(-3))
    srv = await f.asset(api, a["id"], name="srv-db", serial="ABC123")
    w = await api.post(
        "/warranties",
        json={"asset_id": srv["id"], "level": "ProSupport 4H", "starts_on": _in(-1000), "ends_on": _in(12)},
    )
    d = await f.domain(api, b["id"], name="beta-example.com", expires_on=_in(40))
    e = await api.post(
        "/endpoints",
        json={
            "client_id": a["id"],
            "host": "mail.alfa-example.com",
            "port": 25,
            "tls_mode": "smtp_starttls",
            "expires_on": _in(1),
        },
    )
    return {
        "a": a,
        "b": b,
        "s1": s1,
        "s2": s2,
        "lapsed": lapsed,
        "warranty": w.json(),
        "domain": d,
        "endpoint": e.json(),
    }


async def test_everything_ending_in_the_window_soonest_first(api):
    w = await _world(api)
    body = (await api.get("/renewals/upcoming", params={"within_days": 60})).json()
    kinds_titles = [(i["kind"], i["days_left"]) for i in body["items"]]
    assert kinds_titles == [
        ("endpoint", 1),
        ("subscription", 5),
        ("warranty", 12),
        ("subscription", 20),
        ("domain", 40),
    ]
    assert body["total"] == 5
    s2 = body["items"][1]
    assert s2["client"]["slug"] == "beta" and s2["vendor"]["name"] == "Sophos"
    assert (s2["cost"], s2["currency"], s2["payer"]) == ("30.00", "EUR", "client_direct")
    assert "ProSupport 4H" in body["items"][2]["title"] and "ABC123" in body["items"][2]["title"]
    assert body["items"][4]["title"] == w["domain"]["name"]


async def test_lapsed_items_only_when_asked(api):
    await _world(api)
    body = (await api.get("/renewals/upcoming", params={"within_days": 10, "lapsed_days": 7})).json()
    assert [i["title"] for i in body["items"]][:1] == ["Lapsed"] and body["items"][0]["days_left"] == -3


async def test_pages_merge_kinds_in_order(api):
    await _world(api)
    seen = []
    for offset in range(0, 5, 2):
        page = (
            await api.get("/renewals/upcoming", params={"within_days": 60, "limit": 2, "offset": offset})
        ).json()
        assert page["total"] == 5
        seen += [i["days_left"] for i in page["items"]]
    assert seen == [1, 5, 12, 20, 40]


async def test_filter_by_kind_and_client(api):
    w = await _world(api)
    subs = (await api.get("/renewals/upcoming", params={"within_days": 60, "kind": "subscription"})).json()
    assert {i["kind"] for i in subs["items"]} == {"subscription"} and subs["total"] == 2
    only_b = (
        await api.get("/renewals/upcoming", params={"within_days": 60, "client_id": w["b"]["id"]})
    ).json()
    assert {i["client"]["slug"] for i in only_b["items"]} == {"beta"} and only_b["total"] == 2


async def test_archived_clients_drop_out(api):
    w = await _world(api)
    await api.delete(f"/clients/{w['b']['id']}")
    body = (await api.get("/renewals/upcoming", params={"within_days": 60})).json()
    assert {i["client"]["slug"] for i in body["items"]} == {"alfa"}


async def test_upcoming_as_csv_has_the_whole_window(api):
    await _world(api)
    r = await api.get("/renewals/upcoming", params={"within_days": 60, "limit": 1, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 5 and rows[0]["kind"] == "endpoint" and rows[1]["client"] == "Beta"


async def test_a_misspelt_filter_is_refused_not_ignored(api):
    r = await api.get("/renewals/upcoming", params={"within_days": 30, "clientid": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "clientid"


async def test_concurrent_reports_each_need_one_pooled_connection_at_most(settings):
    """A request that held its pooled connection while waiting for a second one (say, to
    count beside its page) deadlocks as soon as the requests in flight outnumber the pool:
    each holds one and waits for another. With a pool of one (and one overflow), 24
    concurrent report requests must all be answered."""
    from hub.app import create_app
    from hub.runtime import HubRuntime
    from tests.conftest import TEST_KEY, client_for, make_token

    small_pool = settings.model_copy(update={"db_pool_size": 1})
    async with HubRuntime.open(small_pool, secrets=Keyring([TEST_KEY.encode()])) as runtime:
        app = create_app(runtime)
        async with app.router.lifespan_context(app), client_for(app, await make_token(app)) as api:
            world = await _world(api)
            paths = [
                "/renewals/upcoming?within_days=90",
                "/renewals/upcoming?within_days=90&limit=2&offset=1",
                f"/clients/{world['a']['id']}/spend",
                f"/renewals/upcoming?within_days=90&client_id={world['b']['id']}",
            ] * 6
            answers = await asyncio.wait_for(asyncio.gather(*(api.get(p) for p in paths)), timeout=60)
    assert [r.status_code for r in answers] == [200] * len(paths)
    assert {r.json()["total"] for r in answers[0::4]} == {5}
