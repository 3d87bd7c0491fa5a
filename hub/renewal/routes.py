"""Where a subscription's renewal is ordered, registered and confirmed.

Without a `RenewalRoute` row a subscription is ordered and confirmed at its own connection
(`Subscription.connection_id`, `external_id`, the vendor account's external ref as the
customer). A route says otherwise: order at a distributor or registrar, register a contract
code at a second vendor, read the new term back where it lives (ADR 0004; issue 11), or
order by e-mail: a purchase order mailed to a distributor without an API
(`order_by="email"`, hub.renewal.po_mail; issue 12).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record, snapshot
from hub.auth.principal import Principal, ensure_client_access
from hub.db import runtime_of
from hub.errors import InvalidInput, NotFound
from hub.mail.compose import parse_recipient
from hub.models import Connection, RenewalRoute, Subscription, VendorAccount, VendorMailProfile
from hub.models.enums import AuditAction
from hub.sdk.capabilities import Capability


@dataclass(frozen=True)
class Route:
    order_connection_id: uuid.UUID | None
    order_ref: str | None
    tenant_ref: str
    # Read the new term back here (its adapter's `read_term(confirm_ref)`); None: ask the
    # ordering connection for the subscription (`get_subscription(order_ref)`).
    confirm_connection_id: uuid.UUID | None = None
    confirm_ref: str | None = None
    # Register the contract code the order delivered against this unit, here.
    register_connection_id: uuid.UUID | None = None
    register_serial: str | None = None
    explicit: bool = False
    # "email": a purchase order to `po_email`, on a thread of the `po_account_id` account.
    order_by: str = "api"
    po_email: str | None = None
    po_account_id: uuid.UUID | None = None
    po_unit_price: Decimal | None = None

    @property
    def by_email(self) -> bool:
        return self.order_by == EMAIL

    @property
    def problem(self) -> str | None:
        """Why this subscription cannot be renewed automatically, in words; None if it can."""
        if self.by_email:
            return self._email_problem()
        if self.order_connection_id is None:
            return "no vendor connection to order through"
        if not self.order_ref:
            return "no vendor subscription id to renew"
        if self.register_connection_id is not None and not self.register_serial:
            return "the route registers a contract but names no unit serial"
        if self.confirm_connection_id is not None and not self.confirm_ref:
            return "the route confirms at another connection but names nothing to read back"
        return None

    def _email_problem(self) -> str | None:
        if not self.po_email:
            return "the route orders by e-mail but names no address for the purchase order"
        if self.po_account_id is None:
            return "the route orders by e-mail but names no account at the distributor"
        if not self.order_ref:
            return "the route orders by e-mail but names no article or contract to order"
        if self.register_connection_id is not None:
            return "a purchase order by e-mail delivers no contract code to register"
        if self.confirm_connection_id is not None and not self.confirm_ref:
            return "the route confirms at another connection but names nothing to read back"
        return None


EMAIL = "email"
ORDER_BY = ("api", EMAIL)


def default_route(sub: Subscription, tenant_ref: str | None) -> Route:
    return Route(sub.connection_id, sub.external_id, tenant_ref or "")


def route_of(row: RenewalRoute | None, sub: Subscription, tenant_ref: str | None) -> Route:
    if row is None:
        return default_route(sub, tenant_ref)
    return Route(
        order_connection_id=row.order_connection_id,
        order_ref=row.order_ref,
        tenant_ref=row.order_tenant_ref or tenant_ref or "",
        confirm_connection_id=row.confirm_connection_id,
        confirm_ref=row.confirm_ref,
        register_connection_id=row.register_connection_id,
        register_serial=row.register_serial,
        explicit=True,
        order_by=row.order_by,
        po_email=row.po_email,
        po_account_id=row.po_account_id,
        po_unit_price=row.po_unit_price,
    )


async def load_route(session: AsyncSession, subscription_id: uuid.UUID) -> Route | None:
    """The route of one subscription (None when the subscription is gone)."""
    row = (
        await session.execute(
            select(Subscription, VendorAccount.external_ref, RenewalRoute)
            .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
            .outerjoin(RenewalRoute, RenewalRoute.subscription_id == Subscription.id)
            .where(Subscription.id == subscription_id)
        )
    ).one_or_none()
    if row is None:
        return None
    sub, tenant_ref, route = row
    return route_of(route, sub, tenant_ref)


# -- setting a route (staff, audited) ----------------------------------------------------------


async def _subscription(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> Subscription:
    """The subscription as the principal may see it (another client's is not found)."""
    sub = await session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"subscription {subscription_id} not found")
    ensure_client_access(principal, sub.client_id, "subscription")
    return sub


