"""The demo dataset: complete, consistent, relative to today, and idempotent."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from hub.db import create_engine as create_async_engine
from hub.db import make_sessionmaker
from hub.demo import DemoSummary, load_demo
from hub.demo.catalogue import CURRENT_FIRMWARE
from hub.models import (
    Asset,
    Base,
    Client,
    Contact,
    Domain,
    Endpoint,
    Subscription,
    SubscriptionTerm,
    Vendor,
    VendorAccount,
    Warranty,
)
from hub.models.enums import (
    AssetKind,
    ContactRole,
    MailProvider,
    Payer,
    RenewalType,
    ServiceTier,
    TermRenewedBy,
    VendorCategory,
)
from hub.settings import Settings

# Far from the real date on purpose: every expiry must follow `today`, not the clock.
TODAY = date(2031, 3, 15)
MSP_CATEGORIES = set(VendorCategory) - {VendorCategory.other}
TABLES = [
    Vendor,
    Client,
    Contact,
    VendorAccount,
    Subscription,
    SubscriptionTerm,
    Asset,
    Warranty,
    Domain,
    Endpoint,
]


def _new_database(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()


async def _load(path: Path, today: date = TODAY) -> DemoSummary:
    engine = create_async_engine(Settings(), url=f"sqlite+aiosqlite:///{path}")
    try:
        async with make_sessionmaker(engine)() as session:
            summary = await load_demo(session, today=today)
            await session.commit()
        return summary
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    """One demo database shared by the read-only tests (copied by the writing ones)."""
    path = tmp_path_factory.mktemp("demo") / "hub.db"
    _new_database(path)
    return path, asyncio.run(_load(path))


@pytest.fixture
def db(loaded: tuple[Path, DemoSummary]) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{loaded[0]}")
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def copy(loaded: tuple[Path, DemoSummary], tmp_path: Path) -> Path:
    target = tmp_path / "hub.db"
    shutil.copy(loaded[0], target)
    return target


def _counts(path: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        counts = {m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
                  for m in TABLES}  # fmt: skip
    engine.dispose()
    return counts


def test_catalogue_covers_every_vendor_category_an_msp_deals_with(db: Session) -> None:
    categories = set(db.scalars(select(Vendor.category)))
    assert categories >= MSP_CATEGORIES


def test_vendors_have_fictitious_support_channels_sla_and_escalation(db: Session) -> None:
    for vendor in db.scalars(select(Vendor)):
        assert vendor.default_response_sla_hours and vendor.default_response_sla_hours > 0
        kinds = {c["kind"] for c in vendor.support_channels}
        assert {"phone", "email", "portal"} <= kinds
        for channel in vendor.support_channels:
            assert channel["timezone"] == "Europe/Rome"
            if channel["kind"] == "phone":
                assert channel["value"].startswith("+39 02 0000 ")
            elif channel["kind"] == "email":
                assert channel["value"].endswith(".example.com")
            else:
                assert ".example.net" in channel["value"]
        levels = [e["level"] for e in vendor.escalation_levels]
        assert levels == sorted(levels) and levels[0] == 1


def test_twelve_clients_of_every_tier_sized_from_small_to_large(db: Session) -> None:
    clients = list(db.scalars(select(Client)))
    assert len(clients) == 12
    assert {c.tier for c in clients} == set(ServiceTier)
    assert all(c.timezone == "Europe/Rome" and c.default_currency == "EUR" for c in clients)
    per_client = Counter(db.scalars(select(Subscription.client_id)))
    assert 6 <= min(per_client.values()) <= 10
    assert 30 <= max(per_client.values()) <= 40


def test_subscription_client_is_its_vendor_accounts_client(db: Session) -> None:
    mismatched = db.scalar(
        select(func.count())
        .select_from(Subscription)
        .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
        .where(VendorAccount.client_id != Subscription.client_id)
    )
    assert mismatched == 0


def test_every_client_deals_with_every_core_vendor_category(db: Session) -> None:
    rows = db.execute(
        select(VendorAccount.client_id, Vendor.category).join(Vendor, Vendor.id == VendorAccount.vendor_id)
    ).all()
    by_client: dict[uuid.UUID, set[VendorCategory]] = {}
    for client_id, category in rows:
        by_client.setdefault(client_id, set()).add(category)
    core = {
        VendorCategory.isp,
        VendorCategory.mail_hosting,
        VendorCategory.dns_hosting,
        VendorCategory.registrar,
        VendorCategory.firewall,
        VendorCategory.antivirus,
    }
    assert len(by_client) == 12
    assert all(categories >= core for categories in by_client.values())


def test_expiries_are_relative_to_today(db: Session) -> None:
    ends = [e for e in db.scalars(select(Subscription.ends_on)) if e is not None]
    assert any(e < TODAY for e in ends), "at least one subscription already lapsed"
    assert any(TODAY <= e <= TODAY + timedelta(days=30) for e in ends)
    assert max(ends) <= TODAY + timedelta(days=900)
    warranties = list(db.scalars(select(Warranty.ends_on)))
    assert any(e < TODAY for e in warranties), "at least one warranty expired"
    assert any(TODAY <= e <= TODAY + timedelta(days=90) for e in warranties)


def test_a_second_today_shifts_every_date_by_the_same_amount(tmp_path: Path) -> None:
    later = TODAY + timedelta(days=100)
    _new_database(tmp_path / "a.db")
    _new_database(tmp_path / "b.db")
    asyncio.run(_load(tmp_path / "a.db", TODAY))
    asyncio.run(_load(tmp_path / "b.db", later))

    def ends(path: Path) -> list[tuple[str, date | None]]:
        engine = create_engine(f"sqlite:///{path}")
        with Session(engine) as session:
            rows = session.execute(
                select(Subscription.product, Subscription.ends_on, Subscription.unit_cost)
                .join(Client, Client.id == Subscription.client_id)
                .order_by(Client.slug, Subscription.product, Subscription.ends_on)
            ).all()
        engine.dispose()
        return [(f"{p}|{cost}", e) for p, e, cost in rows]

    first, second = ends(tmp_path / "a.db"), ends(tmp_path / "b.db")
    assert [k for k, _ in first] == [k for k, _ in second]
    for (_, a), (_, b) in zip(first, second, strict=True):
        assert (a is None and b is None) or (b - a).days == 100  # type: ignore[operator]


def test_every_subscription_has_exactly_one_matching_initial_term(db: Session) -> None:
    terms = list(db.scalars(select(SubscriptionTerm)))
    subscriptions = {s.id: s for s in db.scalars(select(Subscription))}
    assert Counter(t.subscription_id for t in terms) == Counter(subscriptions.keys())
    for term in terms:
        sub = subscriptions[term.subscription_id]
        assert term.renewed_by == TermRenewedBy.initial
        assert (term.starts_on, term.ends_on, term.quantity, term.unit_cost, term.currency) == (
            sub.starts_on,
            sub.ends_on,
            sub.quantity,
            sub.unit_cost,
            sub.currency,
        )


def test_subscriptions_mix_payers_renewals_periods_and_currencies(db: Session) -> None:
    subs = list(db.scalars(select(Subscription)))
    assert {s.payer for s in subs} == set(Payer)
    assert {s.renewal_type for s in subs} == set(RenewalType)
    assert {s.notice_days for s in subs} >= {0, 30, 60, 90}
    assert len({s.billing_period for s in subs}) >= 4
    assert {s.currency for s in subs} == {"EUR", "USD", "CHF"}
    # The hub renews AV and firewall licences itself.
    auto_hub = {s.category for s in subs if s.renewal_type == RenewalType.auto_hub}
    assert {VendorCategory.antivirus, VendorCategory.firewall} <= auto_hub
    resold = [s for s in subs if s.payer == Payer.msp_resold]
    assert any(s.client_unit_price is not None for s in resold)
    assert all(s.client_unit_price is None or s.client_unit_price > s.unit_cost for s in subs)


def test_assets_have_unique_demo_serials_warranties_and_some_outdated_firewalls(
    db: Session,
) -> None:
    assets = list(db.scalars(select(Asset)))
    serials = [(a.manufacturer, a.serial) for a in assets]
    assert len(serials) == len(set(serials))
    assert all(a.serial and a.serial.startswith("DEMO") for a in assets)
    assert {a.kind for a in assets} >= set(AssetKind) - {AssetKind.other}
    firewalls = [a for a in assets if a.kind == AssetKind.firewall]
    assert any(a.firmware_version != CURRENT_FIRMWARE[a.manufacturer] for a in firewalls)
    assert any(a.firmware_version == CURRENT_FIRMWARE[a.manufacturer] for a in firewalls)
    owners = {a.id: a.client_id for a in assets}
    for warranty in db.scalars(select(Warranty)):
        assert warranty.client_id == owners[warranty.asset_id]
        assert warranty.starts_on <= warranty.ends_on


def test_domains_point_at_their_clients_accounts_of_the_right_category(db: Session) -> None:
    accounts = {
        a.id: (a.client_id, category)
        for a, category in db.execute(
            select(VendorAccount, Vendor.category).join(Vendor, Vendor.id == VendorAccount.vendor_id)
        )
    }
    domains = list(db.scalars(select(Domain)))
    assert domains
    for d in domains:
        assert d.name == d.name.lower() and d.name.isascii()
        assert accounts[d.registrar_account_id] == (d.client_id, VendorCategory.registrar)  # type: ignore[index]
        assert accounts[d.dns_host_account_id] == (d.client_id, VendorCategory.dns_hosting)  # type: ignore[index]
        assert accounts[d.mail_host_account_id] == (d.client_id, VendorCategory.mail_hosting)  # type: ignore[index]
        expected = {MailProvider.microsoft365: ["selector1", "selector2"],
                    MailProvider.google_workspace: ["google"]}  # fmt: skip
        assert d.dkim_selectors == expected[d.expected_mail_provider]
    endpoints = list(db.scalars(select(Endpoint)))
    assert {e.port for e in endpoints} == {443, 25}


def test_contacts_roles_on_both_sides(db: Session) -> None:
    contacts = list(db.scalars(select(Contact)))
    allowed = {r.value for r in ContactRole}
    assert all(set(c.roles) <= allowed for c in contacts)
    client_roles = {r for c in contacts if c.client_id for r in c.roles}
    assert client_roles == {"primary", "billing", "technical", "authorised_requester"}
    vendor_side = [c for c in contacts if c.vendor_id]
    assert {r for c in vendor_side for r in c.roles} == {"account_manager", "support", "escalation"}
    assert {c.escalation_level for c in vendor_side} == {1, 2, 3}


async def test_second_load_creates_nothing_and_changes_nothing(copy: Path) -> None:
    before = _counts(copy)
    summary = await _load(copy)
    assert not summary.created_anything
    assert summary.clients_skipped == 12
    assert summary.vendors_skipped == before["vendors"]
    assert _counts(copy) == before


async def test_clients_edited_or_added_by_the_user_are_left_alone(copy: Path) -> None:
    engine = create_engine(f"sqlite:///{copy}")
    with Session(engine) as session:
        client = session.scalars(select(Client).where(Client.slug == "rossi-ferramenta")).one()
        client.name = "Ferramenta Rossi & Figli S.r.l."
        client.notes = "Rinominata dal tecnico."
        account = session.scalars(select(VendorAccount).where(VendorAccount.client_id == client.id)).first()
        assert account is not None
        session.add(Subscription(client_id=client.id, vendor_account_id=account.id,
                                 category=VendorCategory.other, product="Aggiunto a mano",
                                 unit_cost=0, currency="EUR", billing_period="yearly",
                                 payer=Payer.client_direct, starts_on=TODAY))  # fmt: skip
        session.add(Client(name="Nuovo Cliente", slug="nuovo-cliente"))
        session.commit()
        rossi_id, version = client.id, client.version
    before = _counts(copy)

    summary = await _load(copy)

    assert not summary.created_anything
    assert _counts(copy) == before
    with Session(engine) as session:
        client = session.get_one(Client, rossi_id)
        assert (client.name, client.notes, client.version) == (
            "Ferramenta Rossi & Figli S.r.l.",
            "Rinominata dal tecnico.",
            version,
        )
        assert session.scalar(select(Client.id).where(Client.slug == "nuovo-cliente"))
    engine.dispose()


async def test_a_slug_or_domain_the_user_already_has_is_skipped_not_duplicated(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.db"
    _new_database(path)
    engine = create_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        # The user already has a client with a demo slug and one of the demo's domains.
        taken = Client(name="Il mio Rossi", slug="rossi-ferramenta")
        session.add(taken)
        session.flush()
        session.add(Domain(client_id=taken.id, name="studiolegalebianchi.it"))
        session.commit()
    engine.dispose()

    summary = await _load(path)

    assert (summary.clients_created, summary.clients_skipped) == (11, 1)
    assert summary.domains_skipped == 1
    counts = _counts(path)
    assert counts["clients"] == 12
    assert counts["domains"] == summary.domains_created + 1
