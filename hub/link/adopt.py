"""Vendor subscriptions the hub does not know yet (a connection lists them, no hub
subscription is linked to them), and adopting one: the hub subscription is created from
the vendor's record (cost from the vendor's price, client from the tenant mapping),
linked to it, audited. Always a person's call: sync only lists them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.db import runtime_of
from hub.errors import Conflict, InvalidInput
from hub.link import engine
from hub.link.schemas import AdoptRequest, UnknownFilters
from hub.link.service import SUBSCRIPTION_KINDS, link, vendor_subscription
from hub.models import (
    Connection,
    LinkProposal,
    ProposalState,
    RenewalRoute,
    Subscription,
    Vendor,
    VendorAccount,
    VendorRecord,
)
from hub.models.enums import ConnectionScope, Payer, RecordSource
from hub.subscription.schemas import SubscriptionCreate
from hub.subscription.service import SubscriptionService


def _unknown(params: UnknownFilters) -> Select[VendorRecord, Connection]:
    linked = exists().where(
        Subscription.connection_id == VendorRecord.connection_id,
        Subscription.external_id == VendorRecord.external_id,
    )
    # What a renewal route orders at this connection is the hub's subscription bought there.
    routed = exists().where(
        RenewalRoute.order_connection_id == VendorRecord.connection_id,
        RenewalRoute.order_ref == VendorRecord.external_id,
    )
    stmt = (
        select(VendorRecord, Connection)
        .join(Connection, Connection.id == VendorRecord.connection_id)
        .where(
            VendorRecord.kind.in_(SUBSCRIPTION_KINDS),
            VendorRecord.missing_since.is_(None),
            ~linked,
            ~routed,
        )
    )
    if params.client_id is not None:
        stmt = stmt.where(VendorRecord.client_id == params.client_id)
    if params.connection_id is not None:
        stmt = stmt.where(VendorRecord.connection_id == params.connection_id)
    return stmt


@dataclass(frozen=True)
class AccountChoice:
    account_id: uuid.UUID | None
    reason: str | None  # why none could be chosen


async def choose_account(
    session: AsyncSession, connection: Connection, client_id: uuid.UUID, tenant: str | None
) -> AccountChoice:
    """The client's vendor account a vendor subscription belongs in: the one whose external
    ref is the vendor tenant, else the only one with the adapter's vendor."""
    if tenant:
        by_ref = (
            (
                await session.execute(
                    select(VendorAccount.id).where(
                        VendorAccount.client_id == client_id, VendorAccount.external_ref == tenant
                    )
                )
            )
            .scalars()
            .all()
        )
        if len(by_ref) == 1:
            return AccountChoice(by_ref[0], None)
    spec = runtime_of(session).connections.spec_for(connection.adapter_slug)
    vendor_name = spec.manifest.vendor if spec is not None else connection.adapter_slug
    by_vendor = (
        (
            await session.execute(
                select(VendorAccount.id)
                .join(Vendor, Vendor.id == VendorAccount.vendor_id)
                .where(VendorAccount.client_id == client_id, func.lower(Vendor.name) == vendor_name.lower())
            )
        )
        .scalars()
        .all()
    )
    if len(by_vendor) == 1:
        return AccountChoice(by_vendor[0], None)
    return AccountChoice(
        None,
        f"the client has {'several' if by_vendor else 'no'} {vendor_name} vendor account"
        f"{'s' if by_vendor else ''} and none whose external ref is the tenant '{tenant}'; name one",
    )


def default_payer(connection: Connection) -> Payer:
    # An MSP-wide (partner, distributor) account buys for its clients; a client's own
    # connection is the client's account, paid by the client.
    return Payer.client_direct if connection.scope is ConnectionScope.client else Payer.msp_resold


async def list_unknown(
    session: AsyncSession, principal: Principal, params: UnknownFilters
) -> tuple[list[dict[str, Any]], int]:
    """Listed vendor subscriptions no hub subscription is linked to, with what adopting
    one would create. Staff only."""
    principal.require_staff()
    stmt = _unknown(params)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    stmt = (
        stmt.order_by(VendorRecord.first_seen_at, VendorRecord.id).limit(params.limit).offset(params.offset)
    )
    items = []
    for rec, connection in (await session.execute(stmt)).all():
        proposals = (
            await session.execute(
                select(func.count(LinkProposal.id)).where(
                    LinkProposal.connection_id == rec.connection_id,
                    LinkProposal.external_id == rec.external_id,
                    LinkProposal.state == ProposalState.open,
                )
            )
        ).scalar_one()
        plan = engine.adoption(rec.kind, rec.payload)
        needs = [name for name in ("unit_cost", "billing_period") if getattr(plan, name) is None]
        account: uuid.UUID | None = None
        if rec.client_id is None:
            needs.append("a client for the tenant (PUT /connections/{id}/tenants/{tenant})")
        else:
            choice = await choose_account(session, connection, rec.client_id, rec.tenant_external_id)
            account = choice.account_id
            if account is None:
                needs.append("vendor_account_id")
        items.append(
            {
                "connection_id": rec.connection_id,
                "connection_name": connection.name,
                "external_id": rec.external_id,
                "record_kind": rec.kind,
                "tenant_external_id": rec.tenant_external_id,
                "client_id": rec.client_id,
                "first_seen_at": rec.first_seen_at,
                "open_proposals": int(proposals),
                "adopt": {
                    **plan.__dict__,
                    "client_id": rec.client_id,
                    "vendor_account_id": account,
                    "payer": default_payer(connection),
                    "needs": needs,
                },
            }
        )
    return items, int(total)


