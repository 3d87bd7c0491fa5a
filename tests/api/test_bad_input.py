"""Malformed input on every endpoint: a 4xx problem document that names the culprit
field with a human reason, never a 500, and nothing stored.

Table-driven: BAD_BODIES lists, per create/update route, bodies that must be refused and
the field each must name; every route with a request body must have an entry (so a new
route fails here until someone writes its cases). Query strings and path ids are checked
generically on every route from what the OpenAPI document says it accepts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import delete

from hub.app import API_PREFIX
from hub.kit.time import today
from hub.models import VendorCase
from hub.models.enums import CaseChannel
from tests import factories as f
from tests.api.test_access import (
    _APP,
    ALL_ROUTES,
    PATCH_BODIES,
    ROUTES,
    World,
    _test_vendor,
    build_world,
    connection_config,
    create_body,
    fill,
    like_a_server,
    webhook_targets,  # noqa: F401 - autouse: the world's webhooks need their target allowed
)
from tests.sync.helpers import test_registry, vendor

__all__ = ["_test_vendor", "test_registry", "vendor"]  # the test adapter every world uses

PROBLEM_JSON = "application/problem+json"
MISSING = object()  # in `changes`: remove the key from the valid body


@pytest.fixture
async def api(app, api):
    """The admin client, seeing a crash as the 500 response a caller gets."""
    async with like_a_server(app, api) as http:
        yield http


def _in(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


@dataclass(frozen=True)
class Bad:
    """A request that must be refused. `changes` are applied to a valid body (a callable
    gets the world, for ids); `raw` is sent as the body instead, byte for byte."""

    name: str
    changes: dict[str, Any] | Callable[[World], dict[str, Any]] = field(default_factory=dict)
    field: str | tuple[str, ...] | None = None  # what errors[*].field must name (one of); None: no field
    status: int | tuple[int, ...] = 422
    raw: bytes | None = None
    content_type: str = "application/json"


def other_clients(resource: str) -> Callable[[World], str]:
    return lambda w: w.obj(resource, "B")


LONG = "x" * 100_000

# --- body cases, per route -------------------------------------------------------------

BAD_DOMAIN_NAMES = {
    "space inside": "exa mple.com",
    "hyphens at label ends": "-bad-.com",
    "label of 64 chars": "a" * 64 + ".com",
    "single label": "com",
    "numeric tld": "example.123",
    "empty": "",
    "only dots": "...",
    "longer than 253": ".".join(["a" * 63] * 4) + ".com",
    "underscore": "bad_name.com",
    "not a string": 42,
}

RENEWAL_DECISION = [
    Bad("version missing", {"version": MISSING}, "version"),
    Bad("version zero", {"version": 0}, "version"),
    Bad("version text", {"version": "latest"}, "version"),
    Bad("note too long", {"note": LONG}, "note"),
    Bad("unknown field", {"approved": True}, "approved"),
    Bad("body is null", raw=b"null", field="body"),
]


def _allowance(w: World, side: str = "A", **changes: Any) -> dict[str, Any]:
    good = {"asset_id": w.obj("assets", side), "allowance_pages": 3000, "price_per_page": "0.0120"}
    return {"print_allowance": {k: v for k, v in {**good, **changes}.items() if v is not MISSING}}


# Pay-per-print terms of a printer plan: on create and on update alike.
BAD_PRINT_ALLOWANCE = [
    Bad("allowance not an object", {"print_allowance": "3000 pages"}, "print_allowance"),
    Bad("allowance printer missing", lambda w: _allowance(w, asset_id=MISSING), "print_allowance.asset_id"),
    Bad(
        "allowance printer of another client",
        lambda w: _allowance(w, asset_id=w.obj("assets", "B")),
        "print_allowance.asset_id",
    ),
    Bad(
        "allowance printer unknown",
        lambda w: _allowance(w, asset_id=str(uuid.uuid4())),
        "print_allowance.asset_id",
    ),
    Bad(
        "allowance pages negative",
        lambda w: _allowance(w, allowance_pages=-1),
        "print_allowance.allowance_pages",
    ),
    Bad(
        "allowance pages text",
        lambda w: _allowance(w, allowance_pages="many"),
        "print_allowance.allowance_pages",
    ),
    Bad(
        "price per page float noise",
        lambda w: _allowance(w, price_per_page=0.1 + 0.2),
        "print_allowance.price_per_page",
    ),
    Bad(
        "price per page 5 decimals",
        lambda w: _allowance(w, price_per_page="0.00001"),
        "print_allowance.price_per_page",
    ),
    Bad(
        "price per page negative",
        lambda w: _allowance(w, price_per_page="-0.01"),
        "print_allowance.price_per_page",
    ),
    Bad("unknown counter", lambda w: _allowance(w, counter="cyan"), "print_allowance.counter"),
    Bad("start count negative", lambda w: _allowance(w, start_count=-5), "print_allowance.start_count"),
    Bad(
        "sync's reading is not an input",
        lambda w: _allowance(w, term_start_reading={}),
        "print_allowance.term_start_reading",
    ),
]

BAD_BODIES: dict[tuple[str, str], list[Bad]] = {
    ("POST", "/reports/backfill"): [
        Bad("since not a date", {"since": "last spring"}, "since"),
        Bad("since after until", {"since": "2026-06-02", "until": "2026-06-01"}, "since"),
        Bad("until today", {"until": today().isoformat()}, "until"),
        Bad("more than three years", {"since": "2000-01-01"}, "since"),
        Bad("client not an id", {"client_id": "gamma"}, "client_id"),
        Bad("unknown field", {"days": 30}, "days"),
    ],
    ("POST", "/renewals/{renewal_id}/approve"): RENEWAL_DECISION,
    ("POST", "/renewals/{renewal_id}/decline"): RENEWAL_DECISION,
    ("PUT", "/renewals/controls"): [
        Bad("lead days zero", {"lead_days": 0}, "lead_days"),
        Bad("lead days text", {"lead_days": "soon"}, "lead_days"),
        Bad("lead days over a year", {"lead_days": 400}, "lead_days"),
        Bad("price cap negative", {"price_cap_pct": "-1"}, "price_cap_pct"),
        Bad("daily cap not a number", {"msp_daily_cap": "lots"}, "msp_daily_cap"),
        Bad("unknown currency", {"cap_currency": "XYZ"}, "cap_currency"),
        Bad("paused not a boolean", {"paused": "maybe"}, "paused"),
        Bad("margin switch null", {"approve_negative_margin": None}, "approve_negative_margin"),
        Bad("margin switch not a boolean", {"approve_negative_margin": "maybe"}, "approve_negative_margin"),
        Bad("paused null", {"paused": None}, "paused"),
        Bad("lead days null", {"lead_days": None}, "lead_days"),
        Bad("price cap null", {"price_cap_pct": None}, "price_cap_pct"),
        Bad("cap currency null", {"cap_currency": None}, "cap_currency"),
        Bad("unknown field", {"pause": True}, "pause"),
        Bad("body is null", raw=b"null", field="body"),
    ],
    ("POST", "/clients"): [
        Bad("name missing", {"name": MISSING}, "name"),
        Bad("name not a string", {"name": 123}, "name"),
        Bad("name empty", {"name": ""}, "name"),
        Bad("name blank", {"name": "   "}, "name"),
        Bad("name too long", {"name": LONG}, "name"),
        Bad("slug with spaces", {"slug": "Bad Slug"}, "slug"),
        Bad("slug upper case", {"slug": "ACME"}, "slug"),
        Bad("slug leading hyphen", {"slug": "-acme"}, "slug"),
        Bad("timezone unknown", {"timezone": "Mars/Olympus_Mons"}, "timezone"),
        Bad("timezone wrong case", {"timezone": "europe/rome"}, "timezone"),
        Bad("timezone empty", {"timezone": ""}, "timezone"),
        Bad("currency EURO", {"default_currency": "EURO"}, "default_currency"),
        Bad("currency XXY", {"default_currency": "XXY"}, "default_currency"),
        Bad("currency number", {"default_currency": 978}, "default_currency"),
        Bad("tier unknown", {"tier": "platinum"}, "tier"),
        Bad("status unknown", {"status": "sleeping"}, "status"),
        Bad("created archived", {"status": "archived"}, "status"),
        Bad("owner not a uuid", {"owner_user_id": "me"}, "owner_user_id"),
        Bad("notes too long", {"notes": "n" * 20_001}, "notes"),
        Bad("nul character in name", {"name": "Acme\x00Ltd"}, "name", status=(201, 422)),
        Bad("line break in name", {"name": "Acme\r\nX-Injected: 1"}, "name"),
        Bad("tab in name", {"name": "Acme\tLtd"}, "name"),
        Bad("unicode line separator in name", {"name": "Acme\u2028Ltd"}, "name"),
    ],
    ("PATCH", "/clients/{item_id}"): [
        Bad("name null", {"name": None}, "name"),
        Bad("line break in name", {"name": "Acme\nLtd"}, "name"),
        Bad("name too long", {"name": LONG}, "name"),
        Bad("slug upper case", {"slug": "UPPER"}, "slug"),
        Bad("timezone unknown", {"timezone": "Europe/Atlantis"}, "timezone"),
        Bad("currency XXY", {"default_currency": "XXY"}, "default_currency"),
        Bad("archived by patch", {"status": "archived"}, "status"),
        Bad("tier null", {"tier": None}, "tier"),
    ],
    ("POST", "/contacts"): [
        Bad("line break in name", {"name": "Mario\r\nRossi"}, "name"),
        Bad("name missing", {"name": MISSING}, "name"),
        Bad("email invalid", {"email": "not-an-email"}, "email"),
        Bad("phone letters", {"phone": "call me"}, "phone"),
        Bad("role unknown", {"roles": ["boss"]}, "roles.0"),
        Bad("roles not a list", {"roles": "primary"}, "roles"),
        Bad("escalation level 10", {"escalation_level": 10}, "escalation_level"),
        Bad("escalation level float", {"escalation_level": 1.5}, "escalation_level"),
        Bad("client id not a uuid", {"client_id": "abc"}, "client_id"),
        Bad("client does not exist", {"client_id": str(uuid.uuid4())}, "client_id"),
        Bad("vendor does not exist", {"client_id": None, "vendor_id": str(uuid.uuid4())}, "vendor_id"),
        Bad("neither client nor vendor", {"client_id": None}, ("client_id", "vendor_id")),
        Bad("both client and vendor", lambda w: {"vendor_id": w.shared_vendor}, ("client_id", "vendor_id")),
    ],
    ("PATCH", "/contacts/{item_id}"): [
        Bad("name null", {"name": None}, "name"),
        Bad("roles null", {"roles": None}, "roles"),
        Bad("email invalid", {"email": "@"}, "email"),
        Bad("moved to another client", lambda w: {"client_id": w.b}, "client_id"),
    ],
    ("POST", "/vendors"): [
        Bad("line break in name", {"name": "Sophos\nBEGIN:VEVENT"}, "name"),
        Bad("category missing", {"category": MISSING}, "category"),
        Bad("category unknown", {"category": "magic"}, "category"),
        Bad("website not a url", {"website": "not a url"}, "website"),
        Bad("sla negative", {"default_response_sla_hours": -1}, "default_response_sla_hours"),
        Bad("sla not a number", {"default_response_sla_hours": "soon"}, "default_response_sla_hours"),
        Bad(
            "email channel without address",
            {"support_channels": [{"kind": "email", "value": "nope"}]},
            "support_channels.0",
        ),
        Bad(
            "channel kind unknown",
            {"support_channels": [{"kind": "pigeon", "value": "x"}]},
            "support_channels.0.kind",
        ),
        Bad(
            "channel timezone unknown",
            {"support_channels": [{"kind": "phone", "value": "+39 02 1234", "timezone": "Nowhere/Land"}]},
            "support_channels.0.timezone",
        ),
        Bad(
            "channel closes before it opens",
            {
                "support_channels": [
                    {
                        "kind": "phone",
                        "value": "+39 02 1234",
                        "hours": {"days": ["mon"], "opens": "18:00", "closes": "09:00"},
                    }
                ]
            },
            "support_channels.0.hours",
        ),
        Bad(
            "escalation levels repeated",
            {
                "escalation_levels": [
                    {"level": 1, "name": "Desk", "contact": "desk@v.example"},
                    {"level": 1, "name": "Manager", "contact": "boss@v.example"},
                ]
            },
            "escalation_levels",
        ),
        Bad(
            "escalation level 0",
            {"escalation_levels": [{"level": 0, "name": "Desk", "contact": "x"}]},
            "escalation_levels.0.level",
        ),
    ],
    ("PATCH", "/vendors/{item_id}"): [
        Bad("name null", {"name": None}, "name"),
        Bad("category null", {"category": None}, "category"),
        Bad("category unknown", {"category": "magic"}, "category"),
        Bad("support channels null", {"support_channels": None}, "support_channels"),
        Bad("website not a url", {"website": "ftp//nope"}, "website"),
    ],
    ("POST", "/vendor-accounts"): [
        Bad("client missing", {"client_id": MISSING}, "client_id"),
        Bad("client not a uuid", {"client_id": "client-a"}, "client_id"),
        Bad("client does not exist", {"client_id": str(uuid.uuid4())}, "client_id"),
        Bad("vendor does not exist", {"vendor_id": str(uuid.uuid4())}, "vendor_id"),
        Bad("account number empty", {"account_number": ""}, "account_number"),
        Bad("account number not a string", {"account_number": ["A", "B"]}, "account_number"),
        Bad("account number too long", {"account_number": LONG}, "account_number"),
        Bad("notice email invalid", {"notice_email": "billing at acme"}, "notice_email"),
        Bad("support pin empty", {"support_pin": ""}, "support_pin"),
    ],
    ("PATCH", "/vendor-accounts/{item_id}"): [
        Bad("account number null", {"account_number": None}, "account_number"),
        Bad("notice email invalid", {"notice_email": "x@"}, "notice_email"),
        Bad("moved to another client", lambda w: {"client_id": w.b}, "client_id"),
        Bad("moved to another vendor", lambda w: {"vendor_id": w.b_only_vendor}, "vendor_id"),
        Bad("support pin too long", {"support_pin": "9" * 201}, "support_pin"),
    ],
    ("POST", "/subscriptions"): [
        Bad("line break in product", {"product": "M365\r\nEND:VCALENDAR"}, "product"),
        Bad("line break in sku", {"sku": "A\nB"}, "sku"),
        *BAD_PRINT_ALLOWANCE,
        Bad("account missing", {"vendor_account_id": MISSING}, "vendor_account_id"),
        Bad("account does not exist", {"vendor_account_id": str(uuid.uuid4())}, "vendor_account_id"),
        Bad("quantity negative", {"quantity": -1}, "quantity"),
        Bad("quantity not a number", {"quantity": "ten"}, "quantity"),
        Bad("quantity fractional", {"quantity": 1.5}, "quantity"),
        Bad("quantity huge", {"quantity": 10**12}, "quantity"),
        Bad("unit cost missing", {"unit_cost": MISSING}, "unit_cost"),
        Bad("unit cost abc", {"unit_cost": "abc"}, "unit_cost"),
        Bad("unit cost 5 decimals", {"unit_cost": "10.12345"}, "unit_cost"),
        Bad("unit cost 5 decimals as number", {"unit_cost": 10.12345}, "unit_cost"),
        Bad("unit cost NaN text", {"unit_cost": "NaN"}, "unit_cost"),
        Bad("unit cost Infinity text", {"unit_cost": "Infinity"}, "unit_cost"),
        Bad("unit cost -Infinity text", {"unit_cost": "-Infinity"}, "unit_cost"),
        Bad("unit cost boolean", {"unit_cost": True}, "unit_cost"),
        Bad("unit cost negative", {"unit_cost": "-1.00"}, "unit_cost"),
        Bad("unit cost too large", {"unit_cost": "1e20"}, "unit_cost"),
        Bad("unit cost object", {"unit_cost": {"amount": 1}}, "unit_cost"),
        Bad("client price 5 decimals", {"client_unit_price": "1.00001"}, "client_unit_price"),
        Bad("currency EURO", {"currency": "EURO"}, "currency"),
        Bad("currency XXY", {"currency": "XXY"}, "currency"),
        Bad("currency empty", {"currency": ""}, "currency"),
        Bad("billing period weekly", {"billing_period": "weekly"}, "billing_period"),
        Bad("payer unknown", {"payer": "nobody"}, "payer"),
        Bad("renewal type unknown", {"renewal_type": "magic"}, "renewal_type"),
        Bad("starts on 30 February", {"starts_on": "2026-02-30"}, "starts_on"),
        Bad("starts on not a date", {"starts_on": "yesterday"}, "starts_on"),
        Bad("ends before it starts", {"starts_on": "2026-06-01", "ends_on": "2026-05-31"}, "ends_on"),
        Bad("notice days negative", {"notice_days": -5}, "notice_days"),
        Bad("policy lead days negative", {"renewal_policy": {"lead_days": -1}}, "renewal_policy.lead_days"),
        Bad("policy unknown key", {"renewal_policy": {"autopilot": True}}, "renewal_policy.autopilot"),
        Bad("product empty", {"product": ""}, "product"),
        Bad("product too long", {"product": LONG}, "product"),
        Bad("client given by the caller", lambda w: {"client_id": w.b}, "client_id"),
    ],
    ("PATCH", "/subscriptions/{item_id}"): [
        *BAD_PRINT_ALLOWANCE,
        Bad("unit cost 5 decimals", {"unit_cost": "1.23456"}, "unit_cost"),
        Bad("unit cost NaN text", {"unit_cost": "nan"}, "unit_cost"),
        Bad("unit cost boolean", {"unit_cost": False}, "unit_cost"),
        Bad("unit cost null", {"unit_cost": None}, "unit_cost"),
        Bad("quantity negative", {"quantity": -5}, "quantity"),
        Bad("currency XXY", {"currency": "XXY"}, "currency"),
        Bad(
            "ends before it starts (both sent)",
            {"starts_on": "2026-06-01", "ends_on": "2026-01-01"},
            "ends_on",
        ),
        Bad("ends before the stored start", {"ends_on": "2000-01-01"}, "ends_on"),
        Bad("product null", {"product": None}, "product"),
        Bad("status unknown", {"status": "paused"}, "status"),
        Bad("moved to another client", lambda w: {"client_id": w.b}, "client_id"),
        Bad(
            "moved to another account",
            lambda w: {"vendor_account_id": w.obj("vendor-accounts", "B")},
            "vendor_account_id",
        ),
    ],
    ("POST", "/subscriptions/{item_id}/link"): [
        Bad("version missing", {"version": MISSING}, "version"),
        Bad("version 0", {"version": 0}, "version"),
        Bad("connection missing", {"connection_id": MISSING}, "connection_id"),
        Bad("connection not a uuid", {"connection_id": "pax8"}, "connection_id"),
        Bad("connection of nobody", {"connection_id": str(uuid.uuid4())}, "connection_id"),
        Bad(
            "another client's own connection",
            lambda w: {"connection_id": w.obj("connections", "B"), "external_id": "L-P-B"},
            "connection_id",
        ),
        Bad("external id missing", {"external_id": MISSING}, "external_id"),
        Bad("external id empty", {"external_id": ""}, "external_id"),
        Bad("external id too long", {"external_id": "x" * 201}, "external_id"),
        Bad("external id with a line break", {"external_id": "L-P-A\nX"}, "external_id"),
        Bad("external id not a string", {"external_id": 42}, "external_id"),
        Bad("vendor subscription the connection does not see", {"external_id": "L-P-B"}, "external_id"),
        Bad("stale version", {"version": 99}, status=409),
    ],
    ("POST", "/renewals/{renewal_id}/confirm"): [
        Bad("version missing", {"version": MISSING}, "version"),
        Bad("version 0", {"version": 0}, "version"),
        Bad("ends on missing", {"ends_on": MISSING}, "ends_on"),
        Bad("ends on not a date", {"ends_on": "next year"}, "ends_on"),
        Bad("note too long", {"note": LONG}, "note"),
        Bad("stale version", {"version": 99}, status=409),
    ],
    ("POST", "/renewals/{renewal_id}/resolve"): [
        Bad("version missing", {"version": MISSING}, "version"),
        Bad("version 0", {"version": 0}, "version"),
        Bad("outcome missing", {"outcome": MISSING}, "outcome"),
        Bad("outcome unknown", {"outcome": "renewed"}, "outcome"),
        Bad("a new term for a renewal that will not happen", {"ends_on": _in(400)}, "ends_on"),
        Bad("renewed outside without its end", {"outcome": "renewed_outside"}, "ends_on"),
        Bad("ends on not a date", {"outcome": "renewed_outside", "ends_on": "next year"}, "ends_on"),
        Bad("quantity negative", {"outcome": "renewed_outside", "quantity": -1}, "quantity"),
        Bad("unit cost negative", {"outcome": "renewed_outside", "unit_cost": "-1"}, "unit_cost"),
        Bad("renewed by nobody", {"renewed_by": "nobody"}, "renewed_by"),
        Bad("note too long", {"note": LONG}, "note"),
        Bad("stale version", {"version": 99}, status=409),
    ],
    ("POST", "/vendor-subscriptions/adopt"): [
        Bad("confirm missing", {"confirm": MISSING}, "confirm"),
        Bad("confirm false", {"confirm": False}, "confirm"),
        Bad("connection missing", {"connection_id": MISSING}, "connection_id"),
        Bad("connection not a uuid", {"connection_id": "pax8"}, "connection_id"),
        Bad("connection of nobody", {"connection_id": str(uuid.uuid4())}, "connection_id"),
        Bad("external id missing", {"external_id": MISSING}, "external_id"),
        Bad("external id the connection does not list", {"external_id": "L-P-B"}, "external_id"),
        Bad("external id with a tab", {"external_id": "L-P\tA"}, "external_id"),
        Bad(
            "vendor account of another client",
            lambda w: {"vendor_account_id": w.obj("vendor-accounts", "B")},
            "vendor_account_id",
        ),
        Bad("vendor account not a uuid", {"vendor_account_id": "ACC-1"}, "vendor_account_id"),
        Bad("unit cost negative", {"unit_cost": "-1"}, "unit_cost"),
        Bad("unit cost text", {"unit_cost": "cheap"}, "unit_cost"),
        Bad("no price anywhere", {"unit_cost": MISSING}, "unit_cost"),
        Bad("billing period unknown", {"billing_period": "fortnightly"}, "billing_period"),
        Bad("payer unknown", {"payer": "nobody"}, "payer"),
        Bad("renewal type unknown", {"renewal_type": "magic"}, "renewal_type"),
        Bad("notice days negative", {"notice_days": -1}, "notice_days"),
        Bad("product empty", {"product": ""}, "product"),
    ],
    ("PUT", "/subscriptions/{item_id}/renewal-route"): [
        Bad("order connection missing", {"order_connection_id": MISSING}, "order_connection_id"),
        Bad("order connection not a uuid", {"order_connection_id": "pax8"}, "order_connection_id"),
        Bad("order connection of nobody", {"order_connection_id": str(uuid.uuid4())}, "order_connection_id"),
        Bad("a connection that cannot order", {}, "order_connection_id"),
        Bad(
            "another client's connection that cannot order",
            lambda w: {"order_connection_id": w.obj("connections", "B")},
            "order_connection_id",
        ),
        Bad("order ref missing", {"order_ref": MISSING}, "order_ref"),
        Bad("order ref empty", {"order_ref": ""}, "order_ref"),
        Bad("order ref too long", {"order_ref": "x" * 201}, "order_ref"),
        Bad("confirm connection not a uuid", {"confirm_connection_id": "sophos"}, "confirm_connection_id"),
        Bad("confirm ref empty", {"confirm_ref": ""}, "confirm_ref"),
        Bad("register serial too long", {"register_serial": "S" * 101}, "register_serial"),
        Bad("tenant ref not a string", {"order_tenant_ref": 42}, "order_tenant_ref"),
        Bad("order by fax", {"order_by": "fax"}, "order_by"),
        Bad("a purchase order address on an API route", {"po_email": "orders@distri.example"}, "po_email"),
        Bad(
            "by e-mail without the distributor's account",
            {"order_by": "email", "order_connection_id": MISSING},
            "po_account_id",
        ),
        Bad("by e-mail at a connection", {"order_by": "email"}, "order_connection_id"),
        Bad("purchase order price negative", {"po_unit_price": "-1"}, "po_unit_price"),
        Bad("purchase order address too long", {"po_email": "x" * 321}, "po_email"),
    ],
    ("POST", "/subscriptions/{item_id}/unlink"): [
        Bad("version missing", {"version": MISSING}, "version"),
        Bad("version 0", {"version": 0}, "version"),
        Bad("version text", {"version": "latest"}, "version"),
    ],
    ("POST", "/subscriptions/{item_id}/terms"): [
        Bad("ends on missing", {"ends_on": MISSING}, "ends_on"),
        Bad("ends before the new term starts", {"ends_on": "2001-01-01"}, "ends_on"),
        Bad("starts inside the current term", {"starts_on": _in(0), "ends_on": _in(400)}, "starts_on"),
        Bad("unit cost 5 decimals", {"unit_cost": "1.00001"}, "unit_cost"),
        Bad("quantity negative", {"quantity": -1}, "quantity"),
        Bad("version 0", {"version": 0}, "version"),
    ],
    ("POST", "/notices/{item_id}/snooze"): [
        Bad("until missing", {"until": MISSING}, "until"),
        Bad("until without time zone", {"until": "2030-01-01T00:00:00"}, "until"),
        Bad("until in the past", {"until": "2001-01-01T00:00:00Z"}, "until"),
        Bad("until beyond a year", {"until": "2999-01-01T00:00:00Z"}, "until"),
        Bad("until not a date", {"until": "tomorrow"}, "until"),
        Bad("unknown field", {"forever": True}, "forever"),
    ],
    ("POST", "/webhooks"): [
        Bad("url missing", {"url": MISSING}, "url"),
        Bad("url not http", {"url": "ftp://127.0.0.1/x"}, "url"),
        Bad("url off the allow-list", {"url": "http://10.1.2.3/hook"}, "url"),
        Bad("url cloud metadata", {"url": "http://169.254.169.254/latest"}, "url"),
        Bad("url with credentials", {"url": "http://user:pw@127.0.0.1:9/x"}, "url"),
        Bad("url bad port", {"url": "http://127.0.0.1:99999/x"}, "url"),
        Bad("url too long", {"url": "http://127.0.0.1/" + LONG}, "url"),
        Bad("secret missing", {"secret": MISSING}, "secret"),
        Bad("secret without whsec_", {"secret": "not-a-secret"}, "secret"),
        Bad("secret not base64", {"secret": "whsec_!!!not base64!!!"}, "secret"),
        Bad("secret too short", {"secret": "whsec_c2hvcnQ="}, "secret"),
        Bad("name empty", {"name": ""}, "name"),
        Bad("client does not exist", {"client_id": str(uuid.uuid4())}, "client_id"),
        Bad("active not a boolean", {"active": "maybe"}, "active"),
    ],
    ("PATCH", "/webhooks/{item_id}"): [
        Bad("url off the allow-list", {"url": "https://example.com/hook"}, "url"),
        Bad("url null", {"url": None}, "url"),
        Bad("secret null", {"secret": None}, "secret"),
        Bad("secret malformed", {"secret": "whsec_"}, "secret"),
        Bad("name null", {"name": None}, "name"),
        Bad("moved to another client", lambda w: {"client_id": w.b}, "client_id"),
        Bad("version missing", {"version": MISSING}, "version"),
    ],
    ("POST", "/calendar/feeds"): [
        Bad("name missing", {"name": MISSING}, "name"),
        Bad("name too long", {"name": LONG}, "name"),
        Bad("client does not exist", {"client_id": str(uuid.uuid4())}, "client_id"),
        Bad("user does not exist", {"client_id": None, "user_id": str(uuid.uuid4())}, "user_id"),
        Bad("client and user", {"user_id": str(uuid.uuid4())}, "user_id"),
        Bad("client not a uuid", {"client_id": "alfa"}, "client_id"),
    ],
    ("POST", "/notify/test"): [
        Bad("channel unknown", {"channel": "pigeon"}, "channel"),
        Bad("channel missing", {"channel": MISSING}, "channel"),
        Bad("email without address", {"to": MISSING}, "to"),
        Bad("address invalid", {"to": "not an address"}, "to"),
        Bad("webhook without id", {"channel": "webhook", "to": MISSING}, "webhook_id"),
        Bad("webhook id not a uuid", {"channel": "webhook", "webhook_id": "x"}, "webhook_id"),
    ],
    ("POST", "/notify/ladders"): [
        Bad("scope unknown", {"scope": "galaxy"}, "scope"),
        Bad("category unknown", {"key": "spaceships"}, "key"),
        Bad("item not an id", {"scope": "subscription", "key": "abc"}, "key"),
        Bad("item does not exist", {"scope": "domain", "key": str(uuid.uuid4())}, "key"),
        Bad("days empty", {"days": []}, "days"),
        Bad("days repeated", {"days": [7, 7]}, "days"),
        Bad("days beyond ten years", {"days": [4000]}, "days"),
        Bad("days not numbers", {"days": ["soon"]}, "days.0"),
        Bad("days fractional", {"days": [1.5]}, "days.0"),
        Bad("too many steps", {"days": list(range(30))}, "days"),
    ],
    ("POST", "/assets"): [
        Bad("kind unknown", {"kind": "toaster"}, "kind"),
        Bad("name missing", {"name": MISSING}, "name"),
        Bad("manufacturer empty", {"manufacturer": ""}, "manufacturer"),
        Bad("serial with spaces", {"serial": "SN 123"}, "serial"),
        Bad("serial empty", {"serial": ""}, "serial"),
        Bad("client does not exist", {"client_id": str(uuid.uuid4())}, "client_id"),
        Bad(
            "support account of another client",
            lambda w: {"vendor_account_id": w.obj("vendor-accounts", "B")},
            "vendor_account_id",
        ),
        Bad("support account does not exist", {"vendor_account_id": str(uuid.uuid4())}, "vendor_account_id"),
    ],
    ("PATCH", "/assets/{item_id}"): [
        Bad("name null", {"name": None}, "name"),
        Bad("kind unknown", {"kind": "toaster"}, "kind"),
        Bad(
            "support account of another client",
            lambda w: {"vendor_account_id": w.obj("vendor-accounts", "B")},
            "vendor_account_id",
        ),
        Bad("moved to another client", lambda w: {"client_id": w.b}, "client_id"),
    ],
    ("POST", "/warranties"): [
        Bad("asset missing", {"asset_id": MISSING}, "asset_id"),
        Bad("asset does not exist", {"asset_id": str(uuid.uuid4())}, "asset_id"),
        Bad("ends before it starts", {"starts_on": "2026-06-01", "ends_on": "2026-01-01"}, "ends_on"),
        Bad("level empty", {"level": ""}, "level"),
        Bad("source unknown", {"source": "rumour"}, "source"),
        Bad("ends on not a date", {"ends_on": "2026-13-01"}, "ends_on"),
    ],
    ("PATCH", "/warranties/{item_id}"): [
        Bad("ends before the stored start", {"ends_on": "2000-01-01"}, "ends_on"),
        Bad("starts after the stored end", {"starts_on": "2099-01-01"}, "ends_on"),
        Bad("starts on null", {"starts_on": None}, "starts_on"),
        Bad("moved to another asset", lambda w: {"asset_id": w.obj("assets", "B")}, "asset_id"),
    ],
    ("POST", "/domains"): [
        *(Bad(f"name: {label}", {"name": name}, "name") for label, name in BAD_DOMAIN_NAMES.items()),
        Bad("client does not exist", {"client_id": str(uuid.uuid4())}, "client_id"),
        Bad(
            "registrar account of another client",
            lambda w: {"registrar_account_id": w.obj("vendor-accounts", "B")},
            "registrar_account_id",
        ),
        Bad(
            "dns host account of another client",
            lambda w: {"dns_host_account_id": w.obj("vendor-accounts", "B")},
            "dns_host_account_id",
        ),
        Bad(
            "mail host account does not exist",
            {"mail_host_account_id": str(uuid.uuid4())},
            "mail_host_account_id",
        ),
        Bad("mail provider unknown", {"expected_mail_provider": "yahoo"}, "expected_mail_provider"),
        Bad("dkim selector with space", {"dkim_selectors": ["bad selector"]}, "dkim_selectors.0"),
        Bad("expires on not a date", {"expires_on": "soon"}, "expires_on"),
    ],
    ("PATCH", "/domains/{item_id}"): [
        Bad("renamed", {"name": "other.example"}, "name"),
        Bad(
            "registrar account of another client",
            lambda w: {"registrar_account_id": w.obj("vendor-accounts", "B")},
            "registrar_account_id",
        ),
        Bad("dkim selectors null", {"dkim_selectors": None}, "dkim_selectors"),
        Bad("mail provider null", {"expected_mail_provider": None}, "expected_mail_provider"),
    ],
    ("POST", "/checks"): [
        Bad("client_id missing", {"client_id": MISSING}, "client_id"),
        Bad("client_id not a uuid", {"client_id": "me"}, "client_id"),
        Bad("client_id of nobody", {"client_id": str(uuid.uuid4())}, "client_id"),
        Bad("kind missing", {"kind": MISSING}, "kind"),
        Bad("kind unknown", {"kind": "no_such_kind"}, "kind"),
        Bad("kind too long", {"kind": LONG}, "kind"),
        Bad("target_ref missing", {"target_ref": MISSING}, "target_ref"),
        Bad("target_ref not an id", {"target_ref": "example.com"}, "target_ref"),
        Bad("target_ref of another client", lambda w: {"target_ref": w.obj("domains", "B")}, "target_ref"),
        Bad("target_ref too long", {"target_ref": LONG}, "target_ref"),
        Bad("params unknown key", {"params": {"nope": 1}}, "params"),
        Bad("params not an object", {"params": [1]}, "params"),
        Bad("params with NUL", {"params": {"nope": "a\x00b"}}, "params"),
        Bad("interval too short", {"interval_seconds": 1}, "interval_seconds"),
        Bad("interval too long", {"interval_seconds": 10**9}, "interval_seconds"),
        Bad("enabled not a boolean", {"enabled": "maybe"}, "enabled"),
    ],
    ("POST", "/endpoints"): [
        Bad("host with space", {"host": "exa mple.com"}, "host"),
        Bad("host missing", {"host": MISSING}, "host"),
        Bad("port 0", {"port": 0}, "port"),
        Bad("port 70000", {"port": 70000}, "port"),
        Bad("port text", {"port": "https"}, "port"),
        Bad("tls mode unknown", {"tls_mode": "ssl3"}, "tls_mode"),
        Bad("sni invalid", {"sni": "-bad-.com"}, "sni"),
        Bad("domain of another client", lambda w: {"domain_id": w.obj("domains", "B")}, "domain_id"),
        Bad("client does not exist", {"client_id": str(uuid.uuid4())}, "client_id"),
    ],
    ("POST", "/connections"): [
        Bad("name missing", {"name": MISSING}, "name"),
        Bad("name empty", {"name": ""}, "name"),
        Bad("adapter missing", {"adapter_slug": MISSING}, "adapter_slug"),
        Bad("adapter not installed", {"adapter_slug": "no_such_adapter"}, "adapter_slug"),
        Bad("adapter too long", {"adapter_slug": LONG}, "adapter_slug"),
        Bad("config missing", {"config": MISSING}, "config"),
        Bad("config not an object", {"config": "client_secret=x"}, "config"),
        Bad(
            "config without its account field",
            lambda w: {"config": {k: v for k, v in connection_config("P-A").items() if k != "partner_id"}},
            "config.partner_id",
        ),
        Bad(
            "secret too short",
            lambda w: {"config": {**connection_config("P-A"), "client_secret": "x"}},
            "config.client_secret",
        ),
        Bad(
            "secret not a string",
            lambda w: {"config": {**connection_config("P-A"), "client_secret": 42}},
            "config.client_secret",
        ),
        Bad(
            "unknown config field",
            lambda w: {"config": {**connection_config("P-A"), "nope": 1}},
            "config.nope",
        ),
        Bad(
            "base url off loopback",
            lambda w: {"config": {**connection_config("P-A"), "base_url": "http://example.com"}},
            "config.base_url",
        ),
        Bad(
            "NUL in config",
            lambda w: {"config": {**connection_config("P-A"), "partner_id": "a\x00b"}},
            "config.partner_id",
        ),
        Bad("client scope without client", {"scope": "client", "client_id": None}, "client_id"),
        Bad("MSP scope with a client", {"scope": "msp"}, "client_id"),
        Bad("scope unknown", {"scope": "everyone"}, "scope"),
        Bad("client does not exist", {"client_id": str(uuid.uuid4())}, "client_id"),
        Bad("client not a uuid", {"client_id": "alfa"}, "client_id"),
        Bad("enabled not a boolean", {"enabled": "maybe"}, "enabled"),
        Bad("vendor account already connected", lambda w: {"config": connection_config("P-B")}, status=409),
    ],
    ("PATCH", "/connections/{item_id}"): [
        Bad("name null", {"name": None}, "name"),
        Bad("name too long", {"name": LONG}, "name"),
        Bad("enabled null", {"enabled": None}, "enabled"),
        Bad("config null", {"config": None}, "config"),
        Bad("config not an object", {"config": [1]}, "config"),
        Bad(
            "secret too short",
            lambda w: {"config": {**connection_config("P-A"), "client_secret": "x"}},
            "config.client_secret",
        ),
        Bad(
            "another connection's vendor account", lambda w: {"config": connection_config("P-B")}, status=409
        ),
        Bad("adapter changed", {"adapter_slug": "other"}, "adapter_slug"),
        Bad("moved to another client", lambda w: {"client_id": w.b}, "client_id"),
    ],
    ("PUT", "/connections/{item_id}/tenants/{external_id}"): [
        Bad("client missing", {"client_id": MISSING}, "client_id"),
        Bad("client not a uuid", {"client_id": "alfa"}, "client_id"),
        Bad("client of nobody", {"client_id": str(uuid.uuid4())}, "client_id"),
        Bad("another client for a client's own connection", lambda w: {"client_id": w.b}, "client_id"),
    ],
    ("PATCH", "/endpoints/{item_id}"): [
        Bad("port text", {"port": "https"}, "port"),
        Bad("host null", {"host": None}, "host"),
        Bad("domain of another client", lambda w: {"domain_id": w.obj("domains", "B")}, "domain_id"),
    ],
    ("POST", "/lines"): [
        Bad("account missing", {"vendor_account_id": MISSING}, "vendor_account_id"),
        Bad(
            "account of another client",
            lambda w: {"vendor_account_id": w.obj("vendor-accounts", "B")},
            "vendor_account_id",
        ),
        Bad("circuit with a newline", {"circuit_id": "C-1\nBcc: x"}, "circuit_id"),
        Bad("technology unknown", {"technology": "smoke"}, "technology"),
        Bad("block with host bits", {"address_blocks": ["203.0.113.9/29"]}, "address_blocks.0"),
        Bad("block private", {"address_blocks": ["192.168.1.0/24"]}, "address_blocks.0"),
        Bad("block not a string", {"address_blocks": [42]}, "address_blocks.0"),
        Bad(
            "probe port 0",
            {"probe_targets": [{"host": "203.0.113.9", "ports": [0]}]},
            "probe_targets.0.ports.0",
        ),
        Bad(
            "probe without ports",
            {"probe_targets": [{"host": "203.0.113.9", "ports": []}]},
            "probe_targets.0.ports",
        ),
        Bad(
            "probe host invalid",
            {"probe_targets": [{"host": "-bad-", "ports": [443]}]},
            "probe_targets.0.host",
        ),
        Bad("bandwidth zero", {"bandwidth_down_mbps": "0"}, "bandwidth_down_mbps"),
        Bad("cost float noise", {"monthly_cost": 0.1 + 0.2}, "monthly_cost"),
        Bad("cost negative", {"monthly_cost": "-1.00"}, "monthly_cost"),
        Bad("threshold zero", {"failures_for_down": 0}, "failures_for_down"),
        Bad("interval too short", {"probe_interval_seconds": 5}, "probe_interval_seconds"),
    ],
    ("PATCH", "/lines/{item_id}"): [
        Bad("circuit null", {"circuit_id": None}, "circuit_id"),
        Bad("technology null", {"technology": None}, "technology"),
        Bad("blocks overlap", {"address_blocks": ["203.0.113.0/29", "203.0.113.4/32"]}, "address_blocks"),
        Bad(
            "account of another client",
            lambda w: {"vendor_account_id": w.obj("vendor-accounts", "B")},
            "vendor_account_id",
        ),
    ],
    ("POST", "/cases"): [
        Bad("account missing", {"vendor_account_id": MISSING}, "vendor_account_id"),
        Bad("account not a uuid", {"vendor_account_id": "x"}, "vendor_account_id"),
        Bad("account of nobody", {"vendor_account_id": str(uuid.uuid4())}, "vendor_account_id"),
        Bad("title missing on a blank case", {"title": MISSING}, "title"),
        Bad("title with a line break", {"title": "a\nb"}, "title"),
        Bad("recipient not an address", {"to": ["support at vendor"]}, "to[0]"),
        Bad("recipient with a header in it", {"to": ["a@b.example\r\nBcc: x@y.example"]}, "to[0]"),
        Bad("entitlement unknown", {"sla_first_response": "asap"}, "sla_first_response"),
        Bad("severity unknown", {"severity": "apocalyptic"}, "severity"),
        Bad("asset of another client", lambda w: {"asset_id": w.obj("assets", "B")}, "asset_id"),
        Bad(
            "subscription of another client",
            lambda w: {"subscription_id": w.obj("subscriptions", "B")},
            "subscription_id",
        ),
        Bad("check run of nobody", {"check_run_id": 987654}, "check_run_id"),
        Bad("check run not a number", {"check_run_id": "last"}, "check_run_id"),
        Bad(
            "two sources at once",
            lambda w: {"asset_id": w.obj("assets", "A"), "subscription_id": w.obj("subscriptions", "A")},
            "body",
        ),
    ],
    ("POST", "/cases/{item_id}/events"): [
        Bad("kind unknown", {"kind": "gossip"}, "kind"),
        Bad("note without text", {"body": ""}, ("body", "")),
        Bad("minutes negative", {"kind": "time_spent", "minutes": -5}, "minutes"),
        Bad("minutes over a day", {"kind": "time_spent", "minutes": 100_000}, "minutes"),
        Bad("time without minutes", {"kind": "time_spent"}, ("body", "")),
    ],
    ("POST", "/cases/{item_id}/status"): [
        Bad("status missing", {"status": MISSING}, "status"),
        Bad("status unknown", {"status": "sideways"}, "status"),
        Bad("note too long", {"note": LONG}, "note"),
    ],
    ("POST", "/cases/{item_id}/reply"): [
        Bad("body missing", {"body": MISSING}, "body"),
        Bad("body empty", {"body": ""}, "body"),
        Bad("copy not an address", {"cc": ["nobody"]}, "cc[0]"),
    ],
    ("POST", "/cases/{item_id}/escalate"): [
        Bad("contact missing", {"contact": MISSING, "body": "x"}, "contact"),
        Bad("body empty", {"contact": "duty@example.net", "body": ""}, "body"),
        Bad("contact too long", {"contact": "x" * 400, "body": "x"}, "contact"),
    ],
    ("POST", "/cases/{item_id}/open-via-api"): [
        Bad("connection missing", {"connection_id": MISSING}, "connection_id"),
        Bad("connection not an id", {"connection_id": "azure"}, "connection_id"),
        Bad("part quantity zero", {"parts": [{"part_number": "PSU", "quantity": 0}]}, "parts.0.quantity"),
        Bad("too many parts", {"parts": [{"part_number": "PSU"}] * 5}, "parts"),
        Bad("subject too long", {"subject": "x" * 501}, "subject"),
    ],
    ("POST", "/cases/{item_id}/comments"): [
        Bad("body missing", {"body": MISSING}, "body"),
        Bad("body empty", {"body": ""}, "body"),
        Bad("unknown field", {"cc": ["a@b.example"]}, "cc"),
    ],
    ("PUT", "/cases/{item_id}/chasers"): [
        Bad("flag missing", {"chasers_paused": MISSING}, "chasers_paused"),
        Bad("flag not a boolean", {"chasers_paused": "perhaps"}, "chasers_paused"),
    ],
    ("PUT", "/vendors/{item_id}/case-mail"): [
        Bad("language unknown", {"language": "klingon"}, "language"),
        Bad("support address invalid", {"support_email": "support"}, "support_email"),
        Bad(
            "pattern without a number group",
            {"case_number_patterns": ["CASE-\\d+"]},
            "case_number_patterns[0]",
        ),
        Bad("calendar zone unknown", {"calendar": {"timezone": "Mars/Olympus"}}, "calendar.timezone"),
        Bad("entitlement unknown", {"sla_resolution": "whenever"}, "sla_resolution"),
    ],
    ("POST", "/triage/{item_id}/assign"): [
        Bad("case missing", {"case_id": MISSING}, "case_id"),
        Bad("case not a uuid", {"case_id": "the first one"}, "case_id"),
    ],
}


def generic_cases(method: str) -> list[Bad]:
    """What every JSON body route must refuse."""
    cases = [
        Bad("invalid JSON", raw=b'{"name": ', field=None),
        Bad("JSON NaN literal", raw=b'{"version": NaN}', field=None),
        Bad("body is a list", raw=b"[]", field="body"),
        Bad("body is a string", raw=b'"hello"', field="body"),
        Bad("body is null", raw=b"null", field="body"),
        Bad("no body", raw=b"", field="body"),
        Bad(
            "form instead of JSON",
            raw=b"name=x",
            content_type="application/x-www-form-urlencoded",
            field="body",
        ),
        Bad("deeply nested", raw=b"[" * 100_000, field=None, status=(400, 422)),
        Bad("unknown field", {"no_such_field": 1}, "no_such_field"),
    ]
    if method == "PATCH":
        cases += [
            Bad("version missing", {"version": MISSING}, "version"),
            Bad("version text", {"version": "one"}, "version"),
            Bad("version 0", {"version": 0}, "version"),
            Bad("version fractional", {"version": 1.5}, "version"),
        ]
    return cases


def body_routes() -> list[tuple[str, str]]:
    """Routes that take a JSON body, from the OpenAPI document."""
    paths = _APP.openapi()["paths"]
    return [
        (m, p) for m, p in ALL_ROUTES if "requestBody" in paths.get(API_PREFIX + p, {}).get(m.lower(), {})
    ]


BODY_ROUTES = body_routes()


def test_every_route_with_a_body_has_bad_input_cases():
    assert BODY_ROUTES
    assert sorted(set(BODY_ROUTES) - BAD_BODIES.keys()) == [], "write bad-input cases for these routes"
    assert sorted(BAD_BODIES.keys() - set(BODY_ROUTES)) == [], "these routes no longer take a body"


# --- running a case --------------------------------------------------------------------


async def valid_body(api: httpx.AsyncClient, route: tuple[str, str], w: World) -> tuple[str, dict[str, Any]]:
    """The url and a body the route accepts, on client A's objects at their current version."""
    path = route[1]
    resource = ROUTES[route][1]
    if path == "/reports/backfill":
        return path, {"since": (today() - timedelta(days=3)).isoformat()}
    if "{" not in path:
        return path, create_body(resource, w, "A")
    obj_id = w.obj(resource, "A")
    no_version = {
        "/cases/{item_id}/events": {"kind": "note", "body": "called the vendor"},
        "/cases/{item_id}/status": {"status": "waiting_client"},
        "/cases/{item_id}/reply": {"body": "Any news?"},
        "/cases/{item_id}/escalate": {"contact": "duty@example.net", "body": "Please escalate"},
        "/cases/{item_id}/chasers": {"chasers_paused": True},
        "/cases/{item_id}/open-via-api": {"connection_id": w.obj("connections", "A")},
        "/cases/{item_id}/comments": {"body": "Any news?"},
        "/vendors/{item_id}/case-mail": {"language": "it"},
        "/triage/{item_id}/assign": {"case_id": w.obj("cases", "A")},
    }
    if path in no_version:
        return fill(path, obj_id), no_version[path]
    if path.endswith("/snooze"):
        return fill(path, obj_id), {"until": (today() + timedelta(days=3)).isoformat() + "T08:00:00Z"}
    version = (await api.get(f"/{resource}/{obj_id}")).json()["version"]
    if path.endswith("/terms"):
        return fill(path, obj_id), {"version": version, "ends_on": _in(800)}
    if path.endswith("/confirm"):  # no purchase order was sent: refused after the body parsed
        return fill(path, obj_id), {"version": version, "ends_on": _in(800)}
    if path.endswith("/resolve"):
        return fill(path, obj_id), {"version": version, "outcome": "will_not_renew"}
    if path.endswith("/link"):
        return fill(path, obj_id), {
            "version": version,
            "connection_id": w.obj("connections", "A"),
            "external_id": "L-P-A",
        }
    if path.endswith("/unlink"):
        return fill(path, obj_id), {"version": version}
    if path.endswith("/renewal-route"):
        # The world's connections cannot order (the test vendor): every body is refused, the
        # cases check that the refusal names what is wrong with it first.
        return fill(path, obj_id), {"order_connection_id": w.obj("connections", "A"), "order_ref": "L-P-A"}
    if path.endswith("{external_id}"):
        return fill(path, obj_id).replace("{external_id}", "T-P-A"), {"client_id": None}
    return fill(path, obj_id), {"version": version, **PATCH_BODIES[resource]}