# What each leg of a route needs its connection's adapter to do.
_LEG_CAPABILITIES: dict[str, tuple[Capability, ...]] = {
    "order_connection_id": (Capability.renewal,),
    "confirm_connection_id": (Capability.term_readback,),
    "register_connection_id": (Capability.registration,),
}


async def _check_leg(
    session: AsyncSession, principal: Principal, field: str, connection_id: uuid.UUID
) -> None:
    connection = await session.get(Connection, connection_id)
    if connection is None or (
        principal.client_id is not None and connection.client_id != principal.client_id
    ):
        raise InvalidInput(field, f"no connection {connection_id}")
    spec = runtime_of(session).connections.spec_for(connection.adapter_slug)
    if spec is None:
        raise InvalidInput(
            field, f"the adapter {connection.adapter_slug} of this connection is not installed"
        )
    missing = [c.value for c in _LEG_CAPABILITIES[field] if c not in spec.manifest.capabilities]
    if missing:
        raise InvalidInput(field, f"{spec.manifest.vendor} connections cannot do this ({', '.join(missing)})")


async def set_route(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID, values: dict[str, Any]
) -> RenewalRoute:
    """Create or replace a subscription's route; each connection must be able to do its
    leg (order: `renewal`; confirm: `term_readback`; register: `registration`, and the
    ordering connection must then track orders to read the code from)."""
    principal.require_staff()
    sub = await _subscription(session, principal, subscription_id)
    values = await _check_order_by(session, sub, values)
    for field in _LEG_CAPABILITIES:
        if values.get(field) is not None:
            await _check_leg(session, principal, field, values[field])
    if values.get("register_connection_id") is not None:
        await _check_tracking(session, values["order_connection_id"])
    route = Route(
        order_connection_id=values["order_connection_id"],
        order_ref=values["order_ref"],
        tenant_ref=values.get("order_tenant_ref") or "",
        confirm_connection_id=values.get("confirm_connection_id"),
        confirm_ref=values.get("confirm_ref"),
        register_connection_id=values.get("register_connection_id"),
        register_serial=values.get("register_serial"),
        explicit=True,
        order_by=values["order_by"],
        po_email=values.get("po_email"),
        po_account_id=values.get("po_account_id"),
        po_unit_price=values.get("po_unit_price"),
    )
    if route.problem is not None:
        raise InvalidInput("route", route.problem)
    row = (
        await session.execute(select(RenewalRoute).where(RenewalRoute.subscription_id == sub.id))
    ).scalar_one_or_none()
    before = snapshot(row) if row is not None else None
    if row is None:
        row = RenewalRoute(subscription_id=sub.id, client_id=sub.client_id, **values)
        session.add(row)
    else:
        for name in ROUTE_FIELDS:
            setattr(row, name, values.get(name))
    await session.flush()
    record(
        session,
        principal,
        AuditAction.create if before is None else AuditAction.update,
        subject_type="renewal_route",
        subject_id=row.id,
        client_id=sub.client_id,
        before=before,
        after=snapshot(row),
    )
    return row


_PO_FIELDS = ("po_email", "po_account_id", "po_unit_price")


