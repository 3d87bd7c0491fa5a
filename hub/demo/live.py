"""The demo's vendor side, in the order `hub demo` needs it: `prepare` (before the world
starts: vendor ids, the renewal subscriptions, the simulators seeded from the database),
`start` (once the world serves: connections, one sync each, the renewal jobs and the
reminder ledger) and `stop` (the connections are disabled before the world goes)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, select

from hub.demo.renewals import (
    attach_connection,
    ensure_renewal_subscriptions,
    queue_reminders,
    run_renewals,
    stage_vendor,
)
from hub.demo.routes import RoutedLicence, ensure_routes, routed_licences, stage_routes
from hub.demo.vendors import (
    FORTIOS,
    PAX8,
    DemoConnections,
    DemoVendors,
    build_vendors,
    disable_connections,
    ensure_connections,
    ensure_vendor_refs,
    gather,
    sync_connections,
    wanted_connections,
)
from hub.demo.world import DemoWorld
from hub.demo.zones import WorldPlan
from hub.models.sync import OAuthToken
from hub.runtime import HubRuntime


@dataclass
class DemoLive:
    vendors: DemoVendors
    # Outcome ("confirmed", "price_rise", "refused") -> the subscription showing it.
    renewal_subscriptions: dict[str, uuid.UUID] = field(default_factory=dict)
    # The Sophos licences and FortiGate bundles renewed through the distributor.
    routed: list[RoutedLicence] = field(default_factory=list)
    # The demo connections, known as soon as they are enabled (to disable them again even
    # when a later step fails).
    connection_ids: list[uuid.UUID] = field(default_factory=list)
    # The OAuth token cache's keys before the demo's syncs: the tokens the simulators issue
    # are worthless once the world stops (a key names the token URL, with its port).
    token_keys_before: set[str] | None = None


@dataclass
class LiveOutcome:
    connections: DemoConnections
    renewal_jobs: int
    # Reminders the ledger issued, and thresholds already past it recorded unsent.
    notices: int
    notices_skipped: int


async def prepare(runtime: HubRuntime, plan: WorldPlan, today: date) -> DemoLive:
    async with runtime.unit_of_work() as session:
        clients = await gather(session)
        await ensure_vendor_refs(session, clients)
        subs = await ensure_renewal_subscriptions(session, clients, today)
    async with runtime.unit_of_work(write=False) as session:
        clients = await gather(session)
    vendors = build_vendors(clients, plan, today)
    stage_vendor(vendors.pax8)
    routed = routed_licences(clients)
    stage_routes(vendors, routed)
    return DemoLive(vendors, subs, routed)


def add_services(live: DemoLive, world: DemoWorld) -> None:
    live.vendors.add_to(world)


async def start(runtime: HubRuntime, live: DemoLive, world: DemoWorld) -> LiveOutcome:
    wanted = wanted_connections(live.vendors, world)
    async with runtime.unit_of_work(write=False) as session:
        live.token_keys_before = set((await session.execute(select(OAuthToken.key))).scalars())
    async with runtime.unit_of_work() as session:
        connections = await ensure_connections(session, wanted)
        made = list(zip(wanted, connections.ids, strict=True))
        msp = {want.adapter: cid for want, cid in made if want.client_id is None}
        boxes = {want.account_ref: cid for want, cid in made if want.adapter == FORTIOS}
        await attach_connection(session, list(live.renewal_subscriptions.values()), msp[PAX8])
        await ensure_routes(session, live.routed, msp, boxes)
    live.connection_ids = list(connections.ids)
    await sync_connections(runtime, connections.ids)
    jobs = await run_renewals(runtime)
    issued, skipped = await queue_reminders(runtime)
    return LiveOutcome(connections, jobs, issued, skipped)


async def stop(runtime: HubRuntime, live: DemoLive) -> int:
    """Disables the demo connections and forgets the tokens the simulators issued (cached
    under keys that appeared during this demo; dropping a cache entry only ever costs
    one token request)."""
    async with runtime.unit_of_work() as session:
        disabled = await disable_connections(session, live.connection_ids)
        if live.token_keys_before is not None:
            await session.execute(
                delete(OAuthToken)
                .where(OAuthToken.key.not_in(live.token_keys_before))
                .execution_options(synchronize_session=False)
            )
    return disabled


__all__ = ["DemoLive", "LiveOutcome", "add_services", "prepare", "start", "stop"]
