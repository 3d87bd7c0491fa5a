"""Whether an automatic renewal has a route to order it, known weeks ahead instead of at the
deadline: `renewal_route_problem` says why a subscription the hub renews (`auto_hub`) will
escalate when its renewal is due (no vendor connection, no vendor subscription id, a
connection whose adapter cannot order, no vendor tenant to order under), or None.

The rule is one pure function; a subscription with an explicit route (hub.renewal.routes:
order at a distributor, register, confirm elsewhere) is checked leg by leg instead
(`explicit_route_problem`). `route_problems` reads what it needs for many subscriptions at
once (`hub renewals plan`, `GET /renewals/upcoming`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import runtime_of
from hub.models import Connection, RenewalRoute, Subscription, VendorAccount, VendorRecord
from hub.models.enums import RenewalType
from hub.renewal.routes import Route, route_of
from hub.sdk.capabilities import Capability

PREFIX = "will escalate: "
# The kinds of vendor record that are vendor subscriptions (as hub.link.service names them).
_SUBSCRIPTION_KINDS = ("subscriptions", "license_usage")


class RouteSubject(Protocol):
    """What the rule reads of a subscription (an ORM row or any object with these)."""

    id: Any
    renewal_type: RenewalType
    connection_id: uuid.UUID | None
    external_id: str | None


@dataclass(frozen=True)
class RouteConnection:
    """The linked connection as far as ordering goes."""

    name: str
    enabled: bool
    adapter_slug: str
    installed: bool
    can_order: bool
    vendor: str
    capabilities: frozenset[Capability] = frozenset()


def renewal_route_problem(
    subscription: RouteSubject,
    connection: RouteConnection | None,
    *,
    account_tenant: str | None,
    vendor_tenant: str | None = None,
) -> str | None:
    """Why the renewal of an auto-renew subscription will escalate instead of ordering, in
    words a technician acts on; None when it has a route (or the hub does not renew it).

    `account_tenant`: the vendor account's external ref (the tenant orders go under);
    `vendor_tenant`: the tenant of the linked vendor subscription, as sync saw it."""
    if subscription.renewal_type is not RenewalType.auto_hub:
        return None
    if subscription.connection_id is None or connection is None:
        return PREFIX + (
            f"no vendor connection (link it: POST /subscriptions/{subscription.id}/link, "
            "or accept a link proposal)"
        )
    if not subscription.external_id:
        return PREFIX + "no vendor subscription id (link it to the vendor's subscription)"
    if not connection.enabled:
        return PREFIX + f"connection '{connection.name}' is disabled"
    if not connection.installed:
        return (
            PREFIX
            + f"the adapter '{connection.adapter_slug}' of connection '{connection.name}' is not installed"
        )
    if not connection.can_order:
        return (
            PREFIX
            + f"the connection's adapter cannot order ({connection.vendor}, connection '{connection.name}')"
        )
    if not account_tenant:
        return PREFIX + "no vendor tenant to order under (the vendor account has no external ref)"
    if vendor_tenant and vendor_tenant != account_tenant:
        return PREFIX + (
            f"the vendor account's external ref '{account_tenant}' is not the tenant '{vendor_tenant}' "
            "of the linked vendor subscription"
        )
    return None


# What each leg of an explicit route needs its connection's adapter to do.
_LEGS = (
    ("order", Capability.renewal),
    ("register", Capability.registration),
    ("confirm", Capability.term_readback),
)


def explicit_route_problem(route: Route, connections: dict[uuid.UUID, RouteConnection]) -> str | None:
    """Why an explicit route cannot order, register or confirm, leg by leg; None if it can."""
    if route.problem is not None:
        return PREFIX + route.problem
    for leg, capability in _LEGS:
        connection_id = getattr(route, f"{leg}_connection_id")
        if connection_id is None:
            continue
        connection = connections.get(connection_id)
        if connection is None:
            return PREFIX + f"the route's {leg} connection is gone"
        if not connection.enabled:
            return PREFIX + f"the route's {leg} connection '{connection.name}' is disabled"
        if not connection.installed:
            missing = f"the adapter '{connection.adapter_slug}' of connection '{connection.name}'"
            return PREFIX + f"{missing} is not installed"
        if capability not in connection.capabilities:
            return (
                PREFIX
                + f"{connection.vendor} (connection '{connection.name}') cannot {leg} ({capability.value})"
            )
    return None


async def route_problems(
    session: AsyncSession, subscription_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """`renewal_route_problem` of each of these subscriptions that has one."""
    ids = sorted(set(subscription_ids))
    if not ids:
        return {}
    rows: list[Any] = []
    for i in range(0, len(ids), 500):
        rows.extend(
            (
                await session.execute(
                    select(Subscription, VendorAccount.external_ref)
                    .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
                    .where(Subscription.id.in_(ids[i : i + 500]))
                )
            ).all()
        )
    explicit = {
        r.subscription_id: r
        for i in range(0, len(ids), 500)
        for r in (
            await session.execute(
                select(RenewalRoute).where(RenewalRoute.subscription_id.in_(ids[i : i + 500]))
            )
        ).scalars()
    }
    wanted = {sub.connection_id for sub, _ in rows if sub.connection_id}
    for r in explicit.values():
        wanted |= {c for c in (r.order_connection_id, r.confirm_connection_id, r.register_connection_id) if c}
    connections = await _connections(session, wanted)
    tenants = await _vendor_tenants(
        session,
        {(sub.connection_id, sub.external_id) for sub, _ in rows if sub.connection_id and sub.external_id},
    )
    out = {}
    for sub, account_tenant in rows:
        if sub.id in explicit and sub.renewal_type is RenewalType.auto_hub:
            found = explicit_route_problem(route_of(explicit[sub.id], sub, account_tenant), connections)
            if found is not None:
                out[sub.id] = found
            continue
        problem = renewal_route_problem(
            sub,
            connections.get(sub.connection_id) if sub.connection_id else None,
            account_tenant=account_tenant,
            vendor_tenant=tenants.get((sub.connection_id, sub.external_id)),
        )
        if problem is not None:
            out[sub.id] = problem
    return out


async def _connections(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, RouteConnection]:
    if not ids:
        return {}
    opener = runtime_of(session).connections
    out = {}
    for conn in (await session.execute(select(Connection).where(Connection.id.in_(ids)))).scalars():
        spec = opener.spec_for(conn.adapter_slug)
        out[conn.id] = RouteConnection(
            name=conn.name,
            enabled=conn.enabled,
            adapter_slug=conn.adapter_slug,
            installed=spec is not None,
            can_order=spec is not None and Capability.renewal in spec.manifest.capabilities,
            vendor=spec.manifest.vendor if spec is not None else conn.adapter_slug,
            capabilities=frozenset(spec.manifest.capabilities) if spec is not None else frozenset(),
        )
    return out


async def _vendor_tenants(
    session: AsyncSession, pairs: set[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], str]:
    ordered = sorted(pairs)
    out: dict[tuple[uuid.UUID, str], str] = {}
    for i in range(0, len(ordered), 500):
        stmt = select(
            VendorRecord.connection_id, VendorRecord.external_id, VendorRecord.tenant_external_id
        ).where(
            VendorRecord.kind.in_(_SUBSCRIPTION_KINDS),
            tuple_(VendorRecord.connection_id, VendorRecord.external_id).in_(ordered[i : i + 500]),
        )
        for conn_id, ext, tenant in await session.execute(stmt):
            if tenant:
                out[(conn_id, ext)] = tenant
    return out
