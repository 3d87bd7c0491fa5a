"""Running check kinds on one target or many: bounded concurrency, one shared context
(so one DNS cache) per run, and a bug in one kind never stops the others.

The engine knows kinds only through the context's mapping (`CheckContext.kinds`) and
imports neither the ORM nor an HTTP client: it is what the `--workers` processes and
`hub check domains` run, and what the service calls between its read and its write."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.check.enums import CheckStatus
from hub.check.findings import Evaluation, evaluation, merge
from hub.check.kinds.base import Params, find_kind

if TYPE_CHECKING:
    from hub.check.context import CheckContext

log = logging.getLogger(__name__)

# The order a technician reads them in: delegation first, then mail, then registration.
DNS_KINDS = ("dns_zone", "mx", "spf", "dmarc", "dkim", "tlsrpt")
DOMAIN_KINDS = (*DNS_KINDS, "domain_expiry")


@dataclass(frozen=True)
class DomainOptions:
    """Which kinds `check_domain` runs, and their params by kind (a params model or a raw
    dict; a kind not named runs with its defaults)."""

    kinds: tuple[str, ...] = DOMAIN_KINDS
    params: Mapping[str, Params | dict[str, Any]] = field(default_factory=dict)


@dataclass
class DomainReport:
    domain: str
    results: dict[str, Evaluation] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return list(dict.fromkeys(code for e in self.results.values() for code in e.codes))

    @property
    def status(self) -> CheckStatus:
        return merge(list(self.results.values())).status

    def line(self) -> dict[str, Any]:
        """The `hub check domains` output line."""
        return {
            "domain": self.domain,
            "findings": self.codes,
            "unknown": [kind for kind, e in self.results.items() if e.unknown],
        }


async def run_kind(
    ctx: CheckContext, kind_name: str, target: str, params: Params | dict[str, Any]
) -> Evaluation:
    """One kind on one target; raw params are validated first. Raises KeyError for a kind
    the context does not know; any failure inside the kind comes back as `unknown`."""
    kind = find_kind(ctx.kinds, kind_name)
    try:
        parsed = kind.parse_params(params) if isinstance(params, dict) else params
        return await kind.run(ctx, target, parsed)
    except Exception as exc:  # one broken kind must not take the run down with it
        log.exception("check %s on %s failed", kind_name, target)
        return evaluation([], [f"internal error in {kind_name}: {type(exc).__name__}: {exc}"])


async def check_domain(ctx: CheckContext, domain: str, options: DomainOptions | None = None) -> DomainReport:
    options = options or DomainOptions()
    results = await asyncio.gather(
        *(run_kind(ctx, k, domain, options.params.get(k, {})) for k in options.kinds)
    )
    return DomainReport(domain, dict(zip(options.kinds, results, strict=True)))


async def pool(items: Iterable[str], worker: Callable[[str], Awaitable[None]], concurrency: int) -> None:
    """`worker` over every item, at most `concurrency` at a time."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def drain() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await worker(item)

    await asyncio.gather(*(drain() for _ in range(max(1, concurrency))))


async def check_domains(
    ctx: CheckContext,
    domains: Iterable[str],
    options_for: Callable[[str], DomainOptions],
    on_report: Callable[[DomainReport], None],
) -> None:
    """Checks every domain, calling `on_report` as each finishes (in completion order)."""

    async def one(domain: str) -> None:
        on_report(await check_domain(ctx, domain, options_for(domain)))

    await pool(domains, one, ctx.settings.check_concurrency)


__all__ = [
    "DNS_KINDS",
    "DOMAIN_KINDS",
    "DomainOptions",
    "DomainReport",
    "check_domain",
    "check_domains",
    "pool",
    "run_kind",
]
