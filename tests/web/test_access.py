"""Every page route, for every kind of visitor: like tests/api/test_access.py for the API.

Each page of the app must be classified in PAGES: a page added later fails
`test_page_table_covers_exactly_the_pages_of_the_app` until it is, and from then on it
goes through the checks below: signed out you are sent to sign in (or refused the form),
a client user gets 404 on every console page (its own client's or another's), a
technician gets 403 on admin pages, and staff see every console page with data in it.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hub.api.routes import served_routes
from hub.app import API_PREFIX, create_app
from hub.models.enums import Role
from hub.settings import Settings
from tests.web.conftest import browser, build_world, form_token, make_user, sign_in

# kind: "public"   anyone (the sign-in pages, links that carry their own token)
#       "user"     any signed-in person (their own account)
#       "staff"    the console: technicians and admins; a client user gets 404
#       "admin"    admins; technicians get 403, client users 404
#       "client"   the portal: client users; staff get 404
PAGES: dict[tuple[str, str], str] = {
    ("GET", "/"): "public",
    ("GET", "/sign-in"): "public",
    ("POST", "/sign-in"): "public",
    ("GET", "/sign-in/code"): "public",
    ("POST", "/sign-in/code"): "public",
    ("POST", "/sign-out"): "public",
    ("POST", "/language"): "public",
    ("GET", "/auth/oidc/start"): "public",
    ("GET", "/auth/oidc/callback"): "public",
    ("GET", "/invite/{token}"): "public",
    ("POST", "/invite/{token}"): "public",
    ("GET", "/reset/{token}"): "public",
    ("POST", "/reset/{token}"): "public",
    ("GET", "/forgot"): "public",
    ("POST", "/forgot"): "public",
    ("GET", "/account"): "user",
    ("POST", "/account/sign-out-everywhere"): "user",
    ("POST", "/account/totp"): "user",
    ("POST", "/account/totp/confirm"): "user",
    ("POST", "/account/totp/off"): "user",
    ("GET", "/console"): "staff",
    ("GET", "/console/clients"): "staff",
    ("GET", "/console/clients/{client_id}"): "staff",
    ("GET", "/console/vendors/{vendor_id}"): "staff",
    ("GET", "/console/clients/{client_id}/statement.pdf"): "staff",
    ("GET", "/console/clients/{client_id}/statement.csv"): "staff",
    ("GET", "/console/clients/{client_id}/review"): "staff",
    ("GET", "/console/clients/{client_id}/review.pdf"): "staff",
    ("GET", "/console/renewals"): "staff",
    ("POST", "/console/renewals/{renewal_id}/approve"): "admin",
    ("POST", "/console/renewals/{renewal_id}/decline"): "staff",
    ("GET", "/console/connections"): "staff",
    ("POST", "/console/connections/{connection_id}/test"): "staff",
    ("GET", "/console/checks"): "staff",
    ("GET", "/console/checks/{check_id}"): "staff",
    ("GET", "/console/cases"): "staff",
    ("GET", "/console/cases/new"): "staff",
    ("POST", "/console/cases/new"): "staff",
    ("GET", "/console/cases/{case_id}"): "staff",
    ("GET", "/console/cases/{case_id}/attachments/{attachment_id}"): "staff",
    ("POST", "/console/cases/{case_id}/reply"): "staff",
    ("POST", "/console/cases/{case_id}/events"): "staff",
    ("POST", "/console/cases/{case_id}/status"): "staff",
    ("POST", "/console/cases/{case_id}/escalate"): "staff",
    ("POST", "/console/cases/{case_id}/chasers"): "staff",
    ("POST", "/console/cases/{case_id}/resend"): "staff",
    ("GET", "/console/triage"): "staff",
    ("POST", "/console/triage/{item_id}/assign"): "staff",
    ("POST", "/console/triage/{item_id}/dismiss"): "staff",
    ("POST", "/console/vendor-accounts/{account_id}/pin"): "staff",
    ("GET", "/console/jobs"): "admin",
    ("GET", "/console/reminders"): "admin",
    ("GET", "/console/users"): "admin",
    ("POST", "/console/users"): "admin",
    ("POST", "/console/users/{user_id}/sign-out-everywhere"): "admin",
    ("POST", "/console/users/{user_id}/reset"): "admin",
    ("GET", "/portal"): "client",
    ("POST", "/portal/renewals/{renewal_id}/approve"): "client",
    ("POST", "/portal/renewals/{renewal_id}/decline"): "client",
    ("POST", "/portal/calendar"): "client",
    ("GET", "/portal/cases/{case_id}"): "client",
    ("GET", "/portal/statement.pdf"): "client",
    ("GET", "/portal/statement.csv"): "client",
}


def page_routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for path, route in served_routes(app.routes):
        if path.startswith((API_PREFIX, "/static", "/docs", "/redoc", "/openapi")) or path in (
            "/livez",
            "/readyz",
            "/metrics",
        ):
            continue
        for method in getattr(route, "methods", None) or ():
            if method not in {"HEAD", "OPTIONS"}:
                found.add((method, path))
    return found


_APP = create_app(settings=Settings(database_url="sqlite+aiosqlite:///:memory:"))  # never started
ALL_PAGES = sorted(page_routes(_APP))


def test_page_table_covers_exactly_the_pages_of_the_app() -> None:
    assert set(ALL_PAGES) == set(PAGES), (
        f"unclassified: {sorted(set(ALL_PAGES) - set(PAGES))}; gone: {sorted(set(PAGES) - set(ALL_PAGES))}"
    )


def fill(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path.replace("{token}", "x" * 43)


async def _ids(api, runtime, world) -> dict[str, str]:
    vendor = (await api.get("/vendors")).json()["items"][0]["id"]
    return {
        "client_id": world.a,
        "vendor_id": vendor,
        "renewal_id": world.renewal_a,
        "connection_id": str(uuid.uuid4()),
        "check_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "case_id": str(uuid.uuid4()),
        "attachment_id": "1",
        "item_id": "1",
        "account_id": str(uuid.uuid4()),
    }


async def test_signed_out_visitors_are_sent_to_sign_in_or_refused(app, api, runtime):
    world = await build_world(api, runtime)
    ids = await _ids(api, runtime, world)
    failures = []
    async with browser(app) as anonymous:
        token = await form_token(anonymous)
        for method, path in ALL_PAGES:
            if PAGES[(method, path)] == "public":
                continue
            url = fill(path, ids)
            if method == "GET":
                r = await anonymous.get(url)
                ok = r.status_code == 303 and r.headers["location"].startswith("/sign-in?next=")
            else:
                r = await anonymous.post(url, data={"csrf_token": token})
                ok = r.status_code == 303 and r.headers["location"].startswith("/sign-in")
            if not ok:
                failures.append(f"{method} {url}: {r.status_code} {r.headers.get('location')}")
    assert not failures, "\n".join(failures)


async def test_a_client_user_gets_404_on_every_console_page_of_any_client(app, api, runtime):
    world = await build_world(api, runtime)
    ids = await _ids(api, runtime, world)
    await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=world.a)
    failures = []
    async with browser(app) as client_user:
        assert (await sign_in(client_user, "boss@alfa.example")).headers["location"] == "/portal"
        token = await form_token(client_user, "/portal")
        for method, path in ALL_PAGES:
            if PAGES[(method, path)] not in ("staff", "admin"):
                continue
            for own in (world.a, world.b):
                url = fill(
                    path,
                    {
                        **ids,
                        "client_id": own,
                        "renewal_id": world.renewal_a if own == world.a else world.renewal_b,
                    },
                )
                r = await (
                    client_user.get(url)
                    if method == "GET"
                    else client_user.post(url, data={"csrf_token": token})
                )
                if r.status_code != 404 or "nothing here" not in r.text:
                    failures.append(f"{method} {url}: {r.status_code}")
        portal = await client_user.get("/portal")
        assert portal.status_code == 200 and "Alfa Srl" in portal.text and "Beta Spa" not in portal.text
    assert not failures, "\n".join(failures)
    renewals = (await api.get("/renewals")).json()["items"]
    assert {r["state"] for r in renewals} == {"awaiting_approval"}  # nothing was decided


async def test_technicians_get_403_on_admin_pages_and_staff_pages_render(app, api, runtime):
    world = await build_world(api, runtime)
    ids = await _ids(api, runtime, world)
    await make_user(runtime, "tech@msp.example", Role.technician)
    await make_user(runtime, "admin@msp.example", Role.admin)
    failures = []
    async with browser(app) as tech, browser(app) as admin:
        await sign_in(tech, "tech@msp.example")
        await sign_in(admin, "admin@msp.example")
        token = await form_token(tech, "/account")
        for method, path in ALL_PAGES:
            kind = PAGES[(method, path)]
            url = fill(path, ids)
            if kind == "admin":
                r = await (tech.get(url) if method == "GET" else tech.post(url, data={"csrf_token": token}))
                if r.status_code != 403:
                    failures.append(f"technician {method} {url}: {r.status_code}")
            if (
                method == "GET"
                and kind in ("staff", "admin")
                and "{" not in path.replace("{client_id}", "").replace("{vendor_id}", "")
            ):
                for who, client in (("technician", tech), ("admin", admin)):
                    if kind == "admin" and who == "technician":
                        continue
                    r = await client.get(url)
                    if r.status_code != 200:
                        failures.append(f"{who} GET {url}: {r.status_code} {r.text[:200]}")
            if kind == "client":
                r = await (tech.get(url) if method == "GET" else tech.post(url, data={"csrf_token": token}))
                if r.status_code != 404:
                    failures.append(f"technician {method} {url}: {r.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("missing", ["client_id", "vendor_id", "check_id", "case_id"])
async def test_a_missing_object_is_a_404_page_for_staff(app, api, runtime, missing):
    world = await build_world(api, runtime)
    await make_user(runtime, "tech@msp.example", Role.technician)
    path = {
        "client_id": "/console/clients/{x}",
        "vendor_id": "/console/vendors/{x}",
        "check_id": "/console/checks/{x}",
        "case_id": "/console/cases/{x}",
    }
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        r = await tech.get(path[missing].replace("{x}", str(uuid.uuid4())))
        assert r.status_code == 404 and "text/html" in r.headers["content-type"]
        bad = await tech.get(path[missing].replace("{x}", "not-an-id"))
        assert bad.status_code == 422
    assert world.a
