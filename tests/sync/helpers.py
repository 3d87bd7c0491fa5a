"""Fixtures of the sync tests: the test adapter registered in place of the entry points,
its simulator on a loopback port, and running queued sync jobs as a worker would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import session_scope
from hub.jobs import JobContext, queue
from hub.jobs.worker import run_task
from hub.runtime import HubRuntime
from hub.sdk.registry import Registry
from hub.sdk.testing import serve_on_loopback
from tests.conftest import runtime_from
from tests.sync import testvendor
from tests.sync.testvendor import AcmeSimulator

SM = async_sessionmaker[AsyncSession]


@pytest.fixture
def test_registry(runtime: HubRuntime) -> Registry:
    # The installed adapters and the test adapter beside them.
    runtime.adapters = Registry({**runtime.adapters.specs, testvendor.SLUG: testvendor.spec}, {})
    return runtime.adapters


FAST_SYNC = {
    "HUB_SYNC_HTTP_TIMEOUT_SECONDS": "2",
    "HUB_SYNC_DEADLINE_SECONDS": "20",
    "HUB_SYNC_DEGRADED_AFTER": "1",
}


@pytest.fixture(autouse=True)
def fast_sync(runtime: HubRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Short timeouts and one failure to degrade, so failure tests take seconds: on the
    test's runtime, and in the environment of any `hub` command the test runs."""
    runtime.use_settings(
        sync={"http_timeout_seconds": 2, "deadline_seconds": 20}, adapters={"degraded_after": 1}
    )
    for key, value in FAST_SYNC.items():
        monkeypatch.setenv(key, value)


class Vendor:
    """The simulator and where it listens."""

    def __init__(self, sim: AcmeSimulator, base_url: str) -> None:
        self.sim = sim
        self.base_url = base_url

    def config(self, partner_id: str, **kw: Any) -> dict[str, Any]:
        return self.sim.config_for(self.base_url, partner_id, **kw)


@pytest.fixture
async def vendor(test_registry: Registry) -> AsyncIterator[Vendor]:
    sim = AcmeSimulator(page_size=2)
    async with serve_on_loopback(sim.app) as base_url:
        yield Vendor(sim, base_url)


async def claim(sm: SM, kind: str = "sync.connection") -> JobContext | None:
    async with session_scope(sm) as session:
        jobs = await queue.claim(session, "test-worker", [kind], 1, timedelta(seconds=60))
    if not jobs:
        return None
    job = jobs[0]
    return JobContext.of(runtime_from(sm), job, "test-worker")


async def run_queued_syncs(sm: SM) -> int:
    """Run every queued sync job to completion, as a worker would; how many ran."""
    ran = 0
    while (ctx := await claim(sm)) is not None:
        await run_task(ctx)
        if not ctx.finished:
            async with session_scope(sm) as session:
                await queue.complete(session, ctx.job_id, ctx.attempt, ctx.owner)
        ran += 1
    return ran


async def sync_now(app: Any, api: httpx.AsyncClient, connection_id: str) -> dict[str, Any]:
    """Ask for a sync through the API, run it, and read the connection back."""
    r = await api.post(f"/connections/{connection_id}/sync")
    assert r.status_code == 202, r.text
    assert await run_queued_syncs(app.state.runtime.sessionmaker) >= 1
    got = await api.get(f"/connections/{connection_id}")
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


async def create_connection(api: httpx.AsyncClient, config: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = {
        "name": kw.pop("name", f"conn {uuid.uuid4().hex[:6]}"),
        "adapter_slug": "testvendor",
        "config": config,
        **kw,
    }
    r = await api.post("/connections", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]
