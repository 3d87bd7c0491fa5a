# mypy: disable-error-code="valid-type,attr-defined,unused-ignore"
"""Builds the standard list/create/read/update/delete routes of a resource.

No `from __future__ import annotations` here: FastAPI reads the schema classes from the
annotations of the generated functions at runtime.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from hub.api.crud import CrudService, ListParams
from hub.api.projection import respond, respond_page
from hub.deps import PrincipalDep, SessionDep
from hub.kit.schema import Input, Output, Page, UpdateInput


def crud_router(
    service: CrudService[Any],
    *,
    prefix: str,
    name: str,
    plural: str,
    tag: str,
    read: type[Output],
    create: type[Input],
    update: type[UpdateInput] | None,
    filters: type[ListParams],
    with_delete: bool = True,
    delete_summary: str | None = None,
    client_read: type[Output] | None = None,
) -> APIRouter:
    """`client_read` is what a client user sees of the resource (hub.api.projection);
    without one the resource is for staff only and client users are refused (403)."""
    router = APIRouter(prefix=prefix, tags=[tag])
    label = service.resource.label
    shown: Any = read if client_read is None else (read | client_read)

    def allowed(principal: Any) -> None:
        if client_read is None:
            principal.require_staff()

    @router.get(
        "",
        response_model=Page[shown],
        operation_id=f"list_{plural}",
        summary=f"List {label}s",
    )
    async def list_items(
        session: SessionDep, principal: PrincipalDep, params: Annotated[filters, Query()]
    ) -> Any:
        allowed(principal)
        items, total = await service.list(session, principal, params)
        return respond_page(principal, items, total, params.limit, params.offset, read, client_read)

    @router.post(
        "", response_model=read, status_code=201, operation_id=f"create_{name}", summary=f"Create a {label}"
    )
    async def create_item(body: create, session: SessionDep, principal: PrincipalDep) -> Any:
        return await service.create(session, principal, body)

    @router.get("/{item_id}", response_model=shown, operation_id=f"get_{name}", summary=f"Read a {label}")
    async def get_item(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
        allowed(principal)
        return respond(principal, await service.get(session, principal, item_id), read, client_read)

    if update is not None:

        @router.patch(
            "/{item_id}",
            response_model=read,
            operation_id=f"update_{name}",
            summary=f"Update a {label} (send the version you read)",
            responses={409: {"description": "stale version: someone changed it meanwhile"}},
        )
        async def update_item(
            item_id: uuid.UUID,
            body: update,
            session: SessionDep,
            principal: PrincipalDep,
        ) -> Any:
            return await service.update(session, principal, item_id, body)

    if with_delete:

        @router.delete(
            "/{item_id}",
            status_code=204,
            operation_id=f"delete_{name}",
            summary=delete_summary or f"Delete a {label} (refused while still referenced)",
            responses={409: {"description": "still referenced"}},
        )
        async def delete_item(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
            await service.delete(session, principal, item_id)
            return Response(status_code=204)

    return router
