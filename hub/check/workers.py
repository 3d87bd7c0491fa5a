"""Bulk runs over several processes: `hub check domains|dnsbl --workers N`.

One Python process tops out near one core, and a bulk run is CPU-bound (building queries,
reading answers, judging records). The targets are dealt round-robin to N worker
processes (forked when nothing else runs in this process, else spawned), each with its
own event loop and DNS cache (a shared provider answer is then fetched once per worker
instead of once per run: a few queries more, for a second core). Each line depends only
on its target, so the output is the same whatever the sharding; the parent writes lines
as they arrive and merges the statistics.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue as queue_module
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from hub.check.dns.client import DnsStats
from hub.check.dns.dnsbl_zones import DnsblResult, Zone, apply_refusals
from hub.check.settings import CheckSettings

# The domain checks (the engine, its context and the kinds) are imported where they are
# used: a DNSBL worker process needs none of them, and a spawned process imports this
# module before it does anything. Nothing here imports the ORM (tests/check/test_imports.py).
if TYPE_CHECKING:
    from hub.check.engine import DomainOptions

T = TypeVar("T")


def run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """uvloop when installed (it comes with uvicorn[standard]): its loop costs about half
    of asyncio's per callback, and a bulk run is mostly callbacks."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


@dataclass
class DomainJob:
    settings: dict[str, Any]
    domains: list[str]
    selectors: dict[str, list[str]]
    rdap: bool


def options_for(selectors: dict[str, list[str]], rdap: bool) -> Callable[[str], DomainOptions]:
    """Per domain: the kinds of `hub check domains` and the DKIM selectors the domain
    uses (`selectors["*"]`: used for every domain)."""
    from hub.check.engine import DNS_KINDS, DOMAIN_KINDS, DomainOptions
    from hub.check.kinds.dkim import DkimParams

    defaults = selectors.get("*", [])
    kinds = DOMAIN_KINDS if rdap else DNS_KINDS

    def build(domain: str) -> DomainOptions:
        dkim = DkimParams(selectors=selectors.get(domain, []) + defaults)
        return DomainOptions(kinds=kinds, params={"dkim": dkim})

    return build


def run_domain_job(job: DomainJob, out: Any) -> None:
    """A domain worker process: checks its share, putting ("line", ...) per domain on
    `out`, then ("done", its DNS counters) or ("failed", why)."""
    from hub.check.context import CheckContext
    from hub.check.engine import check_domains

    async def run() -> DnsStats:
        settings = CheckSettings.model_validate(job.settings)
        async with CheckContext.create(settings) as ctx:
            await check_domains(
                ctx, job.domains, options_for(job.selectors, job.rdap), lambda r: out.put(("line", r.line()))
            )
            return ctx.dns.stats

    try:
        stats = run_loop(run())
        out.put(("done", asdict(stats)))
    except BaseException as exc:
        out.put(("failed", f"{type(exc).__name__}: {exc}"))
        raise


@dataclass
class DnsblJob:
    settings: dict[str, Any]
    targets: list[str]
    zones: list[dict[str, Any]]
    # This worker's share of each zone's budget and rate (the run's, split between workers).
    budgets: list[int | None]
    rates: list[float | None]


def run_dnsbl_job(job: DnsblJob, out: Any) -> None:
    """A DNSBL worker process: ("tick", n) as targets finish, then ("results", ...) and
    ("done", its DNS counters), or ("failed", why)."""
    from hub.check.dns.dnsbl_bulk import run_dnsbl

    settings = CheckSettings.model_validate(job.settings)
    zones = [Zone.model_validate(z) for z in job.zones]
    try:
        results, refused, stats = run_loop(
            run_dnsbl(
                settings,
                job.targets,
                zones,
                on_progress=lambda n: out.put(("tick", n)),
                budgets=job.budgets,
                rates=job.rates,
            )
        )
        # Results as plain tuples: pickling 10,000 dataclasses costs more than the lookups.
        out.put(("results", ([(r.target, r.listed, r.meanings, r.errors) for r in results], refused)))
        out.put(("done", asdict(stats)))
    except BaseException as exc:
        out.put(("failed", f"{type(exc).__name__}: {exc}"))
        raise


