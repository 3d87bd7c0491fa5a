"""The demo dataset: a realistic MSP with twelve clients, loaded through the ORM.

`load_demo` is idempotent by construction rather than by bookkeeping: vendors are matched
by name and clients by slug, and a client whose slug already exists is skipped whole, so a
second run (or a run after the user edited the demo data) never duplicates or overwrites
anything. Every date is relative to `today`, so the demo always shows expiries "soon".
"""

from __future__ import annotations

import calendar
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.demo.catalogue import (
    CLIENTS,
    CURRENT_FIRMWARE,
    FOREIGN_PRICES,
    MODELS,
    PRODUCTS,
    VENDORS,
    VENDORS_BY_KEY,
    ClientProfile,
    ModelSpec,
    ProductSpec,
    Site,
    account_level,
    escalation_levels,
    sla_levels,
    support_channels,
    vendor_contacts,
)
from hub.kit.time import today as utc_today
from hub.models import (
    Asset,
    Client,
    Contact,
    Domain,
    Endpoint,
    IspLine,
    Subscription,
    SubscriptionTerm,
    Vendor,
    VendorAccount,
    Warranty,
)
from hub.models.enums import (
    AssetKind,
    ClientStatus,
    MailProvider,
    TermRenewedBy,
    TlsMode,
    VendorCategory,
)
from hub.models.line import LineTechnology

SEED = 42
# product key of a line -> technology, Mbps down, Mbps up
LINE_SPECS: dict[str, tuple[LineTechnology, str, str]] = {
    "fastweb.ftth": (LineTechnology.ftth, "1000", "300"),
    "tim.ftth": (LineTechnology.ftth, "2500", "1000"),
    "swisscom.ftth": (LineTechnology.ftth, "1000", "100"),
    "eolo.backup": (LineTechnology.fwa, "100", "20"),
}
CENT = Decimal("0.01")
# Vendors whose renewals the MSP orders at its distributor (hub.demo.routes).
ROUTED_VENDORS = frozenset({"sophos", "fortinet"})
DKIM_SELECTORS: dict[MailProvider, list[str]] = {
    MailProvider.microsoft365: ["selector1", "selector2"],
    MailProvider.google_workspace: ["google"],
}
MAIL_VENDOR: dict[MailProvider, str] = {
    MailProvider.microsoft365: "microsoft365",
    MailProvider.google_workspace: "google",
}
# The MSP keeps every client's zones on Cloudflare (so it can move an MX at night);
# only the better tiers pay for the Pro plan.
DNS_PRODUCT_BY_TIER = {
    "good": "cloudflare.free",
    "better": "cloudflare.pro",
    "best": "cloudflare.pro",
}


@dataclass
class DemoSummary:
    clients_created: int = 0
    clients_skipped: int = 0
    vendors_created: int = 0
    vendors_skipped: int = 0
    vendor_accounts_created: int = 0
    subscriptions_created: int = 0
    terms_created: int = 0
    assets_created: int = 0
    warranties_created: int = 0
    domains_created: int = 0
    domains_skipped: int = 0
    endpoints_created: int = 0
    contacts_created: int = 0
    lines_created: int = 0

    @property
    def created_anything(self) -> bool:
        return any(value for name, value in vars(self).items() if name.endswith("_created"))


@dataclass
class _Rows:
    """Everything to insert, per table, in foreign-key order (see `_TABLE_ORDER`)."""

    vendors: list[Vendor] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    accounts: list[VendorAccount] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    terms: list[SubscriptionTerm] = field(default_factory=list)
    assets: list[Asset] = field(default_factory=list)
    warranties: list[Warranty] = field(default_factory=list)
    domains: list[Domain] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    lines: list[IspLine] = field(default_factory=list)
    domains_skipped: int = 0

    def in_insert_order(self) -> list[list[Any]]:
        return [
            self.vendors,
            self.clients,
            self.contacts,
            self.accounts,
            self.subscriptions,
            self.terms,
            self.assets,
            self.warranties,
            self.domains,
            self.endpoints,
            self.lines,
        ]


