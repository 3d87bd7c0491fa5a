"""What a client user sees of its spend (issue 11 §6): per line what it pays (the vendor's
price, the MSP's price, or "included"), never the MSP's cost; and its CSV in its own
language and number format, with a totals row and nothing internal."""

from __future__ import annotations

import csv
import io
import re
import uuid
from decimal import Decimal

import pytest

from hub.models.enums import Role
from hub.terms.client_view import Pays, client_price, spend_totals
from tests import factories as f
from tests.conftest import client_for, make_token

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.parametrize(
    ("payer", "cost", "price", "pays", "unit"),
    [
        ("client_direct", "10.00", None, Pays.vendor, "10.00"),
        ("client_direct", "10.00", "15.00", Pays.vendor, "10.00"),  # it pays the vendor, not us
        ("msp_resold", "10.00", "15.00", Pays.msp, "15.00"),
        ("msp_resold", "10.00", None, Pays.msp, None),  # no price set: no price, never the cost
        ("msp_included", "10.00", "15.00", Pays.included, None),
    ],
)
def test_client_price(payer: str, cost: str, price: str | None, pays: Pays, unit: str | None) -> None:
    got = client_price(payer, Decimal(cost), Decimal(price) if price else None)
    assert got.pays is pays and got.unit == (Decimal(unit) if unit else None)


def test_client_totals_add_what_the_client_pays_and_count_included_lines() -> None:
    lines = [
        {"currency": "EUR", "pays": "vendor", "monthly": "10.00", "yearly": "120.00"},
        {"currency": "EUR", "pays": "msp", "monthly": "5.50", "yearly": "66.00"},
        {"currency": "EUR", "pays": "included", "monthly": None, "yearly": None},
        {"currency": "USD", "pays": "msp", "monthly": "1.00", "yearly": "12.00"},
    ]
    eur, usd = spend_totals(lines)
    assert (eur["monthly"], eur["yearly"], eur["included_lines"], eur["lines"]) == ("15.50", "186.00", 1, 3)
    assert eur["monthly_by_pays"] == {"msp": "5.50", "vendor": "10.00"} and usd["monthly"] == "1.00"


async def _italian_client(api):  # type: ignore[no-untyped-def]
    c = await f.client(api, name="Colombo Trasporti", slug="colombo", locale="it")
    v = await f.vendor(api, name="Fastweb", category="isp")
    a = await f.account(api, c["id"], v["id"], account_number="FW-778")
    common = {"starts_on": "2026-01-01", "ends_on": "2026-12-31", "billing_period": "yearly", "quantity": 1}
    await f.subscription(
        api, a["id"], product="Fibra 1 Gbit", payer="client_direct", unit_cost="1234.56", **common
    )
    await f.subscription(
        api,
        a["id"],
        product="Microsoft 365",
        payer="msp_resold",
        unit_cost="99.13",
        client_unit_price="120.00",
        **common,
    )
    await f.subscription(api, a["id"], product="Antivirus", payer="msp_included", unit_cost="45.67", **common)
    return c


async def test_a_client_sees_what_it_pays_per_line_never_the_msp_cost(app, api):
    c = await _italian_client(api)
    async with client_for(
        app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(c["id"]))
    ) as viewer:
        report = (await viewer.get(f"/clients/{c['id']}/spend")).json()
    lines = {ln["product"]: ln for ln in report["lines"]}
    assert (lines["Fibra 1 Gbit"]["pays"], lines["Fibra 1 Gbit"]["unit_price"]) == ("vendor", "1234.56")
    assert (lines["Microsoft 365"]["pays"], lines["Microsoft 365"]["unit_price"]) == ("msp", "120.00")
    assert (lines["Antivirus"]["pays"], lines["Antivirus"]["unit_price"]) == ("included", None)
    assert report["totals"][0]["yearly"] == "1354.56"
    assert "99.13" not in str(report) and "45.67" not in str(report)
    staff = (await api.get(f"/clients/{c['id']}/spend")).json()
    assert {ln["unit_cost"] for ln in staff["lines"]} == {"1234.56", "99.13", "45.67"}  # staff unchanged


async def test_the_client_csv_is_in_its_language_and_number_format_with_a_totals_row(app, api):
    c = await _italian_client(api)
    async with client_for(
        app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(c["id"]))
    ) as viewer:
        text = (await viewer.get(f"/clients/{c['id']}/spend", params={"format": "csv"})).text
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    header, *body = rows
    assert header[:4] == ["Fornitore", "Categoria", "Numero cliente", "Servizio"]
    table = [dict(zip(header, row, strict=True)) for row in body]
    fibra = next(r for r in table if r["Servizio"] == "Fibra 1 Gbit")
    assert fibra["Prezzo unitario"] == "1.234,56" and fibra["Chi paga"] == "Voi, al fornitore"
    assert fibra["Scadenza"] == "31/12/2026" and fibra["Inizio"] == "01/01/2026"
    assert fibra["Fatturazione"] == "annuale" and fibra["Stato"] in ("attivo", "scaduto")
    antivirus = next(r for r in table if r["Servizio"] == "Antivirus")
    assert antivirus["Prezzo unitario"] == "incluso" and antivirus["Chi paga"] == "Incluso nel servizio"
    total = table[-1]
    assert total["Fornitore"] == "Totale EUR" and total["All'anno"] == "1.354,56"
    assert "False" not in text and "True" not in text and not UUID.search(text)
    assert "99,13" not in text and "45,67" not in text


async def test_an_english_client_gets_commas_and_its_own_dates(app, api):
    c = await f.client(api, name="Acme Ltd", slug="acme", locale="en_GB")
    v = await f.vendor(api, name="BT")
    a = await f.account(api, c["id"], v["id"])
    await f.subscription(
        api, a["id"], payer="client_direct", unit_cost="1234.50", quantity=1, ends_on="2026-12-31"
    )
    async with client_for(
        app, await make_token(app, Role.client_viewer, client_id=uuid.UUID(c["id"]))
    ) as viewer:
        text = (await viewer.get(f"/clients/{c['id']}/spend", params={"format": "csv"})).text
    [header, line, total] = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    row = dict(zip(header, line, strict=True))
    assert row["Price per unit"] == "1,234.50" and row["Ends"] == "31/12/2026"
    assert total[0] == "Total EUR"


async def test_a_locale_is_validated_naming_the_field(api):
    r = await api.post("/clients", json={"name": "X", "slug": "x", "locale": "klingon-xx"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "locale"
