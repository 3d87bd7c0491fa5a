"""A large synthetic dataset for benchmarks and load tests.

Rows are built as plain dicts and written with SQLAlchemy Core executemany in batches,
through the ORM's own `Table` objects so the Money and UTCDateTime column types still
apply. Everything runs in one transaction: an interrupted seed leaves nothing behind.
The generator refuses to run twice rather than trying to merge, so it can never
duplicate data.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import islice
from typing import Any, Literal, cast

from sqlalchemy import Table, create_engine, select, text
from sqlalchemy.engine import Connection, Engine

from hub.db import WRITE_OPTIONS, configure_sqlite
from hub.demo.catalogue import VENDORS, VendorSpec, escalation_levels, support_channels
from hub.demo.dataset import term_start
from hub.kit.money import MONTHS_IN_PERIOD
from hub.kit.time import today as utc_today
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
from hub.models.enums import (
    AssetKind,
    BillingPeriod,
    ClientStatus,
    MailProvider,
    Payer,
    RecordSource,
    RenewalType,
    ServiceTier,
    SubscriptionKind,
    SubscriptionStatus,
    TermRenewedBy,
    VendorCategory,
    WarrantySource,
)
from hub.settings import normalise_database_url, sync_database_url

Scale = Literal["small", "tenth", "half", "large"]
Progress = Callable[[str, int, int], None]

BATCH_SIZE = 5_000
BENCH_SLUG = "bench-large-client"
# The benchmark fetches this client's spend report; at both scales it owns exactly this
# many subscriptions so small-scale runs exercise the same query shape.
BENCH_SUBSCRIPTIONS = 300
VENDOR_COUNT = 60
SQLITE_BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class ScaleSpec:
    clients: int
    subscriptions: int
    assets: int
    domains: int


SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec(clients=50, subscriptions=750, assets=2_500, domains=500),
    # 1x / 5x / 10x of the same mix: how a cost grows with the data (tests/bench/bench_api.py
    # --growth). The bench client keeps its 300 subscriptions at every scale.
    "tenth": ScaleSpec(clients=200, subscriptions=3_000, assets=10_000, domains=2_000),
    "half": ScaleSpec(clients=1_000, subscriptions=15_000, assets=50_000, domains=10_000),
    "large": ScaleSpec(clients=2_000, subscriptions=30_000, assets=100_000, domains=20_000),
}


@dataclass
class SeedSummary:
    scale: str
    clients: int = 0
    vendors_created: int = 0
    vendor_accounts: int = 0
    subscriptions: int = 0
    subscription_terms: int = 0
    assets: int = 0
    warranties: int = 0
    domains: int = 0
    contacts: int = 0
    seconds: float = 0.0


def seed_slug(number: int) -> str:
    return f"seed-{number:05d}"


def seed_database(
    sync_url: str,
    scale: Scale,
    *,
    today: date | None = None,
    progress: Progress | None = None,
    seed: int = 7,
) -> SeedSummary:
    """Fill an empty (migrated) database with synthetic clients; see the module docstring.

    Raises ValueError when the seed clients already exist.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale '{scale}': choose one of {sorted(SCALES)}")
    started = time.perf_counter()
    engine = _engine(sync_url)
    try:
        # A writer from the first statement: on SQLite this is BEGIN IMMEDIATE, so the
        # read-then-write below queues behind a running app instead of failing busy.
        with engine.execution_options(**WRITE_OPTIONS).begin() as conn:
            _refuse_if_seeded(conn)
            writer = _Writer(conn, progress)
            generator = _Generator(SCALES[scale], random.Random(seed), today or utc_today())
            summary = generator.run(writer)
        # A bulk load leaves the planner without statistics (and autovacuum may be off or
        # late): without them PostgreSQL sorts whole windows the indexes could serve. On
        # PostgreSQL VACUUM too: until the visibility map is set, an index-only count
        # reads the table as well (the upcoming page's counts: 20 ms before, 6.4 after).
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE)"))
        else:
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
    finally:
        engine.dispose()
    summary.scale = scale
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


