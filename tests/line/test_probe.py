"""The reachability probe against a real TCP listener on loopback: a line answers, stops
answering (degraded, then down after N rounds in a row), comes back; the history is
queryable; the schedule queues due lines once; the outage evidence names the circuit, the
addresses and the failed rounds."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hub.db import session_scope
from hub.jobs import JobContext, enqueue, queue
from hub.jobs.registry import load_tasks
from hub.jobs.worker import run_task
from hub.line.evidence import outage_evidence
from hub.line.schemas import ScheduleLineProbes
from hub.line.service import STATE_CHANGED, schedule_due
from hub.models import IspLine, LineProbe
from hub.models.enums import Role
from hub.models.job import Job
from hub.runtime import HubRuntime
from tests.conftest import client_for, make_token
from tests.line.conftest import Listener, isp, line

OWNER = "test-worker"
pytestmark = pytest.mark.usefixtures("short_probe")


async def probe(app: Any, api: httpx.AsyncClient, line_id: str) -> dict[str, Any]:
    """Ask for a probe through the API and run the queued job as a worker would."""
    r = await api.post(f"/lines/{line_id}/probe")
    assert r.status_code == 202, r.text
    runtime: HubRuntime = app.state.runtime
    async with session_scope(runtime.sessionmaker) as session:
        [job] = await queue.claim(session, OWNER, ["line.probe"], 1, timedelta(seconds=30))
    await run_task(JobContext.of(runtime, job, OWNER))
    return (await api.get(f"/lines/{line_id}")).json()  # type: ignore[no-any-return]


async def test_a_line_goes_up_degraded_down_and_up_again_as_its_listener_opens_and_closes(
    app: Any, api: httpx.AsyncClient, listener: Listener
) -> None:
    owner = await isp(api)
    made = await line(
        api, owner, failures_for_down=2, probe_targets=[{"host": "127.0.0.1", "ports": [listener.port]}]
    )
    seen = [await probe(app, api, made["id"])]
    await listener.close()
    seen += [await probe(app, api, made["id"]) for _ in range(3)]
    await listener.open()
    seen.append(await probe(app, api, made["id"]))
    assert [s["state"] for s in seen] == ["up", "degraded", "down", "down", "up"]
    # A round that changes no state moves no version: an edit made meanwhile still applies.
    assert seen[3]["version"] == seen[2]["version"] and seen[3]["last_probed_at"] > seen[2]["last_probed_at"]
    assert seen[3]["consecutive_failures"] == 3
    assert listener.accepted == 2

    history = (await api.get(f"/lines/{made['id']}/probes")).json()
    assert history["total"] == 5
    newest, *_, oldest = history["items"]
    assert newest["ok"] and newest["port"] == listener.port and newest["latency_ms"] > 0
    assert oldest["ok"]
    failed = [p for p in history["items"] if not p["ok"]]
    assert len(failed) == 3 and {p["error"] for p in failed} == {"connection refused"}
    assert all(p["latency_ms"] is None for p in failed)
    since = (await api.get(f"/lines/{made['id']}/probes", params={"since": newest["probed_at"]})).json()
    assert [p["probed_at"] for p in since["items"]] == [newest["probed_at"]]

    changes = (await api.get("/audit", params={"subject_id": made["id"], "limit": 100})).json()["items"]
    moves = [(e["meta"]["from"], e["meta"]["to"]) for e in changes if e["meta"].get("event") == STATE_CHANGED]
    assert sorted(moves) == sorted(
        [("unknown", "up"), ("up", "degraded"), ("degraded", "down"), ("down", "up")]
    ), changes  # each change once: staying down is no event


async def test_one_port_of_two_closed_is_degraded_never_down(
    app: Any, api: httpx.AsyncClient, listener: Listener, closed_port: int
) -> None:
    owner = await isp(api)
    made = await line(
        api,
        owner,
        failures_for_down=1,
        probe_targets=[{"host": "127.0.0.1", "ports": [listener.port, closed_port]}],
    )
    for _ in range(2):
        assert (await probe(app, api, made["id"]))["state"] == "degraded"


async def test_the_outage_evidence_has_the_circuit_the_addresses_and_the_failed_rounds(
    app: Any, api: httpx.AsyncClient, closed_port: int
) -> None:
    owner = await isp(api)
    made = await line(
        api,
        owner,
        failures_for_down=2,
        address_blocks=["203.0.113.8/30", "2001:db8:1::/48"],
        probe_targets=[{"host": "127.0.0.1", "ports": [closed_port]}],
    )
    for _ in range(2):
        await probe(app, api, made["id"])
    runtime: HubRuntime = app.state.runtime
    async with runtime.unit_of_work(write=False) as session:
        summary, files = await outage_evidence(session, uuid.UUID(made["id"]))
    assert "Circuit 0031-FTTH-000123" in summary and "is down since" in summary
    assert f"ISP-{owner.client['slug']}" in summary and owner.vendor["name"] in summary
    assert "203.0.113.8/30, 2001:db8:1::/48" in summary
    assert "2 probe rounds in a row" in summary
    assert summary.count(f"127.0.0.1:{closed_port} FAILED (connection refused)") == 2
    by_name = {a.filename: a for a in files}
    history = list(csv.DictReader(io.StringIO(by_name["line-0031-FTTH-000123-probes.csv"].content.decode())))
    assert [(r["port"], r["ok"], r["error"]) for r in history] == [
        (str(closed_port), "no", "connection refused")
    ] * 2
    details = json.loads(by_name["line-0031-FTTH-000123.json"].content)
    assert details["circuit_id"] == "0031-FTTH-000123" and details["state"] == "down"
    assert details["checked_addresses"] == ["203.0.113.9", "203.0.113.10"]
    assert {(c["kind"], c["address"]) for c in details["address_checks"]} == {
        ("ptr", "203.0.113.9"),
        ("ptr", "203.0.113.10"),
    }


async def test_the_schedule_queues_each_due_line_once_and_forgets_old_probes(
    runtime: HubRuntime, api: httpx.AsyncClient, closed_port: int
) -> None:
    owner = await isp(api)
    target = [{"host": "127.0.0.1", "ports": [closed_port]}]
    due = await line(api, owner, circuit_id="DUE", probe_targets=target)
    await line(api, owner, circuit_id="NO-TARGETS")
    await line(api, owner, circuit_id="PAUSED", probe_targets=target, probe_enabled=False)
    archived = await isp(api)
    await line(api, archived, circuit_id="ARCHIVED", probe_targets=target)
    assert (await api.delete(f"/clients/{archived.client['id']}")).status_code == 204
    now = runtime.now()
    async with runtime.unit_of_work() as session:
        session.add(
            LineProbe(
                line_id=uuid.UUID(due["id"]),
                probed_at=now - timedelta(days=31),
                host="127.0.0.1",
                port=closed_port,
                ok=False,
            )
        )
    async with runtime.unit_of_work() as session:
        first = await schedule_due(session, now, runtime.settings.line)
    async with runtime.unit_of_work() as session:
        again = await schedule_due(session, now + timedelta(seconds=30), runtime.settings.line)
    async with runtime.unit_of_work(write=False) as session:
        jobs = list((await session.execute(select(Job.payload).where(Job.kind == "line.probe"))).scalars())
        kept = (await session.execute(select(func.count()).select_from(LineProbe))).scalar_one()
        next_at = (await session.get(IspLine, uuid.UUID(due["id"]))).next_probe_at  # type: ignore[union-attr]
    assert (first, again) == (1, 0)
    assert [j["line_id"] for j in jobs] == [due["id"]]
    assert kept == 0
    assert next_at == now + timedelta(seconds=300)


async def test_the_minute_tick_is_a_periodic_job_that_queues_the_due_probes(
    app: Any, api: httpx.AsyncClient, listener: Listener
) -> None:
    tick = load_tasks()["line.schedule"]
    assert tick.cron == "* * * * *"
    owner = await isp(api)
    made = await line(api, owner, probe_targets=[{"host": "127.0.0.1", "ports": [listener.port]}])
    runtime: HubRuntime = app.state.runtime
    async with runtime.unit_of_work() as session:
        await enqueue(session, ScheduleLineProbes())
    for kind in ("line.schedule", "line.probe"):
        async with session_scope(runtime.sessionmaker) as session:
            [job] = await queue.claim(session, OWNER, [kind], 1, timedelta(seconds=30))
        await run_task(JobContext.of(runtime, job, OWNER))
    assert (await api.get(f"/lines/{made['id']}")).json()["state"] == "up"


async def test_the_client_reads_in_its_activity_log_that_its_line_changed_state(
    app: Any, api: httpx.AsyncClient, listener: Listener
) -> None:
    owner = await isp(api)
    made = await line(api, owner, probe_targets=[{"host": "127.0.0.1", "ports": [listener.port]}])
    await probe(app, api, made["id"])
    token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(owner.client["id"]))
    async with client_for(app, token) as viewer:
        log = (await viewer.get("/audit", params={"limit": 100})).json()["items"]
    told = [e["summary"] for e in log if e["object_id"] == made["id"]]
    assert any("changed state" in t and "internet line Office fibre" in t for t in told), told
    assert not any("monthly cost" in t for t in told)
