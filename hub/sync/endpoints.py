"""Sync a connection now, its tenant mappings, and the discrepancies sync found.

No `from __future__ import annotations`: FastAPI reads the annotations at runtime."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import func, select, update

from hub.audit.service import record
from hub.auth.principal import scope_to_client
from hub.client.service import require_client
from hub.connection.schemas import SyncQueued
from hub.connection.service import connections
from hub.deps import PrincipalDep, SessionDep
from hub.errors import Conflict, InvalidInput
from hub.kit.schema import Page
from hub.kit.time import utcnow
from hub.models.enums import AuditAction, ConnectionScope
from hub.models.sync import Discrepancy, MappedBy, TenantMapping, VendorRecord
from hub.sync.schemas import (
    DiscrepancyFilters,
    DiscrepancyRead,
    TenantFilters,
    TenantMappingPut,
    TenantMappingRead,
)
from hub.sync.service import request_sync

tenants_router = APIRouter(prefix="/connections", tags=["connections"])
discrepancies_router = APIRouter(prefix="/discrepancies", tags=["sync"])


@tenants_router.post(
    "/{item_id}/sync",
    response_model=SyncQueued,
    status_code=202,
    operation_id="sync_connection",
    summary="Queue a sync of this connection now (audited)",
    responses={409: {"description": "the connection is disabled"}},
)
async def sync_connection(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    principal.require_staff()
    connection = await connections.get(session, principal, item_id)
    if not connection.enabled:
        raise Conflict("the connection is disabled; enable it before syncing")
    job_id, already = await request_sync(session, connection, actor=principal.actor, audit_as=principal)
    return SyncQueued(connection_id=item_id, job_id=job_id, already_queued=already)


TENANT_SORT = {
    "name": TenantMapping.name,
    "external_id": TenantMapping.external_id,
    "first_seen_at": TenantMapping.first_seen_at,
}
DISCREPANCY_SORT = {
    "first_seen_at": Discrepancy.first_seen_at,
    "last_seen_at": Discrepancy.last_seen_at,
    "kind": Discrepancy.kind,
    "external_id": Discrepancy.external_id,
}


def order_by(sort: str, fields: dict[str, Any], tiebreak: Any) -> list[Any]:
    """`sort` ("field,-other") as ORDER BY clauses; an unknown field is a 422 naming `sort`."""
    clauses: list[Any] = []
    for raw in (s.strip() for s in sort.split(",") if s.strip()):
        name = raw.lstrip("-+")
        if name not in fields:
            raise InvalidInput(
                "sort", f"cannot sort by '{name}'; use one of {', '.join(sorted(fields))}", location="query"
            )
        column = fields[name]
        clauses.append(column.desc().nulls_last() if raw.startswith("-") else column.asc().nulls_last())
    if not clauses:
        raise InvalidInput("sort", "name at least one field to sort by", location="query")
    return [*clauses, tiebreak]


ExternalId = Annotated[str, Path(min_length=1, max_length=200, description="the vendor's tenant id")]


@tenants_router.get(
    "/{item_id}/tenants",
    response_model=Page[TenantMappingRead],
    operation_id="list_connection_tenants",
    summary="The vendor's tenants of this connection and the client each is mapped to",
)
async def list_tenants(
    item_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    params: Annotated[TenantFilters, Query()],
) -> Any:
    principal.require_staff()  # the MSP's mapping of vendor tenants: no client's business
    await connections.get(session, principal, item_id)
    stmt = select(TenantMapping).where(TenantMapping.connection_id == item_id)
    if params.mapped is not None:
        column = TenantMapping.client_id
        stmt = stmt.where(column.is_not(None) if params.mapped else column.is_(None))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    stmt = stmt.order_by(*order_by(params.sort or "name,external_id", TENANT_SORT, TenantMapping.id))
    stmt = stmt.limit(params.limit).offset(params.offset)
    items = (await session.execute(stmt)).scalars().all()
    return {"items": items, "total": total, "limit": params.limit, "offset": params.offset}


@tenants_router.put(
    "/{item_id}/tenants/{external_id}",
    response_model=TenantMappingRead,
    operation_id="map_connection_tenant",
    summary="Map a vendor tenant to a hub client (null unmaps; auto-mapping then leaves it alone)",
)
async def map_tenant(
    item_id: uuid.UUID,
    external_id: ExternalId,
    body: TenantMappingPut,
    session: SessionDep,
    principal: PrincipalDep,
) -> Any:
    principal.require_staff()
    connection = await connections.get(session, principal, item_id)
    if "\x00" in external_id:
        raise InvalidInput("external_id", "must not contain NUL characters", location="path")
    if body.client_id is not None:
        await require_client(session, principal, body.client_id)
        if connection.scope is ConnectionScope.client and body.client_id != connection.client_id:
            raise InvalidInput("client_id", "a client-scoped connection's tenants belong to its own client")
    stmt = select(TenantMapping).where(
        TenantMapping.connection_id == item_id, TenantMapping.external_id == external_id
    )
    mapping = (await session.execute(stmt)).scalar_one_or_none()
    before = {"client_id": str(mapping.client_id) if mapping and mapping.client_id else None}
    if mapping is None:
        # A tenant not synced yet may be mapped ahead of its first sync.
        mapping = TenantMapping(
            connection_id=item_id, external_id=external_id, name="", first_seen_at=utcnow()
        )
        session.add(mapping)
    mapping.client_id = body.client_id
    mapping.mapped_by = MappedBy.manual
    await session.flush()
    # What sync stored for this tenant belongs to the new client from now on.
    for model in (VendorRecord, Discrepancy):
        await session.execute(
            update(model)
            .where(model.connection_id == item_id, model.tenant_external_id == external_id)
            .values(client_id=body.client_id)
            .execution_options(synchronize_session=False)
        )
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="tenant_mapping",
        subject_id=mapping.id,
        client_id=body.client_id or connection.client_id,
        before=before,
        after={"client_id": str(body.client_id) if body.client_id else None, "external_id": external_id},
        meta={"connection_id": str(item_id)},
    )
    return mapping


@discrepancies_router.get(
    "",
    response_model=Page[DiscrepancyRead],
    operation_id="list_discrepancies",
    summary="Where vendors and the hub disagree (open ones unless include_resolved)",
)
async def list_discrepancies(
    session: SessionDep, principal: PrincipalDep, params: Annotated[DiscrepancyFilters, Query()]
) -> Any:
    # Where the MSP's records and a vendor's disagree is the MSP's work list, not the client's.
    principal.require_staff()
    stmt = scope_to_client(select(Discrepancy), principal, Discrepancy.client_id)
    if principal.client_id is not None:
        stmt = stmt.where(Discrepancy.client_id.is_not(None))
    if params.client_id is not None:
        stmt = stmt.where(Discrepancy.client_id == params.client_id)
    if params.connection_id is not None:
        stmt = stmt.where(Discrepancy.connection_id == params.connection_id)
    if params.kind is not None:
        stmt = stmt.where(Discrepancy.kind == params.kind)
    if not params.include_resolved:
        stmt = stmt.where(Discrepancy.resolved_at.is_(None))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    stmt = stmt.order_by(*order_by(params.sort or "-first_seen_at", DISCREPANCY_SORT, Discrepancy.id))
    stmt = stmt.limit(params.limit).offset(params.offset)
    items = (await session.execute(stmt)).scalars().all()
    return {"items": items, "total": total, "limit": params.limit, "offset": params.offset}
