"""The reminder ledger over simulated days (the clock is injected): each threshold goes
out once, a missed night is caught up once, acknowledging or snoozing stops reminders,
a renewal brings reminders of its own, and a day's reminders come as one digest."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from hub.kit.time import utcnow
from hub.models import Notice, NoticeDelivery
from hub.models.enums import Role
from hub.models.notify import DeliveryState
from hub.notify import ledger
from tests import factories as f
from tests.notify.conftest import Mailbox, add_user, at, in_session, run_day

# Simulated days lie ahead of the real clock, so that a snooze "until day 5" is in the
# future for the API as it would be for a user.
BASE = date.today() + timedelta(days=30)
END = (BASE + timedelta(days=8)).isoformat()  # the subscription ends on day 8


def day(n: int) -> str:
    return (BASE + timedelta(days=n)).isoformat()


DAYS = [day(n) for n in range(1, 8)]


async def _world(app: Any, api: Any, **sub: Any) -> dict[str, Any]:
    owner = await add_user(app, "tech@msp.example")
    client = await f.client(api, owner_user_id=owner, timezone="Europe/Rome", name="Alfa Srl")
    r = await api.post(
        "/contacts",
        json={
            "client_id": client["id"],
            "name": "Billing",
            "email": "billing@alfa.example",
            "roles": ["billing"],
        },
    )
    assert r.status_code == 201, r.text
    vendor = await f.vendor(api, name="Sophos")
    account = await f.account(api, client["id"], vendor["id"])
    starts = (BASE + timedelta(days=8) - timedelta(days=364)).isoformat()
    body = {"payer": "client_direct", "starts_on": starts, "ends_on": END, **sub}
    s = await f.subscription(api, account["id"], **body)
    r = await api.post(
        "/notify/ladders", json={"scope": "subscription", "key": s["id"], "days": [6, 5, 4, 2, 1]}
    )
    assert r.status_code == 200, r.text
    return {"client": client, "subscription": s, "account": account}


def _notice_ids(msg: Any) -> list[int]:
    return [int(n) for n in re.findall(r"#(\d+):", Mailbox.text(msg))]


async def _ledger(app: Any) -> dict[int, tuple[str, int]]:
    rows = await in_session(app, lambda s: s.execute(select(Notice.id, Notice.state, Notice.days)))
    return {i: (str(state), days) for i, state, days in rows.all()}


async def test_a_week_with_the_worker_down_two_nights_sends_each_threshold_exactly_once(app, api, smtp):
    await _world(app, api)
    down = {day(3), day(4)}
    for today in DAYS:
        if today in down:
            continue
        await run_day(app, at(today))
        await run_day(app, at(today, 9))  # a second run the same day (another worker, a retry) adds nothing

    book = await _ledger(app)
    sent_days = sorted((days for state, days in book.values() if state == "issued"), reverse=True)
    skipped_days = [days for state, days in book.values() if state == "skipped"]
    # 6 on the 2nd; the 3rd and 4th were missed: on the 5th only the latest (4) goes, 5 is
    # recorded as skipped; then 2 and 1 on their days.
    assert sent_days == [6, 4, 2, 1]
    assert skipped_days == [5]
    for person in ("tech@msp.example", "billing@alfa.example"):
        mails = smtp.to(person)
        ids = [i for m in mails for i in _notice_ids(m)]
        assert sorted(book[i][1] for i in ids) == [1, 2, 4, 6], person
        assert len(ids) == len(set(ids)), f"{person} got a reminder twice"
        assert len(mails) == 4  # one digest per day that had something to say


async def test_concurrent_runs_record_each_threshold_once(app, api, smtp):
    await _world(app, api)

    async def one_run() -> None:
        await in_session(
            app, lambda s: ledger.run_reminders(s, at(DAYS[1]), app.state.runtime.settings.notify)
        )

    await asyncio.gather(*(one_run() for _ in range(4)))
    count = await in_session(app, lambda s: s.scalar(select(func.count()).select_from(Notice)))
    deliveries = await in_session(app, lambda s: s.scalar(select(func.count()).select_from(NoticeDelivery)))
    assert count == 1 and deliveries == 2  # one notice (6 days), one e-mail each to tech and billing


async def test_acknowledging_stops_the_terms_reminders_and_a_renewal_brings_new_ones(app, api, smtp):
    w = await _world(app, api)
    await run_day(app, at(day(2)))
    notice = (await api.get("/notices")).json()["items"][0]
    r = await api.post(f"/notices/{notice['id']}/acknowledge")
    assert r.status_code == 200 and r.json()["acknowledged_by"].startswith("token:")
    for today in DAYS[2:]:
        await run_day(app, at(today))
    assert len(smtp.to("tech@msp.example")) == 1
    assert (await api.get("/notices", params={"state": "issued"})).json()["total"] == 1

    # Renewed for a year: the new term's reminders follow its end, not the old one's.
    s = (await api.get(f"/subscriptions/{w['subscription']['id']}")).json()
    new_end = date.fromisoformat(END).replace(year=date.fromisoformat(END).year + 1)
    r = await api.post(
        f"/subscriptions/{s['id']}/terms", json={"version": s["version"], "ends_on": new_end.isoformat()}
    )
    assert r.status_code == 201, r.text
    await run_day(app, at((new_end - timedelta(days=6)).isoformat()))
    latest = smtp.to("tech@msp.example")[-1]
    assert len(smtp.to("tech@msp.example")) == 2
    assert f"ends {new_end.isoformat()}" in Mailbox.text(latest)


async def test_snoozing_silences_until_then_and_then_sends_only_the_latest(app, api, smtp):
    await _world(app, api)
    await run_day(app, at(day(2)))  # 6 days
    notice = (await api.get("/notices")).json()["items"][0]
    until = (at(day(5)) + timedelta(hours=1)).isoformat()
    r = await api.post(f"/notices/{notice['id']}/snooze", json={"until": until})
    assert r.status_code == 200, r.text
    await run_day(app, at(day(3)))
    await run_day(app, at(day(4)))
    assert len(smtp.to("tech@msp.example")) == 1  # silent while snoozed
    await run_day(app, at(day(5), 10))  # snooze over: 4 goes out, 5 is skipped
    book = await _ledger(app)
    assert sorted(d for s, d in book.values() if s == "issued") == [4, 6]
    assert [d for s, d in book.values() if s == "skipped"] == [5]
    assert len(smtp.to("tech@msp.example")) == 2


async def test_a_snooze_in_the_past_is_refused_naming_the_field(app, api, smtp):
    await _world(app, api)
    await run_day(app, at(day(2)))
    notice = (await api.get("/notices")).json()["items"][0]
    r = await api.post(f"/notices/{notice['id']}/snooze", json={"until": "2020-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "until"
    r = await api.post(f"/notices/{notice['id']}/snooze", json={"until": "2030-01-01T00:00:00"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "until"  # no time zone


async def test_a_days_reminders_come_as_one_digest_per_recipient(app, api, smtp):
    w = await _world(app, api)
    # Two more items due the same day: a subscription the MSP pays and a domain.
    msp_paid = await f.subscription(
        api,
        w["account"]["id"],
        product="Firewall support",
        payer="msp_resold",
        starts_on=day(-300),
        ends_on=END,
    )
    await api.post("/notify/ladders", json={"scope": "subscription", "key": msp_paid["id"], "days": [6]})
    d = await f.domain(api, w["client"]["id"], name="alfa.example", expires_on=END)
    await api.post("/notify/ladders", json={"scope": "domain", "key": d["id"], "days": [6]})
    await run_day(app, at(day(2)))

    [tech_mail] = smtp.to("tech@msp.example")
    [billing_mail] = smtp.to("billing@alfa.example")
    assert len(_notice_ids(tech_mail)) == 3
    assert "3 renewal reminders" in tech_mail["Subject"]
    # The client's billing contact hears only of what the client pays directly.
    assert len(_notice_ids(billing_mail)) == 1 and "Intercept X" in Mailbox.text(billing_mail)
    assert "Firewall support" not in Mailbox.text(billing_mail) and "alfa.example" not in Mailbox.text(
        billing_mail
    )
    sent = await in_session(
        app, lambda s: s.scalar(select(func.count()).where(NoticeDelivery.state == DeliveryState.sent))
    )
    assert sent == 4


async def test_an_unreachable_smtp_server_is_retried_and_nothing_is_lost(app, api, runtime, smtp):
    await _world(app, api)
    runtime.use_settings(notify={"smtp_port": 1, "notify_backoff_seconds": 0})  # nothing listens on 1
    await run_day(app, at(day(2)))
    states = await in_session(app, lambda s: s.scalars(select(NoticeDelivery.state)))
    assert set(states.all()) == {DeliveryState.queued}
    runtime.use_settings(notify={"smtp_port": smtp.port})  # the server is back
    await run_day(app, at(day(2), 9))
    assert len(smtp.to("tech@msp.example")) == 1
    assert len(smtp.to("billing@alfa.example")) == 1


async def test_an_auto_renewing_contract_billed_monthly_rolls_on_by_its_renewal_term(app, api, smtp):
    """Billed monthly, renewed yearly (the history says so): once the stored end has
    passed, the reminders are about the next yearly end, not a monthly one."""
    w = await _world(app, api, billing_period="monthly", renewal_type="auto_vendor")
    s = (await api.get(f"/subscriptions/{w['subscription']['id']}")).json()
    year_end = date.fromisoformat(END).replace(year=date.fromisoformat(END).year + 1)
    r = await api.post(
        f"/subscriptions/{s['id']}/terms", json={"version": s["version"], "ends_on": year_end.isoformat()}
    )
    assert r.status_code == 201, r.text
    await api.post("/notify/ladders", json={"scope": "subscription", "key": s["id"], "days": [40]})
    # The hub is not told of the next renewal. Mid-year, a monthly term would be ending
    # within 40 days; the yearly one is not: nothing is due.
    second_end = year_end.replace(year=year_end.year + 1)
    await run_day(app, at((year_end + timedelta(days=100)).isoformat()))
    assert (await api.get("/notices")).json()["total"] == 0
    await run_day(app, at((second_end - timedelta(days=40)).isoformat()))
    [notice] = (await api.get("/notices", params={"state": "issued"})).json()["items"]
    assert notice["ends_on"] == second_end.isoformat()


async def test_notices_other_modules_address_to_a_role_are_delivered_once(app, api, smtp):
    """The renewal executor raises alerts into the same ledger addressed to "role:admin"
    (approval needed, escalated): they go to every active admin, once."""
    await add_user(app, "boss@msp.example", Role.admin)
    await add_user(app, "tech@msp.example")
    c = await f.client(api)

    async def raise_alert(session: Any) -> None:
        session.add(
            Notice(
                subject_type="renewal_escalated",
                subject_id=str(uuid.uuid4()),
                client_id=uuid.UUID(c["id"]),
                threshold="escalated",
                recipient="role:admin",
                created_at=utcnow(),
            )
        )

    await in_session(app, raise_alert)
    await run_day(app, utcnow())
    await run_day(app, utcnow())
    [mail] = smtp.to("boss@msp.example")
    assert "renewal escalated: escalated" in Mailbox.text(mail)
    assert smtp.to("tech@msp.example") == []
