"""GET /api/v1/jobs, /readyz and /metrics through the ASGI app."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.routing import NoMatchFound

from hub.app import API_PREFIX, create_app
from hub.db import session_scope
from hub.health import router as health_router
from hub.jobs import enqueue
from hub.jobs.endpoints import router as jobs_router
from hub.models.enums import Role
from hub.settings import Settings
from tests import factories as f
from tests.conftest import make_token
from tests.jobs import kinds


def _with_jobs(app: Any) -> Any:
    """The routes as hub/app.py includes them once the lead applies the patch."""
    try:
        app.url_path_for("readyz")
    except NoMatchFound:
        app.include_router(jobs_router, prefix=API_PREFIX)
        app.include_router(health_router)
    return app


@pytest.fixture
async def jobs_app(settings: Settings) -> AsyncIterator[Any]:
    # /metrics is off unless turned on (HUB_METRICS), as a deployment with a scraper does.
    app = _with_jobs(create_app(settings=settings.model_copy(update={"metrics": True})))
    async with app.router.lifespan_context(app):
        yield app


def _client(app: Any, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test", headers=headers
    )


async def test_staff_see_jobs_with_attempts_errors_and_queue_health(jobs_app: Any) -> None:
    async with session_scope(jobs_app.state.runtime.sessionmaker) as s:
        for i in range(3):
            await enqueue(s, kinds.Noop(i=i))
        await enqueue(s, kinds.Fail())
    for role in (Role.admin, Role.technician):
        async with _client(jobs_app, await make_token(jobs_app, role)) as http:
            r = await http.get("/api/v1/jobs", params={"kind": "testing.noop", "limit": 2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["total"], len(body["items"])) == (3, 2)
        assert {"state", "attempt", "max_attempts", "last_error"} <= set(body["items"][0])
        assert body["queue"]["depth"] == 4
        assert body["queue"]["queued_by_kind"] == {"testing.noop": 3, "testing.fail": 1}
        assert body["queue"]["oldest_queued_age_seconds"] >= 0


async def test_a_client_viewer_cannot_list_jobs(jobs_app: Any) -> None:
    async with _client(jobs_app, await make_token(jobs_app)) as admin:
        admin.base_url = httpx.URL("http://hub.test" + API_PREFIX)
        client = await f.client(admin)
    token = await make_token(jobs_app, Role.client_viewer, uuid.UUID(client["id"]))
    async with _client(jobs_app, token) as http:
        r = await http.get("/api/v1/jobs")
    assert r.status_code == 403
    async with _client(jobs_app) as anonymous:
        assert (await anonymous.get("/api/v1/jobs")).status_code == 401


async def test_readyz_wants_the_schema_at_the_alembic_head(jobs_app: Any) -> None:
    async with _client(jobs_app) as http:
        assert (await http.get("/readyz")).status_code == 200
        async with session_scope(jobs_app.state.runtime.sessionmaker) as s:
            await s.execute(text("UPDATE alembic_version SET version_num = '49787fe520a7'"))
        r = await http.get("/readyz")
    assert r.status_code == 503
    assert "hub db upgrade" in r.json()["detail"]


async def test_metrics_expose_queue_depth_per_kind_without_client_labels(jobs_app: Any) -> None:
    async with session_scope(jobs_app.state.runtime.sessionmaker) as s:
        await enqueue(s, kinds.Noop())
        await enqueue(s, kinds.Noop())
    async with _client(jobs_app) as http:
        r = await http.get("/metrics")
    assert r.status_code == 200
    lines = r.text.splitlines()
    assert 'hub_jobs_queued{kind="testing.noop"} 2.0' in lines
    for name in ("hub_jobs_running", "hub_jobs_failed", "hub_jobs_reclaimed_total", "hub_job_workers"):
        assert any(line.startswith(name + " ") for line in lines), name
    assert "client" not in r.text
