"""`hub import csv`: all-or-nothing spreadsheet import through the API's schemas and services.

The CLI tests are plain `def` tests: the command runs its own event loop (asyncio.run).
They read the database back through a synchronous engine on the same per-test database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from hub.importer import ImportKind, import_table, parse_amount, parse_date, read_csv
from hub.importer.cli import app
from hub.models import AuditEvent, Client, Subscription, SubscriptionTerm, Vendor, VendorAccount
from hub.models.enums import AuditAction, RecordSource, VendorCategory
from hub.settings import Settings, sync_database_url

SAMPLES = Path(__file__).resolve().parents[2] / "hub" / "importer" / "samples"
runner = CliRunner()


@pytest.fixture
def hub_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Points the CLI's own Settings() at the test database."""
    monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HUB_SECRET_KEY", settings.secret_key.get_secret_value())
    return settings


@pytest.fixture
def db(hub_env: Settings) -> Iterator[Engine]:
    engine = create_engine(sync_database_url(hub_env.resolved_database_url))
    yield engine
    engine.dispose()


def count(db: Engine, model: Any) -> int:
    with Session(db) as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def counts(db: Engine) -> dict[str, int]:
    models = (Client, Vendor, VendorAccount, Subscription, SubscriptionTerm, AuditEvent)
    return {m.__name__: count(db, m) for m in models}


def invoke(tmp_path: Path, kind: str, content: str | bytes, *args: str, name: str = "data.csv") -> Result:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return runner.invoke(app, ["csv", str(path), "--kind", kind, *args])


def invoke_json(tmp_path: Path, kind: str, content: str | bytes, *args: str) -> tuple[int, dict[str, Any]]:
    result = invoke(tmp_path, kind, content, "--json", *args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout)


