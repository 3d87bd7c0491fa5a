"""The 12-month forecast: what renews when, at what cost, paid by whom."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from hub.kit.time import today
from hub.models.enums import Role
from hub.renewal.forecast import _renewal_dates
from tests import factories as f
from tests.conftest import client_for, make_token


def test_monthly_terms_ending_on_the_31st_do_not_drift_to_the_28th():
    dates = _renewal_dates(date(2027, 1, 31), 1, date(2027, 6, 30), date(2027, 1, 1))
    # Terms end 31 Jan, 28 Feb, 31 Mar, 30 Apr, 31 May: each renewal starts the day after.
    assert dates == [date(2027, 2, 1), date(2027, 3, 1), date(2027, 4, 1), date(2027, 5, 1), date(2027, 6, 1)]


def test_a_term_that_already_ended_is_not_forecast_but_its_successors_are():
    dates = _renewal_dates(date(2026, 12, 31), 12, date(2029, 1, 1), date(2027, 6, 1))
    assert dates == [date(2028, 1, 1), date(2029, 1, 1)]


async def test_forecast_lists_each_renewal_with_cost_payer_and_exact_totals(api):
    client = await f.client(api, name="Gamma Srl", slug="gamma")
    vendor = await f.vendor(api, name="Pax8")
    account = await f.account(api, client["id"], vendor["id"])
    start = today()
    yearly = await f.subscription(
        api,
        account["id"],
        product="Firewall licence",
        quantity=1,
        unit_cost="1199.99",
        billing_period="yearly",
        starts_on=str(start - timedelta(days=300)),
        ends_on=str(start + timedelta(days=40)),
        payer="client_direct",
    )
    monthly = await f.subscription(
        api,
        account["id"],
        product="Mail seats",
        quantity=7,
        unit_cost="4.1234",
        billing_period="monthly",
        starts_on=str(start - timedelta(days=20)),
        ends_on=str(start + timedelta(days=10)),
        payer="msp_resold",
    )
    await f.subscription(
        api,
        account["id"],
        product="Never renews",
        renewal_type="none",
        starts_on=str(start - timedelta(days=20)),
        ends_on=str(start + timedelta(days=10)),
    )
    body = (await api.get("/forecast", params={"months": 12, "client_id": client["id"]})).json()
    lines = body["lines"]
    assert {line["item"] for line in lines} == {"Firewall licence", "Mail seats"}
    firewall = [line for line in lines if line["item_id"] == yearly["id"]]
    assert [line["renews_on"] for line in firewall] == [str(start + timedelta(days=41))]
    assert firewall[0]["cost"] == "1199.99" and firewall[0]["payer"] == "client_direct"
    seats = [line for line in lines if line["item_id"] == monthly["id"]]
    # One decimal convention: every amount in cents (7 x 4.1234 = 28.8638 -> 28.86), every
    # total the sum of its lines.
    assert len(seats) == 12 and all(line["cost"] == "28.86" for line in seats)
    assert Decimal(body["totals"]["EUR"]) == Decimal("1199.99") + 12 * Decimal("28.86")
    assert Decimal(body["by_payer"]["msp_resold"]["EUR"]) == 12 * Decimal("28.86")
    assert sum(Decimal(m["totals"].get("EUR", "0")) for m in body["by_month"]) == Decimal(
        body["totals"]["EUR"]
    )
    csv_text = (await api.get("/forecast", params={"client_id": client["id"], "format": "csv"})).text
    assert csv_text.splitlines()[0].startswith("month,client_name,kind,item,renews_on")
    assert len(csv_text.splitlines()) == 1 + len(lines)


async def test_forecast_refuses_bad_months_naming_the_parameter(api):
    r = await api.get("/forecast", params={"months": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "months"


async def test_forecast_adds_priced_warranties_and_domains_with_subtotals_per_client_and_vendor(app, api):
    start = today()
    alfa = await f.client(api, name="Alfa Srl", slug="alfa")
    beta = await f.client(api, name="Beta Spa", slug="beta")
    pax8 = await f.vendor(api, name="Pax8", category="distributor")
    aruba = await f.vendor(api, name="Aruba", category="registrar")
    for c in (alfa, beta):
        account = await f.account(api, c["id"], pax8["id"])
        await f.subscription(
            api,
            account["id"],
            product="Keeper",
            quantity=2,
            unit_cost="10.00",
            client_unit_price="15.00",
            billing_period="yearly",
            starts_on=str(start - timedelta(days=300)),
            ends_on=str(start + timedelta(days=30)),
        )
    registrar = await f.account(api, alfa["id"], aruba["id"])
    await f.domain(
        api,
        alfa["id"],
        name="alfa-forecast.example",
        registrar_account_id=registrar["id"],
        expires_on=str(start + timedelta(days=60)),
        renewal_price="19.90",
    )
    await f.domain(api, alfa["id"], name="unpriced.example", expires_on=str(start + timedelta(days=60)))
    server = await f.asset(api, alfa["id"], name="srv-1")
    w = await api.post(
        "/warranties",
        json={
            "asset_id": server["id"],
            "level": "ProSupport",
            "starts_on": str(start - timedelta(days=700)),
            "ends_on": str(start + timedelta(days=90)),
            "renewal_price": "420.00",
            "renewal_payer": "client_direct",
        },
    )
    assert w.status_code == 201 and w.json()["renewal_currency"] == "EUR", w.text
    body = (await api.get("/forecast", params={"months": 12})).json()
    kinds = {(line["kind"], line["item"]) for line in body["lines"]}
    assert ("domain", "alfa-forecast.example") in kinds and ("warranty", "ProSupport: srv-1") in kinds
    assert not any(line["item"] == "unpriced.example" for line in body["lines"])
    domain = next(line for line in body["lines"] if line["kind"] == "domain")
    assert domain["renews_on"] == str(start + timedelta(days=60)) and domain["vendor_name"] == "Aruba"
    by_client = {row["client_name"]: row["totals"]["EUR"] for row in body["by_client"]}
    assert by_client == {"Alfa Srl": "459.90", "Beta Spa": "20.00"}  # staff: the MSP's cost, 2 x 10.00
    by_vendor = {row["vendor_name"]: row["totals"]["EUR"] for row in body["by_vendor"]}
    assert by_vendor == {"Pax8": "40.00", "Aruba": "19.90", None: "420.00"}
    assert sum(Decimal(v) for v in by_client.values()) == Decimal(body["totals"]["EUR"])
    # A client user sees what it pays: the MSP's price for the resold seats (2 x 15.00).
    token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(alfa["id"]))
    async with client_for(app, token) as viewer:
        own = (await viewer.get("/forecast", params={"months": 12})).json()
    assert {row["client_name"]: row["totals"]["EUR"] for row in own["by_client"]} == {"Alfa Srl": "469.90"}
    seats = next(line for line in own["lines"] if line["kind"] == "subscription")
    assert seats["cost"] == "30.00" and seats["pays"] == "msp"
