"""The "who to call" card through the API, as a technician and as a client user: set the
vendor and the account up through the API, then one request answers who to call."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from hub.models import AuditEvent, Check, VendorCase
from hub.models.enums import CaseChannel, CaseStatus, CheckStatus, Role
from hub.terms.client_view import FORBIDDEN_KEYS
from tests import factories as f
from tests.conftest import client_for, make_token
from tests.line.conftest import isp, line

# Wednesday 6 January 2027, 10:00 in Rome: Epiphany, a public holiday in Italy.
HOLIDAY = datetime(2027, 1, 6, 9, 0, tzinfo=UTC)
# Tuesday 5 January 2027, 10:00 in Rome: an ordinary working morning.
TUESDAY = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)

WEEK = {d: ["08:30-13:00", "14:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
IT = {"country": "IT"}
PIN = "493817"


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text}"
    return r.json()


async def world(api: httpx.AsyncClient, sessionmaker: Any) -> dict[str, Any]:
    """A client whose domain is registered with one vendor, its DNS at another, its mail
    at a third; a server under a hardware maker's warranty; a PIN, authorisers, a case."""
    client = await f.client(api, name="Ferramenta Rossi", slug="rossi")
    other = await f.client(api, name="Beta Spa", slug="beta")
    mario = _ok(
        await api.post(
            "/contacts",
            json={
                "client_id": client["id"],
                "name": "Mario Rossi",
                "email": "mario@rossi.example",
                "roles": ["primary"],
            },
        ),
        201,
    )
    mail = await f.vendor(
        api,
        name="MailCo",
        category="mail_hosting",
        support_channels=[
            {
                "kind": "phone",
                "value": "+39 02 0000 0001",
                "weekly": WEEK,
                "holidays": IT,
                "label": "Desk",
                "notes": "press 2 then 1",
            },
            {"kind": "email", "value": "help@mailco.example", "hours": None},
        ],
        escalation_levels=[
            {"level": 1, "name": "Service desk", "contact": "help@mailco.example", "after_hours": 4},
            {"level": 2, "name": "Duty manager", "contact": "duty@mailco.example", "after_hours": 8},
        ],
        sla_levels=[
            {
                "level": "Business",
                "aliases": ["Biz"],
                "first_response": "business_hours:4",
                "weekly": WEEK,
                "holidays": IT,
            },
            {"level": "Premium", "first_response": "1h", "resolution": "8h"},
        ],
        notes="MSP-only: ask for Giulia",
    )
    _ok(
        await api.post(
            "/contacts",
            json={
                "vendor_id": mail["id"],
                "name": "Duty Manager",
                "phone": "+39 02 0000 0009",
                "escalation_level": 2,
            },
        ),
        201,
    )
    dns = await f.vendor(
        api,
        name="DnsCo",
        category="dns_hosting",
        support_channels=[{"kind": "portal", "value": "https://dnsco.example/help"}],
    )
    registrar = await f.vendor(api, name="RegCo", category="registrar", default_response_sla_hours=24)
    hardware = await f.vendor(
        api,
        name="Dell",
        category="hardware",
        support_channels=[
            {
                "kind": "phone",
                "value": "+39 02 0000 0400",
                "label": "ProSupport Plus line",
                "levels": ["ProSupport Plus"],
            },
            {"kind": "phone", "value": "+39 02 0000 0100", "weekly": WEEK, "holidays": IT},
        ],
        sla_levels=[
            {"level": "ProSupport Plus", "first_response": "30m", "resolution": "4h", "onsite": True}
        ],
    )
    mail_acc = await f.account(
        api,
        client["id"],
        mail["id"],
        account_number="MC-000123",
        contract_number="C-77",
        support_pin=PIN,
        support_level="Business",
        account_holder="Ferramenta Rossi S.r.l.",
        authorised_contact_ids=[mario["id"]],
        external_ref="tenant-42",
        notes="MSP-only account note",
    )
    dns_acc = await f.account(api, client["id"], dns["id"], account_number="DNS-9")
    reg_acc = await f.account(api, client["id"], registrar["id"], account_number="REG-5")
    hw_acc = await f.account(api, client["id"], hardware["id"], account_number="DELL-1")
    await f.account(api, other["id"], mail["id"], account_number="MC-999")
    domain = await f.domain(
        api,
        client["id"],
        name="rossi.example",
        registrar_account_id=reg_acc["id"],
        dns_host_account_id=dns_acc["id"],
        mail_host_account_id=mail_acc["id"],
    )
    _ok(
        await api.post(
            "/endpoints", json={"client_id": client["id"], "domain_id": domain["id"], "host": "203.0.113.10"}
        ),
        201,
    )
    server = await f.asset(
        api,
        client["id"],
        name="srv-1",
        serial="ABC1234",
        model="PowerEdge R750",
        vendor_account_id=hw_acc["id"],
        management_address="https://192.0.2.15:443",
    )
    _ok(
        await api.post(
            "/warranties",
            json={
                "asset_id": server["id"],
                "level": "ProSupport Plus 4H",
                "starts_on": "2026-01-01",
                "ends_on": "2028-12-31",
            },
        ),
        201,
    )
    sub = await f.subscription(api, mail_acc["id"], product="Mail Business", unit_cost="31.17")
    spf = _ok(
        await api.post(
            "/checks", json={"client_id": client["id"], "kind": "spf", "target_ref": domain["id"]}
        ),
        201,
    )
    async with sessionmaker() as session:
        for status, title, number in (
            (CaseStatus.waiting_vendor, "Mail bounces", "0004711"),
            (CaseStatus.closed, "Old one", "0003999"),
        ):
            session.add(
                VendorCase(
                    id=uuid.uuid4(),
                    client_id=uuid.UUID(client["id"]),
                    vendor_account_id=uuid.UUID(mail_acc["id"]),
                    title=title,
                    status=status,
                    channel=CaseChannel.email,
                    external_ref=number,
                    opened_at=TUESDAY,
                )
            )
        await session.commit()
    return {
        "client": client,
        "other": other,
        "mail": mail,
        "dns": dns,
        "registrar": registrar,
        "hardware": hardware,
        "mail_acc": mail_acc,
        "mario": mario,
        "domain": domain,
        "server": server,
        "sub": sub,
        "spf": spf,
    }


