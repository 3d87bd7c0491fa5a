"""The one error tree of the adapter contract.

Everything an adapter raises is an `AdapterError`; no httpx, dnspython or SNMP exception
escapes one. The hub turns these into connection health (`AuthenticationFailed` ->
needs_reauth, `ConfigurationError` -> misconfigured, `TemporaryFailure` -> degraded and
retried later) and, for writes, into the renewal states (`OutcomeUnknown` -> reconcile,
`Rejected` -> escalate).
"""

from __future__ import annotations


class AdapterError(Exception):
    """Base of every adapter failure. The message never carries a secret."""

    def __init__(self, message: str, *, vendor_status: int | None = None, request_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.vendor_status = vendor_status
        self.request_id = request_id

    def __str__(self) -> str:
        extra = []
        if self.vendor_status is not None:
            extra.append(f"HTTP {self.vendor_status}")
        if self.request_id:
            extra.append(f"request {self.request_id}")
        return f"{self.message} ({', '.join(extra)})" if extra else self.message


class TemporaryFailure(AdapterError):
    """Worth trying again later; `retry_after` (seconds) when the vendor said when."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class VendorUnavailable(TemporaryFailure):
    """The vendor did not answer usefully: timeout, connection refused, 5xx."""


class RateLimited(TemporaryFailure):
    """The vendor asked us to slow down (429, or a lockout with a known end)."""


class AuthenticationFailed(AdapterError):
    """The credentials were refused (even after fetching a fresh token once)."""


class ConfigurationError(AdapterError):
    """The connection's configuration is invalid or points at the wrong account."""

    def __init__(self, message: str, *, field: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.field = field


class NotFound(AdapterError):
    """The vendor says the object does not exist."""


class UnsupportedOperation(AdapterError):
    """The adapter or this vendor account cannot do what was asked."""


class Rejected(AdapterError):
    """The vendor refused the request on its merits (validation, policy, state)."""


class InvalidResponse(AdapterError):
    """The vendor answered with something that is not what its API documents."""


class NotSent(AdapterError):
    """The request was deliberately not sent: the caller's send deadline had passed
    (a worker whose lease ran out must not place an order another worker may place)."""


class OutcomeUnknown(AdapterError):
    """A non-idempotent request was sent and its answer lost (timeout, reset, 5xx).

    The vendor may or may not have acted: the caller must reconcile (look the order up
    by our reference) before anything is sent again.
    """


# -- renewal routes (issue 11): lookups that cannot prove a negative ------------------------


class AbsenceUnproven(AdapterError):
    """An order lookup found no order, but what it read does not prove that none exists.

    Raised by `Renewer.find_order` instead of returning None when the vendor's listing
    may be incomplete or late (an order list that lags behind creation, a renewal still
    being processed, a vendor that keeps no reference and no match hints were given).
    The caller must not send again on it: it may look again after `retry_after` seconds
    (None: a later lookup alone will not settle it) and, past its own bound, escalate to
    a person with `evidence` (what was read, in words; never a secret)."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, evidence: str = "", **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after
        self.evidence = evidence or message


__all__ = [
    "AbsenceUnproven",
    "AdapterError",
    "AuthenticationFailed",
    "ConfigurationError",
    "InvalidResponse",
    "NotFound",
    "NotSent",
    "OutcomeUnknown",
    "RateLimited",
    "Rejected",
    "TemporaryFailure",
    "UnsupportedOperation",
    "VendorUnavailable",
]
