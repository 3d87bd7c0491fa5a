"""Console actions go through the same services as the API, under the signed-in
person's principal: approving needs an admin, declining any staff; the same form works
without JavaScript (a redirect) and with htmx (the row comes back)."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.models import AuditEvent, Renewal
from hub.models.enums import Role
from tests.web.conftest import browser, build_world, form_token, make_user, sign_in


def _version(html: str, renewal_id: str) -> str:
    row = html[html.index(f'id="renewal-{renewal_id}"') :]
    return re.search(r'name="version" value="(\d+)"', row).group(1)


async def test_an_admin_approves_a_renewal_from_the_console_without_javascript(app, api, runtime):
    world = await build_world(api, runtime)
    await make_user(runtime, "admin@msp.example", Role.admin)
    async with browser(app) as admin:
        await sign_in(admin, "admin@msp.example")
        page = await admin.get("/console/renewals?state=awaiting_approval")
        assert page.status_code == 200 and "Approve" in page.text
        token = await form_token(admin, "/console/renewals")
        r = await admin.post(
            f"/console/renewals/{world.renewal_a}/approve",
            data={"csrf_token": token, "version": _version(page.text, world.renewal_a)},
        )
        assert r.status_code == 303 and r.headers["location"] == "/console/renewals?notice=renewal_approved"
        assert "Renewal approved" in (await admin.get(r.headers["location"])).text
    approved = (await api.get(f"/renewals/{world.renewal_a}")).json()
    assert approved["state"] == "approved" and approved["decided_by"] == "user:admin@msp.example"
    assert (await api.get(f"/renewals/{world.renewal_b}")).json()["state"] == "awaiting_approval"
    async with runtime.unit_of_work(write=False) as session:
        event = (
            (
                await session.execute(
                    select(AuditEvent)
                    .where(AuditEvent.subject_id == world.renewal_a)
                    .order_by(AuditEvent.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert event.actor == "user:admin@msp.example" and event.after["state"] == "approved"


async def test_htmx_gets_the_row_back_and_a_stale_version_is_refused(app, api, runtime):
    world = await build_world(api, runtime)
    await make_user(runtime, "admin@msp.example", Role.admin)
    async with browser(app) as admin:
        await sign_in(admin, "admin@msp.example")
        page = await admin.get("/console/renewals")
        version = _version(page.text, world.renewal_b)
        token = await form_token(admin, "/console/renewals")
        r = await admin.post(
            f"/console/renewals/{world.renewal_b}/decline",
            data={"version": version},
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        )
        assert r.status_code == 200 and r.text.lstrip().startswith(f'<tr id="renewal-{world.renewal_b}"')
        assert "declined" in r.text
        again = await admin.post(
            f"/console/renewals/{world.renewal_b}/approve", data={"csrf_token": token, "version": version}
        )
        assert again.status_code == 409
    assert (await api.get(f"/renewals/{world.renewal_b}")).json()["state"] == "declined"


async def test_a_technician_may_decline_but_not_approve(app, api, runtime):
    world = await build_world(api, runtime)
    await make_user(runtime, "tech@msp.example", Role.technician)
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        page = await tech.get("/console/renewals")
        assert "Approve" not in page.text and "Decline" in page.text
        token = await form_token(tech, "/console/renewals")
        async with runtime.unit_of_work(write=False) as session:
            version = (await session.get(Renewal, __import__("uuid").UUID(world.renewal_a))).version
        r = await tech.post(
            f"/console/renewals/{world.renewal_a}/approve",
            data={"csrf_token": token, "version": str(version)},
        )
        assert r.status_code == 403
        r = await tech.post(
            f"/console/renewals/{world.renewal_a}/decline",
            data={"csrf_token": token, "version": str(version)},
        )
        assert r.status_code == 303
    assert (await api.get(f"/renewals/{world.renewal_a}")).json()["state"] == "declined"


async def test_the_client_page_shows_the_clients_data_and_no_placeholder_is_left(app, api, runtime):
    world = await build_world(api, runtime)
    await make_user(runtime, "tech@msp.example", Role.technician)
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        page = (await tech.get(f"/console/clients/{world.a}")).text
        listing = (await tech.get("/console/clients", params={"q": "alf"})).text
    assert "Alfa Srl" in page and "alfa-example.com" in page and "Intercept X Advanced" in page
    assert "Beta Spa" not in page
    assert 'id="h-who"' in page and 'id="h-client-cases"' in page and "data-placeholder" not in page
    assert "Alfa Srl" in listing and "Beta Spa" not in listing


async def test_invite_without_a_mail_server_shows_the_link_once_and_it_works(app, api, runtime):
    world = await build_world(api, runtime)
    await make_user(runtime, "admin@msp.example", Role.admin)
    async with browser(app) as admin:
        await sign_in(admin, "admin@msp.example")
        token = await form_token(admin, "/console/users")
        r = await admin.post(
            "/console/users",
            data={
                "csrf_token": token,
                "name": "Anna",
                "email": "anna@alfa.example",
                "role": "client_viewer",
                "client_id": world.a,
            },
        )
        assert r.status_code == 200
        link = re.search(r"<code>http://127.0.0.1:8000(/invite/[^<]+)</code>", r.text).group(1)
    async with browser(app) as anna:
        page = await anna.get(link)
        assert page.status_code == 200 and "anna@alfa.example" in page.text