async def state(api: httpx.AsyncClient, route: tuple[str, str], url: str) -> tuple[Any, ...]:
    """What a refused request must leave as it was: the audit trail (every change writes
    to it), the collection and the object the route is about, and what the route reads."""
    resource = ROUTES[route][1]
    audit = (await api.get("/audit", params={"limit": 1})).json()["total"]
    listed = (await api.get(f"/{resource}", params={"limit": 1000, **_archived(resource)})).json()
    obj = None
    if url.count("/") >= 2:
        obj = (await api.get("/".join(url.split("/")[:3]))).json()
    read_back = (await api.get(url)).json() if ("GET", route[1]) in ROUTES and "{" in route[1] else None
    return audit, listed, obj, read_back


def _archived(resource: str) -> dict[str, Any]:
    return {"include_archived": True} if resource == "clients" else {}


def problem_of(r: httpx.Response) -> dict[str, Any] | None:
    if r.headers.get("content-type") != PROBLEM_JSON:
        return None
    return r.json()  # type: ignore[no-any-return]


def check_refusal(r: httpx.Response, case: Bad, what: str, *, field_in: str | None = None) -> list[str]:
    """Problems with a refusal: [] when it is right."""
    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    if r.status_code >= 500 or r.status_code not in expected:
        return [f"{what}: expected {expected}, got {r.status_code}: {r.text[:300]}"]
    if r.status_code < 400:
        return []
    problem = problem_of(r)
    if problem is None or problem.get("status") != r.status_code or not problem.get("detail"):
        return [f"{what}: not a problem document: {r.headers.get('content-type')} {r.text[:300]}"]
    if case.field is None or r.status_code != 422:
        return []
    errors = problem.get("errors") or []
    # A tuple of fields: a cross-field rule may name either of them.
    accepted = case.field if isinstance(case.field, tuple) else (case.field,)
    named = [e for e in errors if e.get("field") in accepted]
    if not named:
        return [
            f"{what}: errors do not name '{case.field}': {[e.get('field') for e in errors]} {r.text[:300]}"
        ]
    if any(len(str(e.get("message", "")).strip()) < 8 for e in named):
        return [f"{what}: no human reason for '{case.field}': {named}"]
    if field_in and any(e.get("in", field_in) != field_in for e in named):
        return [f"{what}: '{case.field}' reported in {[e.get('in') for e in named]}, not {field_in}"]
    return []


