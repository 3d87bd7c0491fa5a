"""The 12-month forecast: what renews when, at what cost, paid by whom."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hub.kit.time import today
from hub.renewal.forecast import _renewal_dates
from tests import factories as f


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
    assert len(seats) == 12 and all(line["cost"] == "28.8638" for line in seats)
    assert Decimal(body["totals"]["EUR"]) == Decimal("1199.99") + 12 * Decimal("28.8638")
    assert Decimal(body["by_payer"]["msp_resold"]["EUR"]) == 12 * Decimal("28.8638")
    assert sum(Decimal(m["totals"].get("EUR", "0")) for m in body["by_month"]) == Decimal(
        body["totals"]["EUR"]
    )
    csv_text = (await api.get("/forecast", params={"client_id": client["id"], "format": "csv"})).text
    assert csv_text.splitlines()[0].startswith("month,client_name,kind,item,renews_on")
    assert len(csv_text.splitlines()) == 1 + len(lines)


async def test_forecast_refuses_bad_months_naming_the_parameter(api):
    r = await api.get("/forecast", params={"months": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "months"