async def _check_order_by(session: AsyncSession, sub: Subscription, values: dict[str, Any]) -> dict[str, Any]:
    """An API route names an ordering connection and nothing of a purchase order; an e-mail
    route names the client's account at the distributor (its mail profile gives the
    address when none is given) and no ordering or registering connection."""
    values = {**values, "order_by": values.get("order_by") or "api"}
    if values["order_by"] not in ORDER_BY:
        raise InvalidInput("order_by", f"one of {', '.join(ORDER_BY)}")
    if values["order_by"] != EMAIL:
        if values.get("order_connection_id") is None:
            raise InvalidInput("order_connection_id", "required: the connection that orders")
        for name in _PO_FIELDS:
            if values.get(name) is not None:
                raise InvalidInput(name, 'only for a route that orders by e-mail (order_by "email")')
        return values
    if values.get("order_connection_id") is not None:
        raise InvalidInput("order_connection_id", "a route that orders by e-mail orders at no connection")
    if values.get("register_connection_id") is not None:
        raise InvalidInput(
            "register_connection_id", "a purchase order by e-mail delivers no code to register"
        )
    if values.get("po_account_id") is None:
        raise InvalidInput("po_account_id", "required: the client's account at the distributor")
    account = await session.get(VendorAccount, values["po_account_id"])
    if account is None or account.client_id != sub.client_id:
        raise InvalidInput("po_account_id", "no account of this subscription's client with that id")
    address = values.get("po_email")
    if not address:
        profile = await session.get(VendorMailProfile, account.vendor_id)
        address = profile.support_email if profile is not None else None
        if not address:
            raise InvalidInput(
                "po_email", "required: the distributor's mail profile has no address to send it to"
            )
    values["po_email"] = parse_recipient("po_email", address).addr_spec
    return values


async def _check_tracking(session: AsyncSession, order_connection_id: uuid.UUID) -> None:
    connection = await session.get(Connection, order_connection_id)
    assert connection is not None  # checked as the order leg
    spec = runtime_of(session).connections.spec_for(connection.adapter_slug)
    if spec is None or Capability.order_tracking not in spec.manifest.capabilities:
        raise InvalidInput(
            "register_connection_id",
            "the ordering connection cannot show what an order delivered (order_tracking): "
            "nothing would give the code to register",
        )


async def clear_route(session: AsyncSession, principal: Principal, subscription_id: uuid.UUID) -> None:
    """Back to ordering and confirming at the subscription's own connection."""
    principal.require_staff()
    sub = await _subscription(session, principal, subscription_id)
    row = (
        await session.execute(select(RenewalRoute).where(RenewalRoute.subscription_id == sub.id))
    ).scalar_one_or_none()
    if row is None:
        return
    record(
        session,
        principal,
        AuditAction.delete,
        subject_type="renewal_route",
        subject_id=row.id,
        client_id=sub.client_id,
        before=snapshot(row),
    )
    await session.delete(row)
    await session.flush()


async def route_for(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> tuple[Route, RenewalRoute | None]:
    """The route in effect (the subscription's own connection unless a route says
    otherwise), and the stored route if there is one."""
    sub = await _subscription(session, principal, subscription_id)
    tenant = (
        await session.execute(
            select(VendorAccount.external_ref).where(VendorAccount.id == sub.vendor_account_id)
        )
    ).scalar_one_or_none()
    row = (
        await session.execute(select(RenewalRoute).where(RenewalRoute.subscription_id == sub.id))
    ).scalar_one_or_none()
    return route_of(row, sub, tenant), row


ROUTE_FIELDS = (
    "order_connection_id",
    "order_ref",
    "order_tenant_ref",
    "confirm_connection_id",
    "confirm_ref",
    "register_connection_id",
    "register_serial",
    "order_by",
    "po_email",
    "po_account_id",
    "po_unit_price",
)