async def run_body_case(api: httpx.AsyncClient, route: tuple[str, str], case: Bad, w: World) -> list[str]:
    method = route[0]
    url, body = await valid_body(api, route, w)
    if case.raw is not None:
        content = case.raw
    else:
        changes = case.changes(w) if callable(case.changes) else case.changes
        merged = {**body, **changes}
        content = orjson.dumps({k: v for k, v in merged.items() if v is not MISSING})
    before = await state(api, route, url)
    r = await api.request(method, url, content=content, headers={"content-type": case.content_type})
    problems = check_refusal(r, case, f"{method} {route[1]} [{case.name}]")
    if r.status_code >= 400 and await state(api, route, url) != before:
        problems.append(f"{method} {route[1]} [{case.name}]: refused, but stored data changed")
    return problems


@pytest.mark.parametrize("route", BODY_ROUTES, ids=[f"{m} {p}" for m, p in BODY_ROUTES])
async def test_malformed_bodies_are_refused_naming_the_field_and_change_nothing(api, route):
    w = await build_world(api)
    problems: list[str] = []
    for case in [*BAD_BODIES.get(route, []), *generic_cases(route[0])]:
        problems += await run_body_case(api, route, case, w)
    assert not problems, "\n".join(problems)


# --- query strings and path ids --------------------------------------------------------


