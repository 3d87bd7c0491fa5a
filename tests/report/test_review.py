"""The quarterly business review: daily coverage snapshots (one row per client per day,
however often the job runs), the backfill of past days from stored dates, a quarter
compared with the one before, the next quarter's expiries and the recommendations, and
a quarter parameter that is refused by name when malformed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hub.errors import InvalidInput
from hub.jobs import queue
from hub.models import CheckRun, CoverageSnapshot, VendorCase
from hub.models.enums import CaseChannel, CaseStatus, CheckStatus, Role
from hub.report.coverage import AssetFact, CheckFact, ExpiryFact, Facts, Run, figures
from hub.report.review import Quarter, parse_quarter
from tests import factories as f
from tests.case.helpers import run_jobs
from tests.conftest import client_for, make_token
from tests.report.test_statement import pdf_text
from tests.web.conftest import browser, make_user, sign_in

# The review's "today": early December, the fourth quarter of 2026 running.
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
Q4, Q3 = Quarter(2026, 4), Quarter(2026, 3)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def _rows(runtime) -> list[CoverageSnapshot]:
    async with runtime.sessionmaker() as session:
        return list(
            (await session.execute(select(CoverageSnapshot).order_by(CoverageSnapshot.day))).scalars()
        )


async def review_world(api, runtime) -> dict[str, str]:
    """A client whose servers change warranty between the two quarters, a firewall whose
    contract ends next quarter, a domain expiring next quarter with no automatic renewal,
    a check that failed in Q3 and passes since, and vendor cases in both quarters."""
    client = await f.client(api, name="Gamma Srl", slug="gamma")
    vendor = await f.vendor(api, name="Dell", category="hardware")
    account = await f.account(api, client["id"], vendor["id"])
    windows = {
        "srv-old": (date(2023, 1, 1), date(2026, 10, 15)),  # in warranty at the end of Q3 only
        "srv-new": (date(2026, 11, 1), date(2029, 10, 31)),  # from Q4
        "srv-mid": (date(2026, 10, 1), date(2030, 9, 30)),  # from Q4
    }
    for name, (starts, ends) in windows.items():
        asset = await f.asset(api, client["id"], name=name)
        r = await api.post(
            "/warranties",
            json={
                "asset_id": asset["id"],
                "level": "ProSupport",
                "starts_on": str(starts),
                "ends_on": str(ends),
            },
        )
        assert r.status_code == 201, r.text
    await f.asset(api, client["id"], name="srv-none")
    firewall = await f.asset(
        api, client["id"], name="fw-1", kind="firewall", manufacturer="Fortinet", firmware_version="7.2.8"
    )
    r = await api.post(
        "/warranties",
        json={
            "asset_id": firewall["id"],
            "level": "FortiCare",
            "starts_on": "2025-01-20",
            "ends_on": "2027-01-19",
        },
    )
    assert r.status_code == 201, r.text
    domain = await f.domain(api, client["id"], name="gamma-example.com", expires_on="2027-02-10")
    check = await api.post(
        "/checks", json={"client_id": client["id"], "kind": "spf", "target_ref": domain["id"]}
    )
    assert check.status_code == 201, check.text
    async with runtime.unit_of_work() as session:
        check_id = uuid.UUID(check.json()["id"])
        for day, status in ((date(2026, 8, 1), CheckStatus.fail), (date(2026, 10, 20), CheckStatus.ok)):
            session.add(CheckRun(check_id=check_id, started_at=at(day), finished_at=at(day), status=status))
        cases = (
            (date(2026, 8, 3), 300),  # Q3: answered in 5 h
            (date(2026, 10, 5), 60),  # Q4: 1 h
            (date(2026, 11, 9), 180),  # Q4: 3 h
        )
        for opened, wait in cases:
            session.add(
                VendorCase(
                    client_id=uuid.UUID(client["id"]),
                    vendor_account_id=uuid.UUID(account["id"]),
                    title=f"Disk failure {opened}",
                    channel=CaseChannel.phone,
                    status=CaseStatus.resolved,
                    opened_at=at(opened),
                    first_response_at=at(opened) + timedelta(minutes=wait),
                    resolved_at=at(opened) + timedelta(days=2),
                )
            )
    return {"client": client["id"], "check": str(check_id)}


def test_a_quarter_is_parsed_or_refused_by_name():
    today = NOW.date()
    assert parse_quarter("2026Q3", today) == Q3 and parse_quarter("2026-q4", today) == Q4
    assert parse_quarter(None, today) == Q4 and Q4.previous == Q3 and Q4.following == Quarter(2027, 1)
    assert (Q4.start, Q4.end, Quarter(2027, 1).previous) == (date(2026, 10, 1), date(2026, 12, 31), Q4)
    for bad in ("2026Q5", "Q4", "2026", "2026Q4; drop", "1999Q1", "2027Q1"):
        with pytest.raises(InvalidInput) as raised:
            parse_quarter(bad, today)
        assert raised.value.errors[0]["field"] == "quarter", bad


def test_a_past_day_counts_what_its_dates_and_runs_say_and_leaves_the_rest_unknown():
    facts = Facts(
        assets=[
            AssetFact("a", "firewall", ((date(2026, 1, 1), date(2026, 6, 30)),), firmware_current=True),
            AssetFact("b", "server", ()),
        ],
        domains=[ExpiryFact("d1", date(2027, 5, 1)), ExpiryFact("d2", date(2026, 12, 20))],
        checks=[
            CheckFact(
                "domain_expiry",
                "d1",
                "ok",
                (Run(at(date(2026, 5, 1)), "fail"), Run(at(date(2026, 7, 2)), "ok")),
            ),
            CheckFact("spf", "d2", "fail", (Run(at(date(2026, 7, 1)), "ok"),)),
        ],
    )
    june = figures(facts, date(2026, 6, 15), live=False)
    assert (june["firewalls_licensed"], june["assets_in_warranty"], june["servers_in_warranty"]) == (1, 1, 0)
    # d1's expiry check failed in May; d2 has no expiry check: not known on a past day.
    assert june["domains_safe"] == 0 and june["firewalls_current_firmware"] is None
    assert (june["checks_passing"], june["checks_failing"]) == (0, 1)  # spf had not run yet
    july = figures(facts, date(2026, 7, 2), live=False)
    assert july["domains_safe"] == 1 and july["checks_passing"] == 2 and july["firewalls_licensed"] == 0
    today = figures(facts, date(2026, 12, 7), live=True)
    # Today: d2 expires within 30 days (stored date), the firewall's firmware is current.
    assert today["domains_safe"] == 1 and today["firewalls_current_firmware"] == 1
    assert (today["checks_passing"], today["checks_failing"]) == (1, 1)
    assert (
        today["av_seats_used"] is None
        and figures(facts, date(2026, 6, 15), live=False)["av_seats_used"] is None
    )


async def test_the_daily_snapshot_job_keeps_one_row_per_client_and_day(app, api, runtime):
    world = await review_world(api, runtime)
    other = await f.client(api, name="Delta Spa", slug="delta")
    runtime.clock = FixedClock(NOW)
    for _ in range(2):
        async with runtime.unit_of_work() as session:
            await queue.enqueue_raw(session, "report.snapshot", {})
        assert await run_jobs(runtime, "report.snapshot") == 1
    rows = await _rows(runtime)
    assert sorted((str(r.client_id), r.day, r.source) for r in rows) == sorted(
        [(world["client"], NOW.date(), "daily"), (other["id"], NOW.date(), "daily")]
    )
    gamma = next(r for r in rows if str(r.client_id) == world["client"])
    assert gamma.figures["servers"] == 4 and gamma.figures["servers_in_warranty"] == 2
    assert gamma.figures["firewalls_licensed"] == 1 and gamma.figures["checks"] == 1


async def test_the_backfill_fills_past_quarters_once_and_only_for_admins(app, api, runtime):
    world = await review_world(api, runtime)
    runtime.clock = FixedClock(NOW)
    async with client_for(app, await make_token(app, Role.technician)) as tech:
        refused = await tech.post("/reports/backfill", json={"since": "2026-07-01"})
    assert refused.status_code == 403
    first = await api.post("/reports/backfill", json={"since": "2026-07-01"})
    again = await api.post("/reports/backfill", json={"since": "2026-07-01", "client_id": world["client"]})
    assert first.status_code == 200, first.text
    days = (NOW.date() - date(2026, 7, 1)).days  # to yesterday
    assert first.json() == {
        "clients": 1,
        "days": days,
        "created": days,
        "since": "2026-07-01",
        "until": "2026-12-06",
    }
    assert again.json()["created"] == 0
    rows = await _rows(runtime)
    assert len(rows) == days and {r.source for r in rows} == {"backfill"}
    by_day = {r.day: r.figures for r in rows}
    assert by_day[date(2026, 9, 30)]["servers_in_warranty"] == 1
    assert by_day[date(2026, 12, 6)]["servers_in_warranty"] == 2
    assert (
        by_day[date(2026, 9, 30)]["checks_failing"] == 1 and by_day[date(2026, 12, 6)]["checks_passing"] == 1
    )
    assert by_day[date(2026, 9, 30)]["av_seats_used"] is None  # never derived
    for body, field in (
        ({"since": "2026-12-01", "until": "2026-11-01"}, "since"),
        ({"until": "2026-12-07"}, "until"),
        ({"since": "2020-01-01"}, "since"),
        ({"since": "yesterday"}, "since"),
    ):
        bad = await api.post("/reports/backfill", json=body)
        assert bad.status_code == 422 and field in bad.text, (body, bad.text)
    async with runtime.sessionmaker() as session:
        assert (
            await session.execute(select(func.count()).select_from(CoverageSnapshot))
        ).scalar_one() == days


async def test_the_review_compares_the_quarter_with_the_one_before(app, api, runtime):
    world = await review_world(api, runtime)
    runtime.clock = FixedClock(NOW)
    assert (await api.post("/reports/backfill", json={"since": "2026-07-01"})).status_code == 200
    await make_user(runtime, "tech@msp.example", Role.technician)
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        page = await tech.get(f"/console/clients/{world['client']}/review", params={"quarter": "2026Q4"})
        client_page = await tech.get(f"/console/clients/{world['client']}")
        bad = await tech.get(f"/console/clients/{world['client']}/review", params={"quarter": "2026Q7"})
    assert page.status_code == 200, page.text[:500]
    html = page.text

    def row(key: str) -> list[str]:
        found = re.search(rf'<tr id="{key}">(.*?)</tr>', html, re.DOTALL)
        assert found, key
        return [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.DOTALL)
        ]

    # End of Q3 (30 Sep) against the last snapshot of Q4 (6 Dec).
    assert row("cov-servers_in_warranty")[1:] == ["1", "2", "+1"]
    assert 'class="num trend-better"' in html.split('id="cov-servers_in_warranty"')[1].split("</tr>")[0]
    assert row("cov-assets_in_warranty")[1:] == ["2", "3", "+1"]
    assert row("cov-checks_failing")[1:] == ["1", "0", "-1"]
    assert row("cov-av_seats_used")[1:] == ["—", "—", "—"]
    assert row("cases-opened")[1:] == ["1", "2"] and row("cases-answered")[1:] == ["1", "2"]
    assert row("cases-median")[1:] == ["5 h 00 min", "2 h 00 min"]
    # Next quarter (2027Q1): the firewall's contract and the domain, with its advice.
    assert (
        "Expiring next quarter (2027Q1)" in html and "FortiCare: fw-1" in html and "gamma-example.com" in html
    )
    assert "The domain gamma-example.com expires on" in html and "does not renew automatically" in html
    assert "Firewall fw-1 leaves warranty on" in html and "Server srv-none has no warranty recorded" in html
    assert f"/console/clients/{world['client']}/review" in client_page.text
    assert bad.status_code == 422 and "quarter" in bad.text
    # The same review as a PDF, through the API; staff only.
    async with client_for(
        app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(world["client"]))
    ) as viewer:
        refused = await viewer.get(f"/clients/{world['client']}/review")
    pdf = await api.get(f"/clients/{world['client']}/review", params={"quarter": "2026Q4", "locale": "it"})
    wrong = await api.get(f"/clients/{world['client']}/review", params={"quarter": "4Q2026"})
    assert refused.status_code == 403
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "Revisione trimestrale" in text and "2027Q1" in text and "fw-1" in text
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "quarter"


async def test_the_demo_starts_with_two_quarters_of_history_and_a_review_to_read(app, api, runtime):
    from hub.demo import load_demo
    from hub.models import Client
    from hub.report.snapshots import seed_history

    runtime.clock = FixedClock(NOW)
    async with runtime.unit_of_work() as session:
        await load_demo(session, today=NOW.date())
    async with runtime.unit_of_work() as session:
        added = await seed_history(session, NOW.date(), NOW)
        clients = (await session.execute(select(func.count()).select_from(Client))).scalar_one()
    days = (NOW.date() - Q3.start).days + 1  # 1 July to today
    assert added == clients * days
    async with runtime.unit_of_work() as session:
        assert await seed_history(session, NOW.date(), NOW) == 0
        client_id = (await session.execute(select(Client.id).order_by(Client.name).limit(1))).scalar_one()
    r = await api.get(f"/clients/{client_id}/review", params={"locale": "en"})
    assert r.status_code == 200
    text = pdf_text(r.content)
    assert "Assets under warranty" in text and "Recommendations" in text and "2026Q3" in text
