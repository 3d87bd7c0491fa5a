"""Vendor cases in a real browser: a technician opens a case from a failing SPF check (real
DNS on loopback, the check run as a worker would), sees it on the case page with the
check's evidence attached, replies to the vendor, reveals the vendor's support PIN on the
client page's card with htmx, and no page logs a console error, asks for anything outside
the hub or has a serious accessibility violation."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.case.helpers import run_jobs
from tests.check.dns_server import DnsTestServer
from tests.check.world import publish, txt
from tests.web.browser.conftest import axe_violations, keep_screenshot
from tests.web.conftest import PASSWORD

PIN = "7731"


def _failing_check(hub) -> str:
    """A mail host for Alfa, a domain whose mail it hosts, and an SPF check of that domain
    that failed on its last run. Returns the check's id."""
    headers = {"Authorization": f"Bearer {hub.token}"}
    with DnsTestServer() as dns, httpx.Client(base_url=hub.url + "/api/v1", headers=headers) as api:

        def post(path: str, body: dict) -> dict:
            r = api.post(path, json=body)
            assert r.status_code in (201, 202), r.text
            return r.json()

        vendor = post("/vendors", {"name": "MailHost browser", "category": "mail_hosting"})
        profile = {"support_email": "support@mailhost.example", "mail_domains": ["mailhost.example"]}
        assert api.put(f"/vendors/{vendor['id']}/case-mail", json=profile).status_code == 200
        account = post(
            "/vendor-accounts",
            {
                "client_id": hub.world.a,
                "vendor_id": vendor["id"],
                "account_number": "MH-77",
                "support_pin": PIN,
            },
        )
        name = publish(dns, "alfa-browser.test", {("@", "TXT"): [txt("google-site-verification=1")]})
        domain = post(
            "/domains", {"client_id": hub.world.a, "name": name, "mail_host_account_id": account["id"]}
        )
        check = post("/checks", {"client_id": hub.world.a, "kind": "spf", "target_ref": domain["id"]})
        post(f"/checks/{check['id']}/run", {})

        async def run_the_check() -> None:
            from hub.runtime import HubRuntime

            async with HubRuntime.open(hub.settings) as runtime:
                runtime.use_settings(
                    check={"dns_nameservers": [dns.address], "dns_timeout": 2.0, "dns_attempts": 1}
                )
                assert await run_jobs(runtime, "check.run") >= 1

        # Playwright's own loop runs in this thread: the worker's run goes in another.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, run_the_check()).result()
        assert api.get(f"/checks/{check['id']}").json()["status"] == "fail"
    return str(check["id"])


def test_a_technician_opens_a_case_from_a_failing_check_and_replies(watched, hub):
    check_id = _failing_check(hub)
    page = watched
    page.goto(hub.url + "/")
    page.get_by_label("E-mail").fill("tech@msp.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console$"))

    page.goto(f"{hub.url}/console/checks/{check_id}")
    page.get_by_role("link", name="Open a case").click()
    page.wait_for_url(re.compile(r"/console/cases/new\?check_id="))
    assert "SPF check failing for alfa-browser.test" in page.get_by_label("Title").input_value()
    assert (
        "MailHost browser" in page.get_by_label("Vendor and account").locator("option:checked").inner_text()
    )
    assert page.get_by_role("heading", name="Evidence that goes with the case").is_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Open the case").click()

    page.wait_for_url(re.compile(r"/console/cases/[0-9a-f-]{36}\?notice=case_opened$"))
    case_url = page.url.split("?")[0]
    assert "SPF check failing for alfa-browser.test" in page.get_by_role("heading", level=1).inner_text()
    assert "waiting for the vendor" in page.get_by_role("heading", level=1).inner_text()
    files = page.locator("#h-files + ul")
    assert re.search(r"check-spf-\d+\.json", files.inner_text())
    assert axe_violations(page) == []

    page.locator("#reply-body").fill("Any news on the SPF record?")
    page.get_by_role("button", name="Send the reply").click()
    page.wait_for_url(re.compile(r"\?notice=case_reply_queued$"))
    assert page.get_by_role("status").inner_text().startswith("Reply queued")
    assert page.locator("table tbody tr[id^=mail-]").count() == 2  # the first message and the reply
    page.locator("ol.timeline details summary").last.click()
    assert "Any news on the SPF record?" in page.locator("ol.timeline details").last.inner_text()
    keep_screenshot(page, "console-case")

    page.goto(hub.url + "/console/cases")
    assert page.get_by_role("link", name=re.compile("SPF check failing")).get_attribute(
        "href"
    ) == case_url.replace(hub.url, "")
    assert axe_violations(page) == []
    pictures = {"/console": "console-today"}
    for path in ("/console", "/console/triage", f"/console/clients/{hub.world.a}"):
        assert page.goto(hub.url + path).status == 200, path
        if path in pictures:
            keep_screenshot(page, pictures[path])
    assert axe_violations(page) == []  # the client page with its cards, lines and cases
    card = page.locator("section.card", has=page.get_by_role("link", name="MailHost browser"))
    assert PIN not in card.inner_text()
    card.get_by_role("button", name="Reveal (recorded)").click()
    card.get_by_role("status").wait_for()
    assert card.get_by_role("status").inner_text() == f"PIN: {PIN}"
    assert page.url.endswith(f"/console/clients/{hub.world.a}")  # htmx swapped the PIN in place
    keep_screenshot(page, "console-client")
    assert page.errors == [] and page.outside == []
