"""The client portal in a real browser: a client admin reads "who do we pay for what"
in its own prices (never the MSP's cost, never another client), the charts are images
with a title and a table beside them, the page passes axe-core with no serious
violation, weighs under 200 KB, and a renewal approved there is approved for the
renewal engine; a vendor case's page shows its client-visible timeline and passes axe-core;
the other client's admin sees none of it and cannot decide it or open the case.
HUB_SCREENSHOT_DIR=docs/screenshots also saves the README's picture (`keep_screenshot`)."""

from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlalchemy import update

from hub.auth import users
from hub.auth.principal import CLI
from hub.kit.time import today
from hub.models import Renewal
from hub.models.enums import RenewalState, Role
from hub.runtime import HubRuntime
from tests.web.browser.conftest import axe_violations, keep_screenshot
from tests.web.conftest import PASSWORD

MSP_COST = "17.43"


def _enrich(hub) -> str:
    """Alfa gets what a real client has: resold licences with the MSP's price to the
    client, a line it pays the vendor directly, one the fee covers, and a renewal
    waiting for its approval. Returns that renewal's id."""
    day = today()
    headers = {"Authorization": f"Bearer {hub.token}"}
    with httpx.Client(base_url=hub.url + "/api/v1", headers=headers) as api:

        def post(path: str, body: dict) -> dict:
            r = api.post(path, json=body)
            assert r.status_code == 201, r.text
            return r.json()

        lines = [
            (
                "Microsoft",
                "cloud",
                "Microsoft 365 Business Premium",
                12,
                MSP_COST,
                "22.00",
                "monthly",
                "msp_resold",
                10,
            ),
            ("Fastweb", "isp", "Fibra 1 Gbit/s", 1, "89.00", None, "monthly", "client_direct", 200),
            ("Aruba", "mail_hosting", "PEC Pro", 3, "9.50", None, "yearly", "client_direct", 60),
            (
                "Sophos",
                "antivirus",
                "Central Managed Detection",
                15,
                "31.00",
                None,
                "yearly",
                "msp_included",
                120,
            ),
            ("Veeam", "backup", "Backup for Microsoft 365", 12, "1.90", "3.50", "monthly", "msp_resold", 45),
        ]
        waiting = None
        for vendor, category, product, qty, cost, price, period, payer, days in lines:
            v = post("/vendors", {"name": f"{vendor} portal", "category": category})
            account = post(
                "/vendor-accounts", {"client_id": hub.world.a, "vendor_id": v["id"], "account_number": "C-1"}
            )
            sub = post(
                "/subscriptions",
                {
                    "vendor_account_id": account["id"],
                    "product": product,
                    "quantity": qty,
                    "unit_cost": cost,
                    "client_unit_price": price,
                    "billing_period": period,
                    "payer": payer,
                    "starts_on": (day - timedelta(days=100)).isoformat(),
                    "ends_on": (day + timedelta(days=days)).isoformat(),
                    "renewal_type": "auto_hub" if vendor == "Microsoft" else "auto_vendor",
                    "notice_days": 30,
                },
            )
            if vendor == "Microsoft":
                waiting = sub["id"]
        assert api.post("/renewals/plan").status_code == 200
        renewal = api.get("/renewals", params={"subscription_id": waiting}).json()["items"][0]

    async def wait_for_approval() -> None:
        async with HubRuntime.open(hub.settings) as runtime, runtime.unit_of_work() as session:
            await session.execute(
                update(Renewal)
                .where(Renewal.id == uuid.UUID(renewal["id"]))
                .values(state=RenewalState.awaiting_approval, next_action_at=None)
            )
            if await users.by_email(session, "boss@beta.example") is None:
                beta = await users.create_user(
                    session,
                    CLI,
                    email="boss@beta.example",
                    name="Beta boss",
                    role=Role.client_admin,
                    client_id=uuid.UUID(hub.world.b),
                )
                users.set_password(beta, PASSWORD, runtime.now())

    # Playwright's own loop runs in this thread: the database write runs in another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, wait_for_approval()).result()
    return renewal["id"]


def _sign_in(page, hub, email: str) -> None:
    page.goto(hub.url + "/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_client_admin_reads_its_portal_and_approves_a_renewal(watched, hub):
    renewal_id = _enrich(hub)
    page = watched
    page.set_viewport_size({"width": 1200, "height": 900})
    _sign_in(page, hub, "boss@alfa.example")
    page.wait_for_url(re.compile(r"/portal$"))
    html = page.content()
    assert "Microsoft 365 Business Premium" in html and "€264.00" in html  # 12 x 22.00, the client's price
    assert MSP_COST not in html and "Beta Spa" not in html and hub.world.b not in html
    for name in ("What you pay per month, by category", "What you pay per month, by who is paid"):
        assert page.get_by_role("img", name=name).is_visible()
    assert page.get_by_role("img", name="Renewals in the next 12 months, by month").is_visible()
    assert axe_violations(page) == []
    weight = sum(
        len(page.request.get(hub.url + path).body())
        for path in ["/static/hub.css", *re.findall(r'<script src="([^"]+)"', html)]
    ) + len(html.encode())
    assert weight < 200_000, weight
    keep_screenshot(page, "portal")
    page.get_by_role("button", name="Approve the renewal of Microsoft 365 Business Premium").click()
    page.wait_for_url(re.compile(r"/portal\?notice=renewal_approved"))
    assert page.get_by_role("status").inner_text().startswith("Renewal approved")
    with httpx.Client(base_url=hub.url + "/api/v1", headers={"Authorization": f"Bearer {hub.token}"}) as api:
        renewal = api.get(f"/renewals/{renewal_id}").json()
    assert renewal["state"] == "approved" and renewal["decided_by"] == "user:boss@alfa.example"
    # A vendor case of Alfa: the list links its page, which shows the client-visible
    # timeline only and passes axe-core too.
    with httpx.Client(base_url=hub.url + "/api/v1", headers={"Authorization": f"Bearer {hub.token}"}) as api:
        account = api.get("/vendor-accounts", params={"client_id": hub.world.a}).json()["items"][0]
        case = api.post("/cases", json={"vendor_account_id": account["id"], "title": "Mail bounces"}).json()
        for event in (
            {
                "kind": "call_logged",
                "body": "Called the vendor's support",
                "minutes": 20,
                "client_visible": True,
            },
            {"kind": "note", "body": "MSP-ONLY remark"},
        ):
            assert api.post(f"/cases/{case['id']}/events", json=event).status_code == 201
    page.goto(hub.url + "/portal")
    page.get_by_role("link", name="Mail bounces").click()
    page.wait_for_url(re.compile(r"/portal/cases/"))
    html = page.content()
    assert "Called the vendor's support" in html and "20 min" in html and "MSP-ONLY" not in html
    assert axe_violations(page) == []
    # Beta's administrator sees Beta only, and cannot decide Alfa's renewal.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))
    _sign_in(page, hub, "boss@beta.example")
    page.wait_for_url(re.compile(r"/portal$"))
    html = page.content()
    assert page.get_by_role("heading", level=1).inner_text() == "Beta Spa"
    assert "Alfa Srl" not in html and "Microsoft 365 Business Premium" not in html and hub.world.a not in html
    assert page.request.get(f"{hub.url}/portal/cases/{case['id']}").status == 404
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for renewal in (renewal_id, hub.world.renewal_a):
        answer = page.request.post(
            f"{hub.url}/portal/renewals/{renewal}/decline", form={"csrf_token": token, "version": "1"}
        )
        assert answer.status == 404
    assert page.errors == [] and page.outside == []
