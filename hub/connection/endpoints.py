"""Connections: create / list / read / update / delete and `test` (the adapter's verify());
the installed adapters with their config schemas. (`sync` is in `hub.sync.endpoints`.)

No `from __future__ import annotations`: FastAPI reads the annotations at runtime."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from hub.api.projection import json_response, respond, respond_page
from hub.connection.schemas import (
    AdapterList,
    AdapterRead,
    ConnectionClientRead,
    ConnectionCreate,
    ConnectionFilters,
    ConnectionRead,
    ConnectionTestResult,
    ConnectionUpdate,
)
from hub.connection.service import connections, to_read, verify
from hub.deps import PrincipalDep, RuntimeDep, SessionDep
from hub.kit.schema import Page

router = APIRouter(prefix="/connections", tags=["connections"])
adapters_router = APIRouter(prefix="/adapters", tags=["connections"])


@router.get(
    "",
    response_model=Page[ConnectionRead] | Page[ConnectionClientRead],
    operation_id="list_connections",
    summary="List connections",
)
async def list_connections(
    session: SessionDep, principal: PrincipalDep, params: Annotated[ConnectionFilters, Query()]
) -> Any:
    items, total = await connections.list(session, principal, params)
    if principal.is_client:  # no config to decrypt: the client's view has none
        return respond_page(
            principal, items, total, params.limit, params.offset, ConnectionRead, ConnectionClientRead
        )
    # Rendered here: FastAPI would validate the answer against the union of both shapes and
    # could keep the client's (a subset) for a staff caller.
    return json_response(
        {
            "items": [to_read(session, c).model_dump(mode="json") for c in items],
            "total": total,
            "limit": params.limit,
            "offset": params.offset,
        }
    )


@router.post(
    "",
    response_model=ConnectionRead,
    status_code=201,
    operation_id="create_connection",
    summary="Create a connection (config validated by the adapter; secrets stored encrypted)",
    responses={409: {"description": "another connection already connects to this vendor account"}},
)
async def create_connection(body: ConnectionCreate, session: SessionDep, principal: PrincipalDep) -> Any:
    return to_read(session, await connections.create(session, principal, body))


@router.get(
    "/{item_id}",
    response_model=ConnectionRead | ConnectionClientRead,
    operation_id="get_connection",
    summary="Read a connection",
)
async def get_connection(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    connection = await connections.get(session, principal, item_id)
    if principal.is_client:
        return respond(principal, connection, ConnectionRead, ConnectionClientRead)
    return json_response(to_read(session, connection).model_dump(mode="json"))


@router.patch(
    "/{item_id}",
    response_model=ConnectionRead,
    operation_id="update_connection",
    summary="Rename, enable/disable, or replace the config (secrets left out keep their value)",
    responses={409: {"description": "stale version, or the vendor account has another connection"}},
)
async def update_connection(
    item_id: uuid.UUID, body: ConnectionUpdate, session: SessionDep, principal: PrincipalDep
) -> Any:
    return to_read(session, await connections.update(session, principal, item_id, body))


@router.delete(
    "/{item_id}",
    status_code=204,
    operation_id="delete_connection",
    summary="Delete a connection with its synced vendor records, tenant mappings and discrepancies",
)
async def delete_connection(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    await connections.delete(session, principal, item_id)
    return Response(status_code=204)


@router.post(
    "/{item_id}/test",
    response_model=ConnectionTestResult,
    operation_id="test_connection",
    summary="Ask the vendor whether the credentials work; updates the health (audited)",
)
async def test_connection(item_id: uuid.UUID, runtime: RuntimeDep, principal: PrincipalDep) -> Any:
    # No request transaction: the vendor is called with no transaction open.
    return await verify(runtime, principal, item_id)


@adapters_router.get(
    "",
    response_model=AdapterList,
    operation_id="list_adapters",
    summary="Installed adapters, their capabilities and config JSON Schema (staff)",
)
async def list_adapters(principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    principal.require_staff()
    registry = runtime.adapters
    items = []
    for slug, spec in registry.specs.items():
        m = spec.manifest
        items.append(
            AdapterRead(
                slug=slug,
                vendor=m.vendor,
                category=m.category,
                version=m.version,
                capabilities=sorted(m.capabilities),
                account_ref_field=m.account_ref_field,
                config_schema=m.config_model.model_json_schema(mode="validation"),
                docs_url=m.docs_url,
            )
        )
    return AdapterList(items=items, broken=dict(registry.broken))
