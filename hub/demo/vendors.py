"""The demo's vendors: each adapter's simulator served in the demo world, seeded with the
demo clients' own data, a connection to each, and one sync of every connection before
the API comes up, so a newcomer sees licences, seats, firmware, warranties and DNS
records synced from (simulated) vendors without a packet leaving the machine.

What the simulators hold is derived from the database, never the reverse: the tenants
and companies carry the ids the demo clients' vendor accounts hold (`external_ref`, set
here once when it is empty, to a value derived from the client's slug), Pax8's
subscriptions are the hub's own Pax8 subscriptions (with their current end dates, so a
renewal confirmed by an earlier demo stays consistent), Dell knows the demo's Dell
service tags and each FortiGate reports the firmware the hub has for it. A few
differences are planted on purpose, so the demo shows what sync is for:

- Colombo Trasporti uses more Sophos seats than it pays for;
- Pax8 bills Greco Alimentari five Microsoft 365 seats more than the hub knows about;
- Dell extended the warranty of one of Colombo Trasporti's servers, which the hub shows
  as ending within weeks.

Connections are found again by (adapter, account), so a second demo creates none; their
configuration is updated to the world's new ports. When the world stops they are
disabled (as the demo checks are paused), so `hub serve` never calls a dead port; the
next `hub demo` enables them again.

The SNMP printers are not simulated: `snmpsim` is one subprocess per printer on UDP,
heavier than the rest of the world together, for page counters the demo does not need.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.routing import Mount

from adapters.cloudflare_dns.simulator import CloudflareSimulator
from adapters.dell_techdirect.simulator import DellSimulator
from adapters.fortinet_forticare.simulator import FortiCareSimulator
from adapters.fortinet_fortios.simulator import FortiosSimulator
from adapters.microsoft_graph.simulator import MicrosoftGraphSimulator
from adapters.pax8.simulator import Pax8Simulator, SimCompany, SimProduct, SimSubscription
from adapters.sophos_central.simulator import SophosCentralSimulator
from hub.audit.service import record
from hub.auth.principal import SYSTEM
from hub.connection.schemas import ConnectionCreate, ConnectionUpdate
from hub.connection.service import connections as connection_service
from hub.demo.catalogue import CLIENTS, CURRENT_FIRMWARE, VENDORS
from hub.demo.world import AsgiService, DemoWorld
from hub.demo.zones import WorldPlan
from hub.models import Asset, Client, Connection, Domain, Subscription, Vendor, VendorAccount, Warranty
from hub.models.enums import AuditAction, BillingPeriod, ConnectionScope, SubscriptionStatus, WarrantySource
from hub.models.sync import Discrepancy, TenantMapping, VendorRecord
from hub.runtime import HubRuntime
from hub.sync import service as sync_service

DEMO_NAMESPACE = uuid.UUID("5d1f0c3a-8b47-4e2d-9a61-de3000000005")
# Demo world services, one per simulator (the FortiGates share one, each under its serial).
SOPHOS, PAX8, GRAPH, DELL, FORTIOS, FORTICARE, CLOUDFLARE = (
    "sophos_central",
    "pax8",
    "microsoft_graph",
    "dell_techdirect",
    "fortinet_fortios",
    "fortinet_forticare",
    "cloudflare_dns",
)
SERVICES = (SOPHOS, PAX8, GRAPH, DELL, FORTIOS, FORTICARE, CLOUDFLARE)
# The differences the demo plants (see the module's note).
SOPHOS_OVERUSE = ("colombo-trasporti", 4)
PAX8_EXTRA_SEATS = ("greco-alimentari", 5)
DELL_EXTENDED = ("colombo-trasporti", "SRV01")
# Pax8 products of the demo (the simulator's catalogue has no Business Standard).
PAX8_STANDARD = "6f1c0b52-3e0a-4a77-9d0b-1a2b3c4d5e07"
PAX8_PRODUCT_BY_SKU = {
    "CFQ7TTC0LCHC": "6f1c0b52-3e0a-4a77-9d0b-1a2b3c4d5e01",  # Business Premium
    "CFQ7TTC0LH18": "6f1c0b52-3e0a-4a77-9d0b-1a2b3c4d5e02",  # Business Basic
    "SVRCIXA1CSAA": "6f1c0b52-3e0a-4a77-9d0b-1a2b3c4d5e03",  # Sophos for Server
    "KEEPER-BUS": "6f1c0b52-3e0a-4a77-9d0b-1a2b3c4d5e05",  # Keeper Business
    "CFQ7TTC0LH16": "6f1c0b52-3e0a-4a77-9d0b-1a2b3c4d5e06",  # Exchange Online (Plan 1)
    "CFQ7TTC0LDPB": PAX8_STANDARD,
}
# Microsoft's SKU part numbers of the demo's Microsoft 365 products.
GRAPH_SKUS = {
    "CFQ7TTC0LH18": "O365_BUSINESS_ESSENTIALS",
    "CFQ7TTC0LDPB": "O365_BUSINESS_PREMIUM",
    "CFQ7TTC0LCHC": "SPB",
    "CFQ7TTC0LH16": "EXCHANGESTANDARD",
    "CFQ7TTC0HCHC": "Microsoft_Defender_for_Business",
}
DELL_LEVELS = {
    "server": ("PS4H", "ProSupport Plus for Infrastructure - 4 Hour Mission Critical"),
    "workstation": ("ND", "ProSupport Next Business Day Onsite"),
}
VENDOR_KEYS = {spec.name: spec.key for spec in VENDORS}


def demo_ref(*parts: str) -> str:
    """A stable id for a demo object at a vendor: the same on every run and machine."""
    return str(uuid.uuid5(DEMO_NAMESPACE, "/".join(parts)))


def cloudflare_account(slug: str) -> str:
    return uuid.uuid5(DEMO_NAMESPACE, f"cloudflare/{slug}").hex


# --- what the database holds ---------------------------------------------------------------


@dataclass
class SubFacts:
    id: uuid.UUID
    product: str
    sku: str | None
    quantity: int
    unit_cost: Decimal
    currency: str
    starts_on: date
    ends_on: date | None
    external_id: str | None
    active: bool
    yearly: bool


@dataclass
class AccountFacts:
    id: uuid.UUID
    vendor: str  # catalogue key
    external_ref: str | None
    subscriptions: list[SubFacts] = field(default_factory=list)


@dataclass
class AssetFacts:
    id: uuid.UUID
    name: str
    serial: str
    manufacturer: str
    model: str | None
    kind: str
    firmware: str | None
    location: str | None
    warranty: tuple[date, date] | None


@dataclass
class ClientFacts:
    id: uuid.UUID
    slug: str
    name: str
    domains: list[str] = field(default_factory=list)
    accounts: dict[str, AccountFacts] = field(default_factory=dict)
    assets: list[AssetFacts] = field(default_factory=list)


async def gather(session: AsyncSession) -> dict[str, ClientFacts]:
    """The demo clients as the database has them now (clients the user deleted are
    simply absent)."""
    order = {profile.slug: n for n, profile in enumerate(CLIENTS)}
    rows = await session.execute(
        select(Client.id, Client.slug, Client.name).where(Client.slug.in_(list(order)))
    )
    clients = {slug: ClientFacts(cid, slug, name) for cid, slug, name in rows}
    by_id = {c.id: c for c in clients.values()}
    for name, client_id in await session.execute(
        select(Domain.name, Domain.client_id).where(Domain.client_id.in_(list(by_id))).order_by(Domain.name)
    ):
        by_id[client_id].domains.append(name)
    for profile in CLIENTS:  # the client's first domain is its main one
        if profile.slug in clients:
            known = clients[profile.slug].domains
            clients[profile.slug].domains = [d for d in profile.domains if d in known] + [
                d for d in known if d not in profile.domains
            ]
    accounts: dict[uuid.UUID, AccountFacts] = {}
    for account_id, client_id, ref, vendor_name in await session.execute(
        select(VendorAccount.id, VendorAccount.client_id, VendorAccount.external_ref, Vendor.name)
        .join(Vendor, Vendor.id == VendorAccount.vendor_id)
        .where(VendorAccount.client_id.in_(list(by_id)))
        .order_by(VendorAccount.created_at, VendorAccount.id)
    ):
        key = VENDOR_KEYS.get(vendor_name)
        if key is not None and key not in by_id[client_id].accounts:
            accounts[account_id] = by_id[client_id].accounts[key] = AccountFacts(account_id, key, ref)
    subs = await session.execute(
        select(Subscription)
        .where(Subscription.vendor_account_id.in_(list(accounts)))
        .order_by(Subscription.product, Subscription.id)
    )
    for sub in subs.scalars():
        accounts[sub.vendor_account_id].subscriptions.append(
            SubFacts(
                sub.id,
                sub.product,
                sub.sku,
                sub.quantity,
                sub.unit_cost,
                sub.currency,
                sub.starts_on,
                sub.ends_on,
                sub.external_id,
                sub.status is SubscriptionStatus.active and sub.cancelled_at is None,
                sub.billing_period is BillingPeriod.yearly,
            )
        )
    latest = (
        select(Warranty.asset_id, func.min(Warranty.starts_on), func.max(Warranty.ends_on))
        .where(Warranty.source == WarrantySource.manual)
        .group_by(Warranty.asset_id)
        .subquery()
    )
    assets = await session.execute(
        select(Asset, latest.c[1], latest.c[2])
        .outerjoin(latest, latest.c.asset_id == Asset.id)
        .where(Asset.client_id.in_(list(by_id)), Asset.manufacturer.in_(["Dell", "Fortinet"]))
        .order_by(Asset.name)
    )
    for asset, start, end in assets:
        if not asset.serial:
            continue
        by_id[asset.client_id].assets.append(
            AssetFacts(
                asset.id,
                asset.name,
                asset.serial,
                asset.manufacturer or "",
                asset.model,
                asset.kind.value,
                asset.firmware_version,
                asset.location,
                (start, end) if start and end else None,
            )
        )
    return dict(sorted(clients.items(), key=lambda item: order[item[0]]))


async def ensure_vendor_refs(session: AsyncSession, clients: dict[str, ClientFacts]) -> int:
    """Gives the demo clients' Sophos and Pax8 accounts, and the Pax8 subscriptions, the
    ids the simulators use, where they have none (anything set by hand is kept)."""
    changed = 0
    for client in clients.values():
        for key in ("sophos", "pax8"):
            account = client.accounts.get(key)
            if account is not None and not account.external_ref:
                row = await session.get(VendorAccount, account.id)
                if row is not None and not row.external_ref:
                    account.external_ref = demo_ref(key, client.slug)
                    _audited(
                        session,
                        "vendor_account",
                        row.id,
                        client.id,
                        "external_ref",
                        None,
                        account.external_ref,
                    )
                    row.external_ref = account.external_ref
                    changed += 1
        pax8 = client.accounts.get("pax8")
        for sub in pax8.subscriptions if pax8 else []:
            if not sub.external_id:
                row_sub = await session.get(Subscription, sub.id)
                if row_sub is not None and not row_sub.external_id:
                    sub.external_id = demo_ref("pax8-subscription", str(sub.id))
                    _audited(session, "subscription", sub.id, client.id, "external_id", None, sub.external_id)
                    row_sub.external_id = sub.external_id
                    changed += 1
    await session.flush()
    return changed


def _audited(
    session: AsyncSession,
    subject: str,
    subject_id: uuid.UUID,
    client_id: uuid.UUID,
    name: str,
    old: Any,
    new: Any,
) -> None:
    record(
        session,
        SYSTEM,
        AuditAction.update,
        subject_type=subject,
        subject_id=subject_id,
        client_id=client_id,
        before={name: old},
        after={name: new},
        meta={"event": "demo.vendor_ids"},
    )


# --- the simulators ---------------------------------------------------------------------


@dataclass
class Firewall:
    client: str
    asset: AssetFacts
    sim: FortiosSimulator


@dataclass
class DemoVendors:
    """The simulators, seeded for the demo clients."""

    today: date
    clients: dict[str, ClientFacts]
    sophos: SophosCentralSimulator
    pax8: Pax8Simulator
    graph: MicrosoftGraphSimulator
    dell: DellSimulator
    cloudflare: CloudflareSimulator
    firewalls: list[Firewall]
    forticare: FortiCareSimulator

    def add_to(self, world: DemoWorld) -> None:
        world.add(AsgiService(SOPHOS, self.sophos.app))
        world.add(AsgiService(PAX8, self.pax8.app))
        world.add(AsgiService(GRAPH, self.graph.app))
        world.add(AsgiService(DELL, self.dell.app))
        world.add(AsgiService(CLOUDFLARE, self.cloudflare.app))
        mounts = [Mount(f"/{fw.asset.serial}", app=fw.sim.app) for fw in self.firewalls]
        world.add(AsgiService(FORTIOS, Starlette(routes=mounts)))
        world.add(AsgiService(FORTICARE, self.forticare.app))


def build_vendors(clients: dict[str, ClientFacts], plan: WorldPlan, today: date) -> DemoVendors:
    firewalls = [
        Firewall(c.slug, asset, _fortigate(c, asset, today))
        for c in clients.values()
        for asset in c.assets
        if asset.manufacturer == "Fortinet" and asset.kind == "firewall"
    ]
    return DemoVendors(
        today,
        clients,
        _sophos(clients),
        _pax8(clients, today),
        _graph(clients),
        _dell(clients, today),
        _cloudflare(clients, plan),
        firewalls,
        _forticare(firewalls, clients, today),
    )


def _sophos(clients: dict[str, ClientFacts]) -> SophosCentralSimulator:
    sim = SophosCentralSimulator(scale=0)
    for client in clients.values():
        account = client.accounts.get("sophos")
        if account is None or not account.external_ref:
            continue
        licences = []
        for sub in account.subscriptions:
            if not sub.active or sub.ends_on is None:
                continue
            code = "SVRCIXA" if "Server" in sub.product else "CIXA"
            over = SOPHOS_OVERUSE[1] if (client.slug, code) == (SOPHOS_OVERUSE[0], "CIXA") else -1
            licences.append(
                {
                    "id": demo_ref("sophos-licence", str(sub.id)),
                    "licenseIdentifier": f"{code}-{client.slug.upper()}",
                    "product": {"code": code, "name": f"Central {sub.product.removeprefix('Sophos ')}"},
                    "startDate": sub.starts_on.isoformat(),
                    "endDate": sub.ends_on.isoformat(),
                    "perpetual": False,
                    "type": "term",
                    "quantity": sub.quantity,
                    "usage": {
                        "current": {"count": max(0, sub.quantity + over), "date": sub.starts_on.isoformat()}
                    },
                }
            )
        sim.add_tenant(
            {
                "id": account.external_ref,
                "name": client.name,
                "showAs": client.name,
                "dataGeography": "IT",
                "dataRegion": "eu01",
                "billingType": "term",
                "status": "active",
                "partnerAssistance": True,
                "licenses": licences,
            }
        )
    return sim


def _pax8(clients: dict[str, ClientFacts], today: date) -> Pax8Simulator:
    sim = Pax8Simulator(scale=(0, 0))  # an empty partner: only the demo's companies
    premium = sim.products[PAX8_PRODUCT_BY_SKU["CFQ7TTC0LCHC"]]
    sim.products[PAX8_STANDARD] = SimProduct(
        PAX8_STANDARD,
        "Microsoft 365 Business Standard (NCE)",
        "Microsoft",
        "MST-365-BSTD",
        "CFQ7TTC0LDPB:0001",
        "Productivity apps and services for small businesses",
        True,
        [dataclasses.replace(c, id=c.id.replace("c0", "c7", 1)) for c in premium.commitments],
        [
            dataclasses.replace(o, partner_buy_rate=o.partner_buy_rate / 2, retail=o.retail / 2)
            for o in premium.offers
        ],
    )
    now = sim.clock()
    for client in clients.values():
        account = client.accounts.get("pax8")
        if account is None or not account.external_ref:
            continue
        sim.add_company(
            SimCompany(
                account.external_ref,
                client.name,
                {
                    "street": "Via Roma 1",
                    "city": "",
                    "stateOrProvince": "",
                    "postalCode": "",
                    "country": "IT",
                },
                "+39 02 0000 0000",
                f"https://www.{client.domains[0]}" if client.domains else "",
                client.slug,
                False,
                False,
                False,
                "Active",
                now - timedelta(days=30),
            )
        )
        for sub in account.subscriptions:
            product = sim.products.get(PAX8_PRODUCT_BY_SKU.get(sub.sku or "", ""))
            if product is None or not sub.external_id or sub.ends_on is None or not sub.active:
                continue
            commitment = next(c for c in product.commitments if c.term == "1-Year")
            yearly = sub.yearly and "Annual" in {o.billing_term for o in product.offers}
            extra = (
                PAX8_EXTRA_SEATS[1] if client.slug == PAX8_EXTRA_SEATS[0] and sub.sku == "CFQ7TTC0LDPB" else 0
            )
            sim.add_subscription(
                SimSubscription(
                    id=sub.external_id,
                    company_id=account.external_ref,
                    product_id=product.id,
                    product_name=product.name,
                    quantity=sub.quantity + extra,
                    status="Active",
                    billing_term="Annual" if yearly else "Monthly",
                    start_date=sub.starts_on,
                    created=now - timedelta(days=(today - sub.starts_on).days),
                    price=sub.unit_cost,
                    partner_cost=sub.unit_cost,
                    currency=sub.currency,
                    commitment_id=commitment.id,
                    commitment_term=commitment.term,
                    commitment_end=sub.ends_on,
                )
            )
    return sim


def _graph(clients: dict[str, ClientFacts]) -> MicrosoftGraphSimulator:
    sim = MicrosoftGraphSimulator()
    sim.tenants = {}
    for client in clients.values():
        account = client.accounts.get("microsoft365")
        if account is None or not account.external_ref:
            continue
        initial = client.slug.replace("-", "") + ".onmicrosoft.com"
        domains = [
            {
                "id": name,
                "isDefault": n == 0,
                "isInitial": False,
                "isVerified": True,
                "supportedServices": ["Email", "OfficeCommunicationsOnline"],
            }
            for n, name in enumerate(client.domains)
        ]
        domains.append(
            {"id": initial, "isDefault": not domains, "isInitial": True, "isVerified": True,
             "supportedServices": ["Email", "OfficeCommunicationsOnline"]}
        )  # fmt: skip
        skus, subscriptions = [], []
        microsoft = [s for key in ("microsoft365", "pax8") for s in _subs(client, key) if s.sku in GRAPH_SKUS]
        for n, sub in enumerate(microsoft):
            part = GRAPH_SKUS[sub.sku or ""]
            sku_id = str(uuid.uuid5(DEMO_NAMESPACE, f"sku/{part}"))
            sub_id = demo_ref("graph-subscription", str(sub.id))
            skus.append(
                {
                    "skuId": sku_id,
                    "skuPartNumber": part,
                    "appliesTo": "User",
                    "capabilityStatus": "Enabled",
                    "consumedUnits": max(0, sub.quantity - n % 3),
                    "prepaidUnits": {"enabled": sub.quantity, "lockedOut": 0, "suspended": 0, "warning": 0},
                    "subscriptionIds": [sub_id],
                }
            )
            subscriptions.append(
                {
                    "id": sub_id,
                    "commerceSubscriptionId": demo_ref("graph-commerce", str(sub.id)),
                    "createdDateTime": f"{sub.starts_on.isoformat()}T09:00:00Z",
                    "isTrial": False,
                    "nextLifecycleDateTime": f"{sub.ends_on.isoformat()}T00:00:00Z" if sub.ends_on else None,
                    "skuId": sku_id,
                    "skuPartNumber": part,
                    "status": "Enabled",
                    "totalLicenses": sub.quantity,
                    "ownerType": "Company",
                    "ownerTenantId": None,
                }
            )
        sim.tenants[account.external_ref] = {
            "id": account.external_ref,
            "displayName": client.name,
            "countryLetterCode": "IT",
            "consented": True,
            "domains": domains,
            "subscribedSkus": skus,
            "subscriptions": subscriptions,
        }
    if sim.tenants:
        sim.tenant_id = next(iter(sim.tenants))
    return sim


def _subs(client: ClientFacts, vendor: str) -> list[SubFacts]:
    account = client.accounts.get(vendor)
    return [s for s in account.subscriptions if s.active] if account else []


def _dell(clients: dict[str, ClientFacts], today: date) -> DellSimulator:
    sim = DellSimulator()
    for client in clients.values():
        for asset in client.assets:
            if asset.manufacturer != "Dell" or asset.warranty is None:
                continue
            start, end = asset.warranty
            code, description = DELL_LEVELS.get(asset.kind, DELL_LEVELS["workstation"])
            entitlements = [(start, end, code, description)]
            if (client.slug, asset.name) == DELL_EXTENDED:
                # An extension bought from Dell that nobody entered in the hub.
                entitlements.append((end + timedelta(days=1), today + timedelta(days=410), code, description))
            sim.add_asset(
                asset.serial, (asset.model or "Dell").upper(), start - timedelta(days=7), entitlements
            )
    return sim


def _fortigate(client: ClientFacts, asset: AssetFacts, today: date) -> FortiosSimulator:
    current = asset.firmware or CURRENT_FIRMWARE["Fortinet"]
    newer = [v for v in ("v7.2.10", CURRENT_FIRMWARE["Fortinet"]) if _version(v) > _version(current)]
    sim = FortiosSimulator(available=newer)
    data = sim.data
    data["serial"] = asset.serial
    data["version"] = current
    major, minor, patch = _version(current)
    data["firmware"]["current"].update(version=current, major=major, minor=minor, patch=patch)
    data["status"]["hostname"] = f"FGT-{client.slug.split('-')[0].upper()}-{(asset.location or 'HQ').upper()}"
    model = (asset.model or "").removeprefix("FortiGate ").strip()
    if model:
        data["status"]["model_number"] = model
    licence_days = (bundle_end(client, asset, today) - today).days
    support_days = (asset.warranty[1] - today).days if asset.warranty else 365
    for entry in data["licenses"].values():
        if "expires_in_days" in entry:
            entry["expires_in_days"] = licence_days
        for support in (entry.get("support") or {}).values():
            support["expires_in_days"] = support_days
    return sim


def bundle_of(client: ClientFacts, asset: AssetFacts) -> SubFacts | None:
    """The FortiGuard bundle subscription of this firewall: the one named after its site
    (`... - Lecce`), else the client's only one."""
    bundles = [s for s in _subs(client, "fortinet") if s.ends_on is not None]
    site = [s for s in bundles if asset.location and s.product.endswith(f" - {asset.location}")]
    chosen = site or bundles
    return chosen[0] if chosen else None


