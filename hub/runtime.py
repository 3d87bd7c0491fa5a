"""HubRuntime: the composition root of one hub process.

Everything a process shares is built here, once: the typed settings, the database engine
and its sessionmaker, the secret keyring, the shared HTTP client, the adapter registry and
the connection opener, the clock and the failpoints. `create_app`, `hub worker` and every
CLI command build one (`HubRuntime.open`); jobs reach it through `JobContext.runtime`,
endpoints through `hub.deps.RuntimeDep`, services through the unit of work they are given
(`hub.db.runtime_of(session)`). Tests build one with their fakes (a clock, a renewer
opener pointing at a simulator, failpoints) instead of patching modules: no module of
`hub` keeps a mutable global seam or reads settings at import.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.auth.settings import AuthSettings
from hub.case.settings import CaseSettings
from hub.check.settings import CheckSettings
from hub.connection.opener import ConnectionOpener, ConnectionRow, HttpClients
from hub.connection.settings import AdapterSettings
from hub.db import create_engine, make_sessionmaker, session_scope
from hub.jobs.settings import JobSettings
from hub.kit.console import fail
from hub.kit.crypto import Keyring
from hub.kit.time import utcnow
from hub.line.settings import LineSettings
from hub.notify.settings import NotifySettings
from hub.renewal.settings import RenewalSettings
from hub.sdk.capabilities import Renewer
from hub.sdk.registry import Registry, discover, registry
from hub.settings import KeyConfigurationError, Settings, load_keyring
from hub.sync.settings import SyncSettings

T = TypeVar("T")

Clock = Callable[[], datetime]
"""Returns the current instant, timezone-aware UTC."""


class RenewerOpener(Protocol):
    """Turns a connection id into a ready `Renewer` for one step (no transaction held).
    `row`: the connection's row as the caller read it (the executor's snapshot carries
    it), so that opening it needs no read of its own; an opener may ignore it."""

    def __call__(
        self, connection_id: uuid.UUID, /, *, row: ConnectionRow | None = None
    ) -> AbstractAsyncContextManager[Renewer]: ...


@dataclass(frozen=True)
class HubSettings:
    """Every settings group of the hub, read from the environment once per process."""

    core: Settings = field(default_factory=Settings)
    jobs: JobSettings = field(default_factory=JobSettings)
    renewal: RenewalSettings = field(default_factory=RenewalSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    check: CheckSettings = field(default_factory=CheckSettings)
    adapters: AdapterSettings = field(default_factory=AdapterSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    line: LineSettings = field(default_factory=LineSettings)
    case: CaseSettings = field(default_factory=CaseSettings)

    @classmethod
    def from_env(cls, core: Settings | None = None) -> HubSettings:
        return cls(core=core or Settings())

    def with_(self, **groups: Any) -> HubSettings:
        return replace(self, **groups)

    def problems(self) -> list[str]:
        """Settings that together could make a worker order twice or give up on a renewal
        too soon, each saying which settings and why. A worker refuses to start with any."""
        out: list[str] = []
        renewal, jobs, adapters = self.renewal, self.jobs, self.adapters
        if renewal.in_flight_grace_seconds <= adapters.http_timeout_seconds:
            out.append(
                f"HUB_RENEWAL_IN_FLIGHT_GRACE_SECONDS ({renewal.in_flight_grace_seconds:g}) must exceed "
                f"HUB_ADAPTER_HTTP_TIMEOUT_SECONDS ({adapters.http_timeout_seconds:g}): an order may "
                "still be in flight when a lookup believes it absent, and be sent twice"
            )
        if renewal.send_margin_seconds <= 0 or renewal.send_margin_seconds >= jobs.lease_seconds:
            out.append(
                f"HUB_RENEWAL_SEND_MARGIN_SECONDS ({renewal.send_margin_seconds:g}) must be above 0 "
                f"and below HUB_JOBS_LEASE_SECONDS ({jobs.lease_seconds:g}): an order must never leave "
                "after its sender's lease ended"
            )
        if renewal.absence_proof_wait_seconds <= renewal.in_flight_grace_seconds:
            out.append(
                "HUB_RENEWAL_ABSENCE_PROOF_WAIT_SECONDS "
                f"({renewal.absence_proof_wait_seconds:g}) must exceed HUB_RENEWAL_IN_FLIGHT_GRACE_SECONDS "
                f"({renewal.in_flight_grace_seconds:g}): a lost answer would escalate before anything "
                "could be proven"
            )
        return out


class Failpoints:
    """Named step boundaries a test can crash or pause a worker at ("before_send",
    "after_answer", "on_unknown"). Production never sets a hook: `hit` does nothing."""

    def __init__(self, hook: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.hook = hook

    async def hit(self, name: str) -> None:
        if self.hook is not None:
            await self.hook(name)


class HubRuntime:
    def __init__(
        self,
        settings: HubSettings | Settings | None = None,
        *,
        clock: Clock | None = None,
        secrets: Keyring | None = None,
        adapters: Registry | None = None,
        renewers: RenewerOpener | None = None,
        failpoints: Failpoints | None = None,
        engine: AsyncEngine | None = None,
    ) -> None:
        if settings is None or isinstance(settings, Settings):
            settings = HubSettings.from_env(settings)
        self.settings = settings
        self.clock: Clock = clock or utcnow
        self.secrets = secrets or load_keyring(settings.core)
        self.engine = engine or create_engine(settings.core)
        self.sessionmaker: async_sessionmaker[AsyncSession] = make_sessionmaker(
            self.engine, self.secrets, runtime=self
        )
        self.http = HttpClients()
        extra = settings.adapters.extra_adapters
        self.adapters = adapters or (discover(extra) if extra else registry())
        self.connections = ConnectionOpener(self)
        self.renewers: RenewerOpener = renewers or self.connections.renewer
        self.failpoints = failpoints or Failpoints()

    def __repr__(self) -> str:
        return f"HubRuntime({self.settings.core.resolved_database_url.split('://', 1)[0]})"

    def use_settings(self, **groups: Any) -> None:
        """Replace settings groups, or some fields of one (`notify={"smtp_port": 2525}`,
        validated): what a test does instead of changing the environment, which a process
        reads once."""
        replaced: dict[str, Any] = {}
        for name, value in groups.items():
            if isinstance(value, dict):
                current = getattr(self.settings, name)
                value = type(current).model_validate({**current.model_dump(), **value})
            replaced[name] = value
        self.settings = self.settings.with_(**replaced)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().date()

    def unit_of_work(self, *, write: bool = True) -> AbstractAsyncContextManager[AsyncSession]:
        """One committed transaction (rolled back on error): what a CLI command or a
        job step that is not fenced uses."""
        return session_scope(self.sessionmaker, write=write)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.engine.dispose()

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: HubSettings | Settings | None = None, **parts: Any
    ) -> AsyncIterator[HubRuntime]:
        runtime = cls(settings, **parts)
        try:
            yield runtime
        finally:
            await runtime.aclose()


# -- the CLI's one way in ------------------------------------------------------------------


def run_command(
    fn: Callable[[HubRuntime], Awaitable[T]], settings: HubSettings | Settings | None = None
) -> T:
    """Run one CLI command's work with a runtime of its own (built and closed in the
    command's event loop)."""

    async def main() -> T:
        async with HubRuntime.open(settings) as runtime:
            return await fn(runtime)

    try:
        return asyncio.run(main())
    except KeyConfigurationError as exc:  # the operator's to fix: say what, no traceback
        fail(str(exc))


def run_in_unit(
    fn: Callable[[AsyncSession], Awaitable[T]],
    settings: HubSettings | Settings | None = None,
    *,
    write: bool = True,
) -> T:
    """Run `fn(session)` in one committed unit of work (rolled back on error)."""

    async def in_unit(runtime: HubRuntime) -> T:
        async with runtime.unit_of_work(write=write) as session:
            return await fn(session)

    return run_command(in_unit, settings)