def _engine(url: str) -> Engine:
    # Accept whatever URL form the caller has (async driver, postgres://) and go sync.
    url = sync_database_url(normalise_database_url(url))
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        # Same pragmas as the app (foreign keys on, WAL), so the seed is checked like
        # real writes are.
        configure_sqlite(engine, SQLITE_BUSY_TIMEOUT_MS)
    return engine


def _refuse_if_seeded(conn: Connection) -> None:
    slugs = [seed_slug(1), BENCH_SLUG]
    found = conn.execute(select(Client.slug).where(Client.slug.in_(slugs))).scalars().all()
    if found:
        first = next(slug for slug in slugs if slug in found)
        raise ValueError(
            f"the database already holds seed data (client '{first}' exists); seed an empty database instead"
        )


class _Writer:
    """Batched executemany into one table, reporting progress after every batch."""

    def __init__(self, conn: Connection, progress: Progress | None) -> None:
        self.conn = conn
        self.progress = progress

    def insert(self, model: type[Base], label: str, rows: Iterable[dict[str, Any]], total: int) -> int:
        table = cast(Table, model.__table__)
        done = 0
        iterator = iter(rows)
        while batch := list(islice(iterator, BATCH_SIZE)):
            self.conn.execute(table.insert(), batch)
            done += len(batch)
            if self.progress is not None:
                self.progress(label, done, total)
        return done


# ------------------------------------------------------------------------ catalogue


@dataclass(frozen=True)
class _Product:
    name: str
    kind: SubscriptionKind
    period: BillingPeriod
    unit_cost: Decimal
    renewal: RenewalType
    per_seat: bool = False


_K, _P, _R = SubscriptionKind, BillingPeriod, RenewalType
_D = Decimal