def _enum_of(schema: dict[str, Any], components: dict[str, Any]) -> list[Any] | None:
    if "$ref" in schema:
        return _enum_of(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "enum" in schema:
        return list(schema["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found = _enum_of(sub, components)
            if found:
                return found
    if schema.get("type") == "array":
        return _enum_of(schema.get("items", {}), components)
    return None


def query_cases(route: tuple[str, str]) -> list[tuple[str, dict[str, Any], Bad]]:
    """(label, query, expectation) for each query parameter the document gives the route."""
    document = _APP.openapi()
    components = document.get("components", {}).get("schemas", {})
    operation = document["paths"][API_PREFIX + route[1]][route[0].lower()]
    params = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
    cases: list[tuple[str, dict[str, Any], Bad]] = []

    def add(name: str, value: Any, label: str, expect: Bad | None = None) -> None:
        cases.append((f"{name}={label}", {name: value}, expect or Bad(label, field=name)))

    for name, param in params.items():
        schema = param.get("schema", {})
        text = orjson.dumps(schema).decode()
        if name == "limit":
            for value in (0, 5000, -1, "abc", "1.5", ""):
                add(name, value, repr(value))
        elif name == "offset":
            for value in (-1, "abc"):
                add(name, value, repr(value))
            # Past what a 64-bit integer holds: refused, or an empty page; never a crash.
            add(name, 2**63, "2**63", Bad("2**63", field=name, status=(200, 422)))
            add(name, 10**30, "10**30", Bad("10**30", field=name, status=(200, 422)))
        elif name == "sort":
            for value in ("no_such_field", "-", "name;drop table clients", "x" * 300):
                add(name, value, repr(value[:20]))
        elif '"uuid"' in text:
            for value in ("not-a-uuid", "12345", "0" * 33):
                add(name, value, repr(value))
        elif _enum_of(schema, components) is not None:
            expected = f"{name}.0" if '"array"' in text else name
            add(name, "no-such-value", "unknown", Bad("unknown", field=expected))
        elif '"boolean"' in text:
            add(name, "maybe", "'maybe'")
        elif '"integer"' in text:
            for value in (-1, 99_999_999, "soon"):
                add(name, value, repr(value))
        elif '"string"' in text:
            add(name, "x" * 10_000, "10k chars")
            # A NUL character: cannot be stored or compared on PostgreSQL; never a crash.
            add(name, "a\x00b", "NUL", Bad("NUL", field=name, status=(200, 422)))
    return cases


GET_ROUTES = [r for r in ALL_ROUTES if r[0] == "GET"]


async def test_bad_query_strings_are_refused_naming_the_parameter(app, api):
    w = await build_world(api)
    problems: list[str] = []
    tested = 0
    for route in GET_ROUTES:
        resource = ROUTES[route][1]
        url = fill(route[1], w.obj(resource, "A")) if "{" in route[1] else route[1]
        for label, query, case in query_cases(route):
            tested += 1
            r = await api.get(url, params=query)
            problems += check_refusal(r, case, f"GET {route[1]}?{label}", field_in="query")
            if r.status_code == 200 and r.headers.get("content-type", "").startswith("application/json"):
                items = r.json().get("items") if isinstance(r.json(), dict) else None
                if items and ("offset" in query):
                    problems.append(f"GET {route[1]}?{label}: a page past the end is not empty")
        # Filters come from a model that forbids unknown names: a typo is not ignored.
        if ROUTES[route][0] in ("list", "audit"):
            tested += 1
            r = await api.get(url, params={"clinet_id": w.a})
            problems += check_refusal(r, Bad("typo", field="clinet_id"), f"GET {route[1]}?clinet_id=")
    assert tested > 100
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "12345", "0" * 33, "%00", "x" * 5000])
async def test_bad_ids_in_paths_are_refused_on_every_route(app, api, bad_id):
    w = await build_world(api)
    problems: list[str] = []
    audit_before = (await api.get("/audit", params={"limit": 1})).json()["total"]
    for method, path in ALL_ROUTES:
        if "{" not in path:
            continue
        param = path[path.index("{") + 1 : path.index("}")]
        url = path.replace("{" + param + "}", bad_id)
        body: dict[str, Any] | None = None
        if method in ("PATCH", "POST") and (method, path) in BAD_BODIES:
            _, body = await valid_body(api, (method, path), w)
        r = await api.request(method, url, json=body) if body else await api.request(method, url)
        what = f"{method} {path} with {param}={bad_id[:20]!r}"
        expected = Bad(bad_id, field=param)
        if ROUTES[(method, path)][0] == "feed":
            expected = Bad(bad_id, status=404)  # a capability token: anything unknown is a 404
        elif path.startswith(("/notices/", "/triage/")) and bad_id.isdigit() and int(bad_id) > 0:
            expected = Bad(bad_id, field=param, status=404)  # integer ids: a valid one, unknown
        problems += check_refusal(r, expected, what, field_in="path")
    assert not problems, "\n".join(problems)
    assert (await api.get("/audit", params={"limit": 1})).json()["total"] == audit_before


# --- unusual but valid input -----------------------------------------------------------


async def test_international_domain_names_are_stored_as_a_labels(api):
    c = await f.client(api)
    r = await api.post("/domains", json={"client_id": c["id"], "name": "例え.テスト"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == "xn--r8jz45g.xn--zckzah"
    assert created["unicode_name"] == "例え.テスト"
    stored = (await api.get(f"/domains/{created['id']}")).json()
    assert stored["name"] == "xn--r8jz45g.xn--zckzah" and stored["unicode_name"] == "例え.テスト"
    # The same name in either spelling is the same domain.
    again = await api.post("/domains", json={"client_id": c["id"], "name": "xn--r8jz45g.xn--zckzah"})
    assert again.status_code == 409
    # Upper case and a trailing dot are the same name as well.
    r = await api.post("/domains", json={"client_id": c["id"], "name": "Mail.Example.COM."})
    assert r.status_code == 201 and r.json()["name"] == "mail.example.com"


async def test_amounts_keep_their_decimals_exactly(api):
    acc = (await f.world(api))["account"]
    s = await f.subscription(api, acc["id"], unit_cost="0.1234", quantity=3, currency="usd")
    assert s["unit_cost"] == "0.1234" and s["currency"] == "USD" and s["period_cost"] == "0.3702"
    s2 = await f.subscription(api, acc["id"], unit_cost=12, quantity=1)
    assert s2["unit_cost"] == "12.00"


# --- references --------------------------------------------------------------------------


async def _delete_refused(api: httpx.AsyncClient, url: str, references: dict[str, int]) -> None:
    before = (await api.get(url)).json()
    audit = (await api.get("/audit", params={"limit": 1})).json()["total"]
    r = await api.delete(url)
    assert r.status_code == 409, r.text
    problem = problem_of(r)
    assert problem is not None and problem["references"] == references, r.text
    for label in references:
        assert label in problem["detail"]
    assert (await api.get(url)).json() == before
    assert (await api.get("/audit", params={"limit": 1})).json()["total"] == audit


async def _delete_works(api: httpx.AsyncClient, url: str) -> None:
    r = await api.delete(url)
    assert r.status_code == 204, r.text
    assert (await api.get(url)).status_code == 404


async def test_a_vendor_in_use_is_not_deleted_until_nothing_refers_to_it(api):
    c = await f.client(api)
    v = await f.vendor(api)
    acc = await f.account(api, c["id"], v["id"])
    rep = await api.post("/contacts", json={"vendor_id": v["id"], "name": "Sales rep"})
    await _delete_refused(api, f"/vendors/{v['id']}", {"vendor accounts": 1, "contacts": 1})
    await _delete_works(api, f"/contacts/{rep.json()['id']}")
    await _delete_refused(api, f"/vendors/{v['id']}", {"vendor accounts": 1})
    await _delete_works(api, f"/vendor-accounts/{acc['id']}")
    await _delete_works(api, f"/vendors/{v['id']}")


async def test_an_account_in_use_is_not_deleted_until_nothing_refers_to_it(api):
    c = await f.client(api)
    v = await f.vendor(api, category="registrar")
    acc = await f.account(api, c["id"], v["id"])
    sub = await f.subscription(api, acc["id"])
    d = await f.domain(api, c["id"], registrar_account_id=acc["id"], dns_host_account_id=acc["id"])
    asset = await f.asset(api, c["id"], vendor_account_id=acc["id"])
    url = f"/vendor-accounts/{acc['id']}"
    await _delete_refused(
        api,
        url,
        {"subscriptions": 1, "assets": 1, "domains (as registrar)": 1, "domains (as DNS host)": 1},
    )
    await _delete_works(api, f"/subscriptions/{sub['id']}")
    r = await api.patch(
        f"/domains/{d['id']}", json={"version": 1, "registrar_account_id": None, "dns_host_account_id": None}
    )
    assert r.status_code == 200 and r.json()["registrar_account_id"] is None
    await _delete_refused(api, url, {"assets": 1})
    assert (
        await api.patch(f"/assets/{asset['id']}", json={"version": 1, "vendor_account_id": None})
    ).status_code == 200
    await _delete_works(api, url)


async def test_an_asset_with_a_vendor_case_is_not_deleted_until_the_case_is_gone(app, api):
    c = await f.client(api)
    v = await f.vendor(api, category="hardware")
    acc = await f.account(api, c["id"], v["id"])
    asset = await f.asset(api, c["id"], vendor_account_id=acc["id"])
    sub = await f.subscription(api, acc["id"])
    # Vendor cases have no API yet: opened directly, as the case module will.
    async with app.state.runtime.sessionmaker() as session:
        case = VendorCase(
            client_id=uuid.UUID(c["id"]),
            vendor_account_id=uuid.UUID(acc["id"]),
            asset_id=uuid.UUID(asset["id"]),
            subscription_id=uuid.UUID(sub["id"]),
            title="Disk failure",
            channel=CaseChannel.phone,
        )
        session.add(case)
        await session.commit()
        case_id = case.id
    await _delete_refused(api, f"/assets/{asset['id']}", {"vendor cases": 1})
    await _delete_refused(api, f"/subscriptions/{sub['id']}", {"vendor cases": 1})
    async with app.state.runtime.sessionmaker() as session:
        await session.execute(delete(VendorCase).where(VendorCase.id == case_id))
        await session.commit()
    await _delete_works(api, f"/assets/{asset['id']}")
    await _delete_works(api, f"/subscriptions/{sub['id']}")


async def test_a_domain_with_endpoints_is_not_deleted_until_they_are_gone(api):
    c = await f.client(api)
    d = await f.domain(api, c["id"])
    e = await api.post(
        "/endpoints", json={"client_id": c["id"], "domain_id": d["id"], "host": f"www.{d['name']}"}
    )
    assert e.status_code == 201
    await _delete_refused(api, f"/domains/{d['id']}", {"endpoints": 1})
    await _delete_works(api, f"/endpoints/{e.json()['id']}")
    await _delete_works(api, f"/domains/{d['id']}")