async def load_demo(session: AsyncSession, *, today: date | None = None) -> DemoSummary:
    """Add the demo MSP to `session` and flush; the caller commits."""
    today = today or utc_today()
    summary = DemoSummary()
    rows = _Rows()
    vendor_ids = await _vendors(session, rows, summary)
    existing_slugs = await _existing(session, Client.slug, [c.slug for c in CLIENTS])
    all_domains = [name for profile in CLIENTS for name in profile.domains]
    taken_domains = await _existing(session, Domain.name, all_domains)
    for index, profile in enumerate(CLIENTS):
        if profile.slug in existing_slugs:
            summary.clients_skipped += 1
            continue
        _ClientBuilder(profile, index, today, vendor_ids, taken_domains, rows).build()
        summary.clients_created += 1
    _count(rows, summary)
    # One flush per table: the models declare no relationship(), so the order of the
    # INSERTs across tables is made explicit here instead of left to the unit of work.
    for batch in rows.in_insert_order():
        if batch:
            session.add_all(batch)
            await session.flush()
    return summary


async def _existing(session: AsyncSession, column: Any, values: list[str]) -> set[str]:
    result = await session.scalars(select(column).where(column.in_(values)))
    return set(result)


async def _vendors(session: AsyncSession, rows: _Rows, summary: DemoSummary) -> dict[str, uuid.UUID]:
    """Catalogue key -> vendor id, creating only the vendors not yet in the database."""
    names = [spec.name for spec in VENDORS]
    result = await session.execute(select(Vendor.name, Vendor.id).where(Vendor.name.in_(names)))
    by_name: dict[str, uuid.UUID] = {name: vid for name, vid in result}
    ids: dict[str, uuid.UUID] = {}
    for index, spec in enumerate(VENDORS):
        if spec.name in by_name:
            ids[spec.key] = by_name[spec.name]
            summary.vendors_skipped += 1
            continue
        vendor = Vendor(
            id=uuid.uuid4(),
            name=spec.name,
            category=spec.category,
            website=f"https://www.{spec.key}.example.com",
            support_channels=support_channels(spec, index),
            default_response_sla_hours=spec.sla_hours,
            escalation_levels=escalation_levels(spec),
            sla_levels=sla_levels(spec),
            notes="Dati di esempio (demo).",
        )
        rows.vendors.append(vendor)
        ids[spec.key] = vendor.id
        rows.contacts.extend(
            Contact(
                id=uuid.uuid4(),
                vendor_id=vendor.id,
                name=c.name,
                email=c.email,
                phone=c.phone,
                roles=list(c.roles),
                escalation_level=c.escalation_level,
            )
            for c in vendor_contacts(spec, index)
        )
    return ids


def _count(rows: _Rows, summary: DemoSummary) -> None:
    summary.vendors_created = len(rows.vendors)
    summary.vendor_accounts_created = len(rows.accounts)
    summary.subscriptions_created = len(rows.subscriptions)
    summary.terms_created = len(rows.terms)
    summary.assets_created = len(rows.assets)
    summary.warranties_created = len(rows.warranties)
    summary.domains_created = len(rows.domains)
    summary.endpoints_created = len(rows.endpoints)
    summary.contacts_created = len(rows.contacts)
    summary.lines_created = len(rows.lines)
    summary.domains_skipped = rows.domains_skipped


# ------------------------------------------------------------------------ dates


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_start(ends_on: date, term_months: int) -> date:
    """The first day of a term of `term_months` that ends (inclusive) on `ends_on`."""
    return add_months(ends_on + timedelta(days=1), -term_months)


# --------------------------------------------------------------------- per client


@dataclass(frozen=True)
class _Line:
    key: str
    product_key: str
    vendor: str
    quantity: int
    currency: str
    label: str | None = None


