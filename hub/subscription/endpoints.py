import uuid

from hub.api.router import crud_router
from hub.deps import PrincipalDep, SessionDep
from hub.subscription.print_usage import print_usage
from hub.subscription.schemas import (
    PrintUsage,
    SubscriptionCreate,
    SubscriptionFilters,
    SubscriptionRead,
    SubscriptionUpdate,
    TermCreate,
    TermRead,
)
from hub.subscription.service import SubscriptionService

subscriptions = SubscriptionService()

router = crud_router(
    subscriptions,
    prefix="/subscriptions",
    name="subscription",
    plural="subscriptions",
    tag="subscriptions",
    read=SubscriptionRead,
    create=SubscriptionCreate,
    update=SubscriptionUpdate,
    filters=SubscriptionFilters,
)


@router.get(
    "/{item_id}/terms",
    response_model=list[TermRead],
    operation_id="list_subscription_terms",
    summary="Term history of a subscription, oldest first",
)
async def list_terms(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> list[TermRead]:
    return [TermRead.model_validate(t) for t in await subscriptions.terms(session, principal, item_id)]


@router.post(
    "/{item_id}/terms",
    response_model=TermRead,
    status_code=201,
    operation_id="add_subscription_term",
    summary="Record a renewal: append a term (history is never overwritten)",
)
async def add_term(
    item_id: uuid.UUID, body: TermCreate, session: SessionDep, principal: PrincipalDep
) -> TermRead:
    return TermRead.model_validate(await subscriptions.add_term(session, principal, item_id, body))


@router.get(
    "/{item_id}/print-usage",
    response_model=PrintUsage,
    operation_id="get_subscription_print_usage",
    summary="Pay-per-print: pages used in the current term against the allowance, and the overage cost",
)
async def get_print_usage(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> PrintUsage:
    sub = await subscriptions.get(session, principal, item_id)
    return PrintUsage.model_validate(await print_usage(session, sub))
