"""Connection health after a vendor call (pure): what a sync, a warranty lookup and a
connection test all record, and when a failed connection is tried again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hub.models.enums import ConnectionHealth
from hub.sdk.errors import (
    AdapterError,
    AuthenticationFailed,
    ConfigurationError,
    InvalidResponse,
    NotFound,
    RateLimited,
    Rejected,
    TemporaryFailure,
    UnsupportedOperation,
    VendorUnavailable,
)

MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class HealthState:
    health: ConnectionHealth
    consecutive_failures: int
    last_error: str | None


def after_success() -> HealthState:
    return HealthState(ConnectionHealth.ok, 0, None)


def after_failure(
    current: ConnectionHealth, failures: int, exc: BaseException, message: str, degraded_after: int
) -> HealthState:
    """Refused credentials need a person (needs_reauth); a configuration the vendor
    rejects too (misconfigured); anything else is counted, and shows as degraded once it
    happened `degraded_after` times in a row (one blip does not page anybody)."""
    failures += 1
    message = message[:MAX_ERROR_CHARS]
    if isinstance(exc, AuthenticationFailed):
        return HealthState(ConnectionHealth.needs_reauth, failures, message)
    if isinstance(exc, ConfigurationError):
        return HealthState(ConnectionHealth.misconfigured, failures, message)
    if failures >= degraded_after:
        return HealthState(ConnectionHealth.degraded, failures, message)
    return HealthState(current, failures, message)


def describe(exc: BaseException) -> str:
    """A failure as the operator reads it (redact secrets before storing it)."""
    if isinstance(exc, AdapterError):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TimeoutError):
        return "VendorUnavailable: the vendor did not finish answering within the sync deadline"
    return f"internal error ({type(exc).__name__}); see the worker log"


# What a person asking "does this connection work?" is told, per kind of failure: the
# hub's words, never the target's (a connection test must not turn the hub into a proxy
# that reads out whatever a host answers).
_CALLER_PHRASES: tuple[tuple[type[BaseException], str], ...] = (
    (AuthenticationFailed, "the vendor refused the credentials"),
    (RateLimited, "the vendor asked the hub to slow down; try again later"),
    (VendorUnavailable, "the vendor could not be reached or did not answer usefully"),
    (NotFound, "the vendor does not know the account or the address asked for"),
    (InvalidResponse, "the answer was not what the vendor's API documents (is the URL right?)"),
    (Rejected, "the vendor refused the request"),
    (UnsupportedOperation, "the adapter or this vendor account cannot do this"),
    (ConfigurationError, "the configuration does not fit the vendor account"),
)


def describe_for_caller(exc: BaseException) -> str:
    """A failure in the hub's own words, with the HTTP status and the vendor's request id
    (what support asks for) but none of the answer's text."""
    if isinstance(exc, TimeoutError):
        return "VendorUnavailable: the vendor did not answer in time"
    if not isinstance(exc, AdapterError):
        return f"internal error ({type(exc).__name__}); see the server log"
    phrase = next((p for kind, p in _CALLER_PHRASES if isinstance(exc, kind)), "the vendor call failed")
    extra = []
    if exc.vendor_status is not None:
        extra.append(f"HTTP {exc.vendor_status}")
    if exc.request_id:
        extra.append(f"request {exc.request_id}")
    return f"{type(exc).__name__}: {phrase}" + (f" ({', '.join(extra)})" if extra else "")


def retry_delay(exc: BaseException, failures: int, backoff: timedelta, interval: timedelta) -> timedelta:
    """When to try again after a failure: exponential backoff capped by the interval, not
    before the vendor's Retry-After; refused credentials wait a full interval (retrying
    them sooner only risks a vendor lockout)."""
    if isinstance(exc, AuthenticationFailed | ConfigurationError):
        return interval
    delay: timedelta = min(interval, backoff * int(2 ** max(0, failures - 1)))
    if isinstance(exc, TemporaryFailure) and exc.retry_after:
        delay = max(delay, timedelta(seconds=exc.retry_after))
    return delay
