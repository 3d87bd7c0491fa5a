"""The client's statement as a PDF and a CSV: the same figures as the portal page (one
builder), in the reader's language, the client-safe projection only (never the MSP's cost),
only the reader's own client, and a PDF that fetched nothing to be made."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

import pypdf
import pytest

from hub.models.enums import Role
from hub.report.pdf import html_to_pdf
from hub.web import i18n
from tests.conftest import client_for, make_token
from tests.web.conftest import browser, make_user, sign_in
from tests.web.test_portal import MSP_COSTS, NOTES, portal_world


def pdf_text(body: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def flat(html: str) -> str:
    return " ".join(html.replace("\xa0", " ").replace("&#39;", "'").split())


def page_figures(html: str) -> list[str]:
    """The totals of the portal page's cards and its 12 months' total, as printed."""
    cards = re.findall(r'<p class="figure">([^<]+?) <span class="muted">', html)
    ahead = re.search(r"<h2 id=\"h-ahead\">.*?<p>(.*?)</p>", html, re.DOTALL)
    assert cards and ahead
    return [flat(c) for c in cards] + [flat(ahead.group(1))]


@pytest.mark.parametrize("locale", ["en", "it"])
async def test_the_statement_pdf_carries_the_portal_pages_totals_in_the_readers_language(
    app, api, runtime, locale
):
    world = await portal_world(api, runtime)
    await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=world["a"])
    async with browser(app) as alfa:
        await sign_in(alfa, "boss@alfa.example")
        page = await alfa.get("/portal", headers={"accept-language": locale})
        got = await alfa.get("/portal/statement.pdf", headers={"accept-language": locale})
    assert got.status_code == 200, got.text[:300]
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith('attachment; filename="statement-alfa-')
    assert "no-store" in got.headers["cache-control"]
    text = pdf_text(got.content)
    figures = page_figures(page.text)
    for figure in figures[:-1]:
        assert figure in text, (figure, text[:800])
    assert figures[-1] in text  # "At today's prices, € ... in total."
    fmt = i18n.Formats(locale)
    # Totals per payer: 10 x 60.00 a year through the MSP, 120.00 a month to the vendor.
    assert flat(fmt.money("50.00", "EUR")) in text and flat(fmt.money("600.00", "EUR")) in text
    assert flat(fmt.money("120.00", "EUR")) in text and flat(fmt.money("1440.00", "EUR")) in text
    assert flat(fmt.money("170.00", "EUR")) in text and flat(fmt.money("2040.00", "EUR")) in text
    if locale == "en":
        assert "Who you pay for what" in text and "Through us" in text and "Per month" in text
    else:
        assert "Chi paghi e per cosa" in text and "Tramite noi" in text and "Al mese" in text
    assert "Intercept X Alfa Srl" in text and "Fibre 1 Gbit Alfa Srl" in text
    for leaked in (*MSP_COSTS, *NOTES, "Beta Spa", "Sophos B"):
        assert leaked not in text, leaked
    # The charts are drawn in the page's colours (the first bar's blue), not left black.
    assert CHART_BLUE in drawing(got.content)


CHART_BLUE = b"0.121569 0.372549 0.74902 rg"


def drawing(body: bytes) -> bytes:
    """Every content stream of the PDF (its pages and the forms they draw), decompressed."""
    reader = pypdf.PdfReader(io.BytesIO(body))
    out: list[bytes] = []

    def forms(container: Any, depth: int = 0) -> None:
        resources = container.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        for ref in xobjects.get_object().values() if xobjects is not None and depth < 5 else ():
            form = ref.get_object()
            out.append(form.get_data())
            forms(form, depth + 1)

    for page in reader.pages:
        out.append(page.get_contents().get_data())
        forms(page)
    return b"\n".join(out)


@pytest.mark.parametrize("locale", ["en", "it"])
async def test_the_statement_csv_has_the_same_numbers_as_the_page(app, api, runtime, locale):
    world = await portal_world(api, runtime)
    await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=world["a"])
    async with browser(app) as alfa:
        await sign_in(alfa, "boss@alfa.example")
        got = await alfa.get("/portal/statement.csv", headers={"accept-language": locale})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    delimiter = ";" if locale == "it" else ","
    rows = list(csv.reader(io.StringIO(got.text.lstrip("\ufeff")), delimiter=delimiter))
    header = rows[0]
    month, year = (
        header.index("Per month" if locale == "en" else "Al mese"),
        header.index("Per year" if locale == "en" else "All'anno"),
    )
    totals = [r for r in rows if r[0] in ("Totals", "Totali")]
    amounts = {
        (r[1], r[header.index("Who pays" if locale == "en" else "Chi paga")]): (r[month], r[year])
        for r in totals
    }
    sep = (",", ".") if locale == "en" else (".", ",")
    big = f"2{sep[0]}040{sep[1]}00"
    total_label = "Total EUR" if locale == "en" else "Totale EUR"
    assert amounts[(total_label, "")] == (f"170{sep[1]}00", big)
    msp = "Through us" if locale == "en" else "Tramite noi"
    assert amounts[(total_label, msp)] == (f"50{sep[1]}00", f"600{sep[1]}00")
    forecast = [r for r in rows if r[0] in ("Renewals", "Rinnovi")]
    assert len(forecast) == 13  # this month and the next 12, as on the page
    services = [r for r in rows if r[0] in ("Services", "Servizi")]
    assert {r[header.index("Service" if locale == "en" else "Servizio")] for r in services} == {
        "Intercept X Alfa Srl",
        "Fibre 1 Gbit Alfa Srl",
        "Central Managed Alfa Srl",
    }
    for leaked in (*MSP_COSTS, *NOTES, "Beta Spa"):
        assert leaked not in got.text, leaked


async def test_a_client_user_gets_only_its_own_statement_and_staff_get_the_clients_figures(app, api, runtime):
    world = await portal_world(api, runtime)
    viewer = await make_token(app, Role.client_viewer, client_id=uuid.UUID(world["a"]))
    async with (
        client_for(app, viewer) as alfa,
        client_for(app, await make_token(app, Role.technician)) as tech,
    ):
        other = await alfa.get(f"/clients/{world['b']}/statement")
        missing = await alfa.get(f"/clients/{uuid.uuid4()}/statement", params={"format": "csv"})
        own = await alfa.get(f"/clients/{world['a']}/statement", params={"locale": "en"})
        staff = await tech.get(f"/clients/{world['a']}/statement", params={"locale": "en"})
        staff_csv = await tech.get(f"/clients/{world['a']}/statement", params={"format": "csv"})
        bad = await tech.get(f"/clients/{world['a']}/statement", params={"format": "xls"})
    assert other.status_code == 404 and missing.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    assert own.status_code == 200 and staff.status_code == 200
    own_text, staff_text = pdf_text(own.content), pdf_text(staff.content)
    # Staff download the client's own document: the same figures, never the MSP's cost.
    assert own_text.replace(own_text[-40:], "") == staff_text.replace(staff_text[-40:], "")
    for leaked in (*MSP_COSTS, *NOTES, "Beta Spa"):
        assert leaked not in staff_text and leaked not in staff_csv.text, leaked
    assert bad.status_code == 422 and "format" in bad.text
    async with browser(app) as page:
        await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=world["a"])
        await sign_in(page, "boss@alfa.example")
        console = await page.get(f"/console/clients/{world['b']}/statement.pdf")
        assert console.status_code == 404  # the console is not a client's


def test_the_pdf_fetches_nothing_but_data_urls():
    html = (
        "<html><head><link rel='stylesheet' href='http://127.0.0.1:9/x.css'></head><body>"
        "<p>Totale</p><img src='https://example.com/pixel.png'><img src='file:///etc/passwd'>"
        "<img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='></body></html>"
    )
    pdf, refused = html_to_pdf(html)
    assert pdf.startswith(b"%PDF") and "Totale" in pdf_text(pdf)
    assert sorted(refused) == [
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.css",
        "https://example.com/pixel.png",
    ]
