"""What one run of checks shares: settings, the DNS client (and so its cache), one HTTP
client, the clock, the kinds it can run, and memos such as the RDAP bootstrap file."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.check.dns.client import DnsClient
from hub.check.kinds.base import AnyKind
from hub.check.kinds.registry import KINDS
from hub.check.settings import CheckSettings

if TYPE_CHECKING:
    import httpx


@dataclass
class CheckContext:
    settings: CheckSettings
    dns: DnsClient
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    kinds: Mapping[str, AnyKind] = field(default_factory=lambda: KINDS)
    memo: dict[str, Any] = field(default_factory=dict)
    _http: httpx.AsyncClient | None = None
    _memo_locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        settings: CheckSettings | None = None,
        now: datetime | None = None,
        kinds: Mapping[str, AnyKind] | None = None,
    ) -> CheckContext:
        settings = settings or CheckSettings()
        return cls(
            settings=settings,
            dns=DnsClient.from_settings(settings),
            now=now or datetime.now(UTC),
            kinds=KINDS if kinds is None else kinds,
        )

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            import httpx  # a run without RDAP or HTTPS checks never loads it

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


__all__ = ["CheckContext"]
