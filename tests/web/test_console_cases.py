"""Vendor cases in the console: every page renders with data, every form changes the case
through the same service as the API (what the API then reads back), a form without its
CSRF token is refused, a client user gets the 404 page on console case URLs (its own
client's case included), staff open any client's case; a case is opened from a failing
check with its evidence; the triage queue files or dismisses; the client page shows the
real "who to call" cards with an audited PIN reveal, the lines and the cases."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.models import AuditEvent, CaseMail
from hub.models.enums import AuditAction, Role
from hub.runtime import HubRuntime
from tests import factories as f
from tests.case.helpers import MAIL_SETTINGS, mails, run_jobs
from tests.check.conftest import dns_server
from tests.check.dns_server import DnsTestServer
from tests.check.world import publish, txt
from tests.web.conftest import browser, csrf_of, make_user, sign_in

__all__ = ["dns_server"]
RELAY = "relay-secret-" + "c" * 20
PIN = "4417-22"
INTERNAL = "Their L1 is useless, ask for Marco"


@pytest.fixture(autouse=True)
def mail_identity(runtime: HubRuntime, dns_server: DnsTestServer) -> None:
    runtime.use_settings(
        case={**MAIL_SETTINGS, "relay_token": RELAY},
        check={"dns_nameservers": [dns_server.address], "dns_timeout": 2.0, "dns_attempts": 1},
    )


async def _client_with_mail_host(api: httpx.AsyncClient, name: str, domain: str) -> dict[str, Any]:
    client = await f.client(api, name=name)
    vendor = await f.vendor(
        api,
        name=f"{name} MailHost",
        category="mail_hosting",
        support_channels=[{"kind": "phone", "value": "+39 02 555 0100", "label": "Support line"}],
        escalation_levels=[{"level": 1, "name": "Duty manager", "contact": f"duty@{domain}"}],
    )
    account = await f.account(api, client["id"], vendor["id"], support_pin=PIN, contract_number="CTR-9")
    profile = {"support_email": f"support@{domain}", "mail_domains": [domain], "sla_first_response": "4h"}
    assert (await api.put(f"/vendors/{vendor['id']}/case-mail", json=profile)).status_code == 200
    return {"client": client, "vendor": vendor, "account": account, "domain": domain}


async def failing_check(
    api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer, alfa: dict[str, Any]
) -> dict[str, Any]:
    """An SPF check of a domain whose mail Alfa's mail host hosts, failed on its last run
    (real DNS on loopback, run as a worker would)."""
    name = publish(dns_server, "alfa-mail.test", {("@", "TXT"): [txt("google-site-verification=1")]})
    domain = await f.domain(api, alfa["client"]["id"], name=name, mail_host_account_id=alfa["account"]["id"])
    check = (
        await api.post(
            "/checks", json={"client_id": alfa["client"]["id"], "kind": "spf", "target_ref": domain["id"]}
        )
    ).json()
    assert (await api.post(f"/checks/{check['id']}/run")).status_code == 202
    assert await run_jobs(runtime, "check.run") == 1
    assert (await api.get(f"/checks/{check['id']}")).json()["status"] == "fail"
    return check  # type: ignore[no-any-return]


async def cases_world(api: httpx.AsyncClient) -> dict[str, Any]:
    """Alfa: a mail host (phone line, an escalation contact, a PIN on file) with a case
    already sent (with an internal note). Beta: a case of its own."""
    alfa = await _client_with_mail_host(api, "Alfa Srl", "mailhost.example")
    beta = await _client_with_mail_host(api, "Beta Spa", "otherhost.example")
    body = {"vendor_account_id": alfa["account"]["id"], "title": "Webmail is down", "submit": True}
    case = (await api.post("/cases", json=body)).json()
    r = await api.post(f"/cases/{case['id']}/events", json={"kind": "note", "body": INTERNAL})
    assert r.status_code == 201
    theirs = (
        await api.post(
            "/cases",
            json={
                "vendor_account_id": beta["account"]["id"],
                "title": "Beta's private trouble",
                "submit": True,
            },
        )
    ).json()
    return {"alfa": alfa, "beta": beta, "case": case, "theirs": theirs}


async def _token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    return csrf_of(page.text)


async def _detail(api: httpx.AsyncClient, case_id: str) -> dict[str, Any]:
    return (await api.get(f"/cases/{case_id}")).json()  # type: ignore[no-any-return]


async def test_the_case_pages_show_the_list_the_case_and_its_marked_internal_notes(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    w = await cases_world(api)
    await make_user(runtime, "tech@msp.example")
    case, token = w["case"], w["case"]["token"]
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        everything = (await tech.get("/console/cases")).text
        only_alfa = (await tech.get("/console/cases", params={"client_id": w["alfa"]["client"]["id"]})).text
        by_vendor = (await tech.get("/console/cases", params={"vendor_id": w["beta"]["vendor"]["id"]})).text
        searched = (await tech.get("/console/cases", params={"q": token.lower()})).text
        breaching_now = (await tech.get("/console/cases", params={"breaching": "1"})).text
        page = await tech.get(f"/console/cases/{case['id']}")
        italian = await tech.get(f"/console/cases/{case['id']}", headers={"accept-language": "it"})
        bad = await tech.get("/console/cases", params={"status": "sleeping"})
    assert "Webmail is down" in everything and "Beta&#39;s private trouble" in everything
    assert "Webmail is down" in only_alfa and "Beta&#39;s private trouble" not in only_alfa
    assert "Beta&#39;s private trouble" in by_vendor and "Webmail is down" not in by_vendor
    assert "Webmail is down" in searched and "Beta&#39;s private trouble" not in searched
    assert "Webmail is down" not in breaching_now  # 4 hours to go
    assert bad.status_code == 422 and "status" in bad.text

    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "Alfa Srl MailHost" in html and token in html and "waiting for the vendor" in html
    assert "support@mailhost.example" in html and "first response" in html and "4h" in html
    note = html[html.index(INTERNAL) - 600 : html.index(INTERNAL)]
    assert 'class="internal"' in note and "internal" in note
    assert "Case created: Webmail is down" in html and "client sees it" in html
    assert "Duty manager &lt;duty@mailhost.example&gt;" in html  # the escalation choice
    assert "Risposta al fornitore" in italian.text and "in attesa del fornitore" in italian.text


async def test_breaching_cases_and_triage_reach_today_and_the_list(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    w = await cases_world(api)
    await make_user(runtime, "tech@msp.example")
    stray = (
        "From: Someone <someone@unknown.example>\r\nTo: cases@msp.example\r\nSubject: About our invoice\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@unknown.example>\r\n\r\nHello, is the invoice paid?\r\n"
    ).encode()
    r = await api.post("/cases/inbound", content=stray, headers={"X-Hub-Relay-Token": RELAY})
    assert r.json()["outcome"] == "triage", r.text
    later = runtime.now() + timedelta(hours=5)  # past the 4-hour first-response target
    runtime.clock = lambda: later
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        today = (await tech.get("/console")).text
        breaching = (await tech.get("/console/cases", params={"breaching": "1"})).text
        triage = (await tech.get("/console/triage")).text
    section = today[today.index('id="h-cases"') :]
    assert "Webmail is down" in section and "breaching" in section
    assert "Messages waiting in triage: 1" in today
    assert "Webmail is down" in breaching and "breaching" in breaching
    assert "About our invoice" in triage and "someone@unknown.example" in triage
    assert "is the invoice paid?" in triage and "nothing in it points at a case" in triage
    assert f'value="{w["case"]["id"]}"' in triage


async def test_every_case_form_acts_through_the_service(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    w = await cases_world(api)
    await make_user(runtime, "tech@msp.example")
    case_id = w["case"]["id"]
    base = f"/console/cases/{case_id}"
    before = len(await mails(runtime.sessionmaker, case_id))
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        token = await _token(tech, base)

        async def post(action: str, **data: str) -> httpx.Response:
            return await tech.post(f"{base}/{action}", data={"csrf_token": token, **data})

        r = await post("reply", body="Any news on the webmail?", cc="boss@alfa.example")
        assert r.status_code == 303 and r.headers["location"] == f"{base}?notice=case_reply_queued"
        assert "Reply queued" in (await tech.get(r.headers["location"])).text
        assert (
            await post("events", kind="note", body="Customer informed", client_visible="1")
        ).status_code == 303
        assert (await post("events", kind="call_logged", body="Called L1", minutes="12")).status_code == 303
        assert (await post("events", kind="time_spent", minutes="30", client_visible="1")).status_code == 303
        assert (
            await post("escalate", contact="duty@mailhost.example", body="Please escalate")
        ).status_code == 303
        assert (await post("chasers", paused="1")).status_code == 303
        assert (
            await post("status", status="waiting_client", note="Asked the client for logs")
        ).status_code == 303
        bad_minutes = await post("events", kind="time_spent", minutes="lots")
        not_a_contact = await post("escalate", contact="evil@attacker.example", body="x")
        not_allowed = await post("status", status="draft")
        assert (await post("status", status="resolved")).status_code == 303
        assert (await post("status", status="open", note="Still broken")).status_code == 303
        assert (await post("status", status="closed")).status_code == 303
        closed_reply = await post("reply", body="too late")
    assert bad_minutes.status_code == 422 and "minutes" in bad_minutes.text
    assert not_a_contact.status_code == 422 and "contact" in not_a_contact.text
    assert not_allowed.status_code == 409 and closed_reply.status_code == 409

    got = await _detail(api, case_id)
    assert got["status"] == "closed" and got["chasers_paused"] is True
    by_kind = {e["kind"]: e for e in got["timeline"]}
    assert by_kind["call_logged"]["minutes_spent"] == 12 and by_kind["call_logged"]["client_visible"] is False
    assert by_kind["time_spent"]["minutes_spent"] == 30 and by_kind["time_spent"]["client_visible"] is True
    assert by_kind["escalation"]["body"] == "Escalated to level 2: Duty manager"
    assert any(e["body"] == "Customer informed" and e["client_visible"] for e in got["timeline"])
    statuses = [e["meta"]["to"] for e in got["timeline"] if e["kind"] == "status_change"]
    assert statuses[-5:] == ["waiting_vendor", "waiting_client", "resolved", "open", "closed"]
    assert all(e["actor"] == "user:tech@msp.example" for e in got["timeline"][-1:])
    queued = await mails(runtime.sessionmaker, case_id)
    assert len(queued) == before + 2  # the reply and the escalation, through the outbox
    assert "duty@mailhost.example" in queued[-1].recipients and b"Please escalate" in queued[-1].raw
    assert b"Any news on the webmail?" in queued[-2].raw and "boss@alfa.example" in queued[-2].recipients
    async with runtime.unit_of_work(write=False) as session:
        actions = (
            await session.execute(
                select(AuditEvent.meta).where(
                    AuditEvent.subject_id == case_id, AuditEvent.action == AuditAction.vendor_action
                )
            )
        ).scalars()
        assert sum(1 for m in actions if m.get("action") == "mail_queued") >= 2


async def test_a_form_without_its_csrf_token_changes_nothing(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    w = await cases_world(api)
    await make_user(runtime, "tech@msp.example")
    case_id = w["case"]["id"]
    before = await _detail(api, case_id)
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        for action, data in (
            ("reply", {"body": "forged"}),
            ("events", {"kind": "note", "body": "forged"}),
            ("status", {"status": "closed"}),
        ):
            r = await tech.post(f"/console/cases/{case_id}/{action}", data=data)
            assert r.status_code == 403 and "another site" in r.text
        r = await tech.post(
            "/console/cases/new", data={"vendor_account_id": w["alfa"]["account"]["id"], "title": "x"}
        )
        assert r.status_code == 403
    after = await _detail(api, case_id)
    assert after["timeline"] == before["timeline"] and after["status"] == "waiting_vendor"
    assert len(await mails(runtime.sessionmaker, case_id)) == len(before["mails"])
    assert (await api.get("/cases")).json()["total"] == 2


async def test_a_client_user_gets_404_on_console_case_urls_and_staff_open_any_clients_case(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    w = await cases_world(api)
    await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=w["alfa"]["client"]["id"])
    await make_user(runtime, "tech@msp.example")
    own, theirs = w["case"]["id"], w["theirs"]["id"]
    async with browser(app) as boss, browser(app) as tech:
        await sign_in(boss, "boss@alfa.example")
        token = await _token(boss, "/portal")
        for path in (
            f"/console/cases/{own}",
            f"/console/cases/{theirs}",
            "/console/cases",
            "/console/triage",
        ):
            r = await boss.get(path)
            assert r.status_code == 404 and "nothing here" in r.text, path
        r = await boss.post(f"/console/cases/{own}/reply", data={"csrf_token": token, "body": "hi"})
        assert r.status_code == 404
        await sign_in(tech, "tech@msp.example")
        assert (await tech.get(f"/console/cases/{theirs}")).status_code == 200
        assert (await tech.get(f"/console/cases/{uuid.uuid4()}")).status_code == 404
        assert (await tech.get("/console/cases/not-a-case")).status_code == 422
    assert len((await _detail(api, own))["mails"]) == 1  # nothing was sent by the client user


async def test_a_case_opened_from_a_failing_check_carries_its_evidence_and_resolving_reruns_it(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    w = await cases_world(api)
    check_id = (await failing_check(api, runtime, dns_server, w["alfa"]))["id"]
    await make_user(runtime, "tech@msp.example")
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        check_page = (await tech.get(f"/console/checks/{check_id}")).text
        assert f'href="/console/cases/new?check_id={check_id}"' in check_page
        form = (await tech.get(f"/console/cases/new?check_id={check_id}")).text
        account = w["alfa"]["account"]["id"]
        assert re.search(rf'<option value="{account}" selected>', form)  # the domain's mail host
        assert "SPF check failing for alfa-mail.test" in form and ".json" in form
        r = await tech.post(
            "/console/cases/new",
            data={
                "csrf_token": csrf_of(form),
                "check_id": check_id,
                "vendor_account_id": account,
                "title": "SPF check failing for alfa-mail.test",
                "severity": "high",
                "submit": "1",
            },
        )
        assert r.status_code == 303, r.text[:300]
        case_url = r.headers["location"].split("?")[0]
        page = (await tech.get(case_url)).text
        blank = await tech.get("/console/cases/new", params={"client_id": w["alfa"]["client"]["id"]})
    case = await _detail(api, case_url.rsplit("/", 1)[1])
    assert (
        case["check_run_id"] is not None and case["status"] == "waiting_vendor" and case["severity"] == "high"
    )
    [evidence] = case["attachments"]
    assert evidence["filename"].startswith("check-spf-")
    assert f'/attachments/{evidence["id"]}"' in page and "SPF check failing" in page
    assert blank.status_code == 200 and "Alfa Srl MailHost" in blank.text
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        got = await tech.get(f"{case_url}/attachments/{evidence['id']}")
        # Resolving closes the loop: the check runs again; still failing, the case reopens.
        token = await _token(tech, case_url)
        r = await tech.post(f"{case_url}/status", data={"csrf_token": token, "status": "resolved"})
        assert r.status_code == 303
    assert got.status_code == 200 and got.headers["content-disposition"].startswith("attachment")
    assert b"spf" in got.content.lower()
    assert await run_jobs(runtime, "case.verify") == 1
    case = await _detail(api, case["id"])
    assert case["status"] in ("open", "waiting_vendor") and case["resolved_at"] is None
    assert [e["kind"] for e in case["timeline"]].count("verification") == 1


async def test_triage_files_a_message_on_a_case_or_dismisses_it(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    w = await cases_world(api)
    await make_user(runtime, "tech@msp.example")
    for subject in ("Your webmail case", "Newsletter"):
        raw = (
            f"From: Helpdesk <help@mailhost.example>\r\nTo: cases@msp.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@mailhost.example>\r\n\r\nWe restarted the webmail.\r\n"
        ).encode()
        r = await api.post("/cases/inbound", content=raw, headers={"X-Hub-Relay-Token": RELAY})
        assert r.json()["outcome"] == "triage", r.text
    ids = [i["id"] for i in (await api.get("/triage")).json()["items"]]
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        queue = (await tech.get("/console/triage")).text
        token = csrf_of(queue)
        offered = re.findall(
            r'<option value="([0-9a-f-]{36})"', queue[queue.index(f'id="case-for-{ids[0]}"') :]
        )
        assert offered[0] == w["case"]["id"]  # the sender's vendor's case first, then the others
        assert w["theirs"]["id"] in offered
        filed = await tech.post(
            f"/console/triage/{ids[0]}/assign", data={"csrf_token": token, "case_id": w["case"]["id"]}
        )
        dismissed = await tech.post(f"/console/triage/{ids[1]}/dismiss", data={"csrf_token": token})
        again = await tech.post(f"/console/triage/{ids[1]}/dismiss", data={"csrf_token": token})
        left = (await tech.get("/console/triage")).text
    assert filed.status_code == 303 and filed.headers["location"].startswith(
        f"/console/cases/{w['case']['id']}"
    )
    assert dismissed.status_code == 303 and again.status_code == 409
    assert "Nothing waits in triage." in left
    states = {
        i["id"]: i["state"] for i in (await api.get("/triage", params={"state": "filed"})).json()["items"]
    }
    assert states == {ids[0]: "filed"}
    timeline = (await _detail(api, w["case"]["id"]))["timeline"]
    assert any(e["kind"] == "email_in" and "We restarted the webmail." in e["body"] for e in timeline)


async def test_the_client_page_shows_the_cards_lines_and_cases_and_reveals_the_pin_audited(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    w = await cases_world(api)
    await make_user(runtime, "tech@msp.example")
    await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=w["alfa"]["client"]["id"])
    alfa = w["alfa"]
    line = await api.post(
        "/lines",
        json={
            "client_id": alfa["client"]["id"],
            "vendor_account_id": alfa["account"]["id"],
            "name": "Office fibre",
            "circuit_id": "FTTH-778",
            "technology": "ftth",
        },
    )
    assert line.status_code == 201, line.text
    account_id = alfa["account"]["id"]
    async with browser(app) as tech, browser(app) as boss:
        await sign_in(tech, "tech@msp.example")
        page = (await tech.get(f"/console/clients/{alfa['client']['id']}")).text
        vendor_page = (await tech.get(f"/console/vendors/{alfa['vendor']['id']}")).text
        token = csrf_of(page)
        revealed = await tech.post(
            f"/console/vendor-accounts/{account_id}/pin",
            data={"csrf_token": token},
            headers={"HX-Request": "true"},
        )
        await sign_in(boss, "boss@alfa.example")
        boss_token = await _token(boss, "/portal")
        refused = await boss.post(
            f"/console/vendor-accounts/{account_id}/pin", data={"csrf_token": boss_token}
        )
    who = page[page.index('id="h-who"') : page.index('id="h-health"')]
    assert (
        "Alfa Srl MailHost" in who and "+39 02 555 0100" in who and alfa["account"]["account_number"] in who
    )
    assert "Reveal (recorded)" in who and PIN not in page and "Duty manager" in who
    assert (
        "Office fibre" in page
        and "FTTH-778" in page
        and f"/console/cases/new?line_id={line.json()['id']}" in page
    )
    cases = page[page.index('id="h-client-cases"') :]
    assert "Webmail is down" in cases and "Beta&#39;s private trouble" not in cases
    assert "Webmail is down" in vendor_page and "Beta&#39;s private trouble" not in vendor_page
    assert (
        revealed.status_code == 200
        and PIN in revealed.text
        and revealed.headers["cache-control"] == "no-store"
    )
    assert refused.status_code == 404 and PIN not in refused.text
    async with runtime.unit_of_work(write=False) as session:
        reveals = (
            (
                await session.execute(
                    select(AuditEvent.actor).where(AuditEvent.action == AuditAction.reveal_secret)
                )
            )
            .scalars()
            .all()
        )
        outbound = (await session.execute(select(CaseMail.id))).scalars().all()
    assert reveals == ["user:tech@msp.example"] and len(outbound) == 2


EXPECTED_TITLE = {"asset_id": "SN-0042", "subscription_id": "Mail Pro 50", "line_id": "FTTH-778"}


@pytest.mark.parametrize("source", sorted(EXPECTED_TITLE))
async def test_a_case_opened_from_an_asset_a_subscription_or_a_line_is_prefilled_and_linked(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer, source: str
) -> None:
    alfa = await _client_with_mail_host(api, "Alfa Srl", "mailhost.example")
    client_id, account_id = alfa["client"]["id"], alfa["account"]["id"]
    if source == "asset_id":
        made = await f.asset(api, client_id, vendor_account_id=account_id, serial="SN-0042")
    elif source == "subscription_id":
        made = await f.subscription(api, account_id, product="Mail Pro 50")
    else:
        made = await api.post(
            "/lines",
            json={
                "client_id": client_id,
                "vendor_account_id": account_id,
                "name": "Office fibre",
                "circuit_id": "FTTH-778",
                "technology": "ftth",
            },
        )
        assert made.status_code == 201, made.text
        made = made.json()
    await make_user(runtime, "tech@msp.example")
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        client_page = (await tech.get(f"/console/clients/{client_id}")).text
        assert f"/console/cases/new?{source}={made['id']}" in client_page
        form = (await tech.get(f"/console/cases/new?{source}={made['id']}")).text
        assert re.search(rf'<option value="{account_id}" selected>', form)
        title = re.search(r'id="title" name="title" type="text" maxlength="200" value="([^"]+)"', form)
        assert title and EXPECTED_TITLE[source] in title.group(1)
        r = await tech.post(
            "/console/cases/new",
            data={
                "csrf_token": csrf_of(form),
                source: made["id"],
                "vendor_account_id": account_id,
                "title": title.group(1),
                "submit": "1",
            },
        )
        assert r.status_code == 303, r.text[:300]
    case = await _detail(api, r.headers["location"].split("?")[0].rsplit("/", 1)[1])
    assert case[source] == made["id"] and case["status"] == "waiting_vendor" and case["attachments"]


async def test_a_case_the_hub_opened_is_unowned_on_today_until_a_technician_touches_it(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    from hub.auth.principal import SYSTEM
    from hub.case.schemas import CaseCreate
    from hub.case.service import create_case

    alfa = await _client_with_mail_host(api, "Alfa Srl", "mailhost.example")
    async with runtime.unit_of_work() as session:  # as the line-outage job opens one
        made = await create_case(
            session,
            SYSTEM,
            CaseCreate(vendor_account_id=alfa["account"]["id"], title="Line down at the office", submit=True),
        )
        case_id = str(made.id)
    await make_user(runtime, "tech@msp.example")
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        before = (await tech.get("/console")).text
        token = csrf_of(before)
        r = await tech.post(
            f"/console/cases/{case_id}/events", data={"csrf_token": token, "kind": "note", "body": "On it"}
        )
        assert r.status_code == 303
        after = (await tech.get("/console")).text
    assert "Line down at the office" in before[before.index('id="h-unowned"') :]
    assert "Line down at the office" not in after[after.index('id="h-unowned"') :]
    assert "Every case has someone on it." in after


async def test_a_dead_message_is_sent_again_from_the_case_page(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    from sqlalchemy import update

    from hub.models.enums import MailState

    w = await cases_world(api)
    await make_user(runtime, "tech@msp.example")
    [first] = await mails(runtime.sessionmaker, w["case"]["id"])
    async with runtime.unit_of_work() as session:  # the SMTP server refused it for good
        await session.execute(update(CaseMail).where(CaseMail.id == first.id).values(state=MailState.dead))
    async with browser(app) as tech:
        await sign_in(tech, "tech@msp.example")
        page = (await tech.get(f"/console/cases/{w['case']['id']}")).text
        assert "Send again" in page[page.index(f'id="mail-{first.id}"') :]
        r = await tech.post(
            f"/console/cases/{w['case']['id']}/resend",
            data={"csrf_token": csrf_of(page), "mail_id": str(first.id)},
        )
        again = await tech.post(
            f"/console/cases/{w['case']['id']}/resend",
            data={"csrf_token": csrf_of(page), "mail_id": str(first.id)},
        )
        pin_page = await tech.post(
            f"/console/vendor-accounts/{w['alfa']['account']['id']}/pin", data={"csrf_token": csrf_of(page)}
        )
    assert r.status_code == 303 and again.status_code == 409
    [resent] = await mails(runtime.sessionmaker, w["case"]["id"])
    assert resent.state is MailState.queued
    assert (
        pin_page.status_code == 200
        and PIN in pin_page.text
        and pin_page.headers["cache-control"] == "no-store"
    )
