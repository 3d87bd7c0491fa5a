"""/readyz and /metrics (outside /api/v1: probes and scrapers carry no token).

The app's own /livez touches nothing (a stuck database must not get the process
restarted); /readyz
says whether this process can serve: the database answers and its schema is at the
Alembic head this code expects (a half-deployed migration keeps it out of rotation).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response
from sqlalchemy import text

from hub.deps import RuntimeDep
from hub.errors import NotFound, problem
from hub.jobs.metrics import CONTENT_TYPE, render

router = APIRouter(include_in_schema=False)


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> Response:
    from hub.migrate import head_revision

    expected = head_revision()
    try:
        async with runtime.sessionmaker() as session:
            current = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as exc:
        return problem(503, "Not ready", f"database unreachable: {type(exc).__name__}", instance="/readyz")
    if current != expected:
        return problem(
            503,
            "Not ready",
            f"database schema is at {current}, this code expects {expected}: run `hub db upgrade`",
            instance="/readyz",
        )
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    from hub.renewal.sweeper import at_risk_count

    if not runtime.settings.core.metrics:
        raise NotFound("metrics are off on this hub (HUB_METRICS=true turns them on)")

    alive = timedelta(seconds=runtime.settings.jobs.lease_seconds)
    async with runtime.sessionmaker() as session:
        at_risk = await at_risk_count(session, runtime.today())
        body = await render(
            session,
            alive_within=alive,
            gauges={
                "hub_renewals_at_risk": (
                    "Auto-renew subscriptions within 14 days of their end without a confirmed renewal",
                    at_risk,
                )
            },
        )
    return Response(body, media_type=CONTENT_TYPE)
