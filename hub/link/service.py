"""Linking a hub subscription to a vendor subscription (a connection and the vendor's id of
it), checked against what the connection's last sync saw, and unlinking it.

A link decides what the renewal executor orders: a wrong one renews another client's
subscription. So a link is only made to a vendor subscription the connection really sees
(a synced record of kind `subscriptions` or `license_usage`, still listed), in a vendor
tenant mapped to the subscription's own client, and held by no other hub subscription.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from hub.audit.service import record
from hub.auth.principal import Principal
from hub.errors import Conflict, InvalidInput, StaleVersion
from hub.models import Connection, LinkProposal, ProposalState, Subscription, VendorAccount, VendorRecord
from hub.models.enums import AuditAction, ConnectionScope

# The kinds of vendor record that are vendor subscriptions (sync stores them by capability).
SUBSCRIPTION_KINDS = ("subscriptions", "license_usage")
# What a subscription may be linked to: those, and a domain at its registrar (a domain
# registration renews there: its external id is the domain's name).
LINKABLE_KINDS = (*SUBSCRIPTION_KINDS, "domains")


@dataclass(frozen=True)
class LinkFields:
    """The names a refusal points at: the API's body fields, or a spreadsheet's columns."""

    connection: str = "connection_id"
    external_id: str = "external_id"


API_FIELDS = LinkFields()


async def vendor_subscription(
    session: AsyncSession, connection_id: uuid.UUID, external_id: str
) -> VendorRecord | None:
    """The connection's synced record of that vendor subscription (a subscription record
    before a licence record when the vendor lists the id as both)."""
    rows = (
        (
            await session.execute(
                select(VendorRecord).where(
                    VendorRecord.connection_id == connection_id,
                    VendorRecord.kind.in_(LINKABLE_KINDS),
                    VendorRecord.external_id == external_id,
                )
            )
        )
        .scalars()
        .all()
    )
    return min(rows, key=lambda r: LINKABLE_KINDS.index(r.kind), default=None)


async def _connection(
    session: AsyncSession,
    principal: Principal,
    connection_id: uuid.UUID,
    client_id: uuid.UUID,
    fields: LinkFields,
) -> Connection:
    connection = await session.get(Connection, connection_id)
    if connection is None or (
        principal.client_id is not None and connection.client_id != principal.client_id
    ):
        raise InvalidInput(fields.connection, f"no connection with id {connection_id}")
    if connection.scope is ConnectionScope.client and connection.client_id != client_id:
        raise InvalidInput(
            fields.connection,
            f"connection '{connection.name}' belongs to another client than the subscription",
        )
    return connection


async def check_link(
    session: AsyncSession,
    principal: Principal,
    *,
    client_id: uuid.UUID,
    connection_id: uuid.UUID,
    external_id: str,
    subscription_id: uuid.UUID | None = None,
    fields: LinkFields = API_FIELDS,
) -> VendorRecord:
    """The vendor record a subscription of `client_id` may be linked to, or the reason it
    may not (InvalidInput naming the field; Conflict when another subscription holds it)."""
    connection = await _connection(session, principal, connection_id, client_id, fields)
    found = await vendor_subscription(session, connection_id, external_id)
    if found is None:
        synced = (
            await session.execute(
                select(func.count(VendorRecord.id)).where(
                    VendorRecord.connection_id == connection_id, VendorRecord.kind.in_(LINKABLE_KINDS)
                )
            )
        ).scalar_one()
        if not synced:
            raise InvalidInput(
                fields.connection,
                f"connection '{connection.name}' has no synced vendor subscriptions to check "
                f"'{external_id}' against; sync it first (POST /connections/{connection_id}/sync)",
            )
        raise InvalidInput(
            fields.external_id,
            f"connection '{connection.name}' sees no vendor subscription '{external_id}' "
            "(as of its last sync)",
        )
    tenant = found.tenant_external_id or "?"
    if found.missing_since is not None:
        raise InvalidInput(
            fields.external_id,
            f"the vendor no longer lists '{external_id}' (missing since {found.missing_since.date()})",
        )
    if found.client_id is None:
        raise InvalidInput(
            fields.external_id,
            f"'{external_id}' is in vendor tenant '{tenant}', which is mapped to no client; map it first "
            f"(PUT /connections/{connection_id}/tenants/{tenant})",
        )
    if found.client_id != client_id:
        raise InvalidInput(
            fields.external_id, f"'{external_id}' is in vendor tenant '{tenant}', which is another client's"
        )
    holder = (
        await session.execute(
            select(Subscription.id, Subscription.product).where(
                Subscription.connection_id == connection_id, Subscription.external_id == external_id
            )
        )
    ).one_or_none()
    if holder is not None and holder.id != subscription_id:
        raise Conflict(
            f"vendor subscription '{external_id}' is already linked to subscription {holder.id} "
            f"({holder.product}); unlink that one first"
        )
    return found


async def link(
    session: AsyncSession,
    principal: Principal,
    sub: Subscription,
    *,
    connection_id: uuid.UUID,
    external_id: str,
    version: int,
    fields: LinkFields = API_FIELDS,
    meta: dict[str, object] | None = None,
) -> Subscription:
    """Link `sub` to the connection's vendor subscription `external_id` (audited). When
    the subscription's vendor account has no external ref yet, it gets the vendor tenant
    (what the executor orders under, and what maps tenants to clients)."""
    principal.require_staff()
    _check_version(sub, version)
    if (sub.connection_id, sub.external_id) == (connection_id, external_id):
        return sub
    found = await check_link(
        session,
        principal,
        client_id=sub.client_id,
        connection_id=connection_id,
        external_id=external_id,
        subscription_id=sub.id,
        fields=fields,
    )
    before = _link_of(sub)
    sub.connection_id, sub.external_id = connection_id, external_id
    await _fill_account_ref(session, principal, sub, found)
    await supersede_proposals(session, sub.id, connection_id, external_id)
    await _flush(session)
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="subscription",
        subject_id=sub.id,
        client_id=sub.client_id,
        before=before,
        after=_link_of(sub),
        meta={"action": "subscription.linked", "record_kind": found.kind, **(meta or {})},
    )
    return sub


async def unlink(
    session: AsyncSession, principal: Principal, sub: Subscription, *, version: int
) -> Subscription:
    """Forget the subscription's vendor link (audited); unlinking an unlinked one changes
    nothing."""
    principal.require_staff()
    _check_version(sub, version)
    if sub.connection_id is None and sub.external_id is None:
        return sub
    before = _link_of(sub)
    sub.connection_id, sub.external_id = None, None
    await _flush(session)
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="subscription",
        subject_id=sub.id,
        client_id=sub.client_id,
        before=before,
        after=_link_of(sub),
        meta={"action": "subscription.unlinked"},
    )
    return sub


async def _fill_account_ref(
    session: AsyncSession, principal: Principal, sub: Subscription, found: VendorRecord
) -> None:
    account = await session.get(VendorAccount, sub.vendor_account_id)
    if account is None or account.external_ref or not found.tenant_external_id:
        return
    account.external_ref = found.tenant_external_id
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="vendor_account",
        subject_id=account.id,
        client_id=account.client_id,
        before={"external_ref": None},
        after={"external_ref": account.external_ref},
        meta={"action": "subscription.linked", "subscription_id": str(sub.id)},
    )


async def supersede_proposals(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    connection_id: uuid.UUID,
    external_id: str,
    *,
    keep: uuid.UUID | None = None,
) -> None:
    """Once linked, the open proposals of that subscription, and those of that vendor
    subscription, have nothing left to decide."""
    stmt = select(LinkProposal).where(
        LinkProposal.state == ProposalState.open,
        (LinkProposal.subscription_id == subscription_id)
        | ((LinkProposal.connection_id == connection_id) & (LinkProposal.external_id == external_id)),
    )
    for proposal in (await session.execute(stmt)).scalars():
        if proposal.id != keep:
            proposal.state = ProposalState.superseded


def _link_of(sub: Subscription) -> dict[str, str | None]:
    return {
        "connection_id": str(sub.connection_id) if sub.connection_id else None,
        "external_id": sub.external_id,
    }


def _check_version(sub: Subscription, version: int) -> None:
    if sub.version != version:
        raise StaleVersion(
            f"subscription is at version {sub.version}, you sent {version}; read it again",
            current_version=sub.version,
        )


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        raise StaleVersion("the subscription was changed by someone else meanwhile; read it again") from exc
    except IntegrityError as exc:  # two links made at once to the same vendor subscription
        raise Conflict("that vendor subscription was linked to another subscription meanwhile") from exc
