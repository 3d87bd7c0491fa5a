"""The reminder jobs on the real job queue: `notify.remind` records the ledger with the
job's fenced completion, so a worker that lost its lease records nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.db import session_scope
from hub.jobs import JobContext, LeaseLost, queue
from hub.jobs.registry import load_tasks
from hub.jobs.worker import run_task
from hub.models import Notice
from hub.models.job import Job, JobState
from tests import factories as f
from tests.conftest import runtime_from

OWNER = "test-worker"


async def _claimed(sm: Any, kind: str) -> JobContext:
    async with session_scope(sm) as session:
        await queue.enqueue_raw(session, kind, {})
    async with session_scope(sm) as session:
        [job] = await queue.claim(session, OWNER, [kind], 1, timedelta(seconds=30))
    return JobContext.of(runtime_from(sm), job, OWNER)


async def _ending_soon(api: Any) -> None:
    w = await f.world(api)
    soon = (date.today() + timedelta(days=3)).isoformat()
    r = await api.patch(f"/subscriptions/{w['subscription']['id']}", json={"version": 1, "ends_on": soon})
    assert r.status_code == 200, r.text


async def _notices(sm: Any) -> int:
    async with sm() as session:
        return int((await session.execute(select(func.count()).select_from(Notice))).scalar_one())


def test_the_reminder_jobs_are_periodic_and_registered():
    tasks = load_tasks()
    assert {"notify.remind", "notify.digest", "notify.deliver"} <= tasks.keys()
    assert all(tasks[k].cron for k in ("notify.remind", "notify.digest", "notify.deliver"))


async def test_the_remind_job_records_the_due_reminder_and_completes(app, api):
    await _ending_soon(api)
    sm = app.state.runtime.sessionmaker
    ctx = await _claimed(sm, "notify.remind")
    await run_task(ctx)
    assert await _notices(sm) >= 1 and ctx.finished
    async with sm() as session:
        job = await session.get(Job, ctx.job_id)
    assert job is not None and job.state == JobState.succeeded


async def test_a_remind_job_whose_lease_was_lost_records_nothing(app, api):
    await _ending_soon(api)
    sm = app.state.runtime.sessionmaker
    ctx = await _claimed(sm, "notify.remind")
    async with session_scope(sm) as session:  # an operator cancels it while it runs
        await queue.cancel(session, ctx.job_id)
    with pytest.raises(LeaseLost):
        await run_task(ctx)
    assert await _notices(sm) == 0
