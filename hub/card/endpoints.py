"""`GET /clients/{id}/vendors/{vendor_id}/card` and `GET /clients/{id}/who?q=`."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.api.projection import respond
from hub.card.schemas import Card, ClientCard, ClientWhoAnswer, WhoAnswer, WhoParams
from hub.card.service import build_card, who
from hub.deps import PrincipalDep, RuntimeDep, SessionDep

router = APIRouter(prefix="/clients", tags=["who to call"])


@router.get(
    "/{client_id}/vendors/{vendor_id}/card",
    response_model=Card | ClientCard,
    operation_id="get_vendor_card",
    summary="Who to call: a vendor's channels (open now?), SLA, escalation, accounts, open cases "
    "and what of the client depends on it",
)
async def get_card(
    client_id: uuid.UUID,
    vendor_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> Any:
    card = await build_card(session, principal, client_id, vendor_id, runtime.now())
    return respond(principal, card, Card, ClientCard)


@router.get(
    "/{client_id}/who",
    response_model=WhoAnswer | ClientWhoAnswer,
    operation_id="who_to_call",
    summary="Find the vendor cards for a domain, serial, IP address, account number or vendor name "
    "(none: every vendor of the client)",
)
async def who_to_call(
    client_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    params: Annotated[WhoParams, Query()],
) -> Any:
    answer = await who(session, principal, client_id, params.q, runtime.now())
    return respond(principal, answer, WhoAnswer, ClientWhoAnswer)
