"""'Who do we pay for what': lines, normalisation to monthly/yearly, totals per currency."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from tests import factories as f


async def _client_with_mixed_spend(api):
    c = await f.client(api, slug="mixed")
    sophos = await f.vendor(api, name="Sophos", category="antivirus")
    isp = await f.vendor(api, name="Fastweb", category="isp")
    aws = await f.vendor(api, name="AWS", category="cloud")
    a_av = await f.account(api, c["id"], sophos["id"], account_number="SOPH-1")
    a_isp = await f.account(api, c["id"], isp["id"], account_number="FW-9")
    a_aws = await f.account(api, c["id"], aws["id"], account_number="AWS-1")
    subs = [
        # 25 x 35.50 yearly = 887.50/year -> 73.96/month (73.958.. rounded half-even)
        await f.subscription(
            api,
            a_av["id"],
            quantity=25,
            unit_cost="35.50",
            billing_period="yearly",
            payer="msp_resold",
            client_unit_price="48.00",
            notice_days=30,
        ),
        # 89.00 monthly, paid directly by the client
        await f.subscription(
            api,
            a_isp["id"],
            product="Fibra 1 Gbit",
            quantity=1,
            unit_cost="89.00",
            billing_period="monthly",
            payer="client_direct",
            ends_on="2027-06-30",
        ),
        # quarterly 3 x 40 = 120/quarter -> 40/month, 480/year
        await f.subscription(
            api,
            a_isp["id"],
            product="VoIP trunk",
            quantity=3,
            unit_cost="40",
            billing_period="quarterly",
            payer="msp_included",
            category="telephony",
        ),
        # triennial 1,080 -> 30/month, 360/year
        await f.subscription(
            api,
            a_av["id"],
            product="Firewall support",
            quantity=1,
            unit_cost="1080",
            billing_period="triennial",
            payer="msp_included",
            starts_on="2025-01-01",
            ends_on="2027-12-31",
        ),
        # USD stays in its own total
        await f.subscription(
            api,
            a_aws["id"],
            product="EC2 reserved",
            quantity=2,
            unit_cost="12.345",
            currency="USD",
            billing_period="monthly",
            payer="client_direct",
        ),
    ]
    return c, subs


async def test_spend_lines_normalise_costs_and_derive_cancel_by(api):
    c, _subs = await _client_with_mixed_spend(api)
    report = (await api.get(f"/clients/{c['id']}/spend")).json()
    assert report["client"]["slug"] == "mixed"
    by_product = {line["product"]: line for line in report["lines"]}
    av = by_product["Intercept X Advanced"]
    assert (av["period_cost"], av["monthly"], av["yearly"]) == ("887.50", "73.96", "887.50")
    assert av["client_unit_price"] == "48.00" and av["client_monthly"] == "100.00"
    assert av["cancel_by"] == "2026-12-01"  # 2026-12-31 minus 30 days' notice
    assert av["vendor"]["name"] == "Sophos" and av["account"]["account_number"] == "SOPH-1"
    assert by_product["VoIP trunk"]["monthly"] == "40.00" and by_product["VoIP trunk"]["yearly"] == "480.00"
    assert by_product["VoIP trunk"]["category"] == "telephony"  # overrides the vendor's category
    assert by_product["Firewall support"]["monthly"] == "30.00"
    assert by_product["Fibra 1 Gbit"]["payer"] == "client_direct"
    assert by_product["EC2 reserved"]["period_cost"] == "24.69"  # 2 x 12.345


async def test_totals_are_per_currency_and_equal_the_sum_of_their_lines(api):
    c, _ = await _client_with_mixed_spend(api)
    report = (await api.get(f"/clients/{c['id']}/spend")).json()
    totals = {t["currency"]: t for t in report["totals"]}
    assert set(totals) == {"EUR", "USD"}
    for currency, total in totals.items():
        lines = [ln for ln in report["lines"] if ln["currency"] == currency]
        assert Decimal(total["monthly"]) == sum(Decimal(ln["monthly"]) for ln in lines)
        assert Decimal(total["yearly"]) == sum(Decimal(ln["yearly"]) for ln in lines)
        assert sum(Decimal(v) for v in total["by_payer"].values()) == Decimal(total["monthly"])
        assert sum(Decimal(v) for v in total["by_category"].values()) == Decimal(total["monthly"])
        assert total["lines"] == len(lines)
    assert totals["EUR"]["monthly"] == "232.96"  # 73.96 + 89 + 40 + 30
    assert totals["EUR"]["by_payer"] == {
        "client_direct": "89.00",
        "msp_included": "70.00",
        "msp_resold": "73.96",
    }
    assert totals["USD"]["monthly"] == "24.69"


async def test_cancelled_subscriptions_and_other_clients_are_not_in_the_report(api):
    c, subs = await _client_with_mixed_spend(api)
    other = await f.world(api)
    await api.patch(f"/subscriptions/{subs[1]['id']}", json={"version": 1, "status": "cancelled"})
    report = (await api.get(f"/clients/{c['id']}/spend")).json()
    ids = {ln["subscription_id"] for ln in report["lines"]}
    assert subs[1]["id"] not in ids and other["subscription"]["id"] not in ids
    assert len(ids) == 4


async def test_spend_as_csv_by_query_and_by_accept_header(api):
    c, _ = await _client_with_mixed_spend(api)
    for kwargs in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        r = await api.get(f"/clients/{c['id']}/spend", **kwargs)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == 5
        assert {row["vendor"] for row in rows} == {"Sophos", "Fastweb", "AWS"}
        assert sum(Decimal(row["monthly"]) for row in rows if row["currency"] == "EUR") == Decimal("232.96")


async def test_csv_neutralises_spreadsheet_formulas(api):
    w = await f.world(api)
    await f.subscription(api, w["account"]["id"], product='=HYPERLINK("http://x")')
    r = await api.get(f"/clients/{w['client']['id']}/spend", params={"format": "csv"})
    products = [row["product"] for row in csv.DictReader(io.StringIO(r.text))]
    assert '\'=HYPERLINK("http://x")' in products


async def test_csv_neutralises_a_formula_after_a_semicolon_as_eu_spreadsheets_split_there(api):
    w = await f.world(api)
    await f.subscription(api, w["account"]["id"], product='Acme;=HYPERLINK("http://x")')
    text = (await api.get(f"/clients/{w['client']['id']}/spend", params={"format": "csv"})).text
    # Read as a spreadsheet set to ';' reads it: every cell, none a formula.
    cells = [cell.strip().strip('"') for line in text.splitlines() for cell in line.split(";")]
    assert not [c for c in cells if c[:1] in ("=", "+", "@")], cells


async def test_spend_of_unknown_client_is_404(api):
    r = await api.get("/clients/00000000-0000-0000-0000-000000000000/spend")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_repeated_reports_follow_every_change_immediately(api):
    """The report may be served from a cache, but never a stale one."""
    w = await f.world(api)
    url = f"/clients/{w['client']['id']}/spend"
    first = (await api.get(url)).json()
    assert (await api.get(url)).json() == first
    s, v, a = w["subscription"], w["vendor"], w["account"]
    await api.patch(f"/subscriptions/{s['id']}", json={"version": 1, "quantity": 20})
    assert (await api.get(url)).json()["lines"][0]["quantity"] == 20
    await api.patch(f"/vendors/{v['id']}", json={"version": 1, "name": "Renamed vendor"})
    assert (await api.get(url)).json()["lines"][0]["vendor"]["name"] == "Renamed vendor"
    await api.patch(f"/vendor-accounts/{a['id']}", json={"version": 1, "account_number": "NEW-42"})
    assert (await api.get(url)).json()["lines"][0]["account"]["account_number"] == "NEW-42"
    await f.subscription(api, a["id"], product="Second")
    assert len((await api.get(url)).json()["lines"]) == 2
    await api.patch(f"/clients/{w['client']['id']}", json={"version": 1, "name": "Renamed client"})
    assert (await api.get(url)).json()["client"]["name"] == "Renamed client"


async def test_a_second_process_never_serves_a_stale_report(settings, app, api):
    """Two API processes on one database (scale-out): each caches, neither goes stale."""
    from hub.app import create_app
    from tests.conftest import client_for, make_token

    w = await f.world(api)
    url = f"/clients/{w['client']['id']}/spend"
    other = create_app(settings=settings)
    async with other.router.lifespan_context(other), client_for(other, await make_token(other)) as api2:
        assert (await api2.get(url)).json()["lines"][0]["quantity"] == 10  # now cached in process 2
        await api.patch(f"/subscriptions/{w['subscription']['id']}", json={"version": 1, "quantity": 99})
        assert (await api2.get(url)).json()["lines"][0]["quantity"] == 99


async def test_the_report_is_whole_after_the_clients_statement_cached_it_first(api):
    """The statement (CSV, PDF, portal) caches the report without its JSON; the API must
    still answer the whole report, the same as when it cached the report itself."""
    c, _ = await _client_with_mixed_spend(api)
    statement = await api.get(f"/clients/{c['id']}/statement", params={"format": "csv"})
    assert statement.status_code == 200

    first = await api.get(f"/clients/{c['id']}/spend")
    again = await api.get(f"/clients/{c['id']}/spend")

    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert len(first.json()["lines"]) == 5
    assert again.content == first.content
