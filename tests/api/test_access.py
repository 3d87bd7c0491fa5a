"""The cross-client access matrix: every route of the API, for every kind of caller.

Two clients, A and B, each with vendor accounts, subscriptions, assets with warranties,
domains, endpoints and contacts, and a vendor only B uses. A client viewer of A must
see A's data and nothing of B's, not even whether an id of B's exists; viewers are
read-only; staff see everything; nobody without a valid token gets anything.

The routes are enumerated from the app itself, and each must be classified in ROUTES: a
route added later makes `test_route_table_covers_exactly_the_routes_of_the_app` fail
until it is classified, and from then on it goes through every check below.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from hub.api.routes import served_routes
from hub.app import API_PREFIX, create_app
from hub.auth.tokens import revoke_token, split_token
from hub.kit.time import today, utcnow
from hub.models import ApiToken, CaseMail
from hub.models.enums import MailState, Role
from hub.settings import Settings
from hub.terms.client_view import FORBIDDEN_KEYS
from tests import factories as f
from tests.conftest import make_token
from tests.sync.helpers import Vendor, run_queued_syncs, test_registry, vendor

__all__ = ["test_registry", "vendor"]  # fixtures of the test adapter, used by every world

PROBLEM_JSON = "application/problem+json"

# --- the route table -------------------------------------------------------------------
# kind: "list"   a collection, scoped to the caller's client
#       "read"   reads one object (or something of it) by the id in the path
#       "write"  changes something: viewers are refused, whoever's the object
#       "upcoming", "audit": the cross-client reports, scoped like lists
#       "staff"  MSP-internal views (the job queue): staff only, viewers get 403
#       "staff_list", "staff_read": the MSP's own work on a client's objects (reminders to its
#                technicians, webhooks to its PSA, vendor tenant mappings, discrepancies
#                between its records and a vendor's, a subscription's renewal route through
#                its connections): lists and reads refused to viewers (403, whoever's the
#                object), served to staff
#       "admin"  admin-only actions (approving renewals, the renewal switchboard)
#       "report" a cross-client report that is not a page of rows (the forecast)
#       "public" no token: a signed link carries its own authority (renewal approval)
#       "feed"   reached by a capability token in the path (calendar apps send no bearer
#                token): any unknown or revoked token is a 404
# resource: the collection the path's id (or a list's rows) belongs to.

ROUTES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/clients"): ("list", "clients"),
    ("POST", "/clients"): ("write", "clients"),
    ("GET", "/clients/{item_id}"): ("read", "clients"),
    ("PATCH", "/clients/{item_id}"): ("write", "clients"),
    ("DELETE", "/clients/{item_id}"): ("write", "clients"),
    ("POST", "/clients/{item_id}/restore"): ("write", "clients"),
    ("GET", "/clients/{client_id}/spend"): ("read", "clients"),
    ("GET", "/clients/{client_id}/statement"): ("read", "clients"),
    ("GET", "/clients/{client_id}/review"): ("staff_read", "clients"),
    ("POST", "/reports/backfill"): ("admin", "clients"),
    ("GET", "/contacts"): ("list", "contacts"),
    ("POST", "/contacts"): ("write", "contacts"),
    ("GET", "/contacts/{item_id}"): ("read", "contacts"),
    ("PATCH", "/contacts/{item_id}"): ("write", "contacts"),
    ("DELETE", "/contacts/{item_id}"): ("write", "contacts"),
    ("GET", "/vendors"): ("list", "vendors"),
    ("POST", "/vendors"): ("write", "vendors"),
    ("GET", "/vendors/{item_id}"): ("read", "vendors"),
    ("PATCH", "/vendors/{item_id}"): ("write", "vendors"),
    ("DELETE", "/vendors/{item_id}"): ("write", "vendors"),
    ("GET", "/vendor-accounts"): ("list", "vendor-accounts"),
    ("POST", "/vendor-accounts"): ("write", "vendor-accounts"),
    ("GET", "/vendor-accounts/{item_id}"): ("read", "vendor-accounts"),
    ("PATCH", "/vendor-accounts/{item_id}"): ("write", "vendor-accounts"),
    ("DELETE", "/vendor-accounts/{item_id}"): ("write", "vendor-accounts"),
    ("POST", "/vendor-accounts/{item_id}/support-pin/reveal"): ("write", "vendor-accounts"),
    ("GET", "/subscriptions"): ("list", "subscriptions"),
    ("POST", "/subscriptions"): ("write", "subscriptions"),
    ("GET", "/subscriptions/{item_id}"): ("read", "subscriptions"),
    ("PATCH", "/subscriptions/{item_id}"): ("write", "subscriptions"),
    ("DELETE", "/subscriptions/{item_id}"): ("write", "subscriptions"),
    ("GET", "/subscriptions/{item_id}/terms"): ("read", "subscriptions"),
    # A subscription that is no print plan answers status "not_a_print_plan" (a 200).
    ("GET", "/subscriptions/{item_id}/print-usage"): ("read", "subscriptions"),
    ("POST", "/subscriptions/{item_id}/terms"): ("write", "subscriptions"),
    ("POST", "/subscriptions/{item_id}/link"): ("write", "subscriptions"),
    ("POST", "/subscriptions/{item_id}/unlink"): ("write", "subscriptions"),
    # What connections see of vendor subscriptions is the MSP's business: staff only.
    ("GET", "/link-proposals"): ("staff", "link-proposals"),
    ("POST", "/link-proposals/{proposal_id}/accept"): ("write", "link-proposals"),
    ("POST", "/link-proposals/{proposal_id}/reject"): ("write", "link-proposals-to-reject"),
    ("GET", "/vendor-subscriptions/unknown"): ("staff", "vendor-subscriptions"),
    ("POST", "/vendor-subscriptions/adopt"): ("write", "vendor-subscriptions"),
    ("GET", "/assets"): ("list", "assets"),
    ("POST", "/assets"): ("write", "assets"),
    ("GET", "/assets/{item_id}"): ("read", "assets"),
    ("PATCH", "/assets/{item_id}"): ("write", "assets"),
    ("DELETE", "/assets/{item_id}"): ("write", "assets"),
    ("GET", "/assets/{item_id}/warranties"): ("read", "assets"),
    ("GET", "/warranties"): ("list", "warranties"),
    # Rows are assets (out of warranty, ending within the days asked, or none known).
    ("GET", "/warranties/review"): ("list", "assets"),
    ("POST", "/warranties"): ("write", "warranties"),
    ("GET", "/warranties/{item_id}"): ("read", "warranties"),
    ("PATCH", "/warranties/{item_id}"): ("write", "warranties"),
    ("DELETE", "/warranties/{item_id}"): ("write", "warranties"),
    ("GET", "/domains"): ("list", "domains"),
    ("POST", "/domains"): ("write", "domains"),
    ("GET", "/domains/{item_id}"): ("read", "domains"),
    ("PATCH", "/domains/{item_id}"): ("write", "domains"),
    ("DELETE", "/domains/{item_id}"): ("write", "domains"),
    ("GET", "/endpoints"): ("list", "endpoints"),
    ("POST", "/endpoints"): ("write", "endpoints"),
    ("GET", "/endpoints/{item_id}"): ("read", "endpoints"),
    ("PATCH", "/endpoints/{item_id}"): ("write", "endpoints"),
    ("DELETE", "/endpoints/{item_id}"): ("write", "endpoints"),
    ("GET", "/checks"): ("list", "checks"),
    ("POST", "/checks"): ("write", "checks"),
    ("GET", "/checks/{item_id}"): ("read", "checks"),
    ("GET", "/checks/{item_id}/runs"): ("read", "checks"),
    ("POST", "/checks/{item_id}/run"): ("write", "checks"),
    ("GET", "/clients/{client_id}/health"): ("read", "clients"),
    # The "who to call" card: a client user gets its client-safe card (hub.card.schemas);
    # {vendor_id} is the vendor both clients have an account with (see `fill`).
    ("GET", "/clients/{client_id}/vendors/{vendor_id}/card"): ("read", "clients"),
    ("GET", "/clients/{client_id}/who"): ("read", "clients"),
    ("GET", "/lines"): ("list", "lines"),
    ("POST", "/lines"): ("write", "lines"),
    ("GET", "/lines/{item_id}"): ("read", "lines"),
    ("PATCH", "/lines/{item_id}"): ("write", "lines"),
    ("DELETE", "/lines/{item_id}"): ("write", "lines"),
    # The probe history and the address checks of a line are the client's own to read.
    ("GET", "/lines/{item_id}/probes"): ("read", "lines"),
    ("GET", "/lines/{item_id}/checks"): ("read", "lines"),
    ("POST", "/lines/{item_id}/probe"): ("write", "lines"),
    ("GET", "/renewals/upcoming"): ("upcoming", "renewals"),
    ("GET", "/audit"): ("audit", "audit"),
    ("GET", "/jobs"): ("staff", "jobs"),
    ("GET", "/renewals"): ("list", "renewals"),
    ("GET", "/renewals/{renewal_id}"): ("read", "renewals"),
    ("POST", "/renewals/{renewal_id}/decline"): ("write", "renewals"),
    ("POST", "/renewals/{renewal_id}/resolve"): ("write", "renewals"),
    ("POST", "/renewals/{renewal_id}/confirm"): ("admin", "renewals"),
    ("POST", "/renewals/{renewal_id}/approve"): ("admin", "renewals"),
    ("POST", "/renewals/{renewal_id}/approval-link"): ("admin", "renewals"),
    ("GET", "/renewals/controls"): ("staff", "renewals"),
    ("GET", "/subscriptions/{item_id}/renewal-route"): ("staff_read", "subscriptions"),
    ("PUT", "/subscriptions/{item_id}/renewal-route"): ("write", "subscriptions"),
    ("DELETE", "/subscriptions/{item_id}/renewal-route"): ("write", "subscriptions"),
    ("PUT", "/renewals/controls"): ("admin", "renewals"),
    ("POST", "/renewals/plan"): ("admin", "renewals"),
    ("GET", "/forecast"): ("report", "forecast"),
    ("GET", "/approvals/{token}"): ("public", "approvals"),
    ("POST", "/approvals/{token}"): ("public", "approvals"),
    ("GET", "/connections"): ("list", "connections"),
    ("POST", "/connections"): ("write", "connections"),
    ("GET", "/connections/{item_id}"): ("read", "connections"),
    ("PATCH", "/connections/{item_id}"): ("write", "connections"),
    ("DELETE", "/connections/{item_id}"): ("write", "connections"),
    ("POST", "/connections/{item_id}/test"): ("write", "connections"),
    ("POST", "/connections/{item_id}/sync"): ("write", "connections"),
    ("GET", "/connections/{item_id}/tenants"): ("staff_read", "connections"),
    ("PUT", "/connections/{item_id}/tenants/{external_id}"): ("write", "connections"),
    ("GET", "/adapters"): ("staff", "adapters"),
    ("GET", "/discrepancies"): ("staff_list", "discrepancies"),
    ("GET", "/notices"): ("staff_list", "notices"),
    ("POST", "/notices/{item_id}/acknowledge"): ("write", "notices"),
    ("POST", "/notices/{item_id}/snooze"): ("write", "notices"),
    ("GET", "/webhooks"): ("staff_list", "webhooks"),
    ("POST", "/webhooks"): ("write", "webhooks"),
    ("GET", "/webhooks/{item_id}"): ("staff_read", "webhooks"),
    ("PATCH", "/webhooks/{item_id}"): ("write", "webhooks"),
    ("DELETE", "/webhooks/{item_id}"): ("write", "webhooks"),
    ("GET", "/calendar/feeds"): ("list", "calendar/feeds"),
    ("POST", "/calendar/feeds"): ("write", "calendar/feeds"),
    ("DELETE", "/calendar/feeds/{item_id}"): ("write", "calendar/feeds"),
    ("GET", "/calendar/{token}.ics"): ("feed", "calendar/feeds"),
    ("POST", "/notify/run"): ("write", "notify/run"),
    ("POST", "/notify/test"): ("write", "notify/test"),
    ("GET", "/notify/ladders"): ("staff", "notify/ladders"),
    ("POST", "/notify/ladders"): ("write", "notify/ladders"),
    ("GET", "/cases"): ("list", "cases"),
    ("POST", "/cases"): ("write", "cases"),
    ("GET", "/cases/{item_id}"): ("read", "cases"),
    ("POST", "/cases/{item_id}/events"): ("write", "cases"),
    ("POST", "/cases/{item_id}/status"): ("write", "cases"),
    ("POST", "/cases/{item_id}/reply"): ("write", "cases"),
    ("POST", "/cases/{item_id}/escalate"): ("write", "cases"),
    ("PUT", "/cases/{item_id}/chasers"): ("write", "cases"),
    # The api channel (hub.case.desk): staff only, the vendor called for the request.
    ("POST", "/cases/{item_id}/open-via-api"): ("write", "cases"),
    ("POST", "/cases/{item_id}/comments"): ("write", "cases"),
    ("POST", "/cases/{item_id}/comments/{event_id}/retry"): ("write", "cases"),
    ("POST", "/cases/{item_id}/api-poll"): ("write", "cases"),
    # A message in unknown state sent again (the world has one per case): staff only.
    ("POST", "/cases/{item_id}/mails/{mail_id}/resend"): ("write", "cases"),
    # A case's file: client users read the files of their client-visible timeline.
    ("GET", "/cases/{item_id}/attachments/{attachment_id}"): ("read", "cases"),
    # The mail relay: no bearer token, its own shared secret (X-Hub-Relay-Token); see
    # tests/case/test_inbound.py.
    ("POST", "/cases/inbound"): ("public", "cases"),
    ("GET", "/vendors/{item_id}/case-mail"): ("staff_read", "vendors"),
    ("PUT", "/vendors/{item_id}/case-mail"): ("write", "vendors"),
    # Triaged mail belongs to no client until a technician files it.
    ("GET", "/triage"): ("staff_list", "triage"),
    ("POST", "/triage/{item_id}/assign"): ("write", "triage"),
    ("POST", "/triage/{item_id}/dismiss"): ("write", "triage-to-dismiss"),
}

RELAY_TOKEN = "relay-" + "x" * 32

# A resold subscription's price to the MSP and to the client (odd figures: findable in text).
MSP_COST = "31.17"
CLIENT_PRICE = "45.83"

# Webhook targets of the world (never called: nothing listens on port 9).
WEBHOOK_URL = "http://127.0.0.1:9/hook"
WEBHOOK_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="


@pytest.fixture(autouse=True)
def webhook_targets(runtime):
    """Webhooks of the world point at loopback, so loopback is on the allow-list; and the
    matrix sends hundreds of bad tokens from one address on purpose, so the failed-auth
    rate limit (tests/auth) is off here."""
    runtime.use_settings(
        notify={"webhook_allowed_hosts": "127.0.0.1"},
        auth={"failures_per_address": 0, "failures_per_token": 0},
        case={"relay_token": RELAY_TOKEN, "mail_domain": "msp.example", "from_address": "cases@msp.example"},
    )


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path under /api/v1) of every route the app serves, mounted and included."""
    found = set()
    for path, route in served_routes(app.routes):
        if not path.startswith(API_PREFIX + "/"):
            continue
        for method in getattr(route, "methods", None) or ():
            if method not in {"HEAD", "OPTIONS"}:
                found.add((method, path.removeprefix(API_PREFIX)))
    return found