def bundle_end(client: ClientFacts, asset: AssetFacts, today: date) -> date:
    bundle = bundle_of(client, asset)
    return bundle.ends_on if bundle is not None and bundle.ends_on else today + timedelta(days=365)


def _forticare(firewalls: list[Firewall], clients: dict[str, ClientFacts], today: date) -> FortiCareSimulator:
    """The MSP's FortiCare account: every demo FortiGate registered there, its FortiGuard
    entitlements ending with its bundle. A contract registered against a unit moves the
    box's own FortiGuard expiry too (the box synchronises with FortiGuard)."""
    boxes = {fw.asset.serial.upper(): fw.sim for fw in firewalls}

    def box_follows(serial: str, expires: datetime) -> None:
        if serial in boxes:
            boxes[serial].extend_services(expires)

    sim = FortiCareSimulator(on_registered=box_follows)
    sim.units.clear()  # only the demo's units, not the simulator's sample account
    sim.codes.clear()
    for fw in firewalls:
        client = clients[fw.client]
        support = fw.asset.warranty[1] if fw.asset.warranty else None
        sim.add_unit(
            fw.asset.serial,
            f"FortiGate-{(fw.asset.model or '').removeprefix('FortiGate ').strip()}",
            bundle_end(client, fw.asset, today),
            description=f"{fw.asset.name} - {client.name}",
            support_ends_on=support,
        )
    return sim


