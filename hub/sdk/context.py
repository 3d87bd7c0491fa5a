"""What the hub hands an adapter instance: shared HTTP client, token cache, clock, logger.

Adapters never build their own HTTP client or read the wall clock directly: tests point
the shared client at a simulator (ASGI transport or loopback socket) and move the clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from hub.sdk.oauth import MemoryTokenCache, TokenCache


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy (applied by `hub.sdk.http.VendorHttp`).

    Reads and idempotent calls are retried on timeouts, connection errors, 429 and 5xx;
    `Retry-After` (seconds or HTTP date) is honoured; otherwise exponential backoff with
    full jitter. A wait that would overrun `deadline` ends the retries, and a vendor
    asking for more than `max_retry_after` seconds is reported to the caller
    (`RateLimited.retry_after`) instead of being slept through inside a job."""

    max_attempts: int = 5
    deadline: float = 30.0
    backoff_initial: float = 0.2
    backoff_max: float = 8.0
    max_retry_after: float = 60.0


@dataclass(frozen=True)
class AdapterContext:
    http: httpx.AsyncClient
    tokens: TokenCache
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("hub.adapters"))
    clock: Callable[[], datetime] = utcnow
    retry: RetryPolicy = RetryPolicy()
    timeout: float = 15.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    resolver: Any | None = None

    @classmethod
    def standalone(
        cls,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime] = utcnow,
        retry: RetryPolicy | None = None,
        logger: logging.Logger | None = None,
        timeout: float = 15.0,
    ) -> AdapterContext:
        """A context with an in-process token cache (CLI, tests, the conformance suite)."""
        return cls(
            http=http,
            tokens=MemoryTokenCache(clock),
            logger=logger or logging.getLogger("hub.adapters"),
            clock=clock,
            retry=retry or RetryPolicy(),
            timeout=timeout,
        )


__all__ = ["AdapterContext", "RetryPolicy", "utcnow"]
