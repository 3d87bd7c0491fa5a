"""The checks' jobs on the real job queue: `check.run` stores the engine's result with the
job's fenced completion, `check.schedule` queues only due checks, once each, and a real
worker in process takes a new check from the schedule to a stored run."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.check.enums import CheckStatus
from hub.check.schemas import ScheduleChecks
from hub.db import session_scope
from hub.jobs import JobContext, LeaseLost, enqueue, queue
from hub.jobs.settings import JobSettings
from hub.jobs.worker import Worker, run_task
from hub.kit.time import utcnow
from hub.models.check import Check, CheckRun
from hub.models.job import Job, JobState
from hub.runtime import HubRuntime
from tests import factories as f
from tests.check.dns_server import DnsTestServer
from tests.check.world import publish, txt
from tests.conftest import runtime_from

SM = async_sessionmaker[AsyncSession]
OWNER = "test-worker"


@pytest.fixture(autouse=True)
def dns_env(runtime: HubRuntime, dns_server: DnsTestServer) -> None:
    """The jobs resolve through the runtime's checks settings; here they point at loopback."""
    runtime.use_settings(
        check={"dns_nameservers": [dns_server.address], "dns_timeout": 2.0, "dns_attempts": 1}
    )


async def failing_spf_check(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    c = await f.client(api)
    d = await f.domain(api, c["id"], name=name)
    r = await api.post("/checks", json={"client_id": c["id"], "kind": "spf", "target_ref": d["id"]})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def claimed(sm: SM, kind: str) -> JobContext:
    """Lease the next job of `kind` as a worker would, and the context its task gets."""
    async with session_scope(sm) as session:
        [job] = await queue.claim(session, OWNER, [kind], 1, timedelta(seconds=30))
    return JobContext.of(runtime_from(sm), job, OWNER)


async def runs_of(sm: SM, check_id: str) -> list[CheckRun]:
    async with sm() as session:
        rows = await session.execute(select(CheckRun).where(CheckRun.check_id == uuid.UUID(check_id)))
        return list(rows.scalars())


async def test_the_run_job_stores_a_failing_run_and_completes(
    app: Any, api: httpx.AsyncClient, dns_server: DnsTestServer
) -> None:
    publish(dns_server, "job-nospf.test", {("@", "TXT"): [txt("google-site-verification=abc")]})
    check = await failing_spf_check(api, "job-nospf.test")
    assert (await api.post(f"/checks/{check['id']}/run")).status_code == 202
    sm = app.state.runtime.sessionmaker
    ctx = await claimed(sm, "check.run")

    await run_task(ctx)

    [run] = await runs_of(sm, check["id"])
    assert run.status == CheckStatus.fail and "spf_missing" in [x["code"] for x in run.findings]
    assert (await api.get(f"/checks/{check['id']}")).json()["status"] == "fail"
    async with sm() as session:
        job = await session.get(Job, ctx.job_id)
    assert job is not None and job.state == JobState.succeeded and ctx.finished


async def test_a_run_whose_lease_was_lost_stores_nothing(
    app: Any, api: httpx.AsyncClient, dns_server: DnsTestServer
) -> None:
    publish(dns_server, "job-lost.test", {("@", "TXT"): [txt("google-site-verification=abc")]})
    check = await failing_spf_check(api, "job-lost.test")
    await api.post(f"/checks/{check['id']}/run")
    sm = app.state.runtime.sessionmaker
    ctx = await claimed(sm, "check.run")
    async with session_scope(sm) as session:  # an operator cancels it while it runs
        await queue.cancel(session, ctx.job_id)

    with pytest.raises(LeaseLost):
        await run_task(ctx)

    assert await runs_of(sm, check["id"]) == []
    assert (await api.get(f"/checks/{check['id']}")).json()["status"] == "pending"


async def test_a_timeout_in_the_job_stores_unknown_not_fail(
    app: Any, api: httpx.AsyncClient, dns_server: DnsTestServer
) -> None:
    publish(dns_server, "job-slow.test", {("@", "TXT"): [txt("google-site-verification=abc")]})
    dns_server.timeout_names.add("job-slow.test")
    check = await failing_spf_check(api, "job-slow.test")
    await api.post(f"/checks/{check['id']}/run")
    ctx = await claimed(app.state.runtime.sessionmaker, "check.run")

    await run_task(ctx)

    [run] = await runs_of(app.state.runtime.sessionmaker, check["id"])
    assert run.status == CheckStatus.unknown and run.error and "timeout" in run.error


async def _set(sm: SM, check_id: str, **values: Any) -> None:
    async with session_scope(sm) as session:
        await session.execute(update(Check).where(Check.id == uuid.UUID(check_id)).values(**values))


async def _run_jobs(sm: SM) -> dict[str, str | None]:
    async with sm() as session:
        jobs = (await session.execute(select(Job).where(Job.kind == "check.run"))).scalars()
        return {j.payload["check_id"]: j.dedupe_key for j in jobs}


async def test_the_schedule_queues_only_due_checks_and_each_once(app: Any, api: httpx.AsyncClient) -> None:
    sm = app.state.runtime.sessionmaker
    due = await failing_spf_check(api, "due.test")  # new: due at once
    overdue = await failing_spf_check(api, "overdue.test")
    later = await failing_spf_check(api, "later.test")
    disabled = await failing_spf_check(api, "disabled.test")
    await _set(sm, overdue["id"], next_run_at=utcnow() - timedelta(days=2))
    await _set(sm, later["id"], next_run_at=utcnow() + timedelta(minutes=30))
    await _set(sm, disabled["id"], enabled=False)

    for _ in range(2):  # a second tick finds the same checks queued or not yet due again
        async with session_scope(sm) as session:
            await enqueue(session, ScheduleChecks())
        await run_task(await claimed(sm, "check.schedule"))

    assert await _run_jobs(sm) == {
        due["id"]: f"check:{due['id']}",
        overdue["id"]: f"check:{overdue['id']}",
    }
    async with sm() as session:
        check = await session.get(Check, uuid.UUID(overdue["id"]))
    assert check is not None and check.next_run_at is not None and check.next_run_at > utcnow()


async def test_a_worker_runs_a_new_check_from_the_schedule_to_a_stored_run(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, dns_server: DnsTestServer
) -> None:
    publish(dns_server, "worker.test", {("@", "TXT"): [txt("google-site-verification=abc")]})
    check = await failing_spf_check(api, "worker.test")
    sm = app.state.runtime.sessionmaker
    jobs = JobSettings(
        lease_seconds=5, heartbeat_seconds=1, sweep_seconds=1, poll_seconds=0.05, schedule_seconds=0.2
    )
    runtime.use_settings(jobs=jobs)
    worker = Worker(runtime, concurrency=2)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(400):  # 20 s at most
            if await runs_of(sm, check["id"]):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    [run] = await runs_of(sm, check["id"])
    assert run.status == CheckStatus.fail
    async with sm() as session:
        done = await session.execute(
            select(func.count()).where(Job.kind == "check.run", Job.state == JobState.succeeded)
        )
    assert done.scalar_one() == 1