_APP = create_app(settings=Settings(database_url="sqlite+aiosqlite:///:memory:"))  # never started
ALL_ROUTES = sorted(app_routes(_APP))


def query_parameters(route: tuple[str, str]) -> set[str]:
    """The query parameters the OpenAPI document gives a route."""
    operation = _APP.openapi()["paths"].get(API_PREFIX + route[1], {}).get(route[0].lower(), {})
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


def _kind(route: tuple[str, str]) -> tuple[str, str]:
    assert route in ROUTES, f"{route} is not classified in ROUTES of {__name__}: add it"
    return ROUTES[route]


# --- the world -------------------------------------------------------------------------


def _in(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


@dataclass
class World:
    a: str  # client ids
    b: str
    ids: dict[str, dict[str, str]]  # resource -> "A"/"B" -> id of that client's object
    shared_vendor: str
    b_only_vendor: str
    unused_vendor: str
    rows: dict[str, dict[str, set[str]]]  # resource -> "A"/"B" -> ids of all its rows

    def obj(self, resource: str, side: str) -> str:
        return self.ids[resource][side]


async def build_world(api: httpx.AsyncClient) -> World:
    a = await f.client(api, name="Alfa Srl", slug="alfa")
    b = await f.client(api, name="Beta Spa", slug="beta")
    shared = await f.vendor(api, name="Sophos")
    b_only = await f.vendor(api, name="Only-B Telecom", category="telephony")
    unused = await f.vendor(api, name="Nobody Uses Me", category="other")
    _VENDOR["shared_vendor"] = shared["id"]
    ids: dict[str, dict[str, str]] = {}
    rows: dict[str, dict[str, set[str]]] = {}

    def add(resource: str, side: str, obj_id: str, *, main: bool = False) -> str:
        rows.setdefault(resource, {"A": set(), "B": set()})[side].add(obj_id)
        if main or side not in ids.get(resource, {}):
            ids.setdefault(resource, {})[side] = obj_id
        return obj_id

    add("clients", "A", a["id"])
    add("clients", "B", b["id"])
    add("vendors", "A", shared["id"])
    add("vendors", "B", b_only["id"])
    for side, client, vendors in (("A", a, [shared]), ("B", b, [shared, b_only])):
        cid = client["id"]
        accounts = [(await f.account(api, cid, v["id"], support_pin=f"PIN-{side}"))["id"] for v in vendors]
        for acc in accounts:
            add("vendor-accounts", side, acc)
        sub = await f.subscription(
            api,
            accounts[-1],
            product=f"Product {side}",
            starts_on=_in(-300),
            ends_on=_in(10),
            renewal_type="auto_hub",
            # The MSP buys at MSP_COST and resells at CLIENT_PRICE: a client sees the latter only.
            unit_cost=MSP_COST,
            client_unit_price=CLIENT_PRICE,
        )
        add("subscriptions", side, sub["id"])
        # Two more that look like licences of the client's own connection: sync proposes
        # to link them (one to accept, one to reject).
        for product, quantity in (("Firewall", 3), ("Backup", 2)):
            also = await f.subscription(
                api, accounts[0], product=product, quantity=quantity, starts_on=_in(-300), ends_on=_in(20)
            )
            add("subscriptions", side, also["id"])
        asset = await f.asset(api, cid, name=f"srv-{side.lower()}", vendor_account_id=accounts[0])
        add("assets", side, asset["id"])
        w = await api.post(
            "/warranties",
            json={"asset_id": asset["id"], "level": "NBD", "starts_on": _in(-700), "ends_on": _in(12)},
        )
        assert w.status_code == 201, w.text
        add("warranties", side, w.json()["id"])
        d = await f.domain(
            api,
            cid,
            name=f"{side.lower()}-client.example",
            registrar_account_id=accounts[0],
            expires_on=_in(9),
        )
        add("domains", side, d["id"])
        e = await api.post(
            "/endpoints",
            json={"client_id": cid, "domain_id": d["id"], "host": f"mail.{d['name']}", "expires_on": _in(8)},
        )
        assert e.status_code == 201, e.text
        add("endpoints", side, e.json()["id"])
        chk = await api.post("/checks", json={"client_id": cid, "kind": "spf", "target_ref": d["id"]})
        assert chk.status_code == 201, chk.text
        add("checks", side, chk.json()["id"])
        # An ISP line (nothing listens on port 9) whose addresses get PTR checks.
        ln = await api.post(
            "/lines",
            json={
                "client_id": cid,
                "vendor_account_id": accounts[0],
                "name": f"Fibre {side}",
                "circuit_id": f"CIR-{side}",
                "technology": "ftth",
                "address_blocks": ["203.0.113.8/31" if side == "A" else "198.51.100.8/31"],
                "monthly_cost": MSP_COST,
                "contract_ref": f"CTR-{side}",
                "notes": "internal",
                "probe_targets": [{"host": "127.0.0.1", "ports": [9]}],
            },
        )
        assert ln.status_code == 201, ln.text
        add("lines", side, ln.json()["id"])
        for address_check in (await api.get(f"/lines/{ln.json()['id']}/checks")).json():
            add("checks", side, address_check["id"])
        c = await api.post(
            "/contacts", json={"client_id": cid, "name": f"Person of {side}", "roles": ["primary"]}
        )
        assert c.status_code == 201, c.text
        add("contacts", side, c.json()["id"])
        hook = await api.post(
            "/webhooks",
            json={"client_id": cid, "name": f"PSA {side}", "url": WEBHOOK_URL, "secret": WEBHOOK_SECRET},
        )
        assert hook.status_code == 201, hook.text
        add("webhooks", side, hook.json()["id"])
        feed = await api.post("/calendar/feeds", json={"client_id": cid, "name": f"Renewals of {side}"})
        assert feed.status_code == 201, feed.text
        add("calendar/feeds", side, feed.json()["id"])
        case = await api.post(
            "/cases",
            json={
                "vendor_account_id": accounts[0],
                "asset_id": asset["id"],
                "to": ["support@sophos.example"],
                "submit": True,
            },
        )
        assert case.status_code == 201, case.text
        add("cases", side, case.json()["id"])
        await _nested_of_the_case(api, case.json()["id"])
        for resource in ("triage", "triage-to-dismiss"):
            add(resource, side, await _triaged(api, f"{resource} of {side}"))
    # The auto-renew subscriptions end within the lead time: each side gets a renewal.
    assert (await api.post("/renewals/plan")).status_code == 200
    for renewal in (await api.get("/renewals", params={"limit": 1000})).json()["items"]:
        add("renewals", "A" if renewal["client_id"] == a["id"] else "B", renewal["id"])
    assert set(ids["renewals"]) == {"A", "B"}
    # Signed approval links are tokens, not ids: a well-formed one that was never issued.
    ids["approvals"] = {"A": "A" * 60, "B": "B" * 60}
    # Reminders of both clients' items (everything ends within days).
    assert (await api.post("/notify/run")).status_code == 200
    for side, cid in (("A", a["id"]), ("B", b["id"])):
        notices = (await api.get("/notices", params={"client_id": cid, "limit": 1000})).json()["items"]
        assert notices, f"no reminder for {side}"
        for notice in notices:
            add("notices", side, str(notice["id"]))
    # A vendor-side contact (of the vendor only B uses) belongs to no client.
    vc = await api.post("/contacts", json={"vendor_id": b_only["id"], "name": "Vendor rep"})
    assert vc.status_code == 201, vc.text
    rows["contacts"].setdefault("vendor", set()).add(vc.json()["id"])
    await _connections_of_the_world(api, a["id"], b["id"], add)
    return World(a["id"], b["id"], ids, shared["id"], b_only["id"], unused["id"], rows)


async def _nested_of_the_case(api: httpx.AsyncClient, case_id: str) -> None:
    """The case's evidence file, and its first message put in the state a person resends
    (`unknown`: the SMTP server's answer to the data was lost), as the outbox leaves it."""
    got = (await api.get(f"/cases/{case_id}")).json()
    [mail] = got["mails"]
    attachment = got["attachments"][0]  # the evidence, on the client-visible first message
    _NESTED[case_id] = {"mail_id": str(mail["id"]), "attachment_id": str(attachment["id"])}
    app = api._transport.app  # type: ignore[attr-defined]
    async with app.state.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(CaseMail).where(CaseMail.id == mail["id"]).values(state=MailState.unknown)
        )


