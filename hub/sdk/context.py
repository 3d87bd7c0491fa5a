"""What the hub hands an adapter instance: shared HTTP client, token cache, clock, logger.

Adapters never build their own HTTP client or read the wall clock directly: tests point
the shared client at a simulator (ASGI transport or loopback socket) and move the clock.
A box that needs other TLS verification than the system store (a pinned self-signed
certificate, or none) asks `AdapterContext.client_for(verify)`: the hub creates that client
for the run and closes it when the run ends.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
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


Verify = bool | ssl.SSLContext
ClientFactory = Callable[[Verify, float], httpx.AsyncClient]


def plain_client(verify: Verify, timeout: float) -> httpx.AsyncClient:
    """A client with `verify` and nothing taken from the environment (no proxy sees
    vendor credentials), no redirects followed."""
    return httpx.AsyncClient(verify=verify, timeout=timeout, trust_env=False, follow_redirects=False)


class TlsClients:
    """The HTTP clients of one adapter run that verify TLS differently from the shared
    client: made on first use (one per `verify` value: a second call gets the same client)
    and all closed by `aclose()`, which whoever runs the adapter calls when the run ends
    (the hub's `open_adapter`; a standalone context's owner). An adapter done with one
    earlier may `release` it: it is closed once every user released it."""

    def __init__(self, factory: ClientFactory = plain_client) -> None:
        self._factory = factory
        self._made: list[list[Any]] = []  # [verify, client, users]

    def get(self, verify: Verify, timeout: float) -> httpx.AsyncClient:
        for entry in self._made:
            key, client = entry[0], entry[1]
            same = key is verify or (isinstance(verify, bool) and isinstance(key, bool) and key == verify)
            if same and not client.is_closed:
                entry[2] += 1
                return client  # type: ignore[no-any-return]
        client = self._factory(verify, timeout)
        self._made.append([verify, client, 1])
        return client

    def __len__(self) -> int:
        return len(self._made)

    async def release(self, client: httpx.AsyncClient) -> None:
        for entry in list(self._made):
            if entry[1] is client:
                entry[2] -= 1
                if entry[2] <= 0:
                    self._made.remove(entry)
                    await client.aclose()
                return

    async def aclose(self) -> None:
        made, self._made = self._made, []
        for entry in made:
            await entry[1].aclose()


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
    tls_clients: TlsClients = field(default_factory=TlsClients, repr=False)

    def client_for(self, verify: Verify) -> httpx.AsyncClient:
        """An HTTP client verifying TLS with `verify`: True is the shared client (the
        system store); False (no verification) or an `ssl.SSLContext` (e.g. a pinned
        self-signed certificate) gets a client of the run, created once per value with the
        context's timeout and closed with the run (an adapter may `release` it earlier)."""
        if verify is True:
            return self.http
        return self.tls_clients.get(verify, self.timeout)

    async def release(self, client: httpx.AsyncClient) -> None:
        """Give back a client of `client_for` (the shared one is never closed)."""
        if client is not self.http:
            await self.tls_clients.release(client)

    async def aclose(self) -> None:
        """Close the clients `client_for` made (never the shared one)."""
        await self.tls_clients.aclose()

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
        """A context with an in-process token cache (CLI, tests, the conformance suite).
        Its `client_for` clients are plain ones; close them with `ctx.aclose()`."""
        return cls(
            http=http,
            tokens=MemoryTokenCache(clock),
            logger=logger or logging.getLogger("hub.adapters"),
            clock=clock,
            retry=retry or RetryPolicy(),
            timeout=timeout,
        )


__all__ = ["AdapterContext", "ClientFactory", "RetryPolicy", "TlsClients", "Verify", "plain_client", "utcnow"]
