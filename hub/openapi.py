"""The OpenAPI document, with the error responses the API really sends.

FastAPI documents 422 as its own `{"detail": [...]}` JSON; this API answers every error
with problem details (hub.errors), so the document says so, and lists the other error
statuses a client must handle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from hub.errors import PROBLEM_JSON, Problem

_REF = {"$ref": "#/components/schemas/Problem"}
_WRITES = {"post", "put", "patch", "delete"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _REF}}}


def _document_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if "422" in responses or method in _WRITES or "parameters" in operation:
        responses["422"] = _problem("Invalid input: `errors` names every bad field and why")
    if path.startswith("/api/"):
        responses.setdefault("401", _problem("No valid API token"))
    if method in _WRITES and path.startswith("/api/"):
        responses.setdefault("403", _problem("The token's role may not do this"))
    if "{" in path:
        responses.setdefault("404", _problem("No such object (or not visible to this token)"))
    if method in _WRITES and path.startswith("/api/"):
        conflict = responses.get("409", {}).get(
            "description", "Conflict (stale version, duplicate, still referenced)"
        )
        responses["409"] = _problem(conflict)


def install_openapi(app: FastAPI, *, api: tuple[str, Callable[[], APIRouter]]) -> None:
    """`api`: the prefix and the router of the API, which the app mounts (hub.app): the
    document lists its routes under that prefix, with the app's own."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        prefix, api_router = api
        documented = APIRouter()
        documented.include_router(api_router(), prefix=prefix)
        routes = [*documented.routes, *app.routes]
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
        components.update(problem_schema.pop("$defs", {}))
        components["Problem"] = problem_schema
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                _document_errors(path, method, operation)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