@contextlib.contextmanager
def _main_not_reimported() -> Iterator[None]:
    """A spawned process first re-runs the parent's main script (as `__mp_main__`) so that
    objects defined there can be unpickled. Our main script is the `hub` console script,
    whose only work is `from hub.cli import app`: the whole CLI, ~2 s of imports per worker
    on a busy 2-core machine, counted in every bulk run's time. The workers' targets live
    in this module, so the main script is hidden while they start."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    spec = getattr(main, "__spec__", None)
    if main is None or path is None or spec is not None:
        yield  # `python -m ...`: the child imports the module by name, as it should
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _fork_is_safe() -> bool:
    """fork when this process runs no other thread: the workers then start with every
    module already imported (a spawned worker imports the checks again, 0.6 s of CPU each,
    as much as a 200-domain run's own work). With a thread running (a progress bar that
    refreshes itself, a caller's pool), a forked child could inherit a lock held by it, so
    the workers are spawned."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def _shards(items: list[str], n: int) -> list[list[str]]:
    return [shard for shard in (items[i::n] for i in range(n)) if shard]


def _run_workers(
    target: Callable[[Any, Any], None], jobs: list[Any], on_message: Callable[[str, Any], None]
) -> DnsStats:
    """Runs one process per job; `on_message(kind, payload)` for every message."""
    context = multiprocessing.get_context("fork") if _fork_is_safe() else multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [context.Process(target=target, args=(job, out), daemon=True) for job in jobs]
    with _main_not_reimported():
        for process in processes:
            process.start()
    total = DnsStats()
    running = len(processes)
    try:
        while running:
            try:
                kind, payload = out.get(timeout=1.0)
            except queue_module.Empty:
                if any(p.exitcode not in (None, 0) for p in processes):
                    raise RuntimeError("a check worker process died") from None
                continue
            if kind == "done":
                running -= 1
                for key, value in payload.items():
                    setattr(total, key, getattr(total, key) + value)
            elif kind == "failed":
                raise RuntimeError(f"a check worker failed: {payload}")
            else:
                on_message(kind, payload)
    finally:
        for process in processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join()
    return total


def domains_in_workers(
    settings: CheckSettings,
    domains: list[str],
    selectors: dict[str, list[str]],
    rdap: bool,
    workers: int,
    on_line: Callable[[dict[str, Any]], None],
) -> DnsStats:
    dumped = settings.model_dump(mode="json")
    jobs = [DomainJob(dumped, shard, selectors, rdap) for shard in _shards(domains, workers)]
    return _run_workers(run_domain_job, jobs, lambda _kind, line: on_line(line))


def dnsbl_in_workers(
    settings: CheckSettings,
    targets: list[str],
    zones: list[Zone],
    workers: int,
    on_progress: Callable[[int], None],
) -> tuple[list[DnsblResult], DnsStats]:
    dumped = settings.model_dump(mode="json")
    raw_zones = [z.model_dump(mode="json") for z in zones]
    shards = _shards(targets, workers)
    jobs = []
    for shard in shards:
        budgets: list[int | None] = []
        for zone in zones:
            if zone.budget is None:
                budgets.append(None)
                continue
            applicable = [t for t in targets if zone.query_name(t) is not None][: zone.budget]
            mine = set(shard)
            budgets.append(sum(1 for t in applicable if t in mine))
        rates = [z.rate / len(shards) if z.rate else None for z in zones]
        jobs.append(DnsblJob(dumped, shard, raw_zones, budgets, rates))
    results: list[DnsblResult] = []
    refused: dict[str, str] = {}

    def on_message(kind: str, payload: Any) -> None:
        if kind == "tick":
            on_progress(payload)
        elif kind == "results":
            results.extend(
                DnsblResult(t, listed, meanings, errors) for t, listed, meanings, errors in payload[0]
            )
            refused.update(payload[1])

    stats = _run_workers(run_dnsbl_job, jobs, on_message)
    order = {t: i for i, t in enumerate(targets)}
    results.sort(key=lambda r: order[r.target])
    return apply_refusals(results, zones, refused), stats
