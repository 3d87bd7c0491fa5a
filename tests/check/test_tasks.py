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
from hub.check.tasks import run_check, schedule_checks
from hub.config import Settings
from hub.db import session_scope
from hub.jobs import JobContext, LeaseLost, enqueue, queue
from hub.jobs.config import JobSettings
from hub.jobs.worker import Worker
from hub.kit.time import utcnow
from hub.models.check import Check, CheckRun
from hub.models.job import Job, JobState
from tests import factories as f
from tests.check.dns_server import DnsTestServer
from tests.check.world import publish, txt

SM = async_sessionmaker[AsyncSession]
OWNER = "test-worker"


@pytest.fixture(autouse=True)
def dns_env(monkeypatch: pytest.MonkeyPatch, dns_server: DnsTestServer) -> None:
    """The jobs read HUB_DNS_* like a deployed worker does; here they point at loopback."""
    monkeypatch.setenv("HUB_DNS_NAMESERVERS", dns_server.address)
    monkeypatch.setenv("HUB_DNS_TIMEOUT", "0.3")
    monkeypatch.setenv("HUB_DNS_ATTEMPTS", "1")


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
    return JobContext(
        job_id=job.id,
        kind=job.kind,
        attempt=job.attempt,
        max_attempts=job.max_attempts,
        owner=OWNER,
        payload=job.payload,
        sessionmaker=sm,
    )


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
    sm = app.state.sessionmaker
    ctx = await claimed(sm, "check.run")

    await run_check(ctx, ctx.payload)

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
    sm = app.state.sessionmaker
    ctx = await claimed(sm, "check.run")
    async with session_scope(sm) as session:  # an operator cancels it while it runs
        await queue.cancel(session, ctx.job_id)

    with pytest.raises(LeaseLost):
        await run_check(ctx, ctx.payload)

    assert await runs_of(sm, check["id"]) == []
    assert (await api.get(f"/checks/{check['id']}")).json()["status"] == "pending"


async def test_a_timeout_in_the_job_stores_unknown_not_fail(
    app: Any, api: httpx.AsyncClient, dns_server: DnsTestServer
) -> None:
    publish(dns_server, "job-slow.test", {("@", "TXT"): [txt("google-site-verification=abc")]})
    dns_server.timeout_names.add("job-slow.test")
    check = await failing_spf_check(api, "job-slow.test")
    await api.post(f"/checks/{check['id']}/run")
    ctx = await claimed(app.state.sessionmaker, "check.run")

    await run_check(ctx, ctx.payload)

    [run] = await runs_of(app.state.sessionmaker, check["id"])
    assert run.status == CheckStatus.unknown and run.error and "timeout" in run.error


async def _set(sm: SM, check_id: str, **values: Any) -> None:
    async with session_scope(sm) as session:
        await session.execute(update(Check).where(Check.id == uuid.UUID(check_id)).values(**values))


async def _run_jobs(sm: SM) -> dict[str, str | None]:
    async with sm() as session:
        jobs = (await session.execute(select(Job).where(Job.kind == "check.run"))).scalars()
        return {j.payload["check_id"]: j.dedupe_key for j in jobs}


async def test_the_schedule_queues_only_due_checks_and_each_once(app: Any, api: httpx.AsyncClient) -> None:
    sm = app.state.sessionmaker
    due = await failing_spf_check(api, "due.test")  # new: due at once
    overdue = await failing_spf_check(api, "overdue.test")
    later = await failing_spf_check(api, "later.test")
    disabled = await failing_spf_check(api, "disabled.test")
    await _set(sm, overdue["id"], next_run_at=utcnow() - timedelta(days=2))
    await _set(sm, later["id"], next_run_at=utcnow() + timedelta(minutes=30))
    await _set(sm, disabled["id"], enabled=False)

    for _ in range(2):  # a second tick finds the same checks queued or not yet due again
        async with session_scope(sm) as session:
            await enqueue(session, "check.schedule", {})
        await schedule_checks(ctx := await claimed(sm, "check.schedule"), ctx.payload)

    assert await _run_jobs(sm) == {
        due["id"]: f"check:{due['id']}",
        overdue["id"]: f"check:{overdue['id']}",
    }
    async with sm() as session:
        check = await session.get(Check, uuid.UUID(overdue["id"]))
    assert check is not None and check.next_run_at is not None and check.next_run_at > utcnow()


async def test_a_worker_runs_a_new_check_from_the_schedule_to_a_stored_run(
    app: Any, api: httpx.AsyncClient, settings: Settings, dns_server: DnsTestServer
) -> None:
    publish(dns_server, "worker.test", {("@", "TXT"): [txt("google-site-verification=abc")]})
    check = await failing_spf_check(api, "worker.test")
    sm = app.state.sessionmaker
    jobs = JobSettings(
        lease_seconds=5, heartbeat_seconds=1, sweep_seconds=1, poll_seconds=0.05, schedule_seconds=0.2
    )
    worker = Worker(settings, concurrency=2, job_settings=jobs, sessionmaker=sm)
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
