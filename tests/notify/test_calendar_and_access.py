"""The iCal feed (parsed back with icalendar), feed tokens, the test e-mail and what a
client viewer may see."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from icalendar import Calendar

from hub.models import Client
from hub.models.enums import Role
from tests import factories as f
from tests.conftest import client_for, make_token
from tests.notify.conftest import add_user, at, run_day


def _in(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


async def _client_with_everything(api: Any, name: str) -> dict[str, Any]:
    c = await f.client(api, name=name)
    v = await f.vendor(api)
    a = await f.account(api, c["id"], v["id"])
    s = await f.subscription(api, a["id"], starts_on=_in(-300), ends_on=_in(60), notice_days=30)
    asset = await f.asset(api, c["id"])
    w = await api.post(
        "/warranties",
        json={"asset_id": asset["id"], "level": "NBD", "starts_on": _in(-700), "ends_on": _in(20)},
    )
    d = await f.domain(api, c["id"], expires_on=_in(40))
    e = await api.post(
        "/endpoints", json={"client_id": c["id"], "host": f"mail.{d['name']}", "expires_on": _in(9)}
    )
    return {"client": c, "subscription": s, "warranty": w.json(), "domain": d, "endpoint": e.json()}


def _events(body: bytes) -> dict[str, Any]:
    cal = Calendar.from_ical(body)
    return {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}


async def test_the_feed_parses_back_with_stable_uids_and_all_day_dates(app, api):
    x = await _client_with_everything(api, "Alfa Srl")
    r = await api.post("/calendar/feeds", json={"name": "Alfa", "client_id": x["client"]["id"]})
    assert r.status_code == 201, r.text
    token, url = r.json()["token"], r.json()["url"]
    assert url.endswith(f"/api/v1/calendar/{token}.ics")
    async with client_for(app, None) as anonymous:  # calendar apps send no bearer token
        first = await anonymous.get(f"/calendar/{token}.ics")
        second = await anonymous.get(f"/calendar/{token}.ics")
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/calendar")
    events = _events(first.content)
    assert set(events) == set(_events(second.content))
    assert first.content == second.content
    sub = x["subscription"]
    ends = events[f"subscription-{sub['id']}-ends@vendor-hub"]
    assert ends["DTSTART"].dt == date.fromisoformat(sub["ends_on"])  # a date: all day
    assert not hasattr(ends["DTSTART"].dt, "hour")
    cancel = events[f"subscription-{sub['id']}-cancel-by@vendor-hub"]
    assert cancel["DTSTART"].dt == date.fromisoformat(sub["cancel_by"])
    assert f"warranty-{x['warranty']['id']}-ends@vendor-hub" in events
    assert f"domain-{x['domain']['id']}-expires@vendor-hub" in events
    assert f"endpoint-{x['endpoint']['id']}-cert-expires@vendor-hub" in events


async def test_a_name_with_a_line_break_is_refused_and_one_stored_before_still_renders(app, api):
    x = await _client_with_everything(api, "Alfa Srl")
    r = await api.patch(
        f"/clients/{x['client']['id']}", json={"version": x["client"]["version"], "name": "Alfa\r\nSrl"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"
    # A row stored before names were checked (written directly, as an old install has it).
    async with app.state.runtime.sessionmaker() as session:
        client = await session.get(Client, uuid.UUID(x["client"]["id"]))
        assert client is not None
        client.name = "Alfa\r\nBEGIN:VEVENT"
        await session.commit()
    feed = (await api.post("/calendar/feeds", json={"name": "Alfa", "client_id": x["client"]["id"]})).json()
    async with client_for(app, None) as anonymous:
        got = await anonymous.get(f"/calendar/{feed['token']}.ics")
    assert got.status_code == 200, got.text
    events = _events(got.content)
    assert len(events) == 5  # no event injected by the name
    assert all("\n" not in str(ev["SUMMARY"]) for ev in events.values())


async def test_a_revoked_or_unknown_token_gives_404(app, api):
    x = await _client_with_everything(api, "Alfa Srl")
    created = (
        await api.post("/calendar/feeds", json={"name": "Alfa", "client_id": x["client"]["id"]})
    ).json()
    assert (await api.delete(f"/calendar/feeds/{created['id']}")).status_code == 204
    async with client_for(app, None) as anonymous:
        revoked = await anonymous.get(f"/calendar/{created['token']}.ics")
        forged = await anonymous.get(f"/calendar/{created['token'][:-2]}xx.ics")
        junk = await anonymous.get("/calendar/nothing.ics")
    assert revoked.status_code == forged.status_code == junk.status_code == 404
    assert revoked.json()["detail"] == forged.json()["detail"] == junk.json()["detail"]
    assert (await api.get("/calendar/feeds")).json()["total"] == 0
    assert (await api.get("/calendar/feeds", params={"include_revoked": True})).json()["total"] == 1


async def test_a_users_feed_has_the_clients_they_own(app, api):
    owner = await add_user(app, "tech@msp.example")
    mine = await _client_with_everything(api, "Mine")
    other = await _client_with_everything(api, "Other")
    patched = await api.patch(
        f"/clients/{mine['client']['id']}",
        json={"version": mine["client"]["version"], "owner_user_id": owner},
    )
    assert patched.status_code == 200, patched.text
    token = (await api.post("/calendar/feeds", json={"name": "Mine", "user_id": owner})).json()["token"]
    async with client_for(app, None) as anonymous:
        body = (await anonymous.get(f"/calendar/{token}.ics")).text
    assert mine["subscription"]["id"] in body and other["subscription"]["id"] not in body
    r = await api.post("/calendar/feeds", json={"name": "x", "user_id": str(uuid.uuid4())})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "user_id"


async def test_a_client_viewer_sees_only_its_own_feeds_and_none_of_the_msps_reminders(app, api):
    a = await _client_with_everything(api, "Alfa")
    b = await _client_with_everything(api, "Beta")
    for x in (a, b):
        r = await api.post(
            "/calendar/feeds", json={"name": x["client"]["name"], "client_id": x["client"]["id"]}
        )
        assert r.status_code == 201
    await api.post("/calendar/feeds", json={"name": "Everything"})  # MSP-wide: staff only
    await run_day(app, at(date.today().isoformat()))
    staff_notices = (await api.get("/notices", params={"limit": 1000})).json()
    assert {n["client_id"] for n in staff_notices["items"]} == {a["client"]["id"], b["client"]["id"]}
    token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(a["client"]["id"]))
    async with client_for(app, token) as viewer:
        for params in ({}, {"client_id": b["client"]["id"]}):
            # Reminders are the MSP's technicians' work list (issue 11 §6): not the client's.
            assert (await viewer.get("/notices", params=params)).status_code == 403
            feeds = (await viewer.get("/calendar/feeds", params=params)).json()
            assert [fd["client_id"] for fd in feeds["items"]] in ([a["client"]["id"]], [])
            assert all("created_by" not in fd for fd in feeds["items"])
        assert (await viewer.get("/calendar/feeds")).json()["total"] == 1
        b_notice = next(n for n in staff_notices["items"] if n["client_id"] == b["client"]["id"])
        assert (await viewer.post(f"/notices/{b_notice['id']}/acknowledge")).status_code == 403
        assert (await viewer.post("/calendar/feeds", json={"name": "x"})).status_code == 403


async def test_the_test_email_goes_through_a_real_smtp_server(api, smtp):
    r = await api.post("/notify/test", json={"channel": "email", "to": "tech@msp.example"})
    assert r.status_code == 200 and r.json()["delivered"] is True, r.text
    [msg] = smtp.to("tech@msp.example")
    assert "this channel works" in smtp.text(msg)
    r = await api.post("/notify/test", json={"channel": "email"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to"


async def test_the_test_email_reports_an_unconfigured_server(api, monkeypatch):
    monkeypatch.delenv("HUB_SMTP_HOST", raising=False)
    r = await api.post("/notify/test", json={"channel": "email", "to": "tech@msp.example"})
    assert r.status_code == 200
    assert r.json()["delivered"] is False and "HUB_SMTP_HOST" in r.json()["detail"]


async def test_an_all_client_feed_is_for_admins_and_expires(app, api, runtime):
    await _client_with_everything(api, "Alfa Srl")
    async with client_for(app, await make_token(app, Role.technician)) as tech:
        refused = await tech.post("/calendar/feeds", json={"name": "everything"})
    assert refused.status_code == 403
    made = await api.post("/calendar/feeds", json={"name": "everything"})
    assert made.status_code == 201, made.text
    expires = datetime.fromisoformat(made.json()["expires_at"])
    assert timedelta(days=89) < expires - runtime.now() <= timedelta(days=90)
    # Asking for longer gets the cap, not more.
    longer = (runtime.now() + timedelta(days=900)).isoformat()
    capped = (await api.post("/calendar/feeds", json={"name": "long", "expires_at": longer})).json()
    assert datetime.fromisoformat(capped["expires_at"]) <= runtime.now() + timedelta(days=90)
    token = made.json()["token"]
    async with client_for(app, None) as anonymous:
        assert (await anonymous.get(f"/calendar/{token}.ics")).status_code == 200
        real = runtime.clock
        runtime.clock = lambda: real() + timedelta(days=91)
        try:
            assert (await anonymous.get(f"/calendar/{token}.ics")).status_code == 404
        finally:
            runtime.clock = real


async def test_a_feed_link_names_the_address_the_hub_was_reached_on(app, api, runtime):
    x = await _client_with_everything(api, "Alfa Srl")
    body = {"name": "Alfa", "client_id": x["client"]["id"]}
    async with client_for(app, await make_token(app)) as http:
        http.base_url = httpx.URL("http://hub.example:8123/api/v1")
        made = (await http.post("/calendar/feeds", json=body)).json()
    assert made["url"] == f"http://hub.example:8123/api/v1/calendar/{made['token']}.ics"
    runtime.use_settings(notify={"public_url": "https://hub.msp.example/"})
    made = (await api.post("/calendar/feeds", json=body)).json()
    assert made["url"] == f"https://hub.msp.example/api/v1/calendar/{made['token']}.ics"
