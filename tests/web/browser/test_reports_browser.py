"""The reports in a real browser: a client admin downloads its statement from the portal
and the PDF carries the page's totals; a technician opens the quarterly review from the
client page, and it renders without console errors and passes axe-core."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.report.test_statement import pdf_text
from tests.web.browser.conftest import axe_violations, keep_screenshot
from tests.web.conftest import PASSWORD


def _sign_in(page, hub, email: str) -> None:
    page.goto(hub.url + "/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_statement_downloaded_from_the_portal_has_the_pages_totals(watched, hub):
    page = watched
    _sign_in(page, hub, "boss@alfa.example")
    page.wait_for_url(re.compile(r"/portal$"))
    figures = [" ".join(t.replace("\xa0", " ").split()) for t in page.locator("p.figure").all_inner_texts()]
    totals = [f.split(" per ")[0] for f in figures if " per " in f]
    assert totals, figures
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this statement (PDF)").click()
    body = Path(download.value.path()).read_bytes()
    assert body.startswith(b"%PDF") and download.value.suggested_filename.startswith("statement-alfa-")
    text = pdf_text(body)
    for total in totals:
        assert total in text, (total, text[:500])
    assert "Beta Spa" not in text
    assert page.errors == [] and page.outside == []


def test_the_quarterly_review_opens_from_the_client_page_and_passes_axe(watched, hub):
    page = watched
    # An admin derives the past days' coverage, as a new install would before its first review.
    with httpx.Client(base_url=hub.url + "/api/v1", headers={"Authorization": f"Bearer {hub.token}"}) as api:
        filled = api.post("/reports/backfill", json={})
    assert filled.status_code == 200 and filled.json()["days"] > 0, filled.text
    _sign_in(page, hub, "admin@msp.example")
    page.wait_for_url(re.compile(r"/console$"))
    page.goto(f"{hub.url}/console/clients/{hub.world.a}")
    page.get_by_role("link", name="Quarterly business review").click()
    page.wait_for_url(re.compile(r"/review$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Quarterly business review")
    assert page.locator("#coverage").is_visible()
    assets = page.locator("#coverage tr", has_text="Assets recorded").locator("td")
    assert assets.nth(1).inner_text() == "1"  # this quarter: the one server of the world, not "—"
    assert axe_violations(page) == []
    keep_screenshot(page, "console-review")
    page.get_by_label("Quarter", exact=True).select_option(index=1)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"/review\?quarter=\d{4}Q[1-4]$"))
    assert page.errors == [] and page.outside == []
