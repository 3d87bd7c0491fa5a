"""Every vendor HTTP call goes through `VendorHttp`: status mapping, the retry policy,
the 401-refresh-once rule, safe logging. No httpx exception leaves it.

What is retried, and why:
- reads and calls declared idempotent: timeouts, connection errors, 429, 500, 502-504;
- non-idempotent writes (an order): only failures that prove the request was not
  processed (could not connect; 429). Anything after the request may have reached the
  vendor (a read timeout, a reset, a 5xx) raises `OutcomeUnknown`: the caller reconciles.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_before_delay

from hub.sdk.context import AdapterContext
from hub.sdk.errors import (
    AdapterError,
    AuthenticationFailed,
    InvalidResponse,
    NotFound,
    NotSent,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TemporaryFailure,
    VendorUnavailable,
)
from hub.sdk.oauth import Auth

# httpx logs every request's full URL at INFO, query string included, and some vendors
# take keys in the query: its request log is silenced; VendorHttp logs the path only.
logging.getLogger("httpx").setLevel(logging.WARNING)

SEND_NOT_AFTER: ContextVar[datetime | None] = ContextVar("hub_sdk_send_not_after", default=None)
"""When set, no request starts after this instant: checked immediately before each send.
The renewal executor sets it to its job lease's end, so a worker paused past its lease
and resumed cannot place an order that another worker may already be reconciling."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Statuses worth another attempt for a read; a write gets them as OutcomeUnknown.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})