def _version(text: str) -> tuple[int, int, int]:
    found = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", text.strip())
    return (int(found[1]), int(found[2]), int(found[3])) if found else (0, 0, 0)


def _cloudflare(clients: dict[str, ClientFacts], plan: WorldPlan) -> CloudflareSimulator:
    sim = CloudflareSimulator()
    sim.zones = {}
    for client in clients.values():
        if "cloudflare" not in client.accounts or not client.domains:
            continue
        account = cloudflare_account(client.slug)
        sim.add_account(account, client.name)
        for name in client.domains:
            sim.add_zone(name, list(_zone_records(plan, name)), account_id=account)
    return sim


def _zone_records(plan: WorldPlan, zone: str) -> Iterable[dict[str, Any]]:
    """The zone's records as the demo's DNS server serves them, in Cloudflare's shape."""
    seen: set[tuple[str, str, str]] = set()
    for owner, rdtype, rdata in plan.records:
        if not (owner == zone or owner.endswith("." + zone)) or rdtype in ("SOA", "PTR"):
            continue
        record: dict[str, Any] = {"name": owner, "type": rdtype, "ttl": 1}
        if rdtype == "MX":
            priority, _, host = rdata.partition(" ")
            record.update(priority=int(priority), content=host.rstrip("."))
        elif rdtype == "TXT":
            chunks = re.findall(r'"((?:[^"\\]|\\.)*)"', rdata)
            record["content"] = "".join(chunks) if chunks else rdata
        else:
            record["content"] = rdata.rstrip(".") if rdtype in ("CNAME", "NS") else rdata
        key = (owner, rdtype, record["content"])
        if key not in seen:
            seen.add(key)
            yield record