async def _triaged(api: httpx.AsyncClient, subject: str) -> str:
    """A message from nobody we know about nothing we sent: it goes to triage."""
    raw = (
        f"From: someone@unknown.example\r\nTo: cases@msp.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{secrets.token_hex(8)}@unknown.example>\r\n\r\nHello?\r\n"
    ).encode()
    r = await api.post("/cases/inbound", content=raw, headers={"X-Hub-Relay-Token": RELAY_TOKEN})
    assert r.status_code == 200 and r.json()["outcome"] == "triage", r.text
    items = (await api.get("/triage", params={"limit": 1000})).json()["items"]
    return str(next(i["id"] for i in items if i["mail_id"] == r.json()["mail_id"]))


# Connections: each client has a client-scoped connection of the test adapter (tests/sync)
# whose licence uses more seats than paid for, synced so that each has a discrepancy; an
# MSP-wide connection belongs to no client and is never a viewer's to see.
_VENDOR: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _test_vendor(vendor: Vendor) -> None:
    _VENDOR["vendor"] = vendor


def connection_config(partner_id: str) -> dict[str, Any]:
    vendor: Vendor = _VENDOR["vendor"]
    if partner_id not in vendor.sim.partners:
        vendor.sim.partner(
            partner_id,
            tenants=[{"id": f"T-{partner_id}", "name": partner_id}],
            licenses=[
                {
                    "id": f"L-{partner_id}",
                    "tenant": f"T-{partner_id}",
                    "code": "AV",
                    "name": "AV",
                    "paid": 1,
                    "used": 2,
                },
                {
                    "id": f"L2-{partner_id}",
                    "tenant": f"T-{partner_id}",
                    "code": "FW",
                    "name": "Firewall",
                    "paid": 3,
                    "used": 1,
                },
                {
                    "id": f"L3-{partner_id}",
                    "tenant": f"T-{partner_id}",
                    "code": "BK",
                    "name": "Backup",
                    "paid": 2,
                    "used": 2,
                },
            ],
        )
    return vendor.config(partner_id)


