"""What an adapter instance is built with in the hub: the process's shared HTTP client
(and, for a box with its own TLS settings, a client of the run closed with it), the
database token cache, the clock, and a logger that cannot print the connection's secrets."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.connection.secrets import REDACTED
from hub.connection.tokens import DbTokenCache
from hub.kit.time import utcnow
from hub.sdk.capabilities import Adapter
from hub.sdk.context import AdapterContext, RetryPolicy, TlsClients, Verify
from hub.sdk.manifest import AdapterSpec, secret_values

# One client per event loop of the process (a worker has one loop; tests have one per
# test): connection pooling across every adapter run, never a client bound to a dead loop.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def _hub_client(verify: Verify = True, timeout: float | None = None) -> httpx.AsyncClient:
    # trust_env=False: no proxy from the environment sees vendor credentials.
    return httpx.AsyncClient(
        verify=verify,
        trust_env=False,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": "vendor-hub"},
        timeout=httpx.Timeout(timeout) if timeout is not None else httpx.Timeout(5.0),
    )


def shared_http() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = _hub_client()
        _clients[loop] = client
    return client


def run_clients() -> TlsClients:
    """The clients of one adapter run with other TLS verification than the shared client:
    the hub's settings (no proxy from the environment, no redirects, its User-Agent)."""
    return TlsClients(lambda verify, timeout: _hub_client(verify, timeout))


class RedactingFilter(logging.Filter):
    """Replaces secret values in a record's message (and its arguments) before any handler
    sees it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = message
        for secret in self.secrets:
            clean = clean.replace(secret, REDACTED)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def adapter_logger(slug: str, connection_id: Any, secrets: list[str]) -> logging.Logger:
    """The logger of one connection's adapter runs, with that connection's secrets redacted."""
    logger = logging.getLogger(f"hub.adapters.{slug}.{connection_id}")
    for old in [f for f in logger.filters if isinstance(f, RedactingFilter)]:
        logger.removeFilter(old)
    logger.addFilter(RedactingFilter(secrets))
    return logger


def build_context(
    sessionmaker: async_sessionmaker[AsyncSession],
    logger: logging.Logger,
    *,
    timeout: float = 15.0,
    retry: RetryPolicy | None = None,
) -> AdapterContext:
    return AdapterContext(
        http=shared_http(),
        tokens=DbTokenCache(sessionmaker),
        logger=logger,
        clock=utcnow,
        retry=retry or RetryPolicy(),
        timeout=timeout,
        tls_clients=run_clients(),
    )


@asynccontextmanager
async def open_adapter(
    spec: AdapterSpec,
    config: BaseModel,
    sessionmaker: async_sessionmaker[AsyncSession],
    connection_id: Any,
    *,
    http_timeout: float = 15.0,
    retry: RetryPolicy | None = None,
) -> AsyncIterator[Adapter]:
    """A fresh adapter instance for one run, closed afterwards (with the run's own TLS
    clients, if it asked for any)."""
    logger = adapter_logger(spec.manifest.slug, connection_id, secret_values(config))
    ctx = build_context(sessionmaker, logger, timeout=http_timeout, retry=retry)
    try:
        adapter = spec.create(config, ctx)
        try:
            yield adapter
        finally:
            try:
                await adapter.aclose()
            except Exception:  # a failing close must not hide the run's own outcome
                logger.warning("adapter %s did not close cleanly", spec.manifest.slug)
    finally:
        await ctx.aclose()


@asynccontextmanager
async def open_renewer(
    sessionmaker: async_sessionmaker[AsyncSession], connection_id: Any
) -> AsyncIterator[Any]:
    """The renewal executor's way to a vendor: the connection's adapter, which must
    declare the `renewal` capability. Reads the connection in its own short read."""
    from hub.connection.adapters import spec_for
    from hub.connection.secrets import decrypt
    from hub.db import secret_box
    from hub.models import Connection
    from hub.sdk.capabilities import Capability, Renewer
    from hub.sdk.errors import ConfigurationError, UnsupportedOperation

    async with sessionmaker() as session:
        connection = await session.get(Connection, connection_id)
        if connection is None or not connection.enabled:
            raise ConfigurationError(
                f"connection {connection_id} is missing or disabled", field="connection_id"
            )
        spec = spec_for(connection.adapter_slug)
        if spec is None:
            raise ConfigurationError(
                f"adapter {connection.adapter_slug} is not installed", field="adapter_slug"
            )
        stored = decrypt(secret_box(session), connection.config_encrypted)
    if Capability.renewal not in spec.manifest.capabilities:
        raise UnsupportedOperation(f"{spec.manifest.vendor} adapter cannot order renewals")
    async with open_adapter(spec, spec.parse_config(stored), sessionmaker, connection_id) as adapter:
        assert isinstance(adapter, Renewer)
        yield adapter