# --- connections ------------------------------------------------------------------------


@dataclass(frozen=True)
class WantedConnection:
    adapter: str
    name: str
    config: dict[str, Any]
    account_ref: str
    client_id: uuid.UUID | None = None


def wanted_connections(vendors: DemoVendors, world: DemoWorld) -> list[WantedConnection]:
    url = {name: world.addresses[name]["url"] for name in SERVICES}
    wanted = [
        WantedConnection(SOPHOS, "Sophos Central (partner)", cfg := vendors.sophos.config(url[SOPHOS]),
                         cfg["partner_id"]),
        WantedConnection(PAX8, "Pax8 (partner)", cfg := vendors.pax8.config(url[PAX8]), cfg["client_id"]),
        WantedConnection(DELL, "Dell TechDirect (warranty)", cfg := vendors.dell.config(url[DELL]),
                         cfg["client_id"]),
    ]  # fmt: skip
    for client in vendors.clients.values():
        account = client.accounts.get("microsoft365")
        if account is not None and account.external_ref in vendors.graph.tenants:
            cfg = vendors.graph.config(url[GRAPH], tenant_id=account.external_ref)
            wanted.append(
                WantedConnection(GRAPH, f"Microsoft 365 - {client.name}", cfg, cfg["tenant_id"], client.id)
            )
        if cloudflare_account(client.slug) in vendors.cloudflare.accounts:
            cfg = vendors.cloudflare.config(url[CLOUDFLARE])
            cfg["account_id"] = cloudflare_account(client.slug)
            wanted.append(
                WantedConnection(CLOUDFLARE, f"Cloudflare - {client.name}", cfg, cfg["account_id"], client.id)
            )
    cfg = vendors.forticare.config(url[FORTICARE])
    wanted.append(WantedConnection(FORTICARE, "FortiCare (MSP account)", cfg, cfg["username"]))
    for fw in vendors.firewalls:
        cfg = fw.sim.config(f"{url[FORTIOS]}/{fw.asset.serial}")
        client = vendors.clients[fw.client]
        wanted.append(
            WantedConnection(
                FORTIOS, f"{fw.asset.name} - {client.name}", cfg, cfg["serial_number"], client.id
            )
        )
    return wanted