async def _fail(sessionmaker: Any, check_id: str, status: CheckStatus = CheckStatus.fail) -> None:
    async with sessionmaker() as session:
        await session.execute(update(Check).where(Check.id == uuid.UUID(check_id)).values(status=status))
        await session.commit()


@pytest.fixture
def on_holiday(runtime):
    runtime.clock = lambda: HOLIDAY


async def test_one_request_answers_who_to_call_for_a_failing_domain(api, sessionmaker, on_holiday):
    w = await world(api, sessionmaker)
    await _fail(sessionmaker, w["spf"]["id"])
    answer = _ok(await api.get(f"/clients/{w['client']['id']}/who", params={"q": "user@rossi.example"}))
    assert answer["kind"] == "domain"
    assert [m["vendor_name"] for m in answer["matches"]] == ["MailCo", "DnsCo", "RegCo"]
    first = answer["matches"][0]
    assert first["why"] == ["mail host of rossi.example"] and first["roles"] == ["mail_host"]
    assert [c["kind"] for c in first["failing_checks"]] == ["spf"]
    card = first["card"]
    # Channels: the desk is closed on Epiphany, the e-mail desk never closes.
    desk, inbox = card["channels"]
    assert desk["open_now"] is False and desk["opens_at"] == "2027-01-07T07:30:00Z"
    assert desk["hours"] == "Mon-Fri 08:30-13:00, 14:00-18:00 (Europe/Rome, closed on IT public holidays)"
    assert desk["local_time"] == "Wed 10:00 CET" and desk["notes"] == "press 2 then 1"
    assert inbox["open_now"] is True and card["open_now"] is True
    # The SLA of the account's level, on the level's business calendar: Thursday 12:30.
    (sla,) = card["sla"]
    assert (sla["source"], sla["level"], sla["matched_level"], sla["first_response"]) == (
        "account",
        "Business",
        "Business",
        "business_hours:4",
    )
    assert sla["first_response_due_if_opened_now"] == "2027-01-07T11:30:00Z"
    # Escalation with the vendor's people, our numbers, who may authorise, the PIN's state.
    assert [(e["level"], [p["name"] for p in e["people"]]) for e in card["escalation"]] == [
        (1, []),
        (2, ["Duty Manager"]),
    ]
    (account,) = card["accounts"]
    assert (account["account_number"], account["contract_number"], account["account_holder"]) == (
        "MC-000123",
        "C-77",
        "Ferramenta Rossi S.r.l.",
    )
    assert [p["name"] for p in account["authorisers"]] == ["Mario Rossi"]
    assert account["support_pin_set"] is True and PIN not in str(answer)
    # Open cases only (the closed one is not), with the vendor's own number as a string.
    assert [(c["title"], c["vendor_case_number"]) for c in card["open_cases"]] == [
        ("Mail bounces", "0004711")
    ]
    deps = card["depends_on"]
    assert [s["product"] for s in deps["subscriptions"]] == ["Mail Business"]
    assert deps["domains"] == [{"id": w["domain"]["id"], "name": "rossi.example", "roles": ["mail_host"]}]
    # The registrar has no SLA level: its catalogue default stands in.
    registrar = answer["matches"][2]["card"]
    assert [(s["source"], s["first_response"]) for s in registrar["sla"]] == [("vendor_default", "24h")]


