"""Check kinds and the per-run context they share.

A kind is a params model, an async `collect()` that does all the I/O and returns plain
data, and a pure `evaluate()` that turns that data into findings. Keeping the judgement
pure lets it be tested table-driven and re-run on stored evidence.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

from hub.check.dns.client import DnsClient, parse_nameserver, system_nameservers
from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, Severity
from hub.check.settings import CheckSettings


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=Params)
D = TypeVar("D")


@dataclass
class CheckContext:
    """Everything one run shares: the DNS client (and so its cache), one HTTP client, the
    clock, and memos such as the RDAP bootstrap file."""

    settings: CheckSettings
    dns: DnsClient
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    memo: dict[str, Any] = field(default_factory=dict)
    _http: httpx.AsyncClient | None = None
    _memo_locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: CheckSettings | None = None, now: datetime | None = None) -> CheckContext:
        settings = settings or CheckSettings()
        nameservers = [parse_nameserver(ns) for ns in settings.dns_nameservers] or system_nameservers()
        client = DnsClient(
            nameservers,
            timeout=settings.dns_timeout,
            attempts=settings.dns_attempts,
            concurrency=settings.dns_concurrency,
        )
        return cls(settings=settings, dns=client, now=now or datetime.now(UTC))

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.settings.rdap_timeout, follow_redirects=True)
        return self._http

    def memo_lock(self, key: str) -> asyncio.Lock:
        return self._memo_locks.setdefault(key, asyncio.Lock())

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> CheckContext:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class CheckKind(ABC, Generic[P, D]):
    name: ClassVar[str]
    target: ClassVar[CheckTarget]
    params_model: ClassVar[type[Params]]
    # The finding codes this kind can produce (documentation, and the coverage test).
    codes: ClassVar[frozenset[str]]

    @abstractmethod
    async def collect(self, ctx: CheckContext, target: str, params: P) -> D: ...

    @abstractmethod
    def evaluate(self, data: D, params: P, now: datetime) -> Evaluation: ...

    def parse_params(self, raw: dict[str, Any] | None) -> P:
        return self.params_model.model_validate(raw or {})  # type: ignore[return-value]

    async def run(self, ctx: CheckContext, target: str, params: P) -> Evaluation:
        return self.evaluate(await self.collect(ctx, target, params), params, ctx.now)


REGISTRY: dict[str, CheckKind[Any, Any]] = {}

K = TypeVar("K", bound=type[CheckKind[Any, Any]])


def register(cls: K) -> K:
    if cls.name in REGISTRY:
        raise ValueError(f"check kind {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls()
    return cls


def get_kind(name: str) -> CheckKind[Any, Any]:
    _load_kinds()
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown check kind {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def all_kinds() -> dict[str, CheckKind[Any, Any]]:
    _load_kinds()
    return dict(REGISTRY)


def _load_kinds() -> None:
    # Kinds register on import; importing them here keeps `get_kind` usable on its own.
    from hub.check import kinds  # noqa: F401


__all__ = ["CheckContext", "CheckKind", "Params", "Severity", "get_kind", "register"]
