"""The pages in a real browser: signing in (password, TOTP, OIDC is in test_oidc_browser),
a forged form refused, a client user kept to its own client, every console page without
a console error or a serious accessibility violation (axe-core), and approving a renewal
with htmx."""

from __future__ import annotations

import re

import httpx

from hub.auth import totp
from tests.web.browser.conftest import axe_violations, vendored_axe_is_as_pinned
from tests.web.conftest import PASSWORD


def _sign_in(page, hub, email: str) -> None:
    page.goto(hub.url + "/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_with_password_and_totp(watched, hub):
    page = watched
    _sign_in(page, hub, "totp@msp.example")
    page.wait_for_url(re.compile(r"/sign-in/code$"))
    step = totp.step_of(__import__("datetime").datetime.now(__import__("datetime").UTC))
    page.get_by_label("Code").fill(totp.code_at(hub.totp_secret, step))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/console$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Today"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in\?notice=signed_out"))
    assert page.errors == [] and page.outside == []


def test_a_form_without_its_token_is_refused(watched, hub):
    page = watched
    page.goto(hub.url + "/sign-in")
    page.evaluate("document.querySelector('form[action=\"/sign-in\"] input[name=csrf_token]').remove()")
    page.get_by_label("E-mail").fill("tech@msp.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert "another site" in page.content()
    page.goto(hub.url + "/console")
    assert "/sign-in" in page.url


def test_a_client_user_sees_its_portal_and_404_on_console_urls(watched, hub):
    page = watched
    _sign_in(page, hub, "boss@alfa.example")
    page.wait_for_url(re.compile(r"/portal$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Alfa Srl"
    for client in (hub.world.b, hub.world.a):
        response = page.goto(f"{hub.url}/console/clients/{client}")
        assert response.status == 404
    assert axe_violations(page) == []


def test_every_console_page_renders_without_errors_and_passes_axe(watched, hub):
    assert vendored_axe_is_as_pinned()
    page = watched
    _sign_in(page, hub, "admin@msp.example")
    page.wait_for_url(re.compile(r"/console$"))
    pages = [
        "/console",
        "/console/clients",
        f"/console/clients/{hub.world.a}",
        "/console/renewals",
        "/console/connections",
        "/console/checks",
        "/console/cases",
        "/console/cases/new",
        "/console/triage",
        "/console/jobs",
        "/console/reminders",
        "/console/users",
        "/account",
    ]
    problems = {}
    for path in pages:
        response = page.goto(hub.url + path)
        assert response.status == 200, path
        found = (
            axe_violations(page)
            if path in ("/console", f"/console/clients/{hub.world.a}", "/console/renewals", "/account")
            else []
        )
        if found:
            problems[path] = found
    page.goto(hub.url + "/")
    page.context.clear_cookies()
    page.goto(hub.url + "/")
    problems.update({"/ (sign-in)": axe_violations(page)} if axe_violations(page) else {})
    assert problems == {}
    assert page.errors == [] and page.outside == []


def test_an_admin_approves_a_renewal_with_htmx(watched, hub):
    page = watched
    _sign_in(page, hub, "admin@msp.example")
    page.wait_for_url(re.compile(r"/console$"))
    page.goto(hub.url + "/console/renewals?state=awaiting_approval")
    row = page.locator(f"#renewal-{hub.world.renewal_a}")
    row.get_by_role("button", name="Approve").click()
    page.locator(f"#renewal-{hub.world.renewal_a}", has_text="saved").wait_for()
    assert "approved" in page.locator(f"#renewal-{hub.world.renewal_a}").inner_text()
    assert page.url.endswith("state=awaiting_approval")  # no full page load: htmx swapped the row
    with httpx.Client(base_url=hub.url + "/api/v1", headers={"Authorization": f"Bearer {hub.token}"}) as api:
        renewal = api.get(f"/renewals/{hub.world.renewal_a}").json()
    assert renewal["state"] == "approved" and renewal["decided_by"] == "user:admin@msp.example"
    assert page.errors == [] and page.outside == []