async def test_a_failing_expiry_check_puts_the_registrar_first(api, sessionmaker, on_holiday):
    w = await world(api, sessionmaker)
    expiry = _ok(
        await api.post(
            "/checks",
            json={"client_id": w["client"]["id"], "kind": "domain_expiry", "target_ref": w["domain"]["id"]},
        ),
        201,
    )
    await _fail(sessionmaker, expiry["id"], CheckStatus.warn)
    answer = _ok(await api.get(f"/clients/{w['client']['id']}/who", params={"q": "www.rossi.example"}))
    assert [m["vendor_name"] for m in answer["matches"]] == ["RegCo", "MailCo", "DnsCo"]
    assert [c["kind"] for c in answer["matches"][0]["failing_checks"]] == ["domain_expiry"]


SEARCHES = [
    ("abc1234", "Dell", "serial ABC1234 (srv-1)"),
    ("192.0.2.15", "Dell", "srv-1 (PowerEdge R750) at 192.0.2.15"),
    ("203.0.113.10", "MailCo", "mail host of rossi.example"),
    ("mc-000123", "MailCo", "account MC-000123"),
    ("C-77", "MailCo", "contract C-77"),
    ("tenant-42", "MailCo", "vendor-side id tenant-42"),
    ("dnsco", "DnsCo", "vendor DnsCo"),
]


async def test_a_serial_an_address_or_an_account_number_finds_the_right_card(api, sessionmaker, on_holiday):
    w = await world(api, sessionmaker)
    for q, vendor, why in SEARCHES:
        answer = _ok(await api.get(f"/clients/{w['client']['id']}/who", params={"q": q}))
        assert answer["matches"][0]["vendor_name"] == vendor, q
        assert why in answer["matches"][0]["why"], (q, answer["matches"][0]["why"])


async def test_the_warranty_level_of_an_asset_picks_the_sla_and_the_reserved_line(
    api, sessionmaker, on_holiday
):
    w = await world(api, sessionmaker)
    card = _ok(await api.get(f"/clients/{w['client']['id']}/vendors/{w['hardware']['id']}/card"))
    (sla,) = card["sla"]
    assert (sla["source"], sla["level"], sla["matched_level"], sla["resolution"], sla["onsite"]) == (
        "warranty",
        "ProSupport Plus 4H",
        "ProSupport Plus",
        "4h",
        True,
    )
    assert [a["serial"] for a in sla["assets"]] == ["ABC1234"]
    assert sla["first_response_due_if_opened_now"] == "2027-01-06T09:30:00Z"
    plus, ordinary = card["channels"]
    assert (plus["entitled"], plus["open_now"], ordinary["open_now"]) == (True, True, False)
    assert card["depends_on"]["assets"][0]["warranty_level"] == "ProSupport Plus 4H"
    # Nothing of the client matches: an empty answer, not an error; no card of a vendor
    # the client has no account with.
    nothing = _ok(await api.get(f"/clients/{w['client']['id']}/who", params={"q": "nope.example"}))
    assert nothing["matches"] == []
    r = await api.get(f"/clients/{w['other']['id']}/vendors/{w['hardware']['id']}/card")
    assert r.status_code == 404


