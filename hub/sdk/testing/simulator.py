"""Base of every vendor simulator, and the two ways tests reach one: in-process over
`httpx.ASGITransport` (fast) or over a real loopback socket served by uvicorn (real
timeouts, real connection handling)."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx
import uvicorn
from starlette.types import ASGIApp

from hub.sdk.capabilities import Capability
from hub.sdk.testing.faults import FaultInjector, FaultPlan, RecordedRequest

Mode = Literal["asgi", "loopback"]


class Clock:
    """The simulator's notion of now; tests move it to expire tokens and licences."""

    def __init__(self, now: datetime | None = None) -> None:
        self._offset = timedelta(0)
        self._fixed = now

    def __call__(self) -> datetime:
        base = self._fixed or datetime.now(UTC)
        return base + self._offset

    def advance(self, **delta: float) -> None:
        self._offset += timedelta(**delta)


@dataclass
class IssuedToken:
    subject: str
    expires_at: datetime
    claims: dict[str, Any] = field(default_factory=dict)


class TokenIssuer:
    """Bearer tokens with a lifetime, revocable at once (to test re-authentication)."""

    def __init__(self, clock: Clock, ttl_seconds: int) -> None:
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        self.tokens: dict[str, IssuedToken] = {}
        self.issued = 0

    def issue(self, subject: str, **claims: Any) -> tuple[str, int]:
        value = secrets.token_urlsafe(24)
        self.tokens[value] = IssuedToken(subject, self.clock() + timedelta(seconds=self.ttl_seconds), claims)
        self.issued += 1
        return value, self.ttl_seconds

    def check(self, authorization: str | None) -> IssuedToken | None:
        """The token behind an `Authorization: Bearer` header, if valid now."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        token = self.tokens.get(authorization[7:].strip())
        if token is None or token.expires_at <= self.clock():
            return None
        return token

    def revoke_all(self) -> None:
        self.tokens.clear()


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    http: httpx.AsyncClient


class TimeoutASGITransport(httpx.ASGITransport):
    """ASGITransport that honours the request's read timeout, so a hanging simulator
    gives the adapter a real `httpx.ReadTimeout` in-process too."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            return await asyncio.wait_for(super().handle_async_request(request), timeout)
        except TimeoutError:
            raise httpx.ReadTimeout("simulator did not answer in time", request=request) from None


class Simulator:
    """A stateful vendor simulator. Subclasses build the routes (`build_app`) and say
    how an adapter is configured against them; the base adds the fault plan, request
    recording and both ways of serving."""

    slug: ClassVar[str]
    data_paths: ClassVar[str] = r".*"
    """Regex of the paths that serve data (not tokens): where conformance faults go."""
    read_method: ClassVar[str] = "GET"
    """The method the vendor's reads use (FortiCare's asset API reads with POST): where the
    conformance suite's read-only faults go."""

    def __init__(
        self, *, faults: FaultPlan | None = None, page_size: int | None = None, clock: Clock | None = None
    ):
        self.faults = faults or FaultPlan()
        self.page_size = page_size
        self.clock = clock or Clock()
        self._injector: FaultInjector | None = None

    # -- to implement -------------------------------------------------------------
    def build_app(self) -> ASGIApp:
        raise NotImplementedError

    def config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        """A connection config pointing at this simulator."""
        raise NotImplementedError

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        """Configs that must be refused with ConfigurationError before any request."""
        raise NotImplementedError

    def sample_arguments(self) -> dict[Capability, dict[str, Any]]:
        """Arguments for capability calls that need some (service tags, subscription ids)."""
        return {}

    def error_body(self, status: int) -> dict[str, Any]:
        """The vendor's error envelope for an injected status."""
        return {"message": f"simulated {status}"}

    def revoke_tokens(self) -> None:
        """Invalidate every token issued so far."""

    # -- provided -----------------------------------------------------------------
    @property
    def app(self) -> ASGIApp:
        if self._injector is None:
            self._injector = FaultInjector(self.build_app(), self.faults, self.error_body)
        return self._injector

    @property
    def requests(self) -> list[RecordedRequest]:
        _ = self.app
        assert self._injector is not None
        return self._injector.requests

    @asynccontextmanager
    async def serve(self, mode: Mode = "asgi", *, http_timeout: float = 10.0) -> AsyncIterator[Endpoint]:
        if mode == "asgi":
            base = f"http://{self.slug.replace('_', '-')}.simulator.test"
            transport = TimeoutASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, timeout=http_timeout) as client:
                yield Endpoint(base, client)
            return
        async with serve_on_loopback(self.app) as base, httpx.AsyncClient(timeout=http_timeout) as client:
            yield Endpoint(base, client)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve_on_loopback(app: ASGIApp, port: int | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", port or 0))
    actual = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        else:  # pragma: no cover - uvicorn failed to start
            raise RuntimeError("simulator did not start")
        yield f"http://127.0.0.1:{actual}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 5)
        sock.close()


def paginate(items: list[Any], page: int, size: int) -> list[Any]:
    return items[page * size : (page + 1) * size]


SimulatorFactory = Callable[..., Simulator]

__all__ = [
    "Clock",
    "Endpoint",
    "IssuedToken",
    "Mode",
    "Simulator",
    "SimulatorFactory",
    "TimeoutASGITransport",
    "TokenIssuer",
    "free_port",
    "paginate",
    "serve_on_loopback",
]