def import_sample(kind: str) -> dict[str, Any]:
    result = runner.invoke(app, ["csv", str(SAMPLES / f"{kind}.csv"), "--kind", kind, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def errors_of(payload: dict[str, Any]) -> list[tuple[int, str | None]]:
    return [(e["line"], e["field"]) for e in payload["errors"]]


CLIENTS_HEADER = "name,slug,tier,timezone,default_currency,notes\n"


# --- valid files -----------------------------------------------------------------------


def test_sample_files_import_in_order_with_exact_amounts(db: Engine) -> None:
    assert import_sample("vendors")["created"] == {"vendors": 6}
    assert import_sample("clients")["created"] == {"clients": 3}
    payload = import_sample("subscriptions")
    assert payload == {
        "ok": True,
        "kind": "subscriptions",
        "dry_run": False,
        "created": {"subscriptions": 7, "vendor_accounts": 6},
        "errors": [],
    }
    with Session(db) as s:
        subs = {sub.product: sub for sub in s.execute(select(Subscription)).scalars()}
        backup = subs["Backup 4G - sede Lecco"]
        # ';' file: decimal commas, thousands dots, DD/MM/YYYY dates.
        assert backup.unit_cost == Decimal("11.70")
        assert backup.client_unit_price == Decimal("15.00")
        assert backup.starts_on == date(2025, 2, 1)
        assert backup.ends_on is None
        utm = subs["SN310 Premium UTM Security Pack"]
        assert (utm.unit_cost, utm.client_unit_price) == (Decimal("1034.00"), Decimal("1290.00"))
        assert utm.ends_on == date(2026, 4, 14)
        # Empty cells take the service defaults: the vendor's category, the client's currency.
        assert utm.category is VendorCategory.firewall
        assert subs["3CX Pro 16 SC"].currency == "CHF"
        assert subs["Mailbox Professional 10 GB"].currency == "EUR"
        assert {sub.source for sub in subs.values()} == {RecordSource.import_}
        # The service also opened the first term of each subscription.
        assert s.execute(select(func.count()).select_from(SubscriptionTerm)).scalar_one() == 7
        vodafone = s.execute(select(Vendor).where(Vendor.name == "Vodafone Business")).scalar_one()
        assert [(c["kind"], c["value"]) for c in vodafone.support_channels] == [
            ("phone", "+39 02 0000 1190"),
            ("email", "assistenza@vodafone-business.example.com"),
            ("portal", "https://portal.vodafone-business.example.com"),
        ]
        assert vodafone.default_response_sla_hours == 8
        hotel = s.execute(select(Client).where(Client.slug == "hotel-bellavista")).scalar_one()
        assert (hotel.timezone, hotel.default_currency, hotel.tier.value) == ("Europe/Zurich", "CHF", "best")


def test_comma_file_with_bom_and_crlf_imports(tmp_path: Path, db: Engine) -> None:
    content = (
        "\ufeffName,Slug,Tier\r\n"
        "Ferramenta Verdi,verdi,good\r\n"
        '"Studio Neri, Associati",studio-neri,\r\n'
        ",,\r\n"  # a blank row at the end of the sheet
    ).encode()
    code, payload = invoke_json(tmp_path, "clients", content)
    assert (code, payload["created"]) == (0, {"clients": 2})
    with Session(db) as s:
        names = {slug: name for slug, name in s.execute(select(Client.slug, Client.name))}
    assert names == {"verdi": "Ferramenta Verdi", "studio-neri": "Studio Neri, Associati"}


# --- refused files ----------------------------------------------------------------------


def test_every_bad_row_is_reported_and_nothing_is_written(tmp_path: Path, db: Engine) -> None:
    before = counts(db)
    content = (
        CLIENTS_HEADER
        + "Good One,good-one,,,,\n"
        + "Bad Slug,Bad Slug,,,,\n"
        + "Good Two,good-two,better,,,\n"
        + "Bad Zone,bad-zone,platinum,Mars/Olympus,,\n"
    )
    code, payload = invoke_json(tmp_path, "clients", content)
    assert code == 1
    assert payload["ok"] is False
    assert payload["created"] == {"clients": 0}
    assert errors_of(payload) == [(3, "slug"), (5, "tier"), (5, "timezone")]
    messages = {(e["line"], e["field"]): e["message"] for e in payload["errors"]}
    assert "lower-case" in messages[(3, "slug")]
    assert "IANA time zone" in messages[(5, "timezone")]
    assert counts(db) == before


def test_human_output_is_an_error_table_and_a_summary_on_stderr(tmp_path: Path, db: Engine) -> None:
    result = invoke(tmp_path, "clients", CLIENTS_HEADER + "Ok,ok,,,,\nBad,Bad Slug,,,,\n")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Bad Slug" not in result.stdout
    assert "slug" in result.stderr and "lower-case" in result.stderr
    assert "1 error(s) on 1 line(s) of data.csv; nothing was imported" in result.stderr


def test_dry_run_reports_what_it_would_create_and_writes_nothing(db: Engine) -> None:
    import_sample("vendors")
    import_sample("clients")
    before = counts(db)
    result = runner.invoke(
        app, ["csv", str(SAMPLES / "subscriptions.csv"), "--kind", "subscriptions", "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "ok": True,
        "kind": "subscriptions",
        "dry_run": True,
        "created": {"subscriptions": 7, "vendor_accounts": 6},
        "errors": [],
    }
    assert "would create 7 subscriptions, 6 vendor accounts" in result.stderr
    assert counts(db) == before


def test_dry_run_still_checks_the_database(tmp_path: Path, db: Engine) -> None:
    import_sample("clients")
    code, payload = invoke_json(
        tmp_path, "clients", CLIENTS_HEADER + "Again,studio-marino,,,,\n", "--dry-run"
    )
    assert code == 1
    assert errors_of(payload) == [(2, "slug")]


def test_unknown_and_missing_columns_are_refused_by_name(tmp_path: Path, db: Engine) -> None:
    code, payload = invoke_json(tmp_path, "clients", "name,colour,size\nAcme,red,xl\n")
    assert code == 1
    assert errors_of(payload) == [(1, "colour"), (1, "size"), (1, "slug")]
    assert payload["errors"][0]["message"].startswith("unknown column")
    assert payload["errors"][2]["message"] == "required column is missing"
    assert count(db, Client) == 0


def test_row_with_more_cells_than_columns_is_refused(tmp_path: Path, db: Engine) -> None:
    content = 'name,slug\nAcme,acme,extra\nOk,ok,,\n"Two\nlines",Bad Slug\n'
    code, payload = invoke_json(tmp_path, "clients", content)
    assert code == 1
    # Trailing empty cells are fine; the other rows are still validated; a quoted cell
    # spanning two text lines is one spreadsheet row (line 4), and a name is one line.
    assert errors_of(payload) == [(2, None), (4, "name"), (4, "slug")]
    assert payload["errors"][0]["message"] == "the row has 3 cells but the header names 2"
    assert count(db, Client) == 0


def test_file_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path, db: Engine) -> None:
    content = b"name,slug\nOk,ok\n" + "Caffè Rossi,caffe-rossi\n".encode("cp1252")
    code, payload = invoke_json(tmp_path, "clients", content)
    assert code == 1
    assert errors_of(payload) == [(3, None)]
    assert "UTF-8" in payload["errors"][0]["message"]


def test_duplicate_slug_in_the_file_and_in_the_database_are_row_errors(tmp_path: Path, db: Engine) -> None:
    import_sample("clients")
    before = counts(db)
    content = CLIENTS_HEADER + "New,new-client,,,,\nTwin,new-client,,,,\nOld,officina-galli,,,,\n"
    code, payload = invoke_json(tmp_path, "clients", content)
    assert code == 1
    assert errors_of(payload) == [(3, "slug"), (4, "slug")]
    assert payload["errors"][0]["message"] == "slug 'new-client' is already on line 2 of this file"
    assert payload["errors"][1]["message"] == "a client with slug 'officina-galli' already exists"
    assert counts(db) == before


def test_duplicate_vendor_name_in_the_file_and_in_the_database_are_row_errors(
    tmp_path: Path, db: Engine
) -> None:
    import_sample("vendors")
    content = "name,category\nNew Vendor,isp\nNew Vendor,isp\nQboxmail,mail_hosting\nBad,shoes\n"
    code, payload = invoke_json(tmp_path, "vendors", content)
    assert code == 1
    assert errors_of(payload) == [(3, "name"), (4, "name"), (5, "category")]
    assert count(db, Vendor) == 6


def test_vendor_channel_errors_point_at_their_column(tmp_path: Path, db: Engine) -> None:
    content = "name,category,support_email,support_portal\nAcme,isp,not-an-address,portal.acme\n"
    code, payload = invoke_json(tmp_path, "vendors", content)
    assert code == 1
    assert errors_of(payload) == [(2, "support_email"), (2, "support_portal")]


# --- subscriptions ----------------------------------------------------------------------

SUBS_HEADER = (
    "client_slug;vendor_name;account_number;product;quantity;unit_cost;billing_period;payer;starts_on\n"
)


def test_subscriptions_create_a_missing_account_once_and_reuse_stored_ones(
    tmp_path: Path, db: Engine
) -> None:
    import_sample("vendors")
    import_sample("clients")
    import_sample("subscriptions")
    accounts_before = count(db, VendorAccount)
    content = SUBS_HEADER + (
        "officina-galli;Vodafone Business;VB-4471208;SIM dati;2;9,90;monthly;msp_resold;01/03/2025\n"
        "studio-marino;Vodafone Business;VB-NEW-1;Fibra FTTH;1;29,90;monthly;client_direct;01/03/2025\n"
        "studio-marino;Vodafone Business;VB-NEW-1;IP statico;1;5;monthly;client_direct;01/03/2025\n"
        "studio-marino;Vodafone Business;VB-NEW-1;Backup 4G;1;11,70;monthly;client_direct;01/03/2025\n"
    )
    code, payload = invoke_json(tmp_path, "subscriptions", content)
    assert (code, payload["created"]) == (0, {"subscriptions": 4, "vendor_accounts": 1})
    assert count(db, VendorAccount) == accounts_before + 1
    with Session(db) as s:
        rows = s.execute(
            select(VendorAccount.account_number, func.count(Subscription.id))
            .join(Subscription, Subscription.vendor_account_id == VendorAccount.id)
            .group_by(VendorAccount.account_number)
        ).all()
        assert {number: n for number, n in rows} == {
            "VB-4471208": 3,
            "VB-NEW-1": 3,
            "WS-88120": 1,
            "SN-EUR-3310": 1,
            "QBX-20931": 1,
            "CI-NOL-7781": 1,
            "3CX-CH-5521": 1,
        }
        amounts = s.execute(
            select(Subscription.unit_cost).where(Subscription.product.in_(["IP statico", "SIM dati"]))
        ).scalars()
        assert sorted(amounts) == [Decimal("5.00"), Decimal("9.90")]


def test_subscription_rows_name_the_missing_client_or_vendor(tmp_path: Path, db: Engine) -> None:
    import_sample("vendors")
    import_sample("clients")
    content = SUBS_HEADER + (
        "nobody;Qboxmail;Q1;Mailbox;1;1,90;monthly;client_direct;01/01/2025\n"
        "studio-marino;qboxmail;Q1;Mailbox;1;1,90;monthly;client_direct;01/01/2025\n"
        "studio-marino;Qboxmail;Q1;Mailbox;1;1.900;monthly;client_direct;2025-13-01\n"
    )
    code, payload = invoke_json(tmp_path, "subscriptions", content)
    assert code == 1
    assert errors_of(payload) == [(2, "client_slug"), (3, "vendor_name"), (4, "unit_cost"), (4, "starts_on")]
    messages = [e["message"] for e in payload["errors"]]
    assert messages[0] == "no client with slug 'nobody'"
    assert messages[1] == "no vendor named 'qboxmail'; did you mean 'Qboxmail'?"
    assert "ambiguous" in messages[2]
    assert count(db, Subscription) == 0
    assert count(db, VendorAccount) == 0


def test_comma_file_refuses_decimal_commas(tmp_path: Path, db: Engine) -> None:
    import_sample("vendors")
    import_sample("clients")
    content = (
        "client_slug,vendor_name,account_number,product,unit_cost,billing_period,payer,starts_on\n"
        'studio-marino,Qboxmail,Q1,Mailbox,"1,90",monthly,client_direct,2025-01-01\n'
    )
    code, payload = invoke_json(tmp_path, "subscriptions", content)
    assert code == 1
    assert errors_of(payload) == [(2, "unit_cost")]
    assert "decimal point" in payload["errors"][0]["message"]


# --- writing ----------------------------------------------------------------------------


def test_import_is_audited_as_cli_import(db: Engine) -> None:
    import_sample("vendors")
    import_sample("clients")
    with Session(db) as s:
        events = s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert {e.actor for e in events} == {"cli:import"}
    creates = [(e.subject_type, e.action) for e in events if e.action is AuditAction.create]
    assert creates == [("vendor", AuditAction.create)] * 6 + [("client", AuditAction.create)] * 3
    imports = [e.meta for e in events if e.action is AuditAction.import_]
    assert [(m["kind"], m["file"], m["created"]) for m in imports] == [
        ("vendors", "vendors.csv", {"vendors": 6}),
        ("clients", "clients.csv", {"clients": 3}),
    ]


def _refuse_slug_on_insert(db: Engine, slug: str) -> None:
    """A database trigger refusing one client at write time: a row that passed validation
    but that the database turns away (as when someone else took it meanwhile)."""
    with db.begin() as conn:
        if db.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_{slug} BEFORE INSERT ON clients WHEN NEW.slug = '{slug}' "
                f"BEGIN SELECT RAISE(ABORT, 'slug {slug} was taken meanwhile'); END"
            )
        else:
            conn.exec_driver_sql(
                f"CREATE FUNCTION refuse_{slug}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.slug = '{slug}' THEN RAISE EXCEPTION 'slug {slug} was taken meanwhile'; END IF; "
                "RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_{slug} BEFORE INSERT ON clients "
                f"FOR EACH ROW EXECUTE FUNCTION refuse_{slug}()"
            )


def test_a_failure_while_writing_rolls_back_every_row(tmp_path: Path, db: Engine) -> None:
    _refuse_slug_on_insert(db, "third")
    before = counts(db)
    content = CLIENTS_HEADER + "First,first,,,,\nSecond,second,,,,\nThird,third,,,,\nFourth,fourth,,,,\n"
    code, payload = invoke_json(tmp_path, "clients", content)
    assert code == 1
    [error] = payload["errors"]
    assert (error["line"], error["field"]) == (4, None)
    if db.dialect.name == "sqlite":  # RAISE(ABORT) is a constraint failure: the service's 409
        assert error["message"] == "the client conflicts with stored data"
    else:
        assert error["message"].startswith("the database refused the row")
        assert "slug third was taken meanwhile" in error["message"]
    assert counts(db) == before


async def test_import_table_dry_run_leaves_nothing_to_commit(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    table, errors = read_csv((CLIENTS_HEADER + "One,one,,,,\nTwo,two,,,,\n").encode(), ImportKind.clients)
    assert table is not None and errors == []
    async with sessionmaker() as session:
        result = await import_table(session, ImportKind.clients, table, dry_run=True)
        await session.commit()  # even a caller that commits a dry run writes nothing
    assert (result.ok, result.created) == (True, {"clients": 2})
    async with sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Client))).scalar_one() == 0