async def test_a_client_user_sees_its_own_client_safe_card_and_nothing_of_others(
    app, api, sessionmaker, on_holiday
):
    w = await world(api, sessionmaker)
    token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["client"]["id"]))
    async with client_for(app, token) as viewer:
        card = _ok(await viewer.get(f"/clients/{w['client']['id']}/vendors/{w['mail']['id']}/card"))
        who = _ok(await viewer.get(f"/clients/{w['client']['id']}/who", params={"q": "rossi.example"}))
        everything = _ok(await viewer.get(f"/clients/{w['client']['id']}/who"))
        of_other = await viewer.get(f"/clients/{w['other']['id']}/vendors/{w['mail']['id']}/card")
        missing = await viewer.get(f"/clients/{uuid.uuid4()}/vendors/{w['mail']['id']}/card")
        other_who = await viewer.get(f"/clients/{w['other']['id']}/who", params={"q": "MC-999"})
    # Channels, open cases, numbers to quote: yes. PIN state, tenant id, notes, costs: no.
    assert card["channels"][0]["open_now"] is False and card["open_cases"][0]["title"] == "Mail bounces"
    assert card["accounts"][0]["account_number"] == "MC-000123"
    for body in (card, who, everything):
        text = str(body)
        assert "support_pin" not in text and "tenant-42" not in text and "31.17" not in text
        assert "Giulia" not in text and "MSP-only" not in text and "press 2" not in text
        assert not _keys(body) & FORBIDDEN_KEYS
    assert {m["vendor_name"] for m in everything["matches"]} == {"MailCo", "DnsCo", "RegCo", "Dell"}
    assert of_other.status_code == missing.status_code == other_who.status_code == 404
    assert of_other.json()["detail"].replace(w["other"]["id"], "<id>") == missing.json()["detail"].replace(
        missing.url.path.split("/")[4], "<id>"
    )


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_the_pin_on_the_card_is_revealed_only_by_the_audited_staff_action(
    app, api, sessionmaker, on_holiday
):
    w = await world(api, sessionmaker)
    card = _ok(await api.get(f"/clients/{w['client']['id']}/vendors/{w['mail']['id']}/card"))
    reveal = card["accounts"][0]["reveal_pin"]
    assert reveal == f"/vendor-accounts/{w['mail_acc']['id']}/support-pin/reveal"
    viewer_token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["client"]["id"]))
    async with client_for(app, viewer_token) as viewer:
        assert (await viewer.post(reveal)).status_code == 403
    shown = await api.post(reveal)
    assert shown.json()["support_pin"] == PIN and shown.headers["cache-control"] == "no-store"
    async with sessionmaker() as session:
        events = (
            await session.execute(select(AuditEvent).where(AuditEvent.subject_id == w["mail_acc"]["id"]))
        ).scalars()
        assert [e.meta for e in events if e.action.value == "reveal_secret"] == [{"field": "support_pin"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sla_levels": [{"level": "Gold", "first_response": "4 hours"}]}, "sla_levels.0.first_response"),
        ({"sla_levels": [{"level": "Gold"}, {"level": "Silver", "aliases": ["gold"]}]}, "sla_levels"),
        (
            {"support_channels": [{"kind": "phone", "value": "1", "weekly": {"mon": ["18:00-09:00"]}}]},
            "support_channels.0.weekly",
        ),
        (
            {"support_channels": [{"kind": "phone", "value": "1", "weekly": {"xyz": ["09:00-18:00"]}}]},
            "support_channels.0.weekly",
        ),
        (
            {"support_channels": [{"kind": "phone", "value": "1", "holidays": {"country": "QQ"}}]},
            "support_channels.0.holidays",
        ),
        (
            {
                "support_channels": [
                    {
                        "kind": "phone",
                        "value": "1",
                        "weekly": {"mon": ["09:00-12:00"]},
                        "hours": {"days": ["mon"], "opens": "09:00", "closes": "12:00"},
                    }
                ]
            },
            "support_channels.0",
        ),
    ],
)
async def test_bad_support_setup_is_a_422_naming_the_field(api, body, field):
    r = await api.post("/vendors", json={"name": "Bad", "category": "other", **body})
    assert r.status_code == 422, r.text
    assert any(e["field"].startswith(field) for e in r.json()["errors"]), r.json()


async def test_only_the_accounts_own_clients_contacts_may_be_authorisers(api, sessionmaker):
    w = await world(api, sessionmaker)
    stranger = _ok(
        await api.post("/contacts", json={"client_id": w["other"]["id"], "name": "Not Theirs"}), 201
    )
    acc = w["mail_acc"]
    current = _ok(await api.get(f"/vendor-accounts/{acc['id']}"))
    r = await api.patch(
        f"/vendor-accounts/{acc['id']}",
        json={"version": current["version"], "authorised_contact_ids": [w["mario"]["id"], stranger["id"]]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "authorised_contact_ids.1", r.text
    ok = _ok(
        await api.patch(
            f"/vendor-accounts/{acc['id']}",
            json={"version": current["version"], "authorised_contact_ids": [], "support_level": "Premium"},
        )
    )
    assert ok["authorised_contact_ids"] == [] and ok["support_level"] == "Premium"


async def test_an_address_of_a_line_or_its_circuit_finds_the_isp_and_its_card_lists_the_line(api):
    owner = await isp(api)
    made = await line(api, owner, address_blocks=["198.51.100.0/29", "2001:db8:5::/48"])
    who = f"/clients/{owner.client['id']}/who"
    for q, why in (
        ("198.51.100.6", "holds 198.51.100.6"),
        ("2001:db8:5::1", "holds 2001:db8:5::1"),
        ("0031-ftth-000123", "circuit 0031-FTTH-000123"),
    ):
        answer = _ok(await api.get(who, params={"q": q}))
        assert answer["matches"][0]["vendor_name"] == owner.vendor["name"], q
        assert any(why in reason for reason in answer["matches"][0]["why"]), (q, answer["matches"][0])
    outside = _ok(await api.get(who, params={"q": "198.51.100.9"}))
    assert all(owner.vendor["name"] != m["vendor_name"] for m in outside["matches"])
    card = _ok(await api.get(f"/clients/{owner.client['id']}/vendors/{owner.vendor['id']}/card"))
    [dependent] = card["depends_on"]["lines"]
    assert (dependent["id"], dependent["circuit_id"], dependent["state"]) == (
        made["id"],
        "0031-FTTH-000123",
        "unknown",
    )