# A few typical products per category; prices are list prices in EUR.
PRODUCTS: dict[VendorCategory, tuple[_Product, ...]] = {
    VendorCategory.isp: (
        _Product("Fibra FTTH 1 Gbps", _K.line, _P.monthly, _D("89.00"), _R.auto_vendor),
        _Product("Linea FWA di backup", _K.line, _P.monthly, _D("39.90"), _R.auto_vendor),
    ),
    VendorCategory.mail_hosting: (
        _Product("Business Standard", _K.licence, _P.monthly, _D("11.70"), _R.auto_vendor, True),
        _Product("Business Basic", _K.licence, _P.yearly, _D("67.20"), _R.auto_vendor, True),
    ),
    VendorCategory.dns_hosting: (
        _Product("DNS Pro", _K.plan, _P.yearly, _D("240.00"), _R.auto_vendor),
    ),
    VendorCategory.registrar: (
        _Product("Registrazione dominio", _K.domain_registration, _P.yearly, _D("12.90"),
                 _R.auto_vendor),
    ),
    VendorCategory.firewall: (
        _Product("UTM Bundle 1 anno", _K.licence, _P.yearly, _D("420.00"), _R.auto_hub),
        _Product("Security Suite 1 anno", _K.licence, _P.yearly, _D("1450.00"), _R.auto_hub),
    ),
    VendorCategory.antivirus: (
        _Product("Endpoint Protection", _K.licence, _P.yearly, _D("35.00"), _R.auto_hub, True),
        _Product("Server Protection", _K.licence, _P.yearly, _D("85.00"), _R.auto_hub, True),
    ),
    VendorCategory.printer: (
        _Product("Noleggio multifunzione", _K.rental, _P.quarterly, _D("145.00"), _R.manual),
        _Product("Pay-per-print colore", _K.contract, _P.quarterly, _D("0.0450"),
                 _R.auto_vendor, True),
    ),
    VendorCategory.hardware: (
        _Product("Supporto 4H server (3 anni)", _K.support, _P.triennial, _D("1890.00"),
                 _R.manual),
        _Product("Estensione garanzia NBD", _K.support, _P.yearly, _D("690.00"), _R.manual),
    ),
    VendorCategory.telephony: (
        _Product("Trunk SIP 4 canali", _K.line, _P.monthly, _D("29.00"), _R.auto_vendor),
        _Product("Licenza PBX per utente", _K.licence, _P.yearly, _D("60.00"),
                 _R.auto_vendor, True),
    ),
    VendorCategory.software: (
        _Product("Canone gestionale", _K.support, _P.yearly, _D("2400.00"), _R.manual),
        _Product("Licenza utente", _K.licence, _P.monthly, _D("18.29"), _R.auto_vendor, True),
    ),
    VendorCategory.backup: (
        _Product("Backup workstation", _K.plan, _P.monthly, _D("6.50"), _R.auto_vendor, True),
        _Product("Backup server VUL", _K.licence, _P.yearly, _D("1180.00"), _R.auto_hub),
    ),
    VendorCategory.cloud: (
        _Product("Consumi cloud", _K.plan, _P.monthly, _D("180.00"), _R.auto_vendor),
        _Product("VPS", _K.hosting, _P.semiannual, _D("132.00"), _R.auto_vendor),
    ),
    VendorCategory.distributor: (
        _Product("Licenze NCE", _K.licence, _P.monthly, _D("20.60"), _R.auto_vendor, True),
        _Product("Rinnovo manutenzione", _K.support, _P.biennial, _D("980.00"), _R.manual),
    ),
    VendorCategory.other: (
        _Product("Servizio", _K.other, _P.yearly, _D("300.00"), _R.manual),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class _Model:
    kind: AssetKind
    manufacturer: str
    model: str
    firmware: tuple[str, ...]
    warranty: str
    years: int
    weight: int


MODELS: tuple[_Model, ...] = (
    _Model(AssetKind.workstation, "Dell", "OptiPlex 7010", (), "ProSupport NBD", 3, 30),
    _Model(AssetKind.workstation, "Lenovo", "ThinkPad T14", (), "Premier Support", 3, 25),
    _Model(AssetKind.workstation, "HP", "EliteBook 840", (), "Care Pack NBD", 3, 15),
    _Model(AssetKind.printer, "Kyocera", "TASKalfa 3554ci", (), "Full service", 5, 5),
    _Model(AssetKind.ap, "Ubiquiti", "UniFi U6 Pro", ("7.1.66", "6.6.55"), "Standard", 2, 6),
    _Model(AssetKind.switch, "HPE", "Aruba CX 6100", ("10.13", "10.10"), "Lifetime", 5, 5),
    _Model(AssetKind.server, "Dell", "PowerEdge R750", ("iDRAC 7.00",), "ProSupport Plus 4H",
           3, 4),
    _Model(AssetKind.server, "HPE", "ProLiant DL380 Gen10 Plus", ("iLO 6 1.59",),
           "Tech Care Essential", 3, 3),
    _Model(AssetKind.firewall, "Fortinet", "FortiGate 60F", ("v7.4.5", "v7.2.10", "v6.4.9"),
           "FortiCare Premium", 1, 3),
    _Model(AssetKind.firewall, "WatchGuard", "Firebox T45", ("v12.10.3", "v12.5.9"),
           "Standard Support", 1, 1),
    _Model(AssetKind.nas, "Synology", "RS1221+", ("DSM 7.2.1", "DSM 6.2.4"),
           "Extended Warranty", 5, 1),
    _Model(AssetKind.ups, "APC", "Smart-UPS 1500", (), "Advantage Ultra", 3, 1),
    _Model(AssetKind.pbx, "Wildix", "WMS Appliance", ("6.05",), "Hardware", 2, 1),
)  # fmt: skip
_MODEL_WEIGHTS = [m.weight for m in MODELS]


def _vendor_catalogue() -> list[VendorSpec]:
    """The demo vendors plus synthetic ones up to VENDOR_COUNT, every category covered.

    Reusing the demo's names means a seeded database and the demo share one catalogue
    (vendor names are unique) instead of colliding.
    """
    specs = list(VENDORS)
    categories = list(VendorCategory)
    for n in range(1, VENDOR_COUNT - len(specs) + 1):
        category = categories[(n - 1) % len(categories)]
        specs.append(
            VendorSpec(f"seed{n:02d}", f"Seed {category.value} vendor {n:02d}", category, 8,
                       False, False, f"SV{n:02d}", f"Account Manager {n:02d}")
        )  # fmt: skip
    return specs


# ------------------------------------------------------------------------ generator


@dataclass
class _ClientPlan:
    id: uuid.UUID
    number: int
    slug: str
    subscriptions: int
    assets: int
    domains: int
    # vendor index -> account id, and the accounts the domains point at.
    accounts: dict[int, uuid.UUID] = field(default_factory=dict)
    registrar: uuid.UUID | None = None
    dns_host: uuid.UUID | None = None
    mail_host: uuid.UUID | None = None
    mail_provider: MailProvider = MailProvider.other


class _Generator:
    def __init__(self, spec: ScaleSpec, rng: random.Random, today: date) -> None:
        self.spec = spec
        self.rng = rng
        self.today = today
        self.now = datetime.now(UTC)
        self.vendors = _vendor_catalogue()
        self.vendor_ids: list[uuid.UUID] = []
        self.by_category: dict[VendorCategory, list[int]] = {}
        for index, vendor in enumerate(self.vendors):
            self.by_category.setdefault(vendor.category, []).append(index)
        self.clients: list[_ClientPlan] = []

    def uid(self) -> uuid.UUID:
        # Seeded ids: the same seed gives the same database, byte for byte.
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def stamps(self) -> dict[str, Any]:
        return {"created_at": self.now, "updated_at": self.now, "version": 1}

    def run(self, writer: _Writer) -> SeedSummary:
        summary = SeedSummary(scale="")
        summary.vendors_created = self._vendors(writer)
        self._plan_clients()
        summary.clients = writer.insert(
            Client, "clients", map(self._client_row, self.clients), len(self.clients)
        )
        summary.contacts = writer.insert(
            Contact, "contacts", map(self._contact_row, self.clients), len(self.clients)
        )
        accounts = list(self._account_rows())
        summary.vendor_accounts = writer.insert(VendorAccount, "vendor accounts", accounts, len(accounts))
        summary.subscriptions, summary.subscription_terms = self._subscriptions(writer)
        summary.assets, summary.warranties = self._assets(writer)
        summary.domains = writer.insert(Domain, "domains", self._domain_rows(), self.spec.domains)
        return summary

    # -- vendors

    def _vendors(self, writer: _Writer) -> int:
        names = [v.name for v in self.vendors]
        existing = dict(
            writer.conn.execute(select(Vendor.name, Vendor.id).where(Vendor.name.in_(names))).all()
        )
        rows = []
        for index, spec in enumerate(self.vendors):
            vendor_id = existing.get(spec.name) or self.uid()
            self.vendor_ids.append(vendor_id)
            if spec.name not in existing:
                rows.append(self._vendor_row(vendor_id, spec, index))
        return writer.insert(Vendor, "vendors", rows, len(rows))

    def _vendor_row(self, vendor_id: uuid.UUID, spec: VendorSpec, index: int) -> dict[str, Any]:
        return {
            "id": vendor_id,
            "name": spec.name,
            "category": spec.category,
            "website": f"https://www.{spec.key}.example.com",
            "support_channels": support_channels(spec, index),
            "default_response_sla_hours": spec.sla_hours,
            "escalation_levels": escalation_levels(spec),
            "notes": "",
            **self.stamps(),
        }

    # -- clients

    def _plan_clients(self) -> None:
        spec, rng = self.spec, self.rng
        others = spec.clients - 1
        subscriptions = _allocate(spec.subscriptions - BENCH_SUBSCRIPTIONS, others, rng)
        subscriptions.append(BENCH_SUBSCRIPTIONS)
        assets = _allocate(spec.assets, spec.clients, rng)
        domains = _allocate(spec.domains, spec.clients, rng)
        for i in range(spec.clients):
            number = i + 1
            slug = BENCH_SLUG if i == others else seed_slug(number)
            plan = _ClientPlan(self.uid(), number, slug, subscriptions[i], assets[i], domains[i])
            self._choose_accounts(plan)
            self.clients.append(plan)

    def _choose_accounts(self, plan: _ClientPlan) -> None:
        rng = self.rng
        registrar = rng.choice(self.by_category[VendorCategory.registrar])
        dns = rng.choice(self.by_category[VendorCategory.dns_hosting])
        mail = self._mail_vendor()
        chosen = {registrar, dns, mail}
        wanted = min(len(self.vendors), 3 + math.ceil(plan.subscriptions / 3))
        chosen.update(rng.sample(range(len(self.vendors)), wanted - len(chosen)))
        plan.accounts = {index: self.uid() for index in sorted(chosen)}
        plan.registrar, plan.dns_host = plan.accounts[registrar], plan.accounts[dns]
        plan.mail_host = plan.accounts[mail]
        plan.mail_provider = {
            "microsoft365": MailProvider.microsoft365,
            "google": MailProvider.google_workspace,
        }.get(self.vendors[mail].key, MailProvider.other)

    def _mail_vendor(self) -> int:
        pool = self.by_category[VendorCategory.mail_hosting]
        keys = [self.vendors[i].key for i in pool]
        weights = [60 if k == "microsoft365" else 30 if k == "google" else 10 for k in keys]
        return self.rng.choices(pool, weights)[0]

    def _client_row(self, plan: _ClientPlan) -> dict[str, Any]:
        rng = self.rng
        status = rng.choices(
            [ClientStatus.active, ClientStatus.onboarding, ClientStatus.archived], [95, 3, 2]
        )[0]
        if plan.slug == BENCH_SLUG:
            status = ClientStatus.active
        tier = rng.choices(list(ServiceTier), [50, 35, 15])[0]
        return {
            "id": plan.id,
            "name": f"Seed Client {plan.number:05d} S.r.l.",
            "slug": plan.slug,
            "status": status,
            "tier": tier,
            "timezone": "Europe/Rome",
            "default_currency": "EUR",
            "owner_user_id": None,
            "notes": "",
            "archived_at": self.now if status == ClientStatus.archived else None,
            **self.stamps(),
        }

    def _contact_row(self, plan: _ClientPlan) -> dict[str, Any]:
        return {
            "id": self.uid(),
            "client_id": plan.id,
            "vendor_id": None,
            "name": f"Referente {plan.number:05d}",
            "email": f"admin@c{plan.number:05d}.example.com",
            "phone": f"+39 02 0002 {plan.number % 10_000:04d}",
            "roles": ["primary", "billing", "authorised_requester"],
            "escalation_level": None,
            "notes": "",
            **self.stamps(),
        }

    def _account_rows(self) -> Iterator[dict[str, Any]]:
        for plan in self.clients:
            for index, account_id in plan.accounts.items():
                vendor = self.vendors[index]
                yield {
                    "id": account_id,
                    "client_id": plan.id,
                    "vendor_id": self.vendor_ids[index],
                    "account_number": f"SEED-{plan.number:05d}-{index:03d}",
                    "contract_number": f"{vendor.account_prefix}-{plan.number:05d}",
                    "support_pin_encrypted": None,
                    "support_pin_changed_at": None,
                    "account_holder": f"Seed Client {plan.number:05d} S.r.l.",
                    "authorised_by": f"Referente {plan.number:05d}",
                    "notice_email": f"admin@c{plan.number:05d}.example.com",
                    "external_ref": None,
                    "notes": "",
                    **self.stamps(),
                }

    # -- subscriptions and their initial terms

    def _subscriptions(self, writer: _Writer) -> tuple[int, int]:
        subscriptions: list[dict[str, Any]] = []
        terms: list[dict[str, Any]] = []
        for plan in self.clients:
            accounts = list(plan.accounts.items())
            for _ in range(plan.subscriptions):
                row = self._subscription_row(plan, *self.rng.choice(accounts))
                subscriptions.append(row)
                terms.append(self._term_row(row))
        total = writer.insert(Subscription, "subscriptions", subscriptions, len(subscriptions))
        writer.insert(SubscriptionTerm, "subscription terms", terms, len(terms))
        return total, len(terms)

    def _subscription_row(
        self, plan: _ClientPlan, vendor_index: int, account_id: uuid.UUID
    ) -> dict[str, Any]:
        rng = self.rng
        vendor = self.vendors[vendor_index]
        product = rng.choice(PRODUCTS[vendor.category])
        currency = rng.choices(["EUR", "USD", "CHF"], [96, 3, 1])[0]
        payer = rng.choices(list(Payer), [40, 35, 25])[0]
        unit_cost = _vary(product.unit_cost, rng)
        price = None
        if payer == Payer.msp_resold:
            price = (unit_cost * _D(rng.choice(["1.15", "1.20", "1.30"]))).quantize(_D("0.01"))
        starts_on, ends_on = self._term_dates(product.period)
        # The benchmark's client keeps all 300 lines in its spend report.
        cancelled = rng.random() < 0.01 and plan.slug != BENCH_SLUG
        return {
            "id": self.uid(),
            "client_id": plan.id,
            "vendor_account_id": account_id,
            "category": vendor.category,
            "kind": product.kind,
            "product": f"{vendor.name} {product.name}",
            "sku": f"{vendor.account_prefix}-{product.kind.value[:3].upper()}",
            "quantity": rng.randint(1, 150) if product.per_seat else 1,
            "unit_cost": unit_cost,
            "client_unit_price": price,
            "currency": currency,
            "billing_period": product.period,
            "payer": payer,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "renewal_type": product.renewal,
            "notice_days": rng.choice([0, 30, 60, 90]),
            "renewal_policy": {},
            "status": SubscriptionStatus.cancelled if cancelled else SubscriptionStatus.active,
            "cancelled_at": self.now if cancelled else None,
            "source": RecordSource.manual,
            "connection_id": None,
            "external_id": None,
            "last_synced_at": None,
            "missing_since": None,
            "notes": "",
            **self.stamps(),
        }

    def _term_dates(self, period: BillingPeriod) -> tuple[date, date]:
        # Mostly due within the year (what the renewal views page through), a tail of
        # multi-year terms, and some just lapsed.
        rng = self.rng
        days = rng.randint(-30, 365) if rng.random() < 0.85 else rng.randint(366, 1095)
        ends_on = self.today + timedelta(days=days)
        return term_start(ends_on, max(12, MONTHS_IN_PERIOD[period])), ends_on

    def _term_row(self, subscription: dict[str, Any]) -> dict[str, Any]:
        return {
            "subscription_id": subscription["id"],
            "starts_on": subscription["starts_on"],
            "ends_on": subscription["ends_on"],
            "quantity": subscription["quantity"],
            "unit_cost": subscription["unit_cost"],
            "currency": subscription["currency"],
            "renewed_by": TermRenewedBy.initial,
            "renewal_id": None,
            "note": "",
            "created_at": self.now,
        }

    # -- assets and warranties

    def _assets(self, writer: _Writer) -> tuple[int, int]:
        assets: list[dict[str, Any]] = []
        warranties: list[dict[str, Any]] = []
        serial = 0
        for plan in self.clients:
            support = [
                account_id
                for index, account_id in plan.accounts.items()
                if self.vendors[index].category
                in (VendorCategory.hardware, VendorCategory.firewall, VendorCategory.printer)
            ]
            models = self.rng.choices(MODELS, _MODEL_WEIGHTS, k=plan.assets)
            for n, model in enumerate(models, start=1):
                serial += 1
                asset = self._asset_row(plan, model, n, serial, support)
                assets.append(asset)
                warranties.append(self._warranty_row(asset, model))
        total = writer.insert(Asset, "assets", assets, len(assets))
        writer.insert(Warranty, "warranties", warranties, len(warranties))
        return total, len(warranties)

    def _asset_row(
        self, plan: _ClientPlan, model: _Model, n: int, serial: int, support: list[uuid.UUID]
    ) -> dict[str, Any]:
        rng = self.rng
        account = rng.choice(support) if support and rng.random() < 0.3 else None
        return {
            "id": self.uid(),
            "client_id": plan.id,
            "kind": model.kind,
            "name": f"{model.kind.value.upper()}-{n:04d}",
            "manufacturer": model.manufacturer,
            "model": model.model,
            # Unique across the whole seed, and never shaped like a demo serial.
            "serial": f"SEED{serial:08d}",
            "firmware_version": rng.choice(model.firmware) if model.firmware else None,
            "management_address": None,
            "vendor_account_id": account,
            "location": None,
            "source": RecordSource.manual,
            "connection_id": None,
            "external_id": None,
            "last_synced_at": None,
            "notes": "",
            **self.stamps(),
        }

    def _warranty_row(self, asset: dict[str, Any], model: _Model) -> dict[str, Any]:
        # A four-year window: out-of-warranty kit (a year back) through three years out.
        ends_on = self.today + timedelta(days=self.rng.randint(-365, 1095))
        return {
            "id": self.uid(),
            "asset_id": asset["id"],
            "client_id": asset["client_id"],
            "level": model.warranty,
            "starts_on": term_start(ends_on, model.years * 12),
            "ends_on": ends_on,
            "source": WarrantySource.manual,
            "last_checked_at": None,
            "notes": "",
            **self.stamps(),
        }

    # -- domains

    def _domain_rows(self) -> Iterator[dict[str, Any]]:
        selectors = {
            MailProvider.microsoft365: ["selector1", "selector2"],
            MailProvider.google_workspace: ["google"],
        }
        for plan in self.clients:
            for n in range(1, plan.domains + 1):
                yield {
                    "id": self.uid(),
                    "client_id": plan.id,
                    "name": f"c{plan.number:05d}-d{n}.example.com",
                    "registrar_account_id": plan.registrar,
                    "dns_host_account_id": plan.dns_host,
                    "mail_host_account_id": plan.mail_host,
                    "expires_on": self.today + timedelta(days=self.rng.randint(-30, 365)),
                    "expiry_checked_at": None,
                    "expected_mail_provider": plan.mail_provider,
                    "dkim_selectors": selectors.get(plan.mail_provider, []),
                    **self.stamps(),
                }


def _allocate(total: int, buckets: int, rng: random.Random, minimum: int = 1) -> list[int]:
    """Split `total` into `buckets` heavy-tailed counts (a few big clients, many small),
    each at least `minimum`, summing exactly to `total`."""
    if buckets == 0:
        return []
    spare = total - minimum * buckets
    if spare < 0:
        raise ValueError(f"cannot give {buckets} clients {minimum} of {total} each")
    # Pareto weights, capped so no single client swallows the dataset.
    weights = [min(rng.paretovariate(1.3), 40.0) for _ in range(buckets)]
    scale = spare / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(buckets), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in by_remainder[: spare - sum(counts)]:
        counts[i] += 1
    return [c + minimum for c in counts]


def _vary(base: Decimal, rng: random.Random) -> Decimal:
    """A list price moved by up to +-20%, on a 4-decimal grid like real price lists."""
    factor = Decimal(rng.randint(80, 120)) / 100
    places = Decimal("0.0001") if base < 1 else Decimal("0.01")
    return (base * factor).quantize(places, rounding=ROUND_HALF_EVEN)
