"""Prometheus exposition of the queue, read from the database at scrape time.

Built into a fresh registry per scrape: the numbers belong to the database, not to
whichever process answers, so several API processes all report the same truth. No
per-client labels (kinds are a short fixed list).
"""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

from hub.jobs.queue import QueueStats, queue_stats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Snapshot(Collector):
    def __init__(self, stats: QueueStats) -> None:
        self.stats = stats

    def collect(self):  # type: ignore[no-untyped-def]
        s = self.stats
        queued = GaugeMetricFamily("hub_jobs_queued", "Jobs waiting to run, by kind", labels=["kind"])
        for kind, n in sorted(s.queued_by_kind.items()):
            queued.add_metric([kind], n)
        yield queued
        yield GaugeMetricFamily("hub_jobs_due", "Queued jobs whose run time has come", value=s.due)
        yield GaugeMetricFamily(
            "hub_jobs_oldest_queued_age_seconds",
            "How long the oldest due job has been waiting",
            value=s.oldest_queued_age_seconds,
        )
        yield GaugeMetricFamily("hub_jobs_running", "Jobs leased to a worker", value=s.running)
        yield GaugeMetricFamily("hub_jobs_failed", "Jobs out of attempts, still retained", value=s.failed)
        yield CounterMetricFamily(
            "hub_jobs_reclaimed", "Leases taken back from stalled or crashed workers", value=s.reclaimed_total
        )
        yield CounterMetricFamily("hub_jobs_exhausted", "Jobs that ran out of attempts", value=s.failed_total)
        yield GaugeMetricFamily("hub_job_workers", "Workers with a recent heartbeat", value=s.workers_alive)
        yield GaugeMetricFamily(
            "hub_job_worker_heartbeat_age_seconds",
            "Age of the stalest heartbeat among live workers",
            value=s.oldest_worker_heartbeat_age_seconds,
        )


class _Gauges:
    """Plain gauges other modules export (name -> (help, value))."""

    def __init__(self, gauges: dict[str, tuple[str, float]]) -> None:
        self.gauges = gauges

    def collect(self):  # type: ignore[no-untyped-def]
        for name, (text, value) in self.gauges.items():
            yield GaugeMetricFamily(name, text, value=value)


async def render(
    session: AsyncSession, *, alive_within: timedelta, gauges: dict[str, tuple[str, float]] | None = None
) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(await queue_stats(session, alive_within=alive_within)))
    if gauges:
        registry.register(_Gauges(gauges))
    return generate_latest(registry)