class _AdoptedSubscriptions(SubscriptionService):
    """The subscription service, marking what it creates as coming from a connection."""

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        values = await super().prepare_create(session, principal, values)
        values["source"] = RecordSource.connection
        return values


def _create_input(values: dict[str, Any]) -> SubscriptionCreate:
    try:
        return SubscriptionCreate.model_validate(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = str(error["loc"][0]) if error["loc"] else "external_id"
        raise InvalidInput(name, str(error["msg"]).removeprefix("Value error, ")) from None


async def adopt(session: AsyncSession, principal: Principal, body: AdoptRequest, today: date) -> Subscription:
    """Create the hub subscription of a vendor subscription nobody linked yet, linked to
    it (the create and the link are both audited)."""
    principal.require_staff()
    connection = await session.get(Connection, body.connection_id)
    if connection is None:
        raise InvalidInput("connection_id", f"no connection with id {body.connection_id}")
    rec = await vendor_subscription(session, body.connection_id, body.external_id)
    if rec is None or rec.missing_since is not None:
        raise InvalidInput(
            "external_id", f"connection '{connection.name}' lists no vendor subscription '{body.external_id}'"
        )
    if rec.client_id is None:
        raise InvalidInput(
            "external_id",
            f"'{body.external_id}' is in vendor tenant '{rec.tenant_external_id}', which is mapped to no "
            f"client; map it first (PUT /connections/{connection.id}/tenants/{rec.tenant_external_id})",
        )
    pending = (
        await session.execute(
            select(LinkProposal.id, LinkProposal.subscription_id).where(
                and_(
                    LinkProposal.connection_id == connection.id,
                    LinkProposal.external_id == rec.external_id,
                    LinkProposal.state == ProposalState.open,
                )
            )
        )
    ).first()
    if pending is not None:
        raise Conflict(
            f"sync proposed linking '{rec.external_id}' to subscription {pending.subscription_id} "
            f"(proposal {pending.id}): accept or reject that first"
        )
    plan = engine.adoption(rec.kind, rec.payload)
    account_id = body.vendor_account_id
    if account_id is None:
        choice = await choose_account(session, connection, rec.client_id, rec.tenant_external_id)
        if choice.account_id is None:
            raise InvalidInput("vendor_account_id", choice.reason or "name the vendor account")
        account_id = choice.account_id
    else:
        account = await session.get(VendorAccount, account_id)
        if account is None or account.client_id != rec.client_id:
            raise InvalidInput("vendor_account_id", f"the tenant's client has no vendor account {account_id}")
    unit_cost = body.unit_cost if body.unit_cost is not None else plan.unit_cost
    if unit_cost is None:
        raise InvalidInput("unit_cost", "the vendor gives no price for it; send the unit cost")
    period = body.billing_period or plan.billing_period
    if period is None:
        raise InvalidInput("billing_period", "the vendor's billing term is not one the hub knows; send it")
    data = _create_input(
        {
            "vendor_account_id": account_id,
            "product": body.product or plan.product,
            "sku": plan.sku,
            "quantity": plan.quantity,
            "unit_cost": unit_cost,
            "client_unit_price": body.client_unit_price,
            "currency": plan.currency,
            "billing_period": period,
            "payer": body.payer or default_payer(connection),
            "starts_on": plan.starts_on or min(today, plan.ends_on or today),
            "ends_on": plan.ends_on,
            "renewal_type": body.renewal_type or plan.renewal_type,
            "notice_days": body.notice_days or 0,
            "notes": f"adopted from {connection.name}: {rec.kind} {rec.external_id}",
        }
    )
    sub = await _AdoptedSubscriptions().create(session, principal, data)
    return await link(
        session,
        principal,
        sub,
        connection_id=connection.id,
        external_id=rec.external_id,
        version=sub.version,
        meta={"adopted": True, "unit_cost_from": "request" if body.unit_cost is not None else "vendor"},
    )
