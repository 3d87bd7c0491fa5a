"""Background jobs (the durable queue), the workers that run them, and their counters.

The job table is the only queue: no broker. Its indexes are partial so that the claim,
the sweep and the dedupe/lock checks only ever touch the few live rows (queued or
running), however many finished rows are kept for inspection before pruning.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.time import utcnow
from hub.models.base import Base, BigIntPk, str_enum


class JobState(enum.StrEnum):
    queued = "queued"  # waiting for run_at (also: waiting to be retried)
    running = "running"  # leased by a worker until lease_expires_at
    succeeded = "succeeded"
    failed = "failed"  # out of attempts: stays visible until an operator retries it
    cancelled = "cancelled"


TERMINAL_STATES = (JobState.succeeded, JobState.failed, JobState.cancelled)

# The same predicate text on both backends: SQLite and PostgreSQL both support partial
# indexes, and both treat these as constraints for INSERT ... ON CONFLICT DO NOTHING.
_LIVE = text("state IN ('queued', 'running')")
_QUEUED = text("state = 'queued'")
_RUNNING = text("state = 'running'")


class Job(BigIntPk, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # The claim scans this in order and stops after a batch: only queued rows are in it.
        Index(
            "ix_jobs_priority_run_at_id",
            "priority",
            "run_at",
            "id",
            sqlite_where=_QUEUED,
            postgresql_where=_QUEUED,
        ),
        # The sweep looks for expired leases among running rows only.
        Index(
            "ix_jobs_lease_expires_at", "lease_expires_at", sqlite_where=_RUNNING, postgresql_where=_RUNNING
        ),
        # At most one queued-or-running job per dedupe key, enforced by the database.
        Index(
            "ix_jobs_dedupe_key",
            "dedupe_key",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        # At most one running job per lock key: the claim skips keys that are taken, and
        # two workers racing for the same key cannot both win.
        Index("ix_jobs_lock_key", "lock_key", unique=True, sqlite_where=_RUNNING, postgresql_where=_RUNNING),
        # Listing by state and pruning old finished rows.
        Index("ix_jobs_state_finished_at", "state", "finished_at"),
        # Exactly one job per periodic schedule and time slot (NULLs never collide).
        UniqueConstraint("schedule", "slot"),
    )

    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[JobState] = mapped_column(str_enum(JobState, "job_state"), default=JobState.queued)
    # Lower runs first (as in Oban and solid_queue); 0 is the default.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Attempts started so far. Never decreases: it is half of the fencing token.
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    lock_key: Mapped[str | None] = mapped_column(String(200))
    schedule: Mapped[str | None] = mapped_column(String(100))
    slot: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    reclaims: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class JobWorker(Base):
    """One row per live worker process, refreshed with its heartbeat (for `hub jobs` and
    the metrics); removed on graceful exit, pruned when it stopped beating."""

    __tablename__ = "job_workers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    concurrency: Mapped[int] = mapped_column(Integer)
    running: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobCounter(Base):
    """Monotonic counters of rare events (reclaimed leases, jobs out of attempts), kept in
    the database because the process that sweeps is rarely the one serving /metrics.
    Never incremented on the per-job hot path: one shared row would serialise workers."""

    __tablename__ = "job_counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
