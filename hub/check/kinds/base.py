"""What a check kind is, and what it exchanges with the hub.

A kind is a params model, an async `collect()` that does all the I/O and returns plain
data, and a pure `evaluate()` that turns that data into findings. Keeping the judgement
pure lets it be tested table-driven and re-run on stored evidence.

Two hooks keep the service (`hub.check.service`) free of kind-specific rules: the hub
hands a kind what it knows of the target (`params_for`: a DKIM check takes the domain's
selectors, a TLS check the endpoint's port), and a kind says what a run learnt that the
hub stores on the target (`target_update`: a registration or certificate expiry). Both
speak in the plain values below, never in ORM rows: kinds run in processes without the ORM.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from hub.check.enums import CheckTarget, TlsMode
from hub.check.findings import Evaluation

if TYPE_CHECKING:
    from hub.check.context import CheckContext


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=Params)
D = TypeVar("D")


# --- what the hub knows of a target -------------------------------------------------------


@dataclass(frozen=True)
class DomainTarget:
    name: str
    # Selectors the domain is known to use, and its expected mail provider (a MailProvider value).
    dkim_selectors: tuple[str, ...] = ()
    mail_provider: str | None = None

    @property
    def subject(self) -> str:
        return self.name


@dataclass(frozen=True)
class EndpointTarget:
    host: str
    port: int
    tls_mode: TlsMode = TlsMode.direct
    sni: str | None = None

    @property
    def subject(self) -> str:
        return self.host


@dataclass(frozen=True)
class AssetTarget:
    name: str
    manufacturer: str
    model: str | None = None
    firmware_version: str | None = None
    # The newest version the vendor offers the device (synced).
    firmware_latest: str | None = None

    @property
    def subject(self) -> str:
        return self.name


@dataclass(frozen=True)
class IpTarget:
    address: str

    @property
    def subject(self) -> str:
        return self.address


# `subject` is what the engine checks: the domain, the endpoint's host, the asset's name, the IP.
Target = DomainTarget | EndpointTarget | AssetTarget | IpTarget


@dataclass(frozen=True)
class TargetUpdate:
    """What a run learnt that the hub stores on its target."""

    # A registration or certificate expiry (stored, and audited when it changes).
    expires_on: date | None = None
    # The run reached the target: its checked-at stamp moves to the run's end (a domain's
    # `expiry_checked_at`, an endpoint's `last_checked_at`).
    checked: bool = False

    @property
    def empty(self) -> bool:
        return self.expires_on is None and not self.checked


# --- the kind -----------------------------------------------------------------------------


class CheckKind(ABC, Generic[P, D]):
    name: ClassVar[str]
    target: ClassVar[CheckTarget]
    params_model: ClassVar[type[Params]]
    # The finding codes this kind can produce (documentation, and the coverage test).
    codes: ClassVar[frozenset[str]]
    # Params that only the server may set (a path on the server): the API refuses them.
    server_only_params: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    async def collect(self, ctx: CheckContext, target: str, params: P) -> D: ...

    @abstractmethod
    def evaluate(self, data: D, params: P, now: datetime) -> Evaluation: ...

    def parse_params(self, raw: Mapping[str, Any] | None) -> P:
        return cast(P, self.params_model.model_validate(raw or {}))

    async def run(self, ctx: CheckContext, target: str, params: P) -> Evaluation:
        return self.evaluate(await self.collect(ctx, target, params), params, ctx.now)

    def params_for(self, target: Target, params: Mapping[str, Any]) -> dict[str, Any]:
        """The raw params of a run on `target`: the check's own, completed from what the hub
        knows of the target (the check's own win). By default, the check's own."""
        return dict(params)

    def target_update(self, result: Evaluation) -> TargetUpdate:
        """What the hub stores on the target after a run. By default, nothing."""
        return TargetUpdate()


AnyKind = CheckKind[Any, Any]


def find_kind(kinds: Mapping[str, AnyKind], name: str) -> AnyKind:
    try:
        return kinds[name]
    except KeyError:
        raise KeyError(f"unknown check kind {name!r}; known: {', '.join(sorted(kinds))}") from None


def expiry_fact(result: Evaluation) -> date | None:
    """The `expires_on` fact of a run (an ISO date), if it learnt one."""
    expires = result.facts.get("expires_on")
    return date.fromisoformat(str(expires)) if expires else None


__all__ = [
    "AnyKind",
    "AssetTarget",
    "CheckKind",
    "DomainTarget",
    "EndpointTarget",
    "IpTarget",
    "Params",
    "Target",
    "TargetUpdate",
    "expiry_fact",
    "find_kind",
]
