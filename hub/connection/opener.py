"""How the hub turns a connection into a ready adapter instance.

An adapter instance is built per run with what the process shares (`HttpClients`: one
pooled client; the database token cache; the clock) and what is the connection's own (its
decrypted config, a logger that cannot print its secrets, the run's TLS clients). The
opener belongs to the `HubRuntime`; the registry it consults is the runtime's (entry
points in production, a test's own registry in tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from pydantic import BaseModel

from hub.connection.secrets import REDACTED, decrypt
from hub.connection.tokens import DbTokenCache
from hub.errors import InvalidInput
from hub.models import Connection
from hub.sdk.capabilities import PROTOCOLS, Adapter, Capability, Renewer
from hub.sdk.context import AdapterContext, RetryPolicy, TlsClients, Verify
from hub.sdk.errors import ConfigurationError, UnsupportedOperation
from hub.sdk.manifest import AdapterSpec, secret_values
from hub.sdk.oauth import AccessToken

if TYPE_CHECKING:
    from hub.runtime import HubRuntime


def hub_client(verify: Verify = True, timeout: float | None = None) -> httpx.AsyncClient:
    """A vendor HTTP client with the hub's rules: no proxy from the environment sees vendor
    credentials (trust_env=False), no redirects followed, the hub's User-Agent."""
    return httpx.AsyncClient(
        verify=verify,
        trust_env=False,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": "vendor-hub"},
        timeout=httpx.Timeout(timeout) if timeout is not None else httpx.Timeout(5.0),
    )


ClientMaker = Callable[[Verify, "float | None"], httpx.AsyncClient]


class HttpClients:
    """The process's shared vendor client, pooled across every adapter run. Made on first
    use in the running event loop (a client is bound to the loop it first ran in: a new
    loop gets a new client), closed with the runtime. `make` builds every client (tests
    pass one that records what it made)."""

    def __init__(self, make: ClientMaker = hub_client) -> None:
        self._make = make
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def shared(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client.is_closed or self._loop is not loop:
            self._client, self._loop = self._make(True, None), loop
        return self._client

    def run_clients(self) -> TlsClients:
        """The clients of one adapter run that verify TLS otherwise than the shared one."""
        return TlsClients(lambda verify, timeout: self._make(verify, timeout))

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and not client.is_closed:
            # RuntimeError: its loop is gone (a CLI step that ran in another asyncio.run).
            with contextlib.suppress(RuntimeError):
                await client.aclose()


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


class ConnectionRow(Protocol):
    """A connection's row as the caller read it in a statement of its own (the renewal
    executor reads it with its snapshot): enough to open the connection without a read."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def adapter_slug(self) -> str: ...
    @property
    def config_encrypted(self) -> str: ...


class ConnectionOpener:
    def __init__(self, runtime: HubRuntime) -> None:
        self._runtime = runtime
        # Tokens read or fetched by this process, by cache key (see DbTokenCache).
        self._tokens: dict[str, AccessToken] = {}
        # Each connection's config as last decrypted and parsed by this process, keyed by
        # the ciphertext it came from: a Fernet token is unique per encryption (random IV),
        # so any change of the config (a new secret, a rotated key) is a new token and a
        # miss. Only frozen config models are kept (an adapter cannot change a shared one).
        # The values stay in this process's memory, as the tokens above do; never logged.
        self._configs: dict[uuid.UUID, tuple[str, str, BaseModel]] = {}

    # -- the registry ----------------------------------------------------------------------

    def spec_for(self, slug: str) -> AdapterSpec | None:
        return self._runtime.adapters.get(slug)

    def require_spec(self, slug: str, *, field: str = "adapter_slug") -> AdapterSpec:
        spec = self.spec_for(slug)
        if spec is None:
            known = ", ".join(self._runtime.adapters.specs) or "none installed"
            raise InvalidInput(field, f"no adapter '{slug}' is installed (known: {known})")
        return spec

    # -- instances -------------------------------------------------------------------------

    def context(
        self, logger: logging.Logger, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> AdapterContext:
        settings = self._runtime.settings.adapters
        return AdapterContext(
            http=self._runtime.http.shared(),
            tokens=DbTokenCache(self._runtime.sessionmaker, self._runtime.clock, self._tokens),
            logger=logger,
            clock=self._runtime.clock,
            retry=retry or settings.retry_policy(),
            timeout=timeout if timeout is not None else settings.http_timeout_seconds,
            tls_clients=self._runtime.http.run_clients(),
        )

    @asynccontextmanager
    async def open(
        self,
        spec: AdapterSpec,
        config: BaseModel,
        connection_id: Any,
        *,
        http_timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncIterator[Adapter]:
        """A fresh adapter instance for one run, closed afterwards (with the run's own TLS
        clients, if it asked for any)."""
        logger = adapter_logger(spec.manifest.slug, connection_id, secret_values(config))
        ctx = self.context(logger, timeout=http_timeout, retry=retry)
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

    async def load(
        self, connection_id: uuid.UUID, row: ConnectionRow | None = None
    ) -> tuple[AdapterSpec, BaseModel]:
        """The connection's adapter and decrypted config, read in a short read of its own
        (or from `row`, read by the caller)."""
        if row is None or row.id != connection_id:
            async with self._runtime.sessionmaker() as session:
                row = await session.get(Connection, connection_id)
        if row is None or not row.enabled:
            raise ConfigurationError(
                f"connection {connection_id} is missing or disabled", field="connection_id"
            )
        spec = self.spec_for(row.adapter_slug)
        if spec is None:
            raise ConfigurationError(f"adapter {row.adapter_slug} is not installed", field="adapter_slug")
        return spec, self._config(spec, connection_id, row.adapter_slug, row.config_encrypted)

    def _config(self, spec: AdapterSpec, connection_id: uuid.UUID, slug: str, token: str) -> BaseModel:
        """The parsed config of `token` (decrypted once per token and process)."""
        cached = self._configs.get(connection_id)
        if cached is not None and cached[0] == slug and cached[1] == token:
            return cached[2]
        config = spec.parse_config(decrypt(self._runtime.secrets, token))
        if config.model_config.get("frozen"):
            self._configs[connection_id] = (slug, token, config)
        return config

    @asynccontextmanager
    async def capable(
        self, connection_id: uuid.UUID, capability: Capability, *, row: ConnectionRow | None = None
    ) -> AsyncIterator[Adapter]:
        """The connection's adapter for one run, which must declare `capability` and
        implement its Protocols (`UnsupportedOperation` otherwise, before any vendor call).
        `row`: the connection as the caller read it (no read here)."""
        spec, config = await self.load(connection_id, row)
        if capability not in spec.manifest.capabilities:
            raise UnsupportedOperation(f"{spec.manifest.vendor} adapter does not offer {capability.value}")
        async with self.open(spec, config, connection_id) as adapter:
            if not all(isinstance(adapter, protocol) for protocol in PROTOCOLS[capability]):
                raise UnsupportedOperation(
                    f"{spec.manifest.vendor} adapter does not implement {capability.value}"
                )
            yield adapter

    @asynccontextmanager
    async def renewer(
        self, connection_id: uuid.UUID, *, row: ConnectionRow | None = None
    ) -> AsyncIterator[Renewer]:
        """The renewal executor's way to order: the connection's `renewal` adapter."""
        async with self.capable(connection_id, Capability.renewal, row=row) as adapter:
            assert isinstance(adapter, Renewer)
            yield adapter