async def _connections_of_the_world(api: httpx.AsyncClient, a: str, b: str, add: Callable[..., str]) -> None:
    for side, cid in (("A", a), ("B", b)):
        body = {"name": f"Own {side}", "adapter_slug": "testvendor", "client_id": cid}
        r = await api.post("/connections", json={**body, "config": connection_config(f"P-{side}")})
        assert r.status_code == 201, r.text
        add("connections", side, r.json()["id"])
        assert (await api.post(f"/connections/{r.json()['id']}/sync")).status_code == 202
    msp = await api.post(
        "/connections",
        json={"name": "MSP-wide", "adapter_slug": "testvendor", "config": connection_config("P-MSP")},
    )
    assert msp.status_code == 201, msp.text
    # A distributor that can order renewals (never called: nothing here syncs or orders).
    pax8 = await api.post(
        "/connections",
        json={
            "name": "Distributor",
            "adapter_slug": "pax8",
            "config": {
                "client_id": "pax8-id",
                "client_secret": "pax8-secret",
                "order_email": "ops@msp.example",
            },
        },
    )
    assert pax8.status_code == 201, pax8.text
    _VENDOR["pax8_connection"] = pax8.json()["id"]
    app = api._transport.app  # type: ignore[attr-defined]
    await run_queued_syncs(app.state.runtime.sessionmaker)
    for side, cid in (("A", a), ("B", b)):
        found = (await api.get("/discrepancies", params={"client_id": cid})).json()["items"]
        assert found, f"expected a discrepancy of client {side}"
        for d in found:
            add("discrepancies", side, d["id"])
        proposed = (await api.get("/link-proposals", params={"client_id": cid})).json()["items"]
        by_record = {p["external_id"]: p["id"] for p in proposed}
        assert by_record.keys() == {f"L2-P-{side}", f"L3-P-{side}"}, proposed
        add("link-proposals", side, by_record[f"L2-P-{side}"])
        add("link-proposals-to-reject", side, by_record[f"L3-P-{side}"])
        # The client's first licence: no hub subscription is linked to it or proposed for it.
        add("vendor-subscriptions", side, f"L-P-{side}")


def like_a_server(app: Any, http: httpx.AsyncClient) -> httpx.AsyncClient:
    """A copy of `http` that gets a crash as the 500 response a caller would get, instead of
    the exception, so that a test can list every failing route."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=http.base_url, headers=http.headers)


@pytest.fixture
async def api(app, api):
    """The admin client, seeing a crash as the 500 response a caller gets."""
    async with like_a_server(app, api) as http:
        yield http


def caller(app: Any, token: str | None) -> httpx.AsyncClient:
    """An API client with `token` (like tests.conftest.client_for), seeing crashes as 500s."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://hub.test" + API_PREFIX,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )


# The second id of a nested path (a case's message or file), by the first id; an id the
# world does not know (a missing case) gets an id nothing has.
_NESTED: dict[str, dict[str, str]] = {}


def fill(path: str, obj_id: str, nested_of: str | None = None) -> str:
    """The path with its id parameter set, and a second one where the path has one (that
    of `nested_of` when given: a missing case asked for with B's message id)."""
    head, _, rest = path.partition("{")
    _, _, tail = rest.partition("}")
    # A second id (the card's vendor) is the vendor both clients have an account with.
    tail = tail.replace("{vendor_id}", _VENDOR.get("shared_vendor", "{vendor_id}"))
    # A second id under the object (a case's message or file) is that object's own.
    for name in ("mail_id", "attachment_id", "event_id"):
        tail = tail.replace("{" + name + "}", _NESTED.get(nested_of or obj_id, {}).get(name, str(2**62)))
    return head + obj_id + tail if rest else path


