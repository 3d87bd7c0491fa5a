"""The synthetic bulk seed: exact counts, the benchmark client, and never twice."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from hub.db import create_engine as create_async_engine
from hub.db import make_sessionmaker
from hub.demo import load_demo
from hub.models import (
    Asset,
    Base,
    Client,
    Contact,
    Domain,
    Subscription,
    SubscriptionTerm,
    Vendor,
    VendorAccount,
    Warranty,
)
from hub.models.enums import VendorCategory
from hub.seed import BENCH_SLUG, BENCH_SUBSCRIPTIONS, SCALES, seed_database
from hub.settings import Settings

TODAY = date(2031, 3, 15)
TABLES = [Vendor, Client, Contact, VendorAccount, Subscription, SubscriptionTerm, Asset, Warranty, Domain]


@pytest.fixture
def url(tmp_path: Path) -> str:
    sync_url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = create_engine(sync_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return sync_url


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with Session(engine) as session:
        counts = {m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in TABLES}
    engine.dispose()
    return counts


def _seed(url: str, seed: int = 7) -> None:
    seed_database(url, "small", today=TODAY, seed=seed)


def test_small_scale_has_the_documented_counts(url: str) -> None:
    summary = seed_database(url, "small", today=TODAY)

    counts = _counts(url)
    assert counts["clients"] == summary.clients == 50
    assert counts["subscriptions"] == summary.subscriptions == 750
    assert counts["subscription_terms"] == 750
    assert counts["assets"] == summary.assets == 2_500
    assert counts["warranties"] == 2_500
    assert counts["domains"] == summary.domains == 500
    assert counts["vendors"] == summary.vendors_created == 60
    assert counts["vendor_accounts"] == summary.vendor_accounts


def _bench_client_lines_and_slugs(url: str) -> tuple[int | None, set[str]]:
    """How many subscriptions the bench client owns, and every client's slug."""
    engine = create_engine(url)
    with Session(engine) as session:
        owned = session.scalar(
            select(func.count())
            .select_from(Subscription)
            .join(Client, Client.id == Subscription.client_id)
            .where(Client.slug == BENCH_SLUG)
        )
        slugs = set(session.scalars(select(Client.slug)))
    engine.dispose()
    return owned, slugs


def test_tenth_is_a_tenth_of_large_and_keeps_the_300_line_client(url: str) -> None:
    """The growth benchmark's 1x point (tests/bench/bench_api.py --growth): the same mix as
    large at a tenth, half at a half, and the bench client's report the same size."""
    summary = seed_database(url, "tenth", today=TODAY)

    counts = _counts(url)
    assert counts["clients"] == summary.clients == 200
    assert counts["subscriptions"] == 3_000 and counts["assets"] == counts["warranties"] == 10_000
    assert counts["domains"] == 2_000
    owned, _ = _bench_client_lines_and_slugs(url)
    assert owned == BENCH_SUBSCRIPTIONS
    large = SCALES["large"]
    for name, part in (("tenth", 10), ("half", 2)):
        spec = SCALES[name]
        assert (spec.clients * part, spec.subscriptions * part) == (large.clients, large.subscriptions)
        assert (spec.assets * part, spec.domains * part) == (large.assets, large.domains)


def test_every_scale_can_be_asked_for_on_the_command_line() -> None:
    from hub.cli import Scale

    assert {s.value for s in Scale} == set(SCALES)


def test_bench_client_owns_exactly_300_subscriptions(url: str) -> None:
    _seed(url)
    owned, slugs = _bench_client_lines_and_slugs(url)
    assert owned == BENCH_SUBSCRIPTIONS == 300
    assert slugs == {f"seed-{n:05d}" for n in range(1, 50)} | {BENCH_SLUG}


def test_second_run_refuses_and_adds_nothing(url: str) -> None:
    _seed(url)
    before = _counts(url)

    with pytest.raises(ValueError, match=r"already holds seed data.*seed-00001"):
        _seed(url, seed=8)

    assert _counts(url) == before


