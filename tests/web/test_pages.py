"""What every page is made of: only the hub's own files (works offline, no CDN), the
vendored htmx as pinned, Italian and English catalogues complete and compiled, and
formats per locale."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from hub.models.enums import Role
from hub.web import STATIC_DIR, i18n
from tests.web.conftest import browser, build_world, make_user, sign_in

ASSET = re.compile(r'<(?:script|img|link|iframe|source)\b[^>]*?\b(?:src|href)="([^"]+)"')


def test_vendored_files_match_their_pinned_checksums_and_carry_their_licence():
    manifest = json.loads((STATIC_DIR / "vendor" / "VENDORED.json").read_text())
    for name, entry in manifest.items():
        data = (STATIC_DIR / "vendor" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert (STATIC_DIR / "vendor" / entry["licence"].split("(")[1].rstrip(")")).exists()


async def test_every_script_style_and_image_of_every_page_is_served_by_the_hub(app, api, runtime):
    world = await build_world(api, runtime)
    await make_user(runtime, "admin@msp.example", Role.admin)
    await make_user(runtime, "boss@alfa.example", Role.client_admin, client_id=world.a)
    pages = [
        "/console",
        "/console/clients",
        f"/console/clients/{world.a}",
        "/console/renewals",
        "/console/connections",
        "/console/checks",
        "/console/jobs",
        "/console/reminders",
        "/console/users",
        "/account",
    ]
    seen: set[str] = set()
    async with browser(app) as anonymous:
        seen |= set(ASSET.findall((await anonymous.get("/")).text))
    async with browser(app) as admin, browser(app) as client_user:
        await sign_in(admin, "admin@msp.example")
        await sign_in(client_user, "boss@alfa.example")
        for path in pages:
            r = await admin.get(path)
            assert r.status_code == 200, path
            seen |= set(ASSET.findall(r.text))
        seen |= set(ASSET.findall((await client_user.get("/portal")).text))
        assert seen, "no asset found: the pattern is wrong"
        for url in sorted(seen):
            assert url.startswith("/static/"), f"{url} is not served by the hub"
            assert (await admin.get(url)).status_code == 200, url


def test_the_italian_catalogue_translates_every_message_and_the_compiled_files_are_current():
    for locale in i18n.LOCALES:
        po_path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
        with po_path.open("rb") as fh:
            catalogue = read_po(fh, locale=locale)
        with (po_path.with_suffix(".mo")).open("rb") as fh:
            compiled = read_mo(fh)
        messages = {m.id: m.string for m in catalogue if m.id}
        assert {m.id: m.string for m in compiled if m.id and m.string} == {
            k: v for k, v in messages.items() if v
        }, f"{locale}: messages.mo is stale; run `pybabel compile -d hub/web/locales`"
        if locale == "it":
            missing = [k for k, v in messages.items() if not v]
            assert not missing, f"untranslated in Italian: {missing[:10]}"


def test_the_catalogue_has_every_message_the_templates_and_pages_use():
    from babel.messages.extract import extract_from_dir

    extracted = {
        (m[2] if isinstance(m[2], str) else m[2][0])
        for m in extract_from_dir(
            str(STATIC_DIR.parent),
            method_map=[("templates/**.html", "jinja2"), ("**.py", "python")],
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
        )
    }
    with (i18n.LOCALE_DIR / "it" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    assert not extracted - known, (
        f"not in the catalogue (run the extraction): {sorted(extracted - known)[:10]}"
    )


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("it-IT,it;q=0.9,en;q=0.8", "it"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE,it;q=0.5", "it"),
        ("fr, en;q=0.1, it;q=0.2", "it"),
        ("", "en"),
        (None, "en"),
        ("xx-!!", "en"),
    ],
)
def test_the_language_follows_accept_language(header, locale):
    assert i18n.negotiate(header) == locale


def test_dates_and_money_are_formatted_per_locale():
    it, en = i18n.Formats("it"), i18n.Formats("en")
    assert it.money(Decimal("1234.5"), "EUR") == "1.234,50\xa0€"
    assert en.money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert it.date(date(2026, 12, 1)) == "1 dic 2026"
    assert en.date(date(2026, 12, 1)) == "Dec 1, 2026"


async def test_an_italian_browser_gets_italian_pages_and_a_user_choice_sticks(app, runtime):
    await make_user(runtime, "tech@msp.example", Role.technician)
    async with browser(app) as web:
        page = await web.get("/", headers={"Accept-Language": "it-IT,it;q=0.9"})
        assert '<html lang="it">' in page.text and "Accedi" in page.text
        await sign_in(web, "tech@msp.example")
        token = re.search(r'name="csrf_token" value="([^"]+)"', (await web.get("/account")).text).group(1)
        await web.post("/language", data={"locale": "it", "csrf_token": token, "next": "/console"})
        today = await web.get("/console", headers={"Accept-Language": "en"})
        assert '<html lang="it">' in today.text and "Oggi" in today.text
