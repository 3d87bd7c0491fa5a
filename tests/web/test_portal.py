"""The client portal: "who do we pay for what" in the client's prices (never the MSP's
cost, margin or notes, never another client's rows), its charts as accessible inline
SVG with the same figures as a table, renewals the client approves or declines through
the renewal service (an approved one is then really ordered), the checks in plain
words, and a calendar link of its own."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, update

from hub.kit.time import today
from hub.models import AuditEvent, Check, Renewal, VendorCase
from hub.models.enums import CaseChannel, CaseStatus, RenewalState, Role
from hub.web import i18n
from hub.web.portal import charts
from tests import factories as f
from tests.web.conftest import browser, csrf_of, make_user, sign_in

# The MSP's buy prices and notes of the world below: never on a client's page, in any
# locale's spelling.
MSP_COSTS = ("41.17", "41,17", "53.29", "53,29", "1,111.11", "1.111,11")
NOTES = ("MSP-ONLY margin note", "Beta's private line")


async def portal_world(api: httpx.AsyncClient, runtime) -> dict[str, str]:
    """Alfa and Beta, each with a resold licence (the MSP buys at one price and sells at
    another), a line the client pays the vendor directly, one the fee covers, and a
    renewal of the resold licence waiting for approval."""
    ids: dict[str, str] = {}
    day = today()
    for key, name, cost, price in (("a", "Alfa Srl", "41.17", "60.00"), ("b", "Beta Spa", "53.29", "75.00")):
        client = await f.client(api, name=name, slug=name.split()[0].lower(), default_currency="EUR")
        vendor = await f.vendor(api, name=f"Sophos {key.upper()}", category="antivirus")
        isp = await f.vendor(api, name=f"Fastweb {key.upper()}", category="isp")
        account = await f.account(api, client["id"], vendor["id"])
        isp_account = await f.account(api, client["id"], isp["id"])
        resold = await f.subscription(
            api,
            account["id"],
            product=f"Intercept X {name}",
            quantity=10,
            unit_cost=cost,
            client_unit_price=price,
            billing_period="yearly",
            starts_on=(day - timedelta(days=300)).isoformat(),
            ends_on=(day + timedelta(days=10)).isoformat(),
            renewal_type="auto_hub",
            notes=NOTES[0] if key == "a" else NOTES[1],
        )
        await f.subscription(
            api,
            isp_account["id"],
            product=f"Fibre 1 Gbit {name}",
            quantity=1,
            unit_cost="120.00",
            billing_period="monthly",
            payer="client_direct",
            starts_on=(day - timedelta(days=30)).isoformat(),
            ends_on=(day + timedelta(days=200)).isoformat(),
            renewal_type="auto_vendor",
            notice_days=60,
        )
        await f.subscription(
            api,
            account["id"],
            product=f"Central Managed {name}",
            quantity=5,
            unit_cost="1111.11",
            billing_period="yearly",
            payer="msp_included",
            starts_on=(day - timedelta(days=30)).isoformat(),
            ends_on=(day + timedelta(days=335)).isoformat(),
            renewal_type="manual",
        )
        domain = await f.domain(api, client["id"], name=f"{client['slug']}-example.com")
        check = await api.post(
            "/checks", json={"client_id": client["id"], "kind": "spf", "target_ref": domain["id"]}
        )
        assert check.status_code == 201, check.text
        ids[key], ids[f"sub_{key}"] = client["id"], resold["id"]
    assert (await api.post("/renewals/plan")).status_code == 200
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(Renewal).values(state=RenewalState.awaiting_approval, next_action_at=None)
        )
        await session.execute(update(Check).values(status="fail"))
    for r in (await api.get("/renewals", params={"limit": 100})).json()["items"]:
        ids[f"renewal_{'a' if r['client_id'] == ids['a'] else 'b'}"] = r["id"]
    return ids


def _version(html: str, renewal_id: str) -> str:
    row = html[html.index(f'id="renewal-{renewal_id}"') :]
    return re.search(r'name="version" value="(\d+)"', row).group(1)


@pytest.mark.parametrize("locale", ["en", "it"])
async def test_the_portal_shows_what_the_client_pays_and_nothing_of_the_msp_or_of_another_client(
    app, api, runtime, locale
):
    world = await portal_world(api, runtime)
    await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=world["a"])
    async with browser(app) as alfa:
        await sign_in(alfa, "boss@alfa.example")
        page = await alfa.get("/portal", headers={"accept-language": locale})
    assert page.status_code == 200, page.text[:500]
    html = page.text
    # The client's prices: 10 x 60.00 a year resold, 120.00 a month direct, the fee covers the rest.
    if locale == "en":
        assert "€600.00" in html and "€50.00" in html and "€120.00" in html and "€1,440.00" in html
        assert "Included in your managed-service fee" in html and "Through us" in html
        assert "Renewals waiting for your approval" in html and "€600.00 a year" in html
    else:
        assert "600,00\xa0€" in html and "1.440,00\xa0€" in html
        assert "Incluso nel canone di gestione" in html
        assert "Rinnovi in attesa della tua approvazione" in html and "600,00\xa0€ all'anno" in html
    assert "Intercept X Alfa Srl" in html and "Fibre 1 Gbit Alfa Srl" in html
    for leaked in (*MSP_COSTS, *NOTES, "Beta Spa", "Sophos B", world["b"], world["renewal_b"]):
        assert leaked not in html, leaked
    # Three charts, each an image with a title and a description naming its figures.
    assert html.count('role="img"') == 3
    for chart in ("chart-category", "chart-payer", "chart-months"):
        assert f'aria-labelledby="{chart}-t {chart}-d"' in html
    assert "<script" not in html.split("</head>")[1]  # the charts need no script
    # Next renewal and cancel-by of the direct line (ends in 200 days, 60 days' notice),
    # in the reader's format.
    fmt = i18n.Formats(locale)
    ends = today() + timedelta(days=200)
    row = html[html.index("Fibre 1 Gbit Alfa Srl") :].split("</tr>")[0]
    assert fmt.date(ends + timedelta(days=1)) in row and fmt.date(ends - timedelta(days=60)) in row
    assert 'id="renewal-' + world["renewal_a"] + '"' in html


async def test_a_client_admin_approves_its_renewal_and_a_viewer_or_another_client_cannot(app, api, runtime):
    world = await portal_world(api, runtime)
    await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=world["a"])
    await make_user(runtime, "eye@alfa.example", Role.client_viewer, client_id=world["a"])
    await make_user(runtime, "boss@beta.example", Role.client_admin, client_id=world["b"])
    async with browser(app) as alfa, browser(app) as viewer, browser(app) as beta:
        for who, email in (
            (alfa, "boss@alfa.example"),
            (viewer, "eye@alfa.example"),
            (beta, "boss@beta.example"),
        ):
            await sign_in(who, email)
        page = await alfa.get("/portal")
        version = _version(page.text, world["renewal_a"])
        token = csrf_of(page.text)
        # Beta's administrator, with a good form of its own, cannot touch Alfa's renewal.
        beta_token = csrf_of((await beta.get("/portal")).text)
        r = await beta.post(
            f"/portal/renewals/{world['renewal_a']}/approve",
            data={"csrf_token": beta_token, "version": version},
        )
        assert r.status_code == 404
        # A viewer sees the renewal but no form, and a forged post is refused.
        seen = await viewer.get("/portal")
        assert "Your administrator can approve it." in seen.text and "/approve" not in seen.text
        r = await viewer.post(
            f"/portal/renewals/{world['renewal_a']}/approve",
            data={"csrf_token": csrf_of(seen.text), "version": version},
        )
        assert r.status_code == 403
        # A form without its token is refused.
        r = await alfa.post(f"/portal/renewals/{world['renewal_a']}/approve", data={"version": version})
        assert r.status_code == 403 and "another site" in r.text
        assert (await api.get(f"/renewals/{world['renewal_a']}")).json()["state"] == "awaiting_approval"
        # Bad input names the field.
        r = await alfa.post(
            f"/portal/renewals/{world['renewal_a']}/approve", data={"csrf_token": token, "version": "x"}
        )
        assert r.status_code == 422 and "version" in r.text
        r = await alfa.post(
            f"/portal/renewals/{world['renewal_a']}/approve", data={"csrf_token": token, "version": version}
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/portal?notice=renewal_approved")
        after = await alfa.get("/portal?notice=renewal_approved")
        assert "Renewal approved" in after.text and f'id="renewal-{world["renewal_a"]}"' not in after.text
        # Once decided it is no longer waiting: a second answer is refused.
        again = await alfa.post(
            f"/portal/renewals/{world['renewal_a']}/decline",
            data={"csrf_token": token, "version": str(int(version) + 1)},
        )
        assert again.status_code == 409
        r = await beta.post(
            f"/portal/renewals/{world['renewal_b']}/decline",
            data={
                "csrf_token": beta_token,
                "version": _version((await beta.get("/portal")).text, world["renewal_b"]),
            },
        )
        assert r.status_code == 303
    a = (await api.get(f"/renewals/{world['renewal_a']}")).json()
    b = (await api.get(f"/renewals/{world['renewal_b']}")).json()
    assert (a["state"], a["decided_by"]) == ("approved", "user:boss@alfa.example")
    assert (b["state"], b["decided_by"]) == ("declined", "user:boss@beta.example")
    async with runtime.unit_of_work(write=False) as session:
        events = (
            (await session.execute(select(AuditEvent).where(AuditEvent.subject_id == world["renewal_a"])))
            .scalars()
            .all()
        )
    assert [e.after["state"] for e in events if e.after and "state" in e.after] == ["approved"]


async def test_staff_get_404_on_the_portal_and_its_forms(app, api, runtime):
    world = await portal_world(api, runtime)
    await make_user(runtime, "admin@msp.example", Role.admin)
    async with browser(app) as admin:
        await sign_in(admin, "admin@msp.example")
        assert (await admin.get("/portal")).status_code == 404
        token = csrf_of((await admin.get("/account")).text)
        r = await admin.post(
            f"/portal/renewals/{world['renewal_a']}/approve", data={"csrf_token": token, "version": "1"}
        )
        assert r.status_code == 404
    assert (await api.get(f"/renewals/{world['renewal_a']}")).json()["state"] == "awaiting_approval"


async def test_checks_are_told_in_plain_words_and_cases_list_only_client_safe_fields(app, api, runtime):
    world = await portal_world(api, runtime)
    await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=world["a"])
    account = (await api.get("/vendor-accounts", params={"client_id": world["a"]})).json()["items"][0]
    async with runtime.unit_of_work() as session:
        session.add(
            VendorCase(
                client_id=uuid.UUID(world["a"]),
                vendor_account_id=uuid.UUID(account["id"]),
                title="Mail server listed on SpamCop",
                description="INTERNAL: client forgot to pay",
                channel=CaseChannel.email,
                status=CaseStatus.waiting_vendor,
                external_ref="VENDOR-REF-778",
            )
        )
    async with browser(app) as alfa:
        await sign_in(alfa, "boss@alfa.example")
        html = (await alfa.get("/portal")).text
    assert "0 of 1 checks pass; 1 need attention" in html
    assert "Who may send e-mail as alfa-example.com" in html and "needs attention: we are on it" in html
    assert "Mail server listed on SpamCop" in html and "waiting_vendor" not in html
    assert "waiting for the vendor" in html
    assert "INTERNAL" not in html and "VENDOR-REF-778" not in html


async def test_a_client_admin_gets_a_calendar_link_of_its_own_client_shown_once(app, api, runtime):
    world = await portal_world(api, runtime)
    await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=world["a"])
    await make_user(runtime, "eye@alfa.example", Role.client_viewer, client_id=world["a"])
    async with browser(app) as alfa, browser(app) as viewer:
        await sign_in(alfa, "boss@alfa.example")
        token = csrf_of((await alfa.get("/portal")).text)
        first = await alfa.post("/portal/calendar", data={"csrf_token": token})
        assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
        url = re.search(r'id="feed-url">([^<]+)<', first.text).group(1)
        path = url.split("://", 1)[1].split("/", 1)[1]
        feed = await alfa.get("/" + path)
        assert feed.status_code == 200 and "Intercept X Alfa Srl" in feed.text
        assert "Beta" not in feed.text and "41.17" not in feed.text
        assert url not in (await alfa.get("/portal")).text  # shown once
        second = await alfa.post("/portal/calendar", data={"csrf_token": token})
        assert second.status_code == 200
        assert (await alfa.get("/" + path)).status_code == 404  # the new link replaced it
        await sign_in(viewer, "eye@alfa.example")
        r = await viewer.post(
            "/portal/calendar", data={"csrf_token": csrf_of((await viewer.get("/portal")).text)}
        )
        assert r.status_code == 403


def test_charts_scale_to_the_largest_value_and_escape_labels():
    svg = charts.bars(
        "c",
        "By <category>",
        [charts.Bar("isp & <b>", Decimal("100"), "€100.00"), charts.Bar("x", Decimal("25"), "€25.00")],
    )
    assert "<b>" not in svg.split("<desc")[1] and "isp &amp; &lt;b&gt;" in svg
    widths = [int(w) for w in re.findall(r'<rect class="chart-a" x="\d+" y="\d+" width="(\d+)"', svg)]
    assert abs(widths[0] - 4 * widths[1]) <= 4
    empty = charts.columns("m", "Months", [charts.Bar("Jan", Decimal(0), "€0.00")], "€0.00")
    assert 'role="img"' in empty and "€0.00" in empty


@pytest.fixture
async def pax8(runtime):
    from adapters.pax8.simulator import Pax8Simulator
    from hub.sdk.testing import serve_on_loopback
    from tests.renewal import pax8_world as w

    sim = Pax8Simulator(scale=(2, 3), ends_within_days=10, activation_seconds=0)
    async with serve_on_loopback(sim.app) as base:
        runtime.renewers = w.opener_for(sim, base)
        yield sim, base


async def test_a_renewal_approved_in_the_portal_is_ordered_once_by_the_renewal_engine(
    app, api, runtime, pax8
):
    from tests.renewal import pax8_world as w
    from tests.renewal.test_approval_links import waiting_for_approval

    wd, renewal = await waiting_for_approval(app, api, pax8)
    client_id = next(v for k, v in wd.client_ids.items() if not k.endswith(":account"))
    await make_user(runtime, "boss@pax8client.example", Role.client_admin, client_id=client_id)
    async with browser(app) as boss:
        await sign_in(boss, "boss@pax8client.example")
        page = await boss.get("/portal")
        assert f'id="renewal-{renewal.id}"' in page.text
        assert str(renewal.quoted_price) not in page.text  # the MSP's quote is not the client's price
        r = await boss.post(
            f"/portal/renewals/{renewal.id}/approve",
            data={"csrf_token": csrf_of(page.text), "version": _version(page.text, str(renewal.id))},
        )
        assert r.status_code == 303
    sm = runtime.sessionmaker
    await w.run_due(sm)
    done = await w.renewal_of(sm, str(renewal.subscription_id))
    assert done.state is RenewalState.confirmed and done.decided_by == "user:boss@pax8client.example"
    assert wd.orders_for(str(renewal.subscription_id)) == 1