@dataclass
class DemoConnections:
    ids: list[uuid.UUID] = field(default_factory=list)
    created: int = 0
    resumed: int = 0


async def ensure_connections(session: AsyncSession, wanted: list[WantedConnection]) -> DemoConnections:
    """Creates the demo connections that do not exist (one per vendor account), points
    the others at the world's current ports and enables them."""
    result = DemoConnections()
    for want in wanted:
        found = (
            await session.execute(
                select(Connection).where(
                    Connection.adapter_slug == want.adapter, Connection.account_ref == want.account_ref
                )
            )
        ).scalar_one_or_none()
        if found is None:
            connection = await connection_service.create(
                session,
                SYSTEM,
                ConnectionCreate(
                    name=want.name,
                    adapter_slug=want.adapter,
                    scope=ConnectionScope.client if want.client_id else ConnectionScope.msp,
                    client_id=want.client_id,
                    config=want.config,
                ),
            )
            result.created += 1
        else:
            if not found.enabled:
                result.resumed += 1
            connection = await connection_service.update(
                session,
                SYSTEM,
                found.id,
                ConnectionUpdate(version=found.version, enabled=True, config=want.config),
            )
        result.ids.append(connection.id)
    await session.flush()
    return result


async def disable_connections(session: AsyncSession, ids: Iterable[uuid.UUID]) -> int:
    """The world is gone: `hub serve` must not call its dead ports (see the module's note)."""
    disabled = 0
    for connection in (
        await session.execute(select(Connection).where(Connection.id.in_(list(ids))))
    ).scalars():
        if connection.enabled:
            await connection_service.update(
                session, SYSTEM, connection.id, ConnectionUpdate(version=connection.version, enabled=False)
            )
            disabled += 1
    await session.flush()
    return disabled


