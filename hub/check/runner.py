"""Running check kinds on one target or many: bounded concurrency, one shared context
(so one DNS cache) per run, and a bug in one kind never stops the others."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.check.dkim import DkimParams
from hub.check.dns.dnsbl_bulk import bulk_dnsbl
from hub.check.dnsbl import DnsblResult, DnsblRun, Zone
from hub.check.enums import CheckStatus
from hub.check.findings import Evaluation, evaluation, merge
from hub.check.registry import CheckContext, get_kind

log = logging.getLogger(__name__)

# The order a technician reads them in: delegation first, then mail, then registration.
DNS_KINDS = ("dns_zone", "mx", "spf", "dmarc", "dkim", "tlsrpt")
DOMAIN_KINDS = (*DNS_KINDS, "domain_expiry")


@dataclass
class DomainOptions:
    dkim: DkimParams = field(default_factory=DkimParams)
    rdap: bool = True


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
    ctx: CheckContext, kind_name: str, target: str, params: dict[str, Any] | Any
) -> Evaluation:
    kind = get_kind(kind_name)
    try:
        parsed = params if not isinstance(params, dict) else kind.parse_params(params)
        return await kind.run(ctx, target, parsed)
    except Exception as exc:  # one broken kind must not take the run down with it
        log.exception("check %s on %s failed", kind_name, target)
        return evaluation([], [f"internal error in {kind_name}: {type(exc).__name__}: {exc}"])


async def check_domain(ctx: CheckContext, domain: str, options: DomainOptions | None = None) -> DomainReport:
    options = options or DomainOptions()
    kinds = DOMAIN_KINDS if options.rdap else DNS_KINDS
    params: dict[str, Any] = {"dkim": options.dkim}
    results = await asyncio.gather(*(run_kind(ctx, k, domain, params.get(k, {})) for k in kinds))
    return DomainReport(domain, dict(zip(kinds, results, strict=True)))


async def _pool(items: Iterable[str], worker: Callable[[str], Any], concurrency: int) -> None:
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

    await _pool(domains, one, ctx.settings.check_concurrency)


async def check_addresses(
    ctx: CheckContext,
    targets: Iterable[str],
    zones: list[Zone],
    on_progress: Callable[[int], None] | None = None,
    refused: dict[str, str] | None = None,
    bulk: bool = True,
) -> list[DnsblResult]:
    """DNSBL for many IPs (or domains). Results come back only once all are done: a zone
    that refuses late makes its earlier answers unknown too. `bulk` (the default) runs the
    task-free bulk path (`dnsbl_bulk.py`); `bulk=False` the general one, a `DnsblRun` check
    per target (what the single-target check kind uses), kept to compare the two."""
    unique = list(dict.fromkeys(t.strip() for t in targets if t.strip()))
    if bulk:
        results, zone_errors = await bulk_dnsbl(
            ctx.dns, unique, zones, ctx.settings.dnsbl_window, on_progress
        )
        if refused is not None:
            refused.update(zone_errors)
        return results
    run = DnsblRun(ctx.dns, zones)
    collected: list[DnsblResult] = []

    async def one(target: str) -> None:
        collected.append(await run.check(target))
        if on_progress:
            on_progress(1)

    await _pool(unique, one, ctx.settings.check_concurrency)
    order = {t: i for i, t in enumerate(unique)}
    if refused is not None:  # the caller merges several runs (worker processes)
        refused.update(run.zone_errors)
    return run.finalise(sorted(collected, key=lambda r: order[r.target]))
