"""Link proposals: after each complete sync, which unlinked hub subscriptions look like the
vendor subscriptions the connection lists (`hub.link.engine` scores them); a technician
accepts one (it is linked, audited) or rejects it (remembered: the pair is not proposed
again). Nothing is ever linked without a person."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth.principal import Principal
from hub.errors import Conflict, HubError, NotFound
from hub.link import engine
from hub.link.schemas import ProposalFilters
from hub.link.service import SUBSCRIPTION_KINDS, link, supersede_proposals
from hub.models import LinkProposal, ProposalState, RenewalRoute, Subscription, VendorRecord
from hub.models.enums import AuditAction, SubscriptionStatus

CHUNK = 500


def _vendor_detail(record_: Any, side: engine.VendorSide) -> dict[str, Any]:
    return {
        "product": side.product,
        "codes": list(side.codes),
        "quantity": side.quantity,
        "starts_on": side.starts_on.isoformat() if side.starts_on else None,
        "ends_on": side.ends_on.isoformat() if side.ends_on else None,
        "tenant_external_id": record_.tenant_external_id,
    }


def _hub_detail(side: engine.HubSide) -> dict[str, Any]:
    return {
        "product": side.product,
        "sku": side.sku,
        "quantity": side.quantity,
        "starts_on": side.starts_on.isoformat(),
        "ends_on": side.ends_on.isoformat() if side.ends_on else None,
    }


async def _unlinked_by_client(
    session: AsyncSession, connection_id: uuid.UUID
) -> dict[uuid.UUID, list[tuple[uuid.UUID, engine.HubSide]]]:
    """Active hub subscriptions linked to no connection, by client: of the clients whose
    tenants have vendor subscriptions at this connection (only those are ever compared)."""
    clients = (
        select(VendorRecord.client_id)
        .where(
            VendorRecord.connection_id == connection_id,
            VendorRecord.kind.in_(SUBSCRIPTION_KINDS),
            VendorRecord.missing_since.is_(None),
            VendorRecord.client_id.is_not(None),
        )
        .distinct()
    )
    rows = await session.execute(
        select(
            Subscription.id,
            Subscription.client_id,
            Subscription.external_id,
            Subscription.product,
            Subscription.sku,
            Subscription.quantity,
            Subscription.starts_on,
            Subscription.ends_on,
        ).where(
            Subscription.client_id.in_(clients),
            Subscription.connection_id.is_(None),
            Subscription.status == SubscriptionStatus.active,
            Subscription.cancelled_at.is_(None),
            # A renewal route already says where it is bought and read back.
            ~select(RenewalRoute.id).where(RenewalRoute.subscription_id == Subscription.id).exists(),
        )
    )
    out: dict[uuid.UUID, list[tuple[uuid.UUID, engine.HubSide]]] = defaultdict(list)
    for sid, cid, ext, product, sku, quantity, starts, ends in rows:
        out[cid].append((sid, engine.HubSide(ext, product, sku, quantity, starts, ends)))
    return out


async def _unlinked_records(
    session: AsyncSession, connection_id: uuid.UUID, clients: list[uuid.UUID]
) -> list[VendorRecord]:
    """The connection's listed vendor subscriptions in tenants of these clients that no hub
    subscription is linked to."""
    linked = set(
        (
            await session.execute(
                select(Subscription.external_id).where(
                    Subscription.connection_id == connection_id, Subscription.external_id.is_not(None)
                )
            )
        ).scalars()
    )
    # What renewal routes order here is spoken for too.
    linked.update(
        (
            await session.execute(
                select(RenewalRoute.order_ref).where(RenewalRoute.order_connection_id == connection_id)
            )
        ).scalars()
    )
    found: list[VendorRecord] = []
    for i in range(0, len(clients), CHUNK):
        rows = await session.execute(
            select(VendorRecord).where(
                VendorRecord.connection_id == connection_id,
                VendorRecord.kind.in_(SUBSCRIPTION_KINDS),
                VendorRecord.missing_since.is_(None),
                VendorRecord.client_id.in_(clients[i : i + CHUNK]),
            )
        )
        found.extend(r for r in rows.scalars() if r.external_id not in linked)
    return found


async def propose_links(session: AsyncSession, connection_id: uuid.UUID, now: datetime) -> dict[str, int]:
    """Refresh the connection's proposals after a complete sync: new matches are proposed,
    open ones get their new score, open ones that no longer match (linked meanwhile, gone
    at the vendor) are superseded; rejected and accepted pairs are left alone."""
    hub_by_client = await _unlinked_by_client(session, connection_id)
    records = await _unlinked_records(session, connection_id, sorted(hub_by_client))
    vendor_by_client: dict[uuid.UUID, list[tuple[VendorRecord, engine.VendorSide]]] = defaultdict(list)
    for rec in records:
        assert rec.client_id is not None  # filtered in SQL
        vendor_by_client[rec.client_id].append((rec, engine.vendor_side(rec.kind, rec.payload)))
    existing = {
        (p.subscription_id, p.external_id): p
        for p in (
            await session.execute(select(LinkProposal).where(LinkProposal.connection_id == connection_id))
        ).scalars()
    }
    hub_sides = {sid: side for subs in hub_by_client.values() for sid, side in subs}
    sides = {id(rec): side for subs in vendor_by_client.values() for rec, side in subs}
    seen: set[tuple[uuid.UUID, str]] = set()
    new = 0
    for client_id, vendors in vendor_by_client.items():
        for found in engine.propose(vendors, hub_by_client[client_id]):
            rec, sub_id = found.vendor, found.hub
            key = (sub_id, rec.external_id)
            seen.add(key)
            detail = {"vendor": _vendor_detail(rec, sides[id(rec)]), "hub": _hub_detail(hub_sides[sub_id])}
            row = existing.get(key)
            if row is None:
                session.add(
                    LinkProposal(
                        subscription_id=sub_id,
                        connection_id=connection_id,
                        external_id=rec.external_id,
                        record_kind=rec.kind,
                        client_id=client_id,
                        score=found.match.score,
                        signals=list(found.match.signals),
                        state=ProposalState.open,
                        last_proposed_at=now,
                        detail=detail,
                    )
                )
                new += 1
            elif row.state is ProposalState.open:
                row.score, row.signals = found.match.score, list(found.match.signals)
                row.record_kind, row.detail, row.last_proposed_at = rec.kind, detail, now
    for key, row in existing.items():
        if row.state is ProposalState.open and key not in seen:
            row.state = ProposalState.superseded
    await session.flush()
    open_now = (
        await session.execute(
            select(func.count(LinkProposal.id)).where(
                LinkProposal.connection_id == connection_id, LinkProposal.state == ProposalState.open
            )
        )
    ).scalar_one()
    return {"link_proposals_open": int(open_now), "link_proposals_new": new}


# --- reading and deciding ------------------------------------------------------------------


def _filtered(params: ProposalFilters) -> Select[Any]:
    stmt = select(LinkProposal)
    if params.state is not None:
        stmt = stmt.where(LinkProposal.state == params.state)
    for column, value in (
        (LinkProposal.client_id, params.client_id),
        (LinkProposal.connection_id, params.connection_id),
        (LinkProposal.subscription_id, params.subscription_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


async def list_proposals(
    session: AsyncSession, principal: Principal, params: ProposalFilters
) -> tuple[list[LinkProposal], int]:
    """Proposals (open ones unless asked otherwise), best first. Staff only: they show
    what the MSP's connections see."""
    principal.require_staff()
    stmt = _filtered(params)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    stmt = stmt.order_by(LinkProposal.score.desc(), LinkProposal.created_at, LinkProposal.id)
    rows = (await session.execute(stmt.limit(params.limit).offset(params.offset))).scalars().all()
    return list(rows), int(total)