async def sync_connections(runtime: HubRuntime, ids: list[uuid.UUID]) -> None:
    """One sync of each connection now, as the `sync.connection` job does it (short read,
    vendor calls with no transaction open, one write), a few at a time."""
    gate = asyncio.Semaphore(4)

    async def one(connection_id: uuid.UUID) -> None:
        async with gate:
            async with runtime.unit_of_work(write=False) as session:
                plan = await sync_service.plan(session, connection_id)
            if plan is None:
                return
            collected, error = await sync_service.run_collect(plan, runtime)
            async with runtime.unit_of_work() as session:
                if error is not None or collected is None:
                    failure = error or RuntimeError("nothing collected")
                    await sync_service.store_failure(session, plan, failure, actor="system:demo")
                else:
                    await sync_service.store(session, plan, collected, actor="system:demo")

    await asyncio.gather(*(one(i) for i in ids))


@dataclass(frozen=True)
class ConnectionRow:
    id: uuid.UUID
    name: str
    adapter: str
    health: str
    records: dict[str, int]
    tenants: int
    mapped: int
    discrepancies: int
    last_error: str | None


async def connection_rows(session: AsyncSession, ids: list[uuid.UUID]) -> list[ConnectionRow]:
    """Each connection with its health and what its sync holds (current records by kind,
    tenants and how many are mapped to a client, open discrepancies)."""
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for cid, kind, n in await session.execute(
        select(VendorRecord.connection_id, VendorRecord.kind, func.count())
        .where(VendorRecord.connection_id.in_(ids), VendorRecord.missing_since.is_(None))
        .group_by(VendorRecord.connection_id, VendorRecord.kind)
    ):
        counts.setdefault(cid, {})[kind] = n
    tenants: dict[uuid.UUID, tuple[int, int]] = {}
    for cid, total, mapped in await session.execute(
        select(TenantMapping.connection_id, func.count(), func.count(TenantMapping.client_id))
        .where(TenantMapping.connection_id.in_(ids))
        .group_by(TenantMapping.connection_id)
    ):
        tenants[cid] = (total, mapped)
    open_ = dict(
        (
            await session.execute(
                select(Discrepancy.connection_id, func.count())
                .where(Discrepancy.connection_id.in_(ids), Discrepancy.resolved_at.is_(None))
                .group_by(Discrepancy.connection_id)
            )
        ).all()
    )
    rows = []
    for c in (await session.execute(select(Connection).where(Connection.id.in_(ids)))).scalars():
        total, mapped = tenants.get(c.id, (0, 0))
        rows.append(
            ConnectionRow(
                c.id,
                c.name,
                c.adapter_slug,
                c.health.value,
                dict(sorted(counts.get(c.id, {}).items())),
                total,
                mapped,
                int(open_.get(c.id, 0)),
                c.last_error,
            )
        )
    rows.sort(key=lambda r: (SERVICES.index(r.adapter) if r.adapter in SERVICES else 99, r.name))
    return rows


__all__ = [
    "ClientFacts",
    "ConnectionRow",
    "DemoConnections",
    "DemoVendors",
    "build_vendors",
    "bundle_end",
    "bundle_of",
    "connection_rows",
    "demo_ref",
    "disable_connections",
    "ensure_connections",
    "ensure_vendor_refs",
    "gather",
    "sync_connections",
    "wanted_connections",
]
