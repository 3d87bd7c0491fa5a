"""The HubError tree and the one place that turns errors into problem-details JSON
(RFC 9457). Every error response of the API has this shape; a 422 lists each bad field
with the reason, so a client can point at the field."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from hub.kit.logmask import mask_capabilities

log = logging.getLogger("hub.errors")

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(description="the offending field, dotted for nested ones (support_channels.0.value)")
    in_: str = Field("body", alias="in", description="body, query, path or header")
    message: str


class Problem(BaseModel):
    """Every error response (RFC 9457 problem details)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(None, description="on 422: every bad field and why")


class HubError(Exception):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class InvalidInput(HubError):
    """Input that parsed but breaks a rule (a field naming the culprit is required)."""

    status = 422
    title = "Invalid input"
    type_slug = "invalid-input"

    def __init__(self, field: str, message: str, *, location: str = "body") -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "in": location, "message": message}])


class NotFound(HubError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(HubError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class StaleVersion(Conflict):
    title = "Version conflict"
    type_slug = "version-conflict"


class StillReferenced(Conflict):
    title = "Still referenced"
    type_slug = "still-referenced"


class VendorFailed(HubError):
    """A vendor's API failed or refused a call made for the request (in the hub's words,
    never the vendor's text); what the hub knows of the outcome is on the subject."""

    status = 502
    title = "Vendor call failed"
    type_slug = "vendor-failed"


class Unauthorized(HubError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class TooManyRequests(HubError):
    status = 429
    title = "Too many requests"
    type_slug = "too-many-requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class Forbidden(HubError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_slug: str = "about:blank",
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": type_slug if type_slug == "about:blank" else f"/problems/{type_slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return Response(
        orjson.dumps(body, default=str),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "subscription", "unit_cost") -> "subscription.unit_cost"; the location kind
    # (body/query/path) stays as a separate key.
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in {"body", "query", "path", "header"}
        else [str(p) for p in loc]
    )
    return ".".join(parts) or str(loc[0] if loc else "body")


def validation_errors(exc_errors: list[dict[str, Any]] | Any) -> list[dict[str, Any]]:
    out = []
    for err in exc_errors:
        loc = tuple(err.get("loc", ()))
        # Pydantic prefixes messages of our own validators with "Value error, ".
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            message = "unknown field"
        elif err.get("type") == "missing":
            message = "field required"
        out.append({"field": _field_path(loc), "in": str(loc[0]) if loc else "body", "message": message})
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> Response:
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            type_slug=exc.type_slug,
            instance=request.url.path,
            errors=exc.errors,
            headers=_headers_of(exc),
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(exc.errors())
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(
            422,
            "Invalid input",
            detail,
            type_slug="invalid-input",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return problem(
            exc.status_code,
            _reason(exc.status_code),
            str(exc.detail),
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The message may contain data; log the traceback server-side, return nothing of it.
        log.exception("unhandled error on %s %s", request.method, mask_capabilities(request.url.path))
        return problem(
            500,
            "Internal error",
            "an unexpected error occurred; it has been logged",
            instance=request.url.path,
        )


def _headers_of(exc: HubError) -> dict[str, str] | None:
    if exc.status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, TooManyRequests):
        return {"Retry-After": str(exc.retry_after)}
    return None


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
