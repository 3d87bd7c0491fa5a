"""Imported by every storm worker process (`HUB_JOBS_IMPORTS=tests.renewal.storm_opener`):
renewals reach the Pax8 simulator at `HUB_STORM_PAX8_URL` (a loopback address) through
the real Pax8 adapter, with one HTTP client and token cache per process."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.pax8 import spec as pax8_spec
from adapters.pax8.simulator import CLIENT_ID, CLIENT_SECRET, ORDER_EMAIL
from hub.kit.time import utcnow
from hub.renewal import vendor
from hub.sdk import AdapterContext, MemoryTokenCache, RetryPolicy

URL_ENV = "HUB_STORM_PAX8_URL"
TIMEOUT_ENV = "HUB_STORM_HTTP_TIMEOUT"
# Reads are retried quickly; the order itself only on 429 (VendorHttp's rule for writes).
RETRY = RetryPolicy(max_attempts=3, deadline=5, backoff_initial=0.01, backoff_max=0.05, max_retry_after=2)


def pax8_config(base_url: str) -> dict[str, Any]:
    host = urlsplit(base_url).hostname or ""
    if not host.startswith("127."):
        raise ValueError(f"the storm only talks to loopback, not {base_url!r}")
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "order_email": ORDER_EMAIL,
        "token_url": f"{base_url}/v1/token",
        "api_url": f"{base_url}/v1",
    }


class _Shared:
    def __init__(self, base_url: str, timeout: float) -> None:
        self.config = pax8_config(base_url)
        self.timeout = timeout
        self.tokens = MemoryTokenCache(utcnow)
        self.http: httpx.AsyncClient | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self.http is None or self.loop is not loop:
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            self.http, self.loop = httpx.AsyncClient(limits=limits), loop
        return self.http


def install(base_url: str, timeout: float = 3.0) -> None:
    shared = _Shared(base_url, timeout)

    @asynccontextmanager
    async def open_renewer(_sessionmaker: Any, _connection_id: uuid.UUID) -> AsyncIterator[Any]:
        ctx = AdapterContext(http=shared.client(), tokens=shared.tokens, retry=RETRY, timeout=shared.timeout)
        adapter = pax8_spec.create(shared.config, ctx)
        try:
            yield adapter
        finally:
            await adapter.aclose()

    vendor.set_opener(open_renewer)


if os.environ.get(URL_ENV):
    install(os.environ[URL_ENV], float(os.environ.get(TIMEOUT_ENV, "3.0")))
