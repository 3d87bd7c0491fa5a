"""The demo's antivirus and firewall renewals, ordered at the distributor (issue 11 §3).

The MSP buys its clients' Sophos licences and FortiGate bundles through Pax8, so each of
them renews along a renewal route (ADR 0004) instead of escalating "no vendor connection":

- a Sophos licence is ordered at Pax8 (the client's Pax8 company holds a subscription of
  Sophos Central Intercept X) and confirmed by reading the licence back at Sophos Central
  (`<tenant>/<licence>`); Sophos extends the licence once Pax8 has provisioned the order;
- a FortiGate bundle is ordered at Pax8, which delivers a contract registration code
  issued by FortiCare; the hub registers the code against the unit's serial at FortiCare
  and confirms by reading the box's own FortiGuard expiry (FortiOS), which follows FortiCare.

The routes are set through the same service as `PUT /subscriptions/{id}/renewal-route`,
only for subscriptions without one (a route someone edited is kept). The simulators are
seeded from the database like the rest of the demo world (hub.demo.vendors): the Pax8
subscription of each routed licence ends when the hub's subscription does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.pax8.simulator import SimSubscription
from hub.auth.principal import SYSTEM
from hub.demo.vendors import (
    FORTICARE,
    PAX8,
    SOPHOS,
    ClientFacts,
    DemoVendors,
    bundle_of,
    demo_ref,
)
from hub.models import RenewalRoute
from hub.renewal.routes import set_route

# What the box's confirmation reads on FortiOS (adapters/fortinet_fortios: read_term).
FORTIGUARD_BUNDLE = "bundle"


@dataclass(frozen=True)
class RoutedLicence:
    client: str
    subscription_id: uuid.UUID
    sku: str
    quantity: int
    unit_cost: Decimal
    currency: str
    starts_on: date
    ends_on: date
    pax8_company: str
    # Confirmed at Sophos Central ("<tenant>/<licence>") or on the FortiGate (its serial).
    sophos_licence: str | None = None
    serial: str | None = None

    @property
    def pax8_subscription(self) -> str:
        return demo_ref("pax8-route", str(self.subscription_id))


def routed_licences(clients: Mapping[str, ClientFacts]) -> list[RoutedLicence]:
    """Every active Sophos licence and FortiGate bundle of a client with a Pax8 company."""
    return list(_routed(clients))


def _routed(clients: Mapping[str, ClientFacts]) -> Iterator[RoutedLicence]:
    for client in clients.values():
        pax8 = client.accounts.get("pax8")
        if pax8 is None or not pax8.external_ref:
            continue
        sophos = client.accounts.get("sophos")
        tenant = sophos.external_ref if sophos else None
        for sub in sophos.subscriptions if sophos and tenant else []:
            if sub.active and sub.ends_on and sub.sku:
                licence = demo_ref("sophos-licence", str(sub.id))  # as the Sophos simulator has it
                yield RoutedLicence(
                    client.slug, sub.id, sub.sku, sub.quantity, sub.unit_cost, sub.currency,
                    sub.starts_on, sub.ends_on, pax8.external_ref,
                    sophos_licence=f"{tenant}/{licence}",
                )  # fmt: skip
        bundled: set[uuid.UUID] = set()
        for asset in client.assets:
            if asset.manufacturer != "Fortinet" or asset.kind != "firewall":
                continue
            bundle = bundle_of(client, asset)
            if bundle is None or bundle.id in bundled or not bundle.sku or not bundle.ends_on:
                continue  # one bundle renews one unit
            bundled.add(bundle.id)
            yield RoutedLicence(
                client.slug, bundle.id, bundle.sku, bundle.quantity, bundle.unit_cost, bundle.currency,
                bundle.starts_on, bundle.ends_on, pax8.external_ref, serial=asset.serial,
            )  # fmt: skip


def stage_routes(vendors: DemoVendors, routed: list[RoutedLicence]) -> None:
    """Pax8 sells each routed licence (at the MSP's cost, so the demo renews without asking
    for approval); Sophos follows what Pax8 provisions, FortiCare issues Pax8's codes."""
    pax8, now = vendors.pax8, vendors.pax8.clock()
    licence_of: dict[str, str] = {}
    cheapest: dict[str, Decimal] = {}
    for licence in routed:
        product = pax8.product_for(licence.sku)
        if product is None:
            continue  # a product the distributor does not sell: its renewal escalates
        commitment = next(c for c in product.commitments if c.term == "1-Year")
        cheapest[product.id] = min(cheapest.get(product.id, licence.unit_cost), licence.unit_cost)
        pax8.add_subscription(
            SimSubscription(
                id=licence.pax8_subscription,
                company_id=licence.pax8_company,
                product_id=product.id,
                product_name=product.name,
                quantity=licence.quantity,
                status="Active",
                billing_term="Annual",
                start_date=licence.starts_on,
                created=now - timedelta(days=(vendors.today - licence.starts_on).days),
                price=licence.unit_cost,
                partner_cost=licence.unit_cost,
                currency=licence.currency,
                commitment_id=commitment.id,
                commitment_term=commitment.term,
                commitment_end=licence.ends_on,
                issues_code=product.delivers == "registration_code",
            )
        )
        if licence.sophos_licence:
            licence_of[licence.pax8_subscription] = licence.sophos_licence.rpartition("/")[2]
    for product_id, price in cheapest.items():
        pax8.set_price(product_id, price)
    pax8.code_issuer = vendors.forticare.issue_code

    def sophos_follows(sub: SimSubscription) -> None:
        if sub.id in licence_of and sub.commitment_end is not None:
            vendors.sophos.extend_licence(licence_of[sub.id], sub.commitment_end)

    pax8.on_renewed = sophos_follows


async def ensure_routes(
    session: AsyncSession,
    routed: list[RoutedLicence],
    msp_connections: Mapping[str, uuid.UUID],
    boxes: Mapping[str, uuid.UUID],
) -> int:
    """Sets the route of each routed licence that has none (as the API would, audited).
    `msp_connections`: the MSP's demo connection per adapter; `boxes`: each FortiGate's
    connection by serial. Returns how many routes were set."""
    ids = [licence.subscription_id for licence in routed]
    has_route = set(
        (
            await session.execute(
                select(RenewalRoute.subscription_id).where(RenewalRoute.subscription_id.in_(ids))
            )
        ).scalars()
    )
    order_at = msp_connections.get(PAX8)
    made = 0
    for licence in routed:
        if licence.subscription_id in has_route or order_at is None:
            continue
        values: dict[str, object] = {
            "order_connection_id": order_at,
            "order_ref": licence.pax8_subscription,
            "order_tenant_ref": licence.pax8_company,
        }
        if licence.sophos_licence:
            confirm_at = msp_connections.get(SOPHOS)
            values.update(confirm_connection_id=confirm_at, confirm_ref=licence.sophos_licence)
        else:
            assert licence.serial is not None
            values.update(
                register_connection_id=msp_connections.get(FORTICARE),
                register_serial=licence.serial,
                confirm_connection_id=boxes.get(licence.serial),
                confirm_ref=FORTIGUARD_BUNDLE,
            )
        if None in values.values():
            continue  # a connection the user removed: this one stays without a route
        await set_route(session, SYSTEM, licence.subscription_id, values)
        made += 1
    return made


__all__ = ["RoutedLicence", "ensure_routes", "routed_licences", "stage_routes"]