ErrorDescriber = Callable[[httpx.Response], str]
RequestIdReader = Callable[[httpx.Response], str | None]
ErrorClassifier = Callable[[httpx.Response], "type[AdapterError] | None"]


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def default_error_message(response: httpx.Response) -> str:
    """A short human message from the usual error body shapes, never the whole body."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or f"HTTP {response.status_code}"
    candidates: list[Any] = []
    if isinstance(body, dict):
        error = body.get("error")
        candidates += [
            body.get("message"),
            body.get("error_description"),
            error.get("message") if isinstance(error, dict) else error,
            body.get("detail"),
        ]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            candidates.append(errors[0].get("message"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:300]
    return response.reason_phrase or f"HTTP {response.status_code}"


def request_id_of(response: httpx.Response) -> str | None:
    for header in ("request-id", "x-request-id", "x-correlation-id", "cf-ray", "x-ms-request-id"):
        if header in response.headers:
            return response.headers[header][:100]
    return None


class _Retryable(Exception):
    """Internal: wraps a TemporaryFailure that the policy allows to retry."""

    def __init__(self, failure: TemporaryFailure):
        super().__init__(str(failure))
        self.failure = failure


class VendorHttp:
    def __init__(
        self,
        ctx: AdapterContext,
        *,
        vendor: str,
        base_url: str = "",
        auth: Auth | None = None,
        describe_error: ErrorDescriber | None = None,
        default_headers: Mapping[str, str] | None = None,
        request_id: RequestIdReader | None = None,
        classify: ErrorClassifier | None = None,
    ) -> None:
        self.ctx = ctx
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self._describe = describe_error or default_error_message
        self._headers = dict(default_headers or {})
        # Some vendors put the id support asks for in the error body (Graph's
        # innerError.request-id, Sophos' requestId); headers remain the fallback.
        self._request_id = request_id
        # Some vendors answer a definite refusal with a status that usually means "try
        # again" (SOAP puts every fault, a wrong password included, in a 500): the
        # classifier reads the body and names the error; None keeps the status mapping.
        self._classify = classify

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        auth_endpoint: bool = False,
        accept_statuses: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send with the retry policy; return a 2xx response (or one of `accept_statuses`)
        or raise the matching `AdapterError`."""
        method = method.upper()
        safe = method in SAFE_METHODS if idempotent is None else idempotent
        url = self.url(path_or_url)
        policy = self.ctx.retry

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.failure.retry_after is not None:
                return exc.failure.retry_after
            ceiling = min(policy.backoff_max, policy.backoff_initial * 2 ** (state.attempt_number - 1))
            return random.uniform(0, ceiling)  # full jitter: workers retrying together spread out

        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.deadline),
            wait=wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            sleep=self.ctx.sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(
                        method, url, params, json, content, headers, safe, auth_endpoint, accept_statuses
                    )
        except _Retryable as exc:
            raise exc.failure from None
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _attempt(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        content: str | bytes | None,
        headers: Mapping[str, str] | None,
        safe: bool,
        auth_endpoint: bool,
        accept_statuses: frozenset[int],
    ) -> httpx.Response:
        refreshed = False
        while True:
            send_headers = {**self._headers, **(headers or {})}
            if self.auth is not None:
                send_headers.update(await self.auth.headers())
            response = await self._send(method, url, params, json_body, content, send_headers, safe)
            if response.status_code == 401 and self.auth is not None and not refreshed:
                # An unexpected 401 usually means the token was revoked or expired early:
                # drop it, obtain a new one, try once more.
                refreshed = True
                if await self.auth.refresh():
                    continue
            self._check(response, safe, auth_endpoint, accept_statuses)
            return response

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        content: str | bytes | None,
        headers: dict[str, str],
        safe: bool,
    ) -> httpx.Response:
        path = urlsplit(url).path  # never the query string: some vendors put keys there
        not_after = SEND_NOT_AFTER.get()
        if not_after is not None and datetime.now(UTC) >= not_after:
            self.ctx.logger.warning("%s %s %s: not sent, send deadline passed", self.vendor, method, path)
            raise NotSent(f"{self.vendor} {method} not sent: the send deadline had passed")
        started = time.perf_counter()
        try:
            response = await self.ctx.http.request(
                method,
                url,
                params=params,
                json=json_body,
                content=content,
                headers=headers,
                timeout=self.ctx.timeout,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached the vendor: safe to retry even a write.
            self.ctx.logger.info("%s %s %s: not sent (%s)", self.vendor, method, path, type(exc).__name__)
            reason = f"{self.vendor} could not be reached ({type(exc).__name__})"
            raise _Retryable(VendorUnavailable(reason)) from None
        except httpx.HTTPError as exc:
            self.ctx.logger.info("%s %s %s: no answer (%s)", self.vendor, method, path, type(exc).__name__)
            if not safe:
                reason = f"{self.vendor} did not answer a {method} that may have been applied"
                raise OutcomeUnknown(f"{reason} ({type(exc).__name__})") from None
            raise _Retryable(
                VendorUnavailable(f"{self.vendor} did not answer ({type(exc).__name__})")
            ) from None
        elapsed = (time.perf_counter() - started) * 1000
        self.ctx.logger.debug(
            "%s %s %s -> %s in %.0f ms", self.vendor, method, path, response.status_code, elapsed
        )
        return response

    def _check(
        self, response: httpx.Response, safe: bool, auth_endpoint: bool, accept_statuses: frozenset[int]
    ) -> None:
        status = response.status_code
        if 200 <= status < 300 or status in accept_statuses:
            return
        message = f"{self.vendor}: {self._describe(response)}"
        found = self._request_id(response) if self._request_id is not None else None
        info: dict[str, Any] = {"vendor_status": status, "request_id": found or request_id_of(response)}
        kind = self._classify(response) if self._classify is not None else None
        if kind is not None:
            raise kind(message, **info)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"), self.ctx.clock())
            failure = RateLimited(message, retry_after=retry_after, **info)
            if retry_after is not None and retry_after > self.ctx.retry.max_retry_after:
                raise failure
            # A 429 proves the request was not processed: retrying is safe even for a write.
            raise _Retryable(failure)
        if status in (401, 403) or (auth_endpoint and status == 400):
            # 400 from a token endpoint is invalid_client / invalid_grant (RFC 6749 §5.2).
            raise AuthenticationFailed(message, **info)
        if status == 404:
            raise NotFound(message, **info)
        if status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"), self.ctx.clock())
            if not safe:
                raise OutcomeUnknown(message, **info)
            failure_5xx = VendorUnavailable(message, retry_after=retry_after, **info)
            if status in RETRYABLE_STATUSES:
                raise _Retryable(failure_5xx)
            raise failure_5xx
        raise Rejected(message, **info)

    @staticmethod
    def parse_json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidResponse(
                f"expected JSON, got {response.headers.get('content-type', 'no content type')}",
                vendor_status=response.status_code,
            ) from exc

    async def get_json(self, path_or_url: str, *, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        return self.parse_json(await self.request("GET", path_or_url, params=params, **kw))


__all__ = [
    "SEND_NOT_AFTER",
    "ErrorClassifier",
    "RequestIdReader",
    "VendorHttp",
    "default_error_message",
    "parse_retry_after",
    "request_id_of",
]