# Valid bodies, so that a refusal can only be about who is asking. `cid` is the client the
# new row would belong to, `side` the client's objects to refer to.
def create_body(resource: str, w: World, side: str) -> dict[str, Any]:
    cid = w.a if side == "A" else w.b
    n = secrets.token_hex(3)
    return {
        "clients": {"name": f"New {n}", "slug": f"new-{n}"},
        "contacts": {"client_id": cid, "name": "New person"},
        "vendors": {"name": f"New vendor {n}", "category": "other"},
        "vendor-accounts": {"client_id": cid, "vendor_id": w.shared_vendor, "account_number": f"N-{n}"},
        "subscriptions": {
            "vendor_account_id": w.obj("vendor-accounts", side),
            "product": "New",
            "unit_cost": "1.00",
            "billing_period": "monthly",
            "payer": "msp_resold",
            "starts_on": _in(0),
        },
        "assets": {"client_id": cid, "kind": "nas", "name": f"nas-{n}", "manufacturer": "Synology"},
        "warranties": {
            "asset_id": w.obj("assets", side),
            "level": "Basic",
            "starts_on": _in(0),
            "ends_on": _in(365),
        },
        "domains": {"client_id": cid, "name": f"new-{n}.example"},
        "endpoints": {"client_id": cid, "host": f"new-{n}.example"},
        "checks": {"client_id": cid, "kind": "dmarc", "target_ref": w.obj("domains", side)},
        "lines": {
            "client_id": cid,
            "vendor_account_id": w.obj("vendor-accounts", side),
            "name": f"Line {n}",
            "circuit_id": f"N-{n}",
            "technology": "fttc",
        },
        "renewals": {"lead_days": 14},  # PUT /renewals/controls: the only body without an id
        "connections": {
            "name": f"New {n}",
            "adapter_slug": "testvendor",
            "client_id": cid,
            "config": connection_config(f"N-{n}"),
        },
        "webhooks": {"client_id": cid, "name": f"Hook {n}", "url": WEBHOOK_URL, "secret": WEBHOOK_SECRET},
        "calendar/feeds": {"client_id": cid, "name": f"Feed {n}"},
        "notify/run": {},
        # E-mail is not configured in these tests: the test reports "not delivered", a 200.
        "notify/test": {"channel": "email", "to": "tech@msp.example"},
        "notify/ladders": {"scope": "category", "key": "backup", "days": [30, 7, 1]},
        "cases": {"vendor_account_id": w.obj("vendor-accounts", side), "title": f"New case {n}"},
        # POST /vendor-subscriptions/adopt: the licence names no price, so the body does.
        "vendor-subscriptions": {
            "connection_id": w.obj("connections", side),
            "external_id": w.obj("vendor-subscriptions", side),
            "confirm": True,
            "vendor_account_id": w.obj("vendor-accounts", side),
            "unit_cost": "4.00",
            "billing_period": "yearly",
        },
    }[resource]


PATCH_BODIES: dict[str, dict[str, Any]] = {
    "renewals": {"note": "checked with the client"},  # approve / decline carry a version and a note
    "clients": {"notes": "changed"},
    "contacts": {"notes": "changed"},
    "vendors": {"notes": "changed"},
    "vendor-accounts": {"notes": "changed"},
    "subscriptions": {"notes": "changed"},
    "assets": {"notes": "changed"},
    "warranties": {"notes": "changed"},
    "domains": {"expected_mail_provider": "none"},
    "endpoints": {"port": 8443},
    "lines": {"notes": "changed"},
    "connections": {"name": "Renamed"},
    "webhooks": {"name": "changed"},
}

ACTION_BODIES: dict[tuple[str, str], Callable[[], dict[str, Any] | None]] = {
    ("POST", "/clients/{item_id}/restore"): lambda: None,
    ("POST", "/reports/backfill"): lambda: {"since": (today() - timedelta(days=3)).isoformat()},
    ("POST", "/vendor-accounts/{item_id}/support-pin/reveal"): lambda: None,
    ("POST", "/subscriptions/{item_id}/terms"): lambda: {"version": 1, "ends_on": _in(800)},
    ("POST", "/renewals/{renewal_id}/decline"): lambda: {"version": 1, "note": "not this year"},
    ("POST", "/renewals/{renewal_id}/approve"): lambda: {"version": 1},
    ("POST", "/renewals/{renewal_id}/resolve"): lambda: {"version": 1, "outcome": "will_not_renew"},
    ("POST", "/renewals/{renewal_id}/confirm"): lambda: {"version": 1, "ends_on": "2030-01-31"},
    ("POST", "/renewals/{renewal_id}/approval-link"): lambda: None,
    ("PUT", "/renewals/controls"): lambda: {"lead_days": 14},
    ("PUT", "/subscriptions/{item_id}/renewal-route"): lambda: {
        "order_connection_id": _VENDOR["pax8_connection"],
        "order_ref": "pax8-sub-1",
    },
    ("POST", "/renewals/plan"): lambda: None,
    ("POST", "/connections/{item_id}/test"): lambda: None,
    ("POST", "/connections/{item_id}/sync"): lambda: None,
    ("PUT", "/connections/{item_id}/tenants/{external_id}"): lambda: {"client_id": None},
    ("POST", "/notices/{item_id}/acknowledge"): lambda: None,
    ("POST", "/lines/{item_id}/probe"): lambda: None,
    ("POST", "/notices/{item_id}/snooze"): lambda: {"until": (utcnow() + timedelta(days=3)).isoformat()},
    ("POST", "/cases/{item_id}/events"): lambda: {"kind": "note", "body": "called the vendor"},
    ("POST", "/cases/{item_id}/status"): lambda: {"status": "waiting_client"},
    ("POST", "/cases/{item_id}/reply"): lambda: {"body": "Any news?"},
    ("POST", "/cases/{item_id}/escalate"): lambda: {"contact": "duty@example.net", "body": "Please escalate"},
    ("PUT", "/cases/{item_id}/chasers"): lambda: {"chasers_paused": True},
    ("POST", "/cases/{item_id}/open-via-api"): lambda: {"connection_id": str(uuid.uuid4())},
    ("POST", "/cases/{item_id}/comments"): lambda: {"body": "Any news?"},
    ("POST", "/cases/{item_id}/comments/{event_id}/retry"): lambda: None,
    ("POST", "/cases/{item_id}/api-poll"): lambda: None,
    ("PUT", "/vendors/{item_id}/case-mail"): lambda: {"language": "it"},
    ("POST", "/triage/{item_id}/dismiss"): lambda: None,
}


# Action bodies that name other objects of the same client.
SIDE_BODIES: dict[tuple[str, str], Callable[[World, str], dict[str, Any]]] = {
    # The licence of the client's own connection (synced, in its client's tenant).
    ("POST", "/subscriptions/{item_id}/link"): lambda w, side: {
        "version": 1,
        "connection_id": w.obj("connections", side),
        "external_id": f"L-P-{side}",
    },
    ("POST", "/subscriptions/{item_id}/unlink"): lambda w, side: {"version": 1},
    ("POST", "/triage/{item_id}/assign"): lambda w, side: {"case_id": w.obj("cases", side)},
}


def request_for(route: tuple[str, str], w: World, side: str) -> tuple[str, str, dict[str, Any] | None]:
    """A well-formed request on `route` about client `side`'s object (or for that client)."""
    method, path = route
    _, resource = _kind(route)
    body: dict[str, Any] | None = None
    if "{" in path:
        url = fill(path, w.obj(resource, side)).replace("{external_id}", f"T-P-{side}")
        if route in SIDE_BODIES:
            body = SIDE_BODIES[route](w, side)
        elif route in ACTION_BODIES:
            body = ACTION_BODIES[route]()
        elif method == "PATCH":
            body = {"version": 1, **PATCH_BODIES[resource]}
    else:
        url = path
        if route in ACTION_BODIES:
            body = ACTION_BODIES[route]()
        elif method == "POST":
            body = create_body(resource, w, side)
    return method, url, body


async def send(http: httpx.AsyncClient, method: str, url: str, body: Any = None) -> httpx.Response:
    return await http.request(method, url, json=body) if body is not None else await http.request(method, url)


