from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.activity.schemas import AuditEventRead, AuditFilters
from hub.api.crud import CrudService, Resource, equals
from hub.deps import PrincipalDep, SessionDep
from hub.kit.schema import Page
from hub.models import AuditEvent


class AuditService(CrudService[AuditEvent]):
    resource = Resource(
        model=AuditEvent,
        label="audit event",
        subject_type="audit_event",
        client_column=AuditEvent.client_id,
        sort_fields={"occurred_at": AuditEvent.occurred_at, "id": AuditEvent.id},
        default_sort="-id",
        filters={
            name: equals(getattr(AuditEvent, name))
            for name in ("subject_type", "subject_id", "client_id", "actor", "action")
        },
    )


audit = AuditService()
router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "",
    response_model=Page[AuditEventRead],
    operation_id="list_audit_events",
    summary="Who did what, when (newest first; secrets redacted)",
)
async def list_audit(
    session: SessionDep, principal: PrincipalDep, params: Annotated[AuditFilters, Query()]
) -> Any:
    items, total = await audit.list(session, principal, params)
    return {"items": items, "total": total, "limit": params.limit, "offset": params.offset}
