"""Links between hub subscriptions and vendor subscriptions: link and unlink by hand, the
proposals sync makes (accept, reject), and adopting vendor subscriptions the hub does not
know yet.

No `from __future__ import annotations`: FastAPI reads the annotations at runtime."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.deps import PrincipalDep, RuntimeDep, SessionDep
from hub.kit.schema import Page
from hub.link import adopt, proposals, service
from hub.link.schemas import (
    AdoptRequest,
    LinkProposalRead,
    LinkRequest,
    ProposalFilters,
    UnknownFilters,
    UnknownVendorSubscription,
    UnlinkRequest,
)
from hub.subscription.schemas import SubscriptionRead
from hub.subscription.service import SubscriptionService

router = APIRouter(tags=["subscriptions"])
subscriptions = SubscriptionService()


@router.post(
    "/subscriptions/{item_id}/link",
    response_model=SubscriptionRead,
    operation_id="link_subscription",
    summary="Link a subscription to a vendor subscription its connection sees (audited); "
    "renewals then order through that connection",
    responses={409: {"description": "stale version, or the vendor subscription is linked to another"}},
)
async def link_subscription(
    item_id: uuid.UUID, body: LinkRequest, session: SessionDep, principal: PrincipalDep
) -> Any:
    principal.require_staff()
    sub = await subscriptions.get(session, principal, item_id)
    return await service.link(
        session,
        principal,
        sub,
        connection_id=body.connection_id,
        external_id=body.external_id,
        version=body.version,
    )


@router.post(
    "/subscriptions/{item_id}/unlink",
    response_model=SubscriptionRead,
    operation_id="unlink_subscription",
    summary="Forget a subscription's vendor link (audited)",
)
async def unlink_subscription(
    item_id: uuid.UUID, body: UnlinkRequest, session: SessionDep, principal: PrincipalDep
) -> Any:
    principal.require_staff()
    sub = await subscriptions.get(session, principal, item_id)
    return await service.unlink(session, principal, sub, version=body.version)


@router.get(
    "/link-proposals",
    response_model=Page[LinkProposalRead],
    operation_id="list_link_proposals",
    summary="Links sync proposes between unlinked subscriptions and the vendor subscriptions "
    "connections see (open ones, best first; staff)",
)
async def list_link_proposals(
    session: SessionDep, principal: PrincipalDep, params: Annotated[ProposalFilters, Query()]
) -> Any:
    items, total = await proposals.list_proposals(session, principal, params)
    return {"items": items, "total": total, "limit": params.limit, "offset": params.offset}


@router.post(
    "/link-proposals/{proposal_id}/accept",
    response_model=LinkProposalRead,
    operation_id="accept_link_proposal",
    summary="Accept a link proposal: the subscription is linked (audited)",
    responses={409: {"description": "the proposal is no longer open, or the link cannot be made any more"}},
)
async def accept_link_proposal(
    proposal_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Any:
    return await proposals.accept(session, principal, proposal_id, runtime.now())


@router.post(
    "/link-proposals/{proposal_id}/reject",
    response_model=LinkProposalRead,
    operation_id="reject_link_proposal",
    summary="Reject a link proposal: that pair is never proposed again (audited)",
    responses={409: {"description": "the proposal is no longer open"}},
)
async def reject_link_proposal(
    proposal_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Any:
    return await proposals.reject(session, principal, proposal_id, runtime.now())


@router.get(
    "/vendor-subscriptions/unknown",
    response_model=Page[UnknownVendorSubscription],
    operation_id="list_unknown_vendor_subscriptions",
    summary="Vendor subscriptions connections list that no hub subscription is linked to, "
    "with what adopting each would create (staff)",
)
async def list_unknown_vendor_subscriptions(
    session: SessionDep, principal: PrincipalDep, params: Annotated[UnknownFilters, Query()]
) -> Any:
    items, total = await adopt.list_unknown(session, principal, params)
    return {"items": items, "total": total, "limit": params.limit, "offset": params.offset}


@router.post(
    "/vendor-subscriptions/adopt",
    response_model=SubscriptionRead,
    status_code=201,
    operation_id="adopt_vendor_subscription",
    summary="Adopt a vendor subscription the hub does not know: create the hub subscription "
    "linked to it, cost from the vendor's price (confirm: true; audited)",
    responses={409: {"description": "already linked, or a link proposal for it is open"}},
)
async def adopt_vendor_subscription(
    body: AdoptRequest, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Any:
    principal.require_staff()
    return await adopt.adopt(session, principal, body, runtime.today())