async def _open_proposal(session: AsyncSession, principal: Principal, proposal_id: uuid.UUID) -> LinkProposal:
    principal.require_staff()
    proposal = await session.get(LinkProposal, proposal_id)
    if proposal is None:
        raise NotFound(f"link proposal {proposal_id} not found")
    if proposal.state is not ProposalState.open:
        raise Conflict(f"link proposal {proposal_id} is {proposal.state.value}: there is nothing to decide")
    return proposal


def _audit(session: AsyncSession, principal: Principal, proposal: LinkProposal, action: str) -> None:
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="link_proposal",
        subject_id=proposal.id,
        client_id=proposal.client_id,
        before={"state": ProposalState.open.value},
        after={"state": proposal.state.value},
        meta={
            "action": action,
            "subscription_id": str(proposal.subscription_id),
            "connection_id": str(proposal.connection_id),
            "external_id": proposal.external_id,
            "score": proposal.score,
        },
    )


async def accept(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, now: datetime
) -> LinkProposal:
    """Link the proposed pair (checked as a link by hand is) and close the proposal; the
    other open proposals of that subscription or of that vendor subscription are
    superseded."""
    proposal = await _open_proposal(session, principal, proposal_id)
    sub = await session.get(Subscription, proposal.subscription_id)
    assert sub is not None  # the proposal goes with its subscription (ON DELETE CASCADE)
    try:
        await link(
            session,
            principal,
            sub,
            connection_id=proposal.connection_id,
            external_id=proposal.external_id,
            version=sub.version,
            meta={"proposal_id": str(proposal.id)},
        )
    except HubError as exc:
        raise Conflict(f"the proposed link cannot be made any more: {exc.detail}") from exc
    proposal.state, proposal.decided_by, proposal.decided_at = ProposalState.accepted, principal.actor, now
    await supersede_proposals(session, sub.id, proposal.connection_id, proposal.external_id, keep=proposal.id)
    _audit(session, principal, proposal, "link_proposal.accepted")
    await session.flush()
    return proposal


async def reject(
    session: AsyncSession, principal: Principal, proposal_id: uuid.UUID, now: datetime
) -> LinkProposal:
    """Not this pair: remembered, so sync never proposes it again."""
    proposal = await _open_proposal(session, principal, proposal_id)
    proposal.state, proposal.decided_by, proposal.decided_at = ProposalState.rejected, principal.actor, now
    _audit(session, principal, proposal, "link_proposal.rejected")
    await session.flush()
    return proposal
