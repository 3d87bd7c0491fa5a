"""What a caller sees of an object: the one place that picks the response shape by who
is asking.

Staff get a resource's full read schema; a client user (any principal bound to a client:
client_viewer today, client_admin with the web portal) gets its client-safe one
(`XClientRead`): what the client pays, never the MSP's buy price, margin, notes,
connection internals or sync bookkeeping (DESIGN.md §7). The web portal (issue 13) calls
`shape` with the same schemas, so pages and API show a client exactly the same thing.

Responses are rendered here (orjson) rather than through FastAPI's `response_model`,
which documents both shapes but would validate a client's answer against the staff one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from fastapi import Response

from hub.auth.principal import Principal
from hub.kit.schema import Output


def schema_for(principal: Principal, staff: type[Output], client: type[Output] | None) -> type[Output]:
    """The schema `principal` is shown an object in. A resource without a client schema
    is not for client users: they are refused before getting here (require_staff)."""
    if principal.is_client:
        if client is None:
            principal.require_staff()  # raises: a route forgot to refuse a client user
        assert client is not None
        return client
    return staff


def shape(
    principal: Principal, value: Any, staff: type[Output], client: type[Output] | None
) -> dict[str, Any]:
    """`value` (an ORM object or a dict) as JSON-ready data in the principal's shape."""
    return schema_for(principal, staff, client).model_validate(value).model_dump(mode="json")


def respond(
    principal: Principal,
    value: Any,
    staff: type[Output],
    client: type[Output] | None,
    *,
    status_code: int = 200,
) -> Response:
    return json_response(shape(principal, value, staff, client), status_code=status_code)


def respond_page(
    principal: Principal,
    items: Iterable[Any],
    total: int,
    limit: int,
    offset: int,
    staff: type[Output],
    client: type[Output] | None,
) -> Response:
    model = schema_for(principal, staff, client)
    body = {
        "items": [model.model_validate(item).model_dump(mode="json") for item in items],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
    return json_response(body)


def json_response(body: Any, *, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


__all__ = ["json_response", "respond", "respond_page", "schema_for", "shape"]
