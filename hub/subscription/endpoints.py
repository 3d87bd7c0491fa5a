import uuid
from typing import Any

from hub.api.projection import json_response
from hub.api.router import crud_router
from hub.deps import PrincipalDep, SessionDep
from hub.models.enums import Payer
from hub.subscription.print_usage import print_usage
from hub.subscription.schemas import (
    PrintUsage,
    SubscriptionClientRead,
    SubscriptionCreate,
    SubscriptionFilters,
    SubscriptionRead,
    SubscriptionUpdate,
    TermClientRead,
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
    client_read=SubscriptionClientRead,
    create=SubscriptionCreate,
    update=SubscriptionUpdate,
    filters=SubscriptionFilters,
)


@router.get(
    "/{item_id}/terms",
    response_model=list[TermRead] | list[TermClientRead],
    operation_id="list_subscription_terms",
    summary="Term history of a subscription, oldest first",
)
async def list_terms(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    terms = await subscriptions.terms(session, principal, item_id)
    if not principal.is_client:
        return json_response([TermRead.model_validate(t).model_dump(mode="json") for t in terms])
    sub = await subscriptions.get(session, principal, item_id)
    # A term records the vendor's price: the client's own only when it pays the vendor.
    direct = sub.payer is Payer.client_direct
    return json_response(
        [
            TermClientRead.model_validate(
                {**TermRead.model_validate(t).model_dump(), "unit_price": t.unit_cost if direct else None}
            ).model_dump(mode="json")
            for t in terms
        ]
    )


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
    usage = PrintUsage.model_validate(await print_usage(session, sub))
    if principal.is_client and sub.payer is not Payer.client_direct:
        # The page price on the plan is the vendor's to the MSP: not the client's to see.
        usage = usage.model_copy(update={"price_per_page": None, "overage_cost": None})
    return usage