async def list_all(http: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    r = await http.get(path, params={"limit": 1000, **params})
    assert r.status_code == 200, f"GET {path} -> {r.status_code}: {r.text}"
    body = r.json()
    assert body["total"] == len(body["items"]), f"GET {path}: more rows than one page"
    return body["items"]  # type: ignore[no-any-return]


async def snapshot(api: httpx.AsyncClient) -> dict[str, Any]:
    """Everything an admin can read: every list (archived clients too), every object by id
    and the audit trail."""
    out: dict[str, Any] = {}
    for method, path in ALL_ROUTES:
        kind, _ = _kind((method, path))
        if method != "GET" or "{" in path or kind not in ("list", "staff_list", "upcoming", "audit"):
            continue
        params = {"include_archived": True} if path == "/clients" else {}
        if kind == "upcoming":
            out[path] = (await api.get(path, params={"within_days": 3650, "lapsed_days": 3650})).json()
        else:
            out[path] = await list_all(api, path, **params)
    return out


# --- the tests -------------------------------------------------------------------------


def test_route_table_covers_exactly_the_routes_of_the_app():
    app = create_app(settings=Settings(database_url="sqlite+aiosqlite:///:memory:"))
    served = app_routes(app)
    assert served, "no /api/v1 route found: the route walk is broken"
    # The walk must not miss what the OpenAPI document lists.
    documented = {
        (method.upper(), path.removeprefix(API_PREFIX))
        for path, item in app.openapi()["paths"].items()
        for method in item
    }
    assert documented <= served
    unclassified = sorted(served - ROUTES.keys())
    stale = sorted(ROUTES.keys() - served)
    assert not unclassified, f"classify these routes in ROUTES: {unclassified}"
    assert not stale, f"these routes no longer exist, remove them from ROUTES: {stale}"


async def _token_variants(app: Any) -> dict[str, dict[str, str]]:
    """Authorization headers that must all be refused with 401."""
    revoked = await make_token(app)
    expired = await make_token(app)
    valid = await make_token(app)
    async with app.state.runtime.sessionmaker() as session:
        await revoke_token(session, split_token(revoked))  # type: ignore[arg-type]
        row = (
            await session.execute(select(ApiToken).where(ApiToken.prefix == split_token(expired)))
        ).scalar_one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        await session.commit()
    # The secret is url-safe base64 and may itself hold "_": split on the first two only,
    # and change one character (a reversed secret can be the same secret).
    hub_, public, secret = valid.split("_", 2)
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    return {
        "no header": {},
        "empty bearer": {"Authorization": "Bearer "},
        "malformed token": {"Authorization": "Bearer not-a-token"},
        "other scheme": {"Authorization": f"Basic {valid}"},
        "unknown token": {"Authorization": f"Bearer hub_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"},
        "wrong secret": {"Authorization": f"Bearer {hub_}_{public}_{wrong}"},
        "revoked token": {"Authorization": f"Bearer {revoked}"},
        "expired token": {"Authorization": f"Bearer {expired}"},
    }


async def test_every_route_refuses_missing_and_invalid_tokens(app, api):
    w = await build_world(api)
    variants = await _token_variants(app)
    before = await snapshot(api)
    failures = []
    async with caller(app, None) as anonymous:
        for route in ALL_ROUTES:
            if _kind(route)[0] == "public":
                continue  # see test_public_approval_links_refuse_anything_but_a_valid_link
            if _kind(route)[0] == "feed":
                continue  # no bearer token by design: see the feed test below
            method, url, body = request_for(route, w, "A")
            for name, headers in variants.items():
                r = await anonymous.request(method, url, json=body, headers=headers)
                problem = r.json() if r.headers.get("content-type") == PROBLEM_JSON else {}
                if (
                    r.status_code != 401
                    or problem.get("status") != 401
                    or r.headers.get("www-authenticate") != "Bearer"
                ):
                    failures.append(f"{method} {url} with {name}: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)
    assert await snapshot(api) == before


def _normalised(r: httpx.Response, obj_id: str) -> tuple[int, str | None, str]:
    return r.status_code, r.headers.get("content-type"), r.text.replace(obj_id, "<id>")


async def test_viewer_gets_404_for_every_object_of_another_client_same_as_a_missing_id(app, api):
    """A viewer of A learns nothing about B's objects: reading one by id answers exactly
    as if the id did not exist (status, content type and body, the id aside)."""
    w = await build_world(api)
    failures = []
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        for route in ALL_ROUTES:
            kind, resource = _kind(route)
            path = route[1]
            if kind != "read":
                continue
            b_id, missing = w.obj(resource, "B"), str(uuid.uuid4())
            of_b = await viewer.get(fill(path, b_id))
            of_nobody = await viewer.get(fill(path, missing, nested_of=b_id))
            own = await viewer.get(fill(path, w.obj(resource, "A")))
            if own.status_code != 200:
                failures.append(f"GET {path} of A's own object: {own.status_code} {own.text[:200]}")
            if of_b.status_code != 404 or of_b.headers.get("content-type") != PROBLEM_JSON:
                failures.append(f"GET {path} of B's object: {of_b.status_code} {of_b.text[:200]}")
            elif _normalised(of_b, b_id) != _normalised(of_nobody, missing):
                failures.append(
                    f"GET {path}: B's object is told apart from a missing id:\n"
                    f"    B's:     {of_b.text}\n    missing: {of_nobody.text}"
                )
    assert not failures, "\n".join(failures)


def _belongs_to_a(resource: str, item: dict[str, Any], w: World) -> bool:
    if resource == "clients":
        return item["id"] == w.a
    if resource == "vendors":
        return item["id"] == w.shared_vendor  # the only vendor A has an account with
    return item.get("client_id") == w.a


async def test_viewer_lists_only_its_own_clients_rows_even_when_asking_for_another(app, api):
    w = await build_world(api)
    failures = []
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        for route in ALL_ROUTES:
            kind, resource = _kind(route)
            if kind != "list":
                continue
            path = route[1]
            expected = w.rows[resource]["A"]
            # Filters pointing at B's rows, where the list has them.
            asking = [{"client_id": w.b}, {"vendor_id": w.b_only_vendor}, {"q": "beta"}]
            supported = query_parameters(route)
            for params in [{}, *(p for p in asking if p.keys() <= supported)]:
                r = await viewer.get(path, params={"limit": 1000, **params})
                if r.status_code != 200:
                    failures.append(f"GET {path} {params}: {r.status_code} {r.text[:200]}")
                    continue
                items = r.json()["items"]
                leaked = [i["id"] for i in items if not _belongs_to_a(resource, i, w)]
                if leaked:
                    failures.append(f"GET {path} {params}: rows of others leaked: {leaked}")
                if r.json()["total"] != len(items):
                    failures.append(f"GET {path} {params}: total {r.json()['total']} counts others' rows")
                if not params and {str(i["id"]) for i in items} != expected:  # notice ids are integers
                    failures.append(
                        f"GET {path}: expected A's rows {expected}, got {[i['id'] for i in items]}"
                    )
    assert not failures, "\n".join(failures)


async def test_viewer_sees_only_its_own_audit_events(app, api):
    w = await build_world(api)
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        own = await list_all(viewer, "/audit")
        asked_for_b = await list_all(viewer, "/audit", client_id=w.b)
        of_b_subject = await list_all(viewer, "/audit", subject_id=w.obj("subscriptions", "B"))
    everything = await list_all(api, "/audit")
    # A viewer reads its activity log: entries of A's events only (those it is told about).
    assert own and {e["id"] for e in own} <= {e["id"] for e in everything if e["client_id"] == w.a}
    assert all(set(e) >= {"who", "what", "object", "summary", "occurred_at"} for e in own)
    assert asked_for_b == [] and of_b_subject == []
    # Staff events without a client (the vendor catalogue) are not a viewer's business.
    assert any(e["client_id"] is None for e in everything)


async def test_viewer_spend_of_another_client_is_404_and_own_has_only_own_lines(app, api):
    w = await build_world(api)
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        other = await viewer.get(f"/clients/{w.b}/spend")
        other_csv = await viewer.get(f"/clients/{w.b}/spend", params={"format": "csv"})
        own = await viewer.get(f"/clients/{w.a}/spend")
    assert other.status_code == 404 and other.headers["content-type"] == PROBLEM_JSON
    assert other_csv.status_code == 404 and "Beta" not in other_csv.text
    assert own.status_code == 200
    lines = own.json()["lines"]
    assert {ln["subscription_id"] for ln in lines} == w.rows["subscriptions"]["A"]
    assert {ln["account"]["id"] for ln in lines} <= w.rows["vendor-accounts"]["A"]


async def test_upcoming_for_a_viewer_has_only_its_own_items_even_asking_for_another(app, api):
    w = await build_world(api)
    a_items = {i for r in ("subscriptions", "warranties", "domains", "endpoints") for i in w.rows[r]["A"]}
    b_items = {i for r in ("subscriptions", "warranties", "domains", "endpoints") for i in w.rows[r]["B"]}
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        for params in ({}, {"client_id": w.b}, {"format": "json", "client_id": w.b, "within_days": 3650}):
            body = (await viewer.get("/renewals/upcoming", params=params)).json()
            assert {i["id"] for i in body["items"]} == a_items, params
            assert {i["client"]["id"] for i in body["items"]} == {w.a}
            assert body["total"] == len(a_items)
        csv_text = (await viewer.get("/renewals/upcoming", params={"format": "csv", "client_id": w.b})).text
    assert all(i not in csv_text for i in b_items) and "beta" not in csv_text.lower()
    assert all(i in csv_text for i in a_items)
    staff = (await api.get("/renewals/upcoming")).json()
    assert {i["id"] for i in staff["items"]} == a_items | b_items


async def test_viewer_writes_are_forbidden_on_every_route_and_change_nothing(app, api):
    """Viewers are read-only for now: every write is refused with 403 before anything
    is looked up, on its own client's objects and on others' alike."""
    w = await build_world(api)
    before = await snapshot(api)
    failures = []
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        for route in ALL_ROUTES:
            if _kind(route)[0] != "write":
                continue
            for side in ("A", "B"):
                method, url, body = request_for(route, w, side)
                r = await send(viewer, method, url, body)
                if r.status_code != 403 or r.headers.get("content-type") != PROBLEM_JSON:
                    failures.append(f"{method} {url} ({side}'s): {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)
    assert await snapshot(api) == before


@pytest.mark.parametrize("role", [Role.admin, Role.technician])
async def test_staff_read_every_clients_objects(app, api, role):
    w = await build_world(api)
    failures = []
    async with caller(app, await make_token(app, role)) as staff:
        for route in ALL_ROUTES:
            kind, resource = _kind(route)
            path = route[1]
            if kind in ("read", "staff_read"):
                for side in ("A", "B"):
                    r = await staff.get(fill(path, w.obj(resource, side)))
                    if r.status_code != 200:
                        failures.append(f"GET {path} of {side}'s: {r.status_code} {r.text[:200]}")
            elif kind in ("list", "staff_list"):
                ids = {str(i["id"]) for i in await list_all(staff, path)}
                expected = w.rows[resource]["A"] | w.rows[resource]["B"]
                if not expected <= ids:
                    failures.append(f"GET {path}: missing {expected - ids}")
            elif kind in ("upcoming", "audit"):
                r = await staff.get(path, params={"limit": 1000})
                clients = {
                    (i["client"]["id"] if kind == "upcoming" else i["client_id"]) for i in r.json()["items"]
                }
                if not {w.a, w.b} <= clients:
                    failures.append(f"GET {path}: clients seen {clients}")
        # A vendor nobody has an account with is still in the staff's catalogue.
        assert (await staff.get(f"/vendors/{w.unused_vendor}")).status_code == 200
        # Staff get the full shape, not the client's subset of it.
        for path, key in STAFF_ONLY_KEYS.items():
            url = fill(path, w.obj(path.split("/")[1], "A")) if "{" in path else path
            got = await staff.get(url, params={"limit": 1000} if "{" not in path else None)
            body = got.json()
            item = body["items"][0] if isinstance(body, dict) and "items" in body else body
            item = item[0] if isinstance(item, list) else item
            if key not in item:
                failures.append(f"GET {path}: {key} missing from the staff's answer")
    assert not failures, "\n".join(failures)


# Writes that need a vendor's case API behind the case (a CaseDesk simulator): the world's
# cases go by mail, so staff are served in tests/case/test_api_channel.py instead.
STAFF_WRITES_ELSEWHERE = {
    # The matrix's vendors have no escalation contacts: staff escalating is proven in
    # tests/case/test_api.py::test_a_technician_escalates_through_the_api_to_a_named_contact.
    ("POST", "/cases/{item_id}/escalate"),
    ("POST", "/cases/{item_id}/open-via-api"),
    ("POST", "/cases/{item_id}/comments"),
    ("POST", "/cases/{item_id}/comments/{event_id}/retry"),
    ("POST", "/cases/{item_id}/api-poll"),
}


async def test_staff_writes_are_not_refused(app, api):
    """The write requests of the matrix are the ones staff make every day: a technician
    gets them through (so a viewer's 403 above is about the role, not the request)."""
    w = await build_world(api)
    failures = []
    async with caller(app, await make_token(app, Role.technician)) as tech:
        for route in ALL_ROUTES:
            if _kind(route)[0] != "write" or route[0] == "DELETE" or route in STAFF_WRITES_ELSEWHERE:
                continue
            method, url, body = request_for(route, w, "B")
            if body and "version" in body:  # an earlier write of this loop may have moved it on
                obj_url = "/".join(url.split("/")[:3])  # /subscriptions/<id>/terms -> /subscriptions/<id>
                body["version"] = (await tech.get(obj_url)).json()["version"]
            r = await send(tech, method, url, body)
            if r.status_code not in (200, 201, 202):  # 202: a check run queued
                failures.append(f"{method} {url}: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)


async def test_staff_only_routes_refuse_viewers_and_serve_staff(app, api):
    staff_routes = [route for route in ALL_ROUTES if _kind(route)[0] == "staff"]
    assert staff_routes, "expected at least the job queue"
    w = await build_world(api)
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        for method, path in staff_routes:
            r = await viewer.request(method, path)
            assert r.status_code == 403 and r.headers["content-type"] == PROBLEM_JSON, (path, r.text)
    async with caller(app, await make_token(app, Role.technician)) as tech:
        for method, path in staff_routes:
            assert (await tech.request(method, path)).status_code == 200, path


async def test_staff_read_routes_refuse_viewers_whatever_the_object_and_serve_staff(app, api):
    routes = [route for route in ALL_ROUTES if _kind(route)[0] == "staff_read"]
    assert routes
    w = await build_world(api)
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        for method, path in routes:
            resource = _kind((method, path))[1]
            for side in ("A", "B"):
                r = await viewer.request(method, fill(path, w.obj(resource, side)))
                assert r.status_code == 403 and r.headers["content-type"] == PROBLEM_JSON, (
                    path,
                    side,
                    r.text,
                )
    async with caller(app, await make_token(app, Role.technician)) as tech:
        for method, path in routes:
            resource = _kind((method, path))[1]
            for side in ("A", "B"):
                assert (await tech.request(method, fill(path, w.obj(resource, side)))).status_code == 200


async def test_admin_only_routes_refuse_viewers_and_technicians_and_change_nothing(app, api):
    w = await build_world(api)
    admin_routes = [route for route in ALL_ROUTES if _kind(route)[0] == "admin"]
    assert admin_routes
    before = await snapshot(api)
    failures = []
    for role in (Role.client_viewer, Role.technician):
        token = await make_token(app, role, client_id=uuid.UUID(w.a) if role is Role.client_viewer else None)
        async with caller(app, token) as someone:
            for route in admin_routes:
                for side in ("A", "B"):
                    method, url, body = request_for(route, w, side)
                    r = await send(someone, method, url, body)
                    if r.status_code != 403 or r.headers.get("content-type") != PROBLEM_JSON:
                        failures.append(f"{role} {method} {url}: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)
    assert await snapshot(api) == before
    for route in admin_routes:  # an admin is let through (a 409 means: not in that state)
        method, url, body = request_for(route, w, "B")
        r = await send(api, method, url, body)
        assert r.status_code in (200, 201, 202, 409), f"{method} {url}: {r.status_code} {r.text[:200]}"


async def test_forecast_for_a_viewer_has_only_its_own_lines_and_refuses_another_client(app, api):
    w = await build_world(api)
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        own = (await viewer.get("/forecast")).json()
        other = await viewer.get("/forecast", params={"client_id": w.b})
        csv_text = (await viewer.get("/forecast", params={"format": "csv"})).text
    assert own["lines"] and {line["client_id"] for line in own["lines"]} == {w.a}
    assert other.status_code == 404 and other.headers["content-type"] == PROBLEM_JSON
    assert "Beta" not in csv_text and "Alfa" in csv_text
    staff = (await api.get("/forecast")).json()
    assert {line["client_id"] for line in staff["lines"]} == {w.a, w.b}


async def test_public_approval_links_refuse_anything_but_a_valid_link(app, api):
    w = await build_world(api)
    before = await snapshot(api)
    async with caller(app, None) as anonymous:
        for token in (
            w.obj("approvals", "A"),
            "gAAAAABkZXJyb3I=" + "x" * 60,
            w.obj("renewals", "A") + "x" * 10,
        ):
            for method in ("GET", "POST"):
                r = await anonymous.request(method, f"/approvals/{token}")
                assert r.status_code == 404 and r.headers["content-type"] == PROBLEM_JSON, (method, r.text)
    assert await snapshot(api) == before


async def test_feed_routes_need_a_valid_unrevoked_feed_token_and_answer_404_otherwise(app, api):
    """Calendar apps cannot send a bearer token: the feed token in the path is the only
    credential, so anything but a live token gets the same 404, whatever the headers."""
    w = await build_world(api)
    variants = await _token_variants(app)
    feed = (await api.post("/calendar/feeds", json={"client_id": w.a, "name": "x"})).json()
    bad_tokens = ["nothing", feed["token"][:-3] + "xyz", feed["prefix"] + "_" + "A" * 43]
    failures = []
    async with caller(app, None) as anonymous:
        for route in ALL_ROUTES:
            if _kind(route)[0] != "feed":
                continue
            for token in bad_tokens:
                for name, headers in variants.items():
                    r = await anonymous.get(route[1].replace("{token}", token), headers=headers)
                    if r.status_code != 404 or r.headers.get("content-type") != PROBLEM_JSON:
                        failures.append(f"{route} {token[:12]} with {name}: {r.status_code}")
            good = await anonymous.get(route[1].replace("{token}", feed["token"]))
            if good.status_code != 200:
                failures.append(f"{route} with the live token: {good.status_code} {good.text[:200]}")
            # A's feed holds A's renewals, none of B's.
            if any(i in good.text for r_ in ("subscriptions", "domains") for i in w.rows[r_]["B"]):
                failures.append(f"{route}: B's items in A's feed")
    assert not failures, "\n".join(failures)


async def test_staff_work_lists_and_reads_refuse_viewers_whoever_the_object(app, api):
    w = await build_world(api)
    failures = []
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        for route in ALL_ROUTES:
            kind, resource = _kind(route)
            if kind == "staff_list":
                urls = [route[1]]
            elif kind == "staff_read":
                urls = [fill(route[1], w.obj(resource, side)) for side in ("A", "B")]
            else:
                continue
            for url in urls:
                r = await viewer.get(url)
                if r.status_code != 403 or r.headers.get("content-type") != PROBLEM_JSON:
                    failures.append(f"GET {url}: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)


# --- the client-safe projection (issue 11 §6) ------------------------------------------


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


STAFF_ONLY_KEYS = {
    "/subscriptions/{item_id}": "unit_cost",
    "/subscriptions": "unit_cost",
    "/subscriptions/{item_id}/terms": "unit_cost",
    "/connections/{item_id}": "config",
    "/connections": "config",
    "/clients/{item_id}": "notes",
    "/renewals/{renewal_id}": "quoted_price",
    "/renewals": "quoted_price",
    "/audit": "meta",
}

CLIENT_KINDS = ("list", "read", "upcoming", "audit", "report")


async def test_every_answer_to_a_client_is_the_client_safe_projection(app, api):
    """On every route a client user can reach, JSON and CSV alike: no MSP cost or margin,
    no connection internals, no raw audit change sets or meta, no notes; the MSP's buy
    price appears nowhere, the client's own price where it pays."""
    w = await build_world(api)
    # Activity the client may be told about, and some it may not: the MSP's cost changed.
    sub_a = w.obj("subscriptions", "A")
    current = (await api.get(f"/subscriptions/{sub_a}")).json()
    r = await api.patch(f"/subscriptions/{sub_a}", json={"version": current["version"], "quantity": 3})
    assert r.status_code == 200, r.text
    r = await api.patch(
        f"/subscriptions/{sub_a}", json={"version": r.json()["version"], "unit_cost": "31.18"}
    )
    assert r.status_code == 200, r.text
    failures: list[str] = []
    bodies: list[str] = []
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        for route in ALL_ROUTES:
            kind, resource = _kind(route)
            if route[0] != "GET" or kind not in CLIENT_KINDS:
                continue
            url = fill(route[1], w.obj(resource, "A")) if kind == "read" else route[1]
            variants: list[dict[str, Any]] = [{}]
            if "format" in query_parameters(route):
                variants.append({"format": "csv"})
            for params in variants:
                got = await viewer.get(url, params=params)
                if got.status_code != 200:
                    failures.append(f"GET {url} {params}: {got.status_code} {got.text[:200]}")
                    continue
                bodies.append(got.text)
                if params:
                    header = got.text.lstrip("\ufeff").splitlines()[0].lower()
                    cells = {c.strip().strip('"') for c in header.replace(";", ",").split(",")}
                    found = cells & FORBIDDEN_KEYS
                elif "json" not in got.headers["content-type"]:  # a downloaded file
                    found = set()
                else:
                    found = _keys(got.json()) & FORBIDDEN_KEYS
                if found:
                    failures.append(f"GET {url} {params}: forbidden keys {sorted(found)}")
                if any(cost in got.text for cost in ("31.17", "31,17", "31.18", "31,18")):
                    failures.append(f"GET {url} {params}: the MSP's buy price is in the answer")
    assert not failures, "\n".join(failures)
    spend = (
        await caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))).get(
            f"/clients/{w.a}/spend"
        )
    ).json()
    line = next(ln for ln in spend["lines"] if ln["subscription_id"] == sub_a)
    assert line["pays"] == "msp" and line["unit_price"] == CLIENT_PRICE
    # The activity log tells the quantity change, not the cost change.
    async with caller(app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(w.a))) as viewer:
        activity = (await viewer.get("/audit", params={"subject_id": sub_a, "limit": 1000})).json()["items"]
    summaries = [a["summary"] for a in activity]
    assert any("quantity" in s and "Product A" in s for s in summaries), summaries
    assert not any("cost" in s for s in summaries), summaries