async def test_import_table_reports_progress_per_row(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    table, _ = read_csv(
        (CLIENTS_HEADER + "One,one,,,,\nTwo,two,,,,\nThree,three,,,,\n").encode(), ImportKind.clients
    )
    assert table is not None
    seen: list[tuple[int, int]] = []
    async with sessionmaker() as session:
        result = await import_table(
            session, ImportKind.clients, table, progress=lambda done, total: seen.append((done, total))
        )
        await session.commit()
    assert result.ok
    assert seen == [(1, 3), (2, 3), (3, 3)]


# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal_comma", "expected"),
    [
        ("11,70", True, Decimal("11.70")),
        ("1.234,56", True, Decimal("1234.56")),
        ("12.345.678,9", True, Decimal("12345678.9")),
        ("11.70", True, Decimal("11.70")),
        ("0,0001", True, Decimal("0.0001")),
        ("1234", True, Decimal("1234")),
        ("11.70", False, Decimal("11.70")),
        ("0.1", False, Decimal("0.1")),
    ],
)
def test_amounts_are_read_exactly(text: str, decimal_comma: bool, expected: Decimal) -> None:
    amount = parse_amount(text, decimal_comma=decimal_comma)
    assert isinstance(amount, Decimal)
    assert (amount, amount.as_tuple()) == (expected, expected.as_tuple())


@pytest.mark.parametrize(
    ("text", "decimal_comma", "reason"),
    [
        ("1.234", True, "ambiguous"),
        ("1.234.567", True, "ambiguous"),
        ("11,70", False, "decimal point"),
        ("1,234.56", True, "not an amount"),
        ("€ 11,70", True, "not an amount"),
        ("NaN", False, "not an amount"),
        ("Infinity", True, "not an amount"),
        ("", False, "not an amount"),
    ],
)
def test_amounts_that_could_be_misread_are_refused(text: str, decimal_comma: bool, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_amount(text, decimal_comma=decimal_comma)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01", date(2025, 3, 1)),
        ("01/03/2025", date(2025, 3, 1)),
        ("1/3/2025", date(2025, 3, 1)),
        ("29/02/2024", date(2024, 2, 29)),
    ],
)
def test_dates_are_iso_or_day_first(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["29/02/2025", "2025-02-30", "03-01-2025", "20250301", "1 marzo 2025"])
def test_other_date_forms_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="date"):
        parse_date(text)
