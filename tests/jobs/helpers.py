"""Real worker processes and synchronous database access for the job-system tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["Any", "subprocess", "sys", "text"]

from sqlalchemy import Engine, create_engine, insert, text

from hub.kit.time import utcnow
from hub.models.job import Job, JobState
from hub.settings import sync_database_url
from tests.conftest import TEST_KEY
from tests.jobs.kinds import EFFECTS_DDL

REPO = Path(__file__).resolve().parents[2]

# Short intervals so that crash recovery takes a second, not half a minute.
FAST = {
    "HUB_JOBS_LEASE_SECONDS": "1.0",
    "HUB_JOBS_HEARTBEAT_SECONDS": "0.25",
    "HUB_JOBS_SWEEP_SECONDS": "0.25",
    "HUB_JOBS_POLL_SECONDS": "0.05",
    "HUB_JOBS_SCHEDULE_SECONDS": "0.2",
    "HUB_JOBS_BACKOFF_BASE_SECONDS": "0.05",
    "HUB_JOBS_BACKOFF_MAX_SECONDS": "0.2",
    "HUB_JOBS_SHUTDOWN_GRACE_SECONDS": "5",
    # A worker refuses settings that could send an order after its lease ended: with 1 s
    # leases the send margin must be shorter.
    "HUB_RENEWAL_SEND_MARGIN_SECONDS": "0.2",
}


def worker_env(database_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "PYTHON"))}
    env.update(FAST)
    env.update(
        HUB_DATABASE_URL=database_url,
        HUB_DATA_DIR=str(data_dir),
        HUB_SECRET_KEY=TEST_KEY,
        HUB_LOG_LEVEL="warning",
        HUB_JOBS_IMPORTS="tests.jobs.kinds",
        PYTHONPATH=str(REPO),
    )
    env.update(overrides)
    return env


def start_worker(env: dict[str, str], log: Path, *, concurrency: int = 4) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.jobs.cli", "worker", "--concurrency", str(concurrency)],
            env=env,
            cwd=REPO,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )


def kill_all(procs: Iterable[subprocess.Popen[bytes]]) -> None:
    """Never leave a process behind, whatever state it is in (stopped ones included)."""
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            except ProcessLookupError:
                pass
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


def sync_engine(database_url: str) -> Engine:
    url = sync_database_url(database_url)
    args: dict[str, Any] = {"timeout": 30} if url.startswith("sqlite") else {}
    return create_engine(url, connect_args=args)


def create_effects_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(EFFECTS_DDL))


def bulk_enqueue(engine: Engine, kind: str, payloads: list[dict[str, Any]], **extra: Any) -> None:
    now = utcnow()
    rows = [
        {
            "kind": kind,
            "payload": p,
            "state": JobState.queued,
            "priority": 0,
            "run_at": now,
            "attempt": 0,
            "max_attempts": extra.get("max_attempts", 1000),
            "reclaims": 0,
            "created_at": now,
        }
        for p in payloads
    ]
    with engine.begin() as conn:
        conn.execute(insert(Job), rows)


def states(engine: Engine, kind: str = "testing.effect") -> dict[str, int]:
    """Job counts by state for one kind (workers also run the hub's own periodic jobs)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT state, count(*) FROM jobs WHERE kind = :k GROUP BY state"), {"k": kind}
        )
        return {s: n for s, n in rows}


def effect_counts(engine: Engine) -> dict[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT job_id, count(*) FROM job_test_effects GROUP BY job_id"))
        return {int(j): int(n) for j, n in rows}


def wait_until(predicate: Any, timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
