"""`GET /audit`: who did what, when. Staff read the raw audit trail (secrets redacted); a
client user reads its activity log in words (hub.activity.client): no internal meta, no
before/after of fields its view does not show."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.activity.schemas import ActivityRead, AuditEventRead, AuditFilters
from hub.activity.service import audit, client_activity
from hub.api.projection import json_response, respond_page
from hub.deps import PrincipalDep, SessionDep
from hub.kit.schema import Page

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "",
    response_model=Page[AuditEventRead] | Page[ActivityRead],
    operation_id="list_audit_events",
    summary="Who did what, when (newest first; secrets redacted; a client user gets its activity log)",
)
async def list_audit(
    session: SessionDep, principal: PrincipalDep, params: Annotated[AuditFilters, Query()]
) -> Any:
    if principal.is_client:
        told, count = await client_activity(session, principal, params)
        page = Page[ActivityRead](items=told, total=count, limit=params.limit, offset=params.offset)
        return json_response(page.model_dump(mode="json"))
    items, total = await audit.list(session, principal, params)
    return respond_page(principal, items, total, params.limit, params.offset, AuditEventRead, None)
