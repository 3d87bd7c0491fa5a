"""Real worker processes: new jobs wake idle PostgreSQL workers through LISTEN/NOTIFY
(polling when the listening connection is gone), and completions batched into the next
claim transaction are never lost when the worker dies before that transaction commits."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests import conftest
from tests.jobs import helpers as h
from tests.jobs.kinds import ONCE_DDL

pytestmark = pytest.mark.postgres

LISTENERS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    " AND application_name LIKE 'hub-jobs-listen%'"
)


def _listeners(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(p) for p in conn.execute(text(LISTENERS)).scalars()]


def _dt(value: Any) -> datetime:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _wait_for_one_job(engine: Engine, n: int) -> float:
    """Enqueue a no-op job (the n-th) and return the seconds from its enqueue to its start."""
    h.bulk_enqueue(engine, "testing.noop", [{"n": n}])
    h.wait_until(lambda: h.states(engine, "testing.noop").get("succeeded", 0) >= n, 40, 0.02, f"job {n}")
    with engine.connect() as conn:
        created, started = conn.execute(
            text(
                "SELECT created_at, started_at FROM jobs WHERE kind = 'testing.noop' ORDER BY id DESC LIMIT 1"
            )
        ).one()
    return (_dt(started) - _dt(created)).total_seconds()


def test_a_new_job_wakes_an_idle_postgresql_worker_and_a_dropped_listener_falls_back_to_polling(
    database: conftest.TestDatabase, tmp_path: Path
) -> None:
    if database.kind != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's (SQLite workers poll)")
    engine = h.sync_engine(database.url)
    # While it listens the worker polls every 30 s: only a notification can start a job
    # within a couple of seconds. Without its listener it polls every 0.3 s, and listens
    # again after 6 s.
    env = h.worker_env(
        database.url,
        tmp_path,
        HUB_JOBS_POLL_SECONDS="0.3",
        HUB_JOBS_LISTEN_POLL_SECONDS="30",
        HUB_JOBS_LISTEN_RETRY_SECONDS="6",
        HUB_LOG_LEVEL="info",
    )
    log = tmp_path / "worker.log"
    proc = h.start_worker(env, log, concurrency=2)
    try:
        h.wait_until(lambda: len(_listeners(engine)) == 1, 60, 0.05, "the worker to listen")
        time.sleep(1.0)  # past the claim its listening starts with: the worker is idle
        woken = [_wait_for_one_job(engine, n) for n in (1, 2, 3)]
        assert max(woken) < 3.0, f"an idle worker was not woken by new jobs: {woken}"

        (first,) = _listeners(engine)
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})
        dropped = time.monotonic()
        polled = _wait_for_one_job(engine, 4)
        assert time.monotonic() - dropped < 5.0, "without its listener the worker must poll"
        assert polled < 5.0, polled

        h.wait_until(lambda: _listeners(engine) not in ([], [first]), 30, 0.1, "the worker to listen again")
        time.sleep(1.0)
        again = _wait_for_one_job(engine, 5)
        assert again < 3.0, f"after listening again the worker was not woken: {again}"
    finally:
        h.kill_all([proc])
    engine.dispose()
    text_log = log.read_text()
    assert "not notified of new jobs (OperationalError)" in text_log, text_log[-2000:]
    assert text_log.count("listening for new jobs") == 2, text_log[-2000:]


def test_a_worker_dying_before_its_batched_completions_commit_runs_those_jobs_again_effects_once(
    database: conftest.TestDatabase, tmp_path: Path
) -> None:
    engine = h.sync_engine(database.url)
    with engine.begin() as conn:
        for ddl in ONCE_DDL:
            conn.execute(text(ddl))
    payloads: list[dict[str, Any]] = [{} for _ in range(12)]
    payloads[5] = {"die_before_completion": True}
    h.bulk_enqueue(engine, "testing.idempotent", payloads)
    env = h.worker_env(database.url, tmp_path)
    first = h.start_worker(env, tmp_path / "first.log", concurrency=4)
    procs = [first]
    try:
        assert first.wait(timeout=60) == -signal.SIGKILL, "the failpoint should have killed the worker"
        with engine.connect() as conn:
            lost = conn.execute(
                text("SELECT count(*) FROM jobs WHERE kind = 'testing.idempotent' AND state = 'running'")
            ).scalar_one()
        assert lost >= 1, "the dying worker's batch left its jobs running"
        procs.append(h.start_worker(env, tmp_path / "second.log", concurrency=4))
        h.wait_until(
            lambda: h.states(engine, "testing.idempotent") == {"succeeded": 12},
            60,
            0.05,
            "every job to succeed",
        )
    finally:
        h.kill_all(procs)
    with engine.connect() as conn:
        ids = sorted(
            int(i)
            for i in conn.execute(text("SELECT id FROM jobs WHERE kind = 'testing.idempotent'")).scalars()
        )
        once = conn.execute(text("SELECT job_id, count(*) FROM job_test_once GROUP BY job_id")).all()
        runs = conn.execute(text("SELECT job_id, attempt, pid FROM job_test_runs")).all()
        reclaims = conn.execute(
            text("SELECT id, reclaims FROM jobs WHERE kind = 'testing.idempotent' AND reclaims > 0")
        ).all()
    engine.dispose()
    dying = ids[5]
    assert sorted(int(j) for j, _ in once) == ids and all(n == 1 for _, n in once), "each effect once"
    dying_runs = sorted((int(a), int(p)) for j, a, p in runs if j == dying)
    # run by the worker that died, then again (a new attempt) by the second worker
    assert [a for a, _ in dying_runs] == [1, 2], dying_runs
    assert dying_runs[0][1] == first.pid and dying_runs[1][1] == procs[1].pid
    assert dying in {int(j) for j, _ in reclaims}, "the lost completion was taken back by the sweep"
