"""An ISP line that goes down opens one case with its ISP, the circuit and the probe
history attached, sent to the ISP's support address; staying down opens no second case."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.case.outage import open_outage_cases
from hub.case.schemas import OpenOutageCases
from hub.jobs.queue import enqueue
from hub.runtime import HubRuntime
from tests.case.helpers import MAIL_SETTINGS, mails, run_jobs
from tests.line.conftest import closed_port, isp, line
from tests.line.test_probe import probe

__all__ = ["closed_port"]


@pytest.fixture(autouse=True)
def _mail(runtime: HubRuntime) -> None:
    runtime.use_settings(case=MAIL_SETTINGS, line={"connect_timeout_seconds": 1.0})


async def test_a_line_that_goes_down_opens_one_case_with_its_isp_with_the_evidence(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, closed_port: int
) -> None:
    owner = await isp(api)
    r = await api.put(
        f"/vendors/{owner.vendor['id']}/case-mail",
        json={"language": "it", "support_email": "guasti@fibra.example", "mail_domains": ["fibra.example"]},
    )
    assert r.status_code == 200, r.text
    made = await line(
        api, owner, failures_for_down=2, probe_targets=[{"host": "127.0.0.1", "ports": [closed_port]}]
    )
    await probe(app, api, made["id"])  # degraded: no case yet
    async with runtime.unit_of_work() as session:
        assert await open_outage_cases(session, runtime.now()) == []
    assert (await probe(app, api, made["id"]))["state"] == "down"

    await enqueue_tick(runtime)
    assert await run_jobs(runtime, "case.line_outages") == 1
    [case] = (await api.get("/cases", params={"client_id": owner.client["id"]})).json()["items"]
    detail = (await api.get(f"/cases/{case['id']}")).json()
    assert detail["line_id"] == made["id"] and detail["severity"] == "high"
    assert detail["status"] == "waiting_vendor"  # sent: the ISP has a support address
    assert "0031-FTTH-000123" in detail["title"] and "0031-FTTH-000123" in detail["description"]
    names = {a["filename"] for a in detail["attachments"]}
    assert "line-0031-FTTH-000123-probes.csv" in names
    [mail] = await mails(runtime.sessionmaker, case["id"])
    assert "guasti@fibra.example" in mail.raw.decode(errors="replace")

    # Still down a round later: the same outage, no second case.
    await probe(app, api, made["id"])
    await enqueue_tick(runtime)
    await run_jobs(runtime, "case.line_outages")
    assert (await api.get("/cases", params={"client_id": owner.client["id"]})).json()["total"] == 1


async def test_a_case_opened_by_hand_from_a_line_carries_its_evidence(
    app: Any, api: httpx.AsyncClient, closed_port: int
) -> None:
    owner = await isp(api)
    made = await line(api, owner, probe_targets=[{"host": "127.0.0.1", "ports": [closed_port]}])
    await probe(app, api, made["id"])
    r = await api.post("/cases", json={"vendor_account_id": owner.account["id"], "line_id": made["id"]})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft" and r.json()["line_id"] == made["id"]
    other = await isp(api)
    refused = await api.post("/cases", json={"vendor_account_id": other.account["id"], "line_id": made["id"]})
    assert refused.status_code == 422 and "line_id" in refused.text


async def enqueue_tick(runtime: HubRuntime) -> None:
    async with runtime.unit_of_work() as session:
        await enqueue(session, OpenOutageCases())