class _ClientBuilder:
    """Builds one client's rows. Its random stream is seeded by the slug, so a client's
    data do not depend on which other clients were skipped."""

    def __init__(
        self,
        profile: ClientProfile,
        index: int,
        today: date,
        vendor_ids: dict[str, uuid.UUID],
        taken_domains: set[str],
        rows: _Rows,
    ) -> None:
        self.p = profile
        self.index = index
        self.today = today
        self.vendor_ids = vendor_ids
        self.taken_domains = taken_domains
        self.rows = rows
        self.rng = random.Random(f"{SEED}:{profile.slug}")
        self.client_id = uuid.uuid4()
        self.accounts: dict[str, uuid.UUID] = {}
        self.subscription_ends: dict[str, date | None] = {}
        self.asset_count = 0
        self.authorisers: list[str] = []

    def build(self) -> None:
        self._client()
        self._contacts()
        lines = self._lines()
        self._accounts({line.vendor for line in lines} | self._domain_vendors() | self._distributors(lines))
        for line in lines:
            self._subscription(line)
        self._assets()
        self._domains()
        self._isp_lines()

    # -- client and people

    def _client(self) -> None:
        self.rows.clients.append(
            Client(
                id=self.client_id,
                name=self.p.name,
                slug=self.p.slug,
                status=ClientStatus.active,
                tier=self.p.tier,
                timezone="Europe/Rome",
                default_currency="EUR",
                locale="it",  # Italian businesses: their reports read 1.234,56 and 31/12/2026
                notes=self.p.notes,
            )
        )

    def _email(self, person: str) -> str:
        local = ".".join(part.lower() for part in person.split(" ", 1)).replace(" ", "")
        return f"{local}@{self.p.slug}.example.com"

    def _contacts(self) -> None:
        for n, (person, roles) in enumerate(self.p.contacts, start=1):
            contact_id = uuid.uuid4()
            if "authorised_requester" in roles:
                self.authorisers.append(str(contact_id))
            self.rows.contacts.append(
                Contact(
                    id=contact_id,
                    client_id=self.client_id,
                    name=person,
                    email=self._email(person),
                    phone=f"+39 02 0001 {self.index:02d}{n:02d}",
                    roles=list(roles),
                )
            )

    def _authoriser(self) -> str:
        for person, roles in self.p.contacts:
            if "authorised_requester" in roles:
                return person
        return self.p.contacts[0][0]

    # -- vendor accounts

    def _domain_vendors(self) -> set[str]:
        return {self.p.registrar, "cloudflare", MAIL_VENDOR[self.p.mail]}

    @staticmethod
    def _distributors(lines: list[_Line]) -> set[str]:
        """The MSP buys its clients' Sophos and Fortinet renewals through Pax8 (the hub
        orders them there: hub.demo.routes), so those clients have a Pax8 company too."""
        return {"pax8"} if {line.vendor for line in lines} & ROUTED_VENDORS else set()

    def _accounts(self, vendor_keys: set[str]) -> None:
        for key in sorted(vendor_keys):
            spec = VENDORS_BY_KEY[key]
            account = VendorAccount(
                id=uuid.uuid4(),
                client_id=self.client_id,
                vendor_id=self.vendor_ids[key],
                account_number=f"{spec.account_prefix}-{self.rng.randint(1_000_000, 9_999_999)}",
                contract_number=f"{spec.account_prefix}-C{self.rng.randint(10_000, 99_999)}",
                account_holder=self.p.name,
                authorised_by=self._authoriser(),
                authorised_contact_ids=list(self.authorisers),
                support_level=account_level(spec, self.p.tier),
                notice_email=f"amministrazione@{self.p.slug}.example.com",
                external_ref=self._external_ref(key),
            )
            self.accounts[key] = account.id
            self.rows.accounts.append(account)

    def _external_ref(self, vendor_key: str) -> str | None:
        if vendor_key in ("microsoft365", "azure"):
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))  # tenant id
        if vendor_key == "google":
            return f"C0{self.rng.randint(1_000_000, 9_999_999)}"  # customer id
        return None

    # -- ISP lines

    def _isp_lines(self) -> None:
        """Each site's line (and backup line) as an ISP line: documentation addresses
        (203.0.113.0/24, 198.51.100.0/24 and 192.0.2.0/24), so a block-list or PTR check
        never asks about anyone's real address. The first client's main line probes a
        loopback port nothing listens on: it goes down after three rounds, the outage an
        ISP case is opened from; the others have no probe target (nothing leaves the
        machine)."""
        for n, site in enumerate(self.p.sites):
            k = self.index * 3 + n
            block = f"203.0.113.{8 * k}/29" if k < 32 else f"198.51.100.{8 * (k - 32)}/29"
            self._isp_line(site.isp, site, block, probe=self.index == 0 and n == 0)
            if site.backup_line:
                self._isp_line("eolo.backup", site, f"192.0.2.{10 + k}/32", probe=False)

    def _isp_line(self, product_key: str, site: Site, block: str, *, probe: bool) -> None:
        technology, down, up = LINE_SPECS[product_key]
        product = PRODUCTS[product_key]
        spec = VENDORS_BY_KEY[product.vendor]
        backup = product_key == "eolo.backup"
        self.rows.lines.append(
            IspLine(
                id=uuid.uuid4(),
                client_id=self.client_id,
                vendor_account_id=self.accounts[product.vendor],
                name=f"{site.name} {'backup line' if backup else 'fibre'}",
                circuit_id=f"{spec.account_prefix}-{self.rng.randint(0, 99_999_999):08d}",
                technology=technology,
                bandwidth_down_mbps=Decimal(down),
                bandwidth_up_mbps=Decimal(up),
                address_blocks=[block],
                monthly_cost=FOREIGN_PRICES.get((product_key, site.currency), product.unit_cost),
                cost_currency=site.currency,
                probe_targets=[{"host": "127.0.0.1", "ports": [9]}] if probe else [],
                failures_for_down=3,
            )
        )

    # -- subscriptions

    def _lines(self) -> list[_Line]:
        p = self.p
        lines = self._site_lines()
        lines.extend(self._line(key, key) for key in self._client_product_keys())
        for n, maker in enumerate(p.servers, start=1):
            product_key = "dell.prosupport" if maker == "dell" else "hpe.techcare"
            lines.append(self._line(f"{product_key}:server-{n}", product_key, label=f"server {n}"))
        for name in p.domains:
            tld = name.rsplit(".", 1)[1]
            lines.append(self._line(f"domain:{name}", f"domain.{tld}", vendor=p.registrar,
                                    label=name))  # fmt: skip
        return lines

    def _site_lines(self) -> list[_Line]:
        """Per site: its line (and backup line), the firewall, the printer rental, the trunk."""
        p = self.p
        lines: list[_Line] = []
        multi = len(p.sites) > 1
        for site in p.sites:
            per_site = [site.isp, p.firewall]
            if site.backup_line:
                per_site.insert(1, "eolo.backup")
            if p.printer:
                per_site.append(f"{p.printer}.rental")
            if p.telephony:
                per_site.append("messagenet.trunk")
            for product_key in per_site:
                lines.append(
                    self._line(f"{product_key}:{site.name}", product_key, site.currency,
                               label=site.name if multi else None)
                )  # fmt: skip
        return lines

    def _client_product_keys(self) -> list[str]:
        """The client-wide products: mail, antivirus, DNS, backup, pay-per-print, software."""
        p = self.p
        keys = [*p.mail_products, p.av]
        if p.servers and p.av.startswith("sophos"):
            keys.append("sophos.server")
        keys.append(DNS_PRODUCT_BY_TIER[p.tier.value])
        if p.size == "small":
            keys.append("acronis.cp")
        if p.printer == "kyocera":
            keys.append("kyocera.ppp.colour")
            if p.size != "small":
                keys.append("kyocera.ppp.bw")
        keys.extend(p.software)
        if p.telephony:
            keys.extend(["wildix.licence", "messagenet.traffic"])
        keys.extend(p.extras)
        return keys

    def _line(
        self,
        key: str,
        product_key: str,
        currency: str = "EUR",
        *,
        label: str | None = None,
        vendor: str | None = None,
    ) -> _Line:
        product = PRODUCTS[product_key]
        return _Line(
            key=key,
            product_key=product_key,
            vendor=vendor or product.vendor,
            quantity=self._quantity(product_key, product),
            currency=self.p.currencies.get(product_key, currency),
            label=label,
        )

    def _quantity(self, product_key: str, product: ProductSpec) -> int:
        if product_key == "kyocera.ppp.colour":
            return self.rng.choice([1500, 3000, 4500]) * len(self.p.sites)
        if product_key == "kyocera.ppp.bw":
            return self.rng.choice([8000, 15000]) * len(self.p.sites)
        if product_key == "m365.exo1":
            return max(1, self.p.users // 10)
        if product.per == "user":
            return self.p.users
        if product.per == "device":
            return self.p.devices
        if product.per == "server":
            return len(self.p.servers)
        return 1

    def _subscription(self, line: _Line) -> None:
        product = PRODUCTS[line.product_key]
        unit_cost = FOREIGN_PRICES.get((line.product_key, line.currency), product.unit_cost)
        starts_on, ends_on = self._term(line.key, product)
        name = f"{product.product} - {line.label}" if line.label else product.product
        if line.product_key.startswith("domain."):
            name = f"Registrazione dominio {line.label}"
        subscription = Subscription(
            id=uuid.uuid4(),
            client_id=self.client_id,
            vendor_account_id=self.accounts[line.vendor],
            category=product.category or VENDORS_BY_KEY[line.vendor].category,
            kind=product.kind,
            product=name,
            sku=product.sku,
            quantity=line.quantity,
            unit_cost=unit_cost,
            client_unit_price=_client_price(unit_cost, product),
            currency=line.currency,
            billing_period=product.billing_period,
            payer=product.payer,
            starts_on=starts_on,
            ends_on=ends_on,
            renewal_type=product.renewal_type,
            notice_days=product.notice_days,
        )
        self.subscription_ends[line.key] = ends_on
        self.rows.subscriptions.append(subscription)
        self.rows.terms.append(
            SubscriptionTerm(
                subscription_id=subscription.id,
                starts_on=starts_on,
                ends_on=ends_on,
                quantity=line.quantity,
                unit_cost=unit_cost,
                currency=line.currency,
                renewed_by=TermRenewedBy.initial,
                note="Termine iniziale (demo).",
            )
        )

    def _term(self, key: str, product: ProductSpec) -> tuple[date, date | None]:
        if product.open_ended:
            return self.today - timedelta(days=self.rng.randint(30, 900)), None
        ends_on = self.today + timedelta(days=self._days_to_end(key, product))
        return term_start(ends_on, product.term_months), ends_on

    def _days_to_end(self, key: str, product: ProductSpec) -> int:
        forced = self.p.ends.get(key)
        if forced is not None:
            return forced
        if product.term_months <= 3:
            # Pay-as-you-go: the current period ends within the period.
            return self.rng.randint(1, product.term_months * 30)
        if product.term_months >= 24 and self.rng.random() < 0.25:
            return self.rng.randint(366, 900)
        return self.rng.randint(3, 365)

    # -- assets

    def _assets(self) -> None:
        p = self.p
        switches = {"small": ["switch.small"], "medium": ["switch.core", "switch.small"],
                    "large": ["switch.core", "switch.core"]}[p.size]  # fmt: skip
        aps = {"small": 1, "medium": 2, "large": 3}[p.size]
        for site in p.sites:
            self._asset(f"firewall-{site.name}", p.firewall, f"Firewall {site.name}", site.name)
            for n, model in enumerate(switches, start=1):
                self._asset(f"switch-{site.name}-{n}", model, f"Switch {site.name} {n}", site.name)
            for n in range(1, aps + 1):
                self._asset(f"ap-{site.name}-{n}", "ap", f"Access point {site.name} {n}", site.name)
            self._asset(f"ups-{site.name}", "ups", f"UPS rack {site.name}", site.name)
            if p.printer:
                self._asset(f"printer-{site.name}", p.printer, f"Multifunzione {site.name}",
                            site.name)  # fmt: skip
        head_office = p.sites[0].name
        for n, maker in enumerate(p.servers, start=1):
            self._asset(f"server-{n}", f"{maker}.server", f"SRV{n:02d}", head_office)
        self._asset("nas", "nas", "NAS backup", head_office)
        if p.telephony:
            self._asset("pbx", "pbx", "Centralino", head_office)
        workstations = {"small": 3, "medium": 5, "large": 6}[p.size]
        for n in range(1, workstations + 1):
            model = "workstation.dell" if n % 2 else "workstation.lenovo"
            self._asset(f"ws-{n}", model, f"PC{n:03d}", head_office)

    def _asset(self, key: str, model_key: str, name: str, site: str) -> None:
        model = MODELS[model_key]
        self.asset_count += 1
        number = self.asset_count
        asset = Asset(
            id=uuid.uuid4(),
            client_id=self.client_id,
            kind=model.kind,
            name=name,
            manufacturer=model.manufacturer,
            model=model.model,
            # Unique per manufacturer across the dataset, and never like a seed serial.
            serial=f"DEMO{model.code}{self.index:02d}{number:03d}",
            firmware_version=self._firmware(model),
            management_address=self._address(model, number),
            vendor_account_id=self.accounts.get(model.vendor) if model.vendor else None,
            location=site,
        )
        self.rows.assets.append(asset)
        self._warranty(key, asset, model)

    def _firmware(self, model: ModelSpec) -> str | None:
        if model.kind == AssetKind.firewall:
            return self.p.firmware
        if model.kind in (AssetKind.server, AssetKind.nas, AssetKind.switch, AssetKind.ap):
            return {"Dell": "iDRAC 7.00.00.171", "HPE": "iLO 6 1.59", "Synology": "DSM 7.2.1",
                    "Ubiquiti": "7.1.66"}.get(model.manufacturer)  # fmt: skip
        return None

    def _address(self, model: ModelSpec, number: int) -> str | None:
        # Documentation ranges only (RFC 5737): stored as text, never contacted.
        host = (self.index * 20 + number) % 250 + 1
        if model.kind == AssetKind.firewall:
            return f"https://198.51.100.{host}:10443"
        if model.kind in (AssetKind.server, AssetKind.nas):
            return f"https://192.0.2.{host}"
        if model.kind in (AssetKind.switch, AssetKind.ap, AssetKind.ups, AssetKind.pbx):
            return f"203.0.113.{host}"
        return None

    def _warranty(self, key: str, asset: Asset, model: ModelSpec) -> None:
        forced = self.p.warranty_ends.get(key)
        days = forced if forced is not None else self.rng.randint(20, 1000)
        ends_on = self.today + timedelta(days=days)
        self.rows.warranties.append(
            Warranty(
                id=uuid.uuid4(),
                asset_id=asset.id,
                client_id=self.client_id,
                level=model.warranty_level,
                starts_on=term_start(ends_on, model.warranty_years * 12),
                ends_on=ends_on,
            )
        )

    # -- domains

    def _domains(self) -> None:
        mail_vendor = MAIL_VENDOR[self.p.mail]
        for n, name in enumerate(self.p.domains):
            if name in self.taken_domains:
                self.rows.domains_skipped += 1  # entered by hand meanwhile: theirs wins
                continue
            domain = Domain(
                id=uuid.uuid4(),
                client_id=self.client_id,
                name=name,
                registrar_account_id=self.accounts[self.p.registrar],
                dns_host_account_id=self.accounts["cloudflare"],
                mail_host_account_id=self.accounts[mail_vendor],
                expires_on=self.subscription_ends[f"domain:{name}"],
                expected_mail_provider=self.p.mail,
                dkim_selectors=list(DKIM_SELECTORS[self.p.mail]),
            )
            self.rows.domains.append(domain)
            if n == 0:
                self._endpoints(domain)

    def _endpoints(self, domain: Domain) -> None:
        targets = [(f"www.{domain.name}", 443, TlsMode.direct)]
        if self.p.tier.value != "good":
            targets.append((f"vpn.{domain.name}", 443, TlsMode.direct))
        if self.p.smtp_relay:
            targets.append((f"mail.{domain.name}", 25, TlsMode.smtp_starttls))
        for host, port, mode in targets:
            self.rows.endpoints.append(
                Endpoint(
                    id=uuid.uuid4(),
                    client_id=self.client_id,
                    domain_id=domain.id,
                    host=host,
                    port=port,
                    sni=host,
                    tls_mode=mode,
                    # 90-day ACME certificates: always something due within three months.
                    expires_on=self.today + timedelta(days=self.rng.randint(5, 89)),
                )
            )


def _client_price(unit_cost: Decimal, product: ProductSpec) -> Decimal | None:
    if product.markup is None:
        return None
    return (unit_cost * product.markup).quantize(CENT, rounding=ROUND_HALF_EVEN)


def demo_categories() -> set[VendorCategory]:
    """The vendor categories the demo catalogue covers."""
    return {spec.category for spec in VENDORS}


def demo_tables() -> list[str]:
    """The tables `load_demo` writes to (for tests and the CLI's report)."""
    return [
        m.__tablename__
        for m in (Vendor, Client, Contact, VendorAccount, Subscription, SubscriptionTerm,
                  Asset, Warranty, Domain, Endpoint, IspLine)
    ]  # fmt: skip


__all__ = ["CURRENT_FIRMWARE", "DemoSummary", "demo_categories", "demo_tables", "load_demo"]