def test_rows_are_consistent_and_spread_relative_to_today(url: str) -> None:
    _seed(url)
    engine = create_engine(url)
    with Session(engine) as session:
        subs = list(session.scalars(select(Subscription)))
        accounts = {a.id: a for a in session.scalars(select(VendorAccount))}
        categories = dict(session.execute(select(Vendor.id, Vendor.category)).all())
        assets = list(session.scalars(select(Asset)))
        warranty_owners = session.execute(select(Warranty.asset_id, Warranty.client_id)).all()
        domains = list(session.scalars(select(Domain)))
    engine.dispose()

    assert all(accounts[s.vendor_account_id].client_id == s.client_id for s in subs)
    assert {s.currency for s in subs} >= {"EUR", "USD"}
    assert sum(s.currency == "EUR" for s in subs) > 0.9 * len(subs)
    ends = [s.ends_on for s in subs if s.ends_on]
    assert min(ends) >= TODAY - timedelta(days=30) and max(ends) <= TODAY + timedelta(days=3 * 365)
    assert sum(e <= TODAY + timedelta(days=365) for e in ends) > 0.75 * len(ends)
    assert any(e < TODAY for e in ends)

    assert all(a.serial and a.serial.startswith("SEED") for a in assets)
    assert len({(a.manufacturer, a.serial) for a in assets}) == len(assets)
    owner = {a.id: a.client_id for a in assets}
    assert all(owner[asset_id] == client_id for asset_id, client_id in warranty_owners)

    for d in domains:
        assert d.name.endswith(".example.com")
        registrar = accounts[d.registrar_account_id]  # type: ignore[index]
        assert registrar.client_id == d.client_id
        assert categories[registrar.vendor_id] == VendorCategory.registrar


def test_distribution_is_uneven_some_big_many_small(url: str) -> None:
    _seed(url)
    engine = create_engine(url)
    with Session(engine) as session:
        per_client = dict(
            session.execute(
                select(Client.slug, func.count(Subscription.id))
                .join(Subscription, Subscription.client_id == Client.id)
                .group_by(Client.slug)
            ).all()
        )
    engine.dispose()
    others = sorted(n for slug, n in per_client.items() if slug != BENCH_SLUG)
    assert len(others) == 49 and others[0] >= 1
    assert others[-1] >= 3 * others[len(others) // 2]


def test_same_seed_same_data(tmp_path: Path, url: str) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    engine = create_engine(other)
    Base.metadata.create_all(engine)
    engine.dispose()
    _seed(url)
    _seed(other)

    def content(db_url: str) -> list[tuple[object, ...]]:
        engine = create_engine(db_url)
        with Session(engine) as session:
            rows = session.execute(
                select(
                    Subscription.id, Subscription.product, Subscription.unit_cost, Subscription.ends_on
                ).order_by(Subscription.id)
            ).all()
        engine.dispose()
        return [tuple(r) for r in rows]

    assert content(url) == content(other)


def test_progress_is_reported_per_batch_up_to_each_total(url: str) -> None:
    calls: dict[str, list[tuple[int, int]]] = defaultdict(list)
    seed_database(
        url, "small", today=TODAY, progress=lambda label, done, total: calls[label].append((done, total))
    )

    assert {"clients", "subscriptions", "assets", "warranties", "domains"} <= set(calls)
    for reports in calls.values():
        done = [d for d, _ in reports]
        assert done == sorted(done)
        assert reports[-1][0] == reports[-1][1]


def test_seed_reuses_the_demo_vendors_instead_of_colliding(url: str) -> None:
    async def load() -> None:
        engine = create_async_engine(Settings(), url=url.replace("sqlite://", "sqlite+aiosqlite://"))
        async with make_sessionmaker(engine)() as session:
            await load_demo(session, today=TODAY)
            await session.commit()
        await engine.dispose()

    asyncio.run(load())
    demo_vendors = _counts(url)["vendors"]

    summary = seed_database(url, "small", today=TODAY)

    assert summary.vendors_created == 60 - demo_vendors
    assert _counts(url)["vendors"] == 60
