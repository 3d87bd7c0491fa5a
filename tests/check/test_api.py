"""The checks API: create and list (scoped per client), runs newest first, on-demand runs
queued once, and the per-client health summary."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from hub.check.findings import evaluation, finding
from hub.check.service import record_run
from hub.db import session_scope
from hub.kit.time import utcnow
from hub.models.check import Check
from hub.models.enums import Role
from hub.models.job import Job, JobState
from tests import factories as f
from tests.conftest import client_for, make_token

PROBLEM_JSON = "application/problem+json"


async def spf_check(api: httpx.AsyncClient, client_id: str, name: str, kind: str = "spf") -> dict[str, Any]:
    domain = await f.domain(api, client_id, name=name)
    r = await api.post("/checks", json={"client_id": client_id, "kind": kind, "target_ref": domain["id"]})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def store(app: Any, check_id: str, *codes: str, unknown: list[str] | None = None) -> None:
    """A run with these findings, stored as the job stores one."""
    result = evaluation([finding(code, f"{code} found") for code in codes], unknown)
    async with session_scope(app.state.runtime.sessionmaker) as session:
        check = await session.get(Check, uuid.UUID(check_id))
        assert check is not None
        await record_run(session, check, result, started_at=utcnow())


async def test_a_viewer_of_another_client_cannot_see_or_run_the_check(
    app: Any, api: httpx.AsyncClient
) -> None:
    a, b = await f.client(api), await f.client(api)
    check = await spf_check(api, a["id"], "alfa.test")
    await store(app, check["id"], "spf_missing")
    async with client_for(app, await make_token(app, Role.client_viewer, uuid.UUID(b["id"]))) as other:
        seen = await other.get(f"/checks/{check['id']}")
        runs = await other.get(f"/checks/{check['id']}/runs")
        listed = await other.get("/checks", params={"client_id": a["id"]})
        run = await other.post(f"/checks/{check['id']}/run")
        health = await other.get(f"/clients/{a['id']}/health")
    assert (seen.status_code, seen.headers["content-type"]) == (404, PROBLEM_JSON)
    assert runs.status_code == 404 and health.status_code == 404
    assert listed.json()["items"] == [] and listed.json()["total"] == 0
    assert (run.status_code, run.headers["content-type"]) == (403, PROBLEM_JSON)
    async with app.state.runtime.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Job))).scalar_one() == 0


async def test_a_viewer_reads_its_own_checks_and_runs_but_cannot_run_them(
    app: Any, api: httpx.AsyncClient
) -> None:
    a = await f.client(api)
    check = await spf_check(api, a["id"], "own.test")
    await store(app, check["id"], "spf_missing")
    async with client_for(app, await make_token(app, Role.client_viewer, uuid.UUID(a["id"]))) as viewer:
        assert (await viewer.get(f"/checks/{check['id']}")).json()["status"] == "fail"
        assert (await viewer.get(f"/checks/{check['id']}/runs")).json()["total"] == 1
        assert (await viewer.post(f"/checks/{check['id']}/run")).status_code == 403
        refused = await viewer.post(
            "/checks", json={"client_id": a["id"], "kind": "dmarc", "target_ref": "x"}
        )
    assert refused.status_code == 403


async def test_running_a_check_twice_leaves_one_queued_job(app: Any, api: httpx.AsyncClient) -> None:
    c = await f.client(api)
    check = await spf_check(api, c["id"], "twice.test")

    first = await api.post(f"/checks/{check['id']}/run")
    second = await api.post(f"/checks/{check['id']}/run")

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == {"job_id": first.json()["job_id"], "created": True}
    assert second.json() == {"job_id": first.json()["job_id"], "created": False}
    async with app.state.runtime.sessionmaker() as session:
        jobs = (await session.execute(select(Job))).scalars().all()
    assert [(j.kind, j.state, j.payload, j.dedupe_key) for j in jobs] == [
        ("check.run", JobState.queued, {"check_id": check["id"]}, f"check:{check['id']}")
    ]


async def test_running_a_missing_check_is_404(api: httpx.AsyncClient) -> None:
    r = await api.post(f"/checks/{uuid.uuid4()}/run")
    assert (r.status_code, r.headers["content-type"]) == (404, PROBLEM_JSON)


async def test_runs_are_listed_newest_first_and_paginated(app: Any, api: httpx.AsyncClient) -> None:
    c = await f.client(api)
    check = await spf_check(api, c["id"], "history.test")
    await store(app, check["id"], "spf_missing")
    await store(app, check["id"])
    await store(app, check["id"], unknown=["TXT history.test: timeout"])

    page = (await api.get(f"/checks/{check['id']}/runs", params={"limit": 2})).json()
    rest = (await api.get(f"/checks/{check['id']}/runs", params={"limit": 2, "offset": 2})).json()

    assert page["total"] == 3
    assert [r["status"] for r in page["items"] + rest["items"]] == ["unknown", "ok", "fail"]
    assert page["items"][0]["error"] == "TXT history.test: timeout"
    assert rest["items"][0]["findings"][0]["code"] == "spf_missing"


async def test_checks_are_filtered_by_client_status_and_kind(app: Any, api: httpx.AsyncClient) -> None:
    a, b = await f.client(api), await f.client(api)
    failing = await spf_check(api, a["id"], "a-fail.test")
    healthy = await spf_check(api, a["id"], "a-ok.test", kind="dmarc")
    other = await spf_check(api, b["id"], "b.test")
    await store(app, failing["id"], "spf_missing")
    await store(app, healthy["id"])

    def ids(r: httpx.Response) -> set[str]:
        assert r.status_code == 200, r.text
        return {i["id"] for i in r.json()["items"]}

    assert ids(await api.get("/checks", params={"client_id": a["id"]})) == {failing["id"], healthy["id"]}
    assert ids(await api.get("/checks", params={"status": "fail"})) == {failing["id"]}
    assert ids(await api.get("/checks", params={"kind": "spf"})) == {failing["id"], other["id"]}
    assert ids(await api.get("/checks", params={"status": "pending", "client_id": b["id"]})) == {other["id"]}


async def test_creating_a_check_refuses_what_cannot_be_run(api: httpx.AsyncClient) -> None:
    a, b = await f.client(api), await f.client(api)
    own = await f.domain(api, a["id"], name="mine.test")
    foreign = await f.domain(api, b["id"], name="theirs.test")
    cases = [
        ({"kind": "no_such_kind", "target_ref": own["id"]}, 422, "kind"),
        ({"kind": "spf", "target_ref": foreign["id"]}, 422, "target_ref"),
        ({"kind": "spf", "target_ref": "not-an-id"}, 422, "target_ref"),
        ({"kind": "dnsbl", "target_ref": "999.1.1.1", "params": {"zones": []}}, 422, "target_ref"),
        ({"kind": "dnsbl", "target_ref": "192.0.2.1"}, 422, "params"),
        ({"kind": "spf", "target_ref": own["id"], "params": {"nope": 1}}, 422, "params"),
        ({"kind": "spf", "target_ref": own["id"], "interval_seconds": 5}, 422, "interval_seconds"),
    ]
    for body, status, field in cases:
        r = await api.post("/checks", json={"client_id": a["id"], **body})
        assert r.status_code == status, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (body, r.text)
    assert (await api.get("/checks")).json()["total"] == 0
    ok = await api.post("/checks", json={"client_id": a["id"], "kind": "spf", "target_ref": own["id"]})
    again = await api.post("/checks", json={"client_id": a["id"], "kind": "spf", "target_ref": own["id"]})
    assert ok.status_code == 201 and ok.json()["target_type"] == "domain"
    assert again.status_code == 409


async def test_an_ip_check_stores_the_address_in_canonical_form(api: httpx.AsyncClient) -> None:
    c = await f.client(api)
    zones = [{"zone": "zen.example", "kind": "ip", "codes": {"127.0.0.2": "SBL"}}]
    r = await api.post(
        "/checks",
        json={
            "client_id": c["id"],
            "kind": "dnsbl",
            "target_ref": "2001:DB8::0:1",
            "params": {"zones": zones},
        },
    )
    assert r.status_code == 201, r.text
    assert (r.json()["target_type"], r.json()["target_ref"]) == ("ip", "2001:db8::1")


async def test_health_counts_checks_per_status_and_names_what_fails_per_domain(
    app: Any, api: httpx.AsyncClient
) -> None:
    c = await f.client(api)
    other = await f.client(api)
    spf_a = await spf_check(api, c["id"], "a.test")
    dmarc_a = await spf_check(api, c["id"], "a2.test", kind="dmarc")
    spf_b = await spf_check(api, c["id"], "b.test")
    await spf_check(api, c["id"], "c.test")  # never run: pending
    theirs = await spf_check(api, other["id"], "theirs.test")
    await store(app, spf_a["id"], "spf_missing", "spf_softfail_all")
    await store(app, dmarc_a["id"], "dmarc_policy_none")
    await store(app, spf_b["id"], "spf_missing")
    await store(app, spf_b["id"])  # fixed since: only the latest run counts
    await store(app, theirs["id"], "spf_pass_all")

    r = await api.get(f"/clients/{c['id']}/health")

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["checks"] == {"pending": 1, "ok": 1, "warn": 1, "fail": 1, "unknown": 0}
    assert body["failing_domains"] == {"spf_missing": 1}
    by_name = {d["name"]: d for d in body["domains"]}
    assert [d["name"] for d in body["domains"]] == ["a.test", "a2.test", "b.test", "c.test"]
    assert (by_name["a.test"]["status"], by_name["a.test"]["failing"]) == ("fail", ["spf_missing"])
    assert by_name["a2.test"]["warnings"] == ["dmarc_policy_none"]
    assert by_name["b.test"]["status"] == "ok" and by_name["b.test"]["failing"] == []
    assert "spf_pass_all" not in r.text


async def test_a_tls_check_cannot_point_the_server_at_an_arbitrary_file(api):
    from tests import factories as f

    c = await f.client(api)
    e = await api.post("/endpoints", json={"client_id": c["id"], "host": "mail.example.com", "port": 443})
    r = await api.post(
        "/checks",
        json={
            "client_id": c["id"],
            "kind": "tls_cert",
            "target_ref": e.json()["id"],
            "params": {"ca_file": "/etc/shadow"},
        },
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "params"
    assert (await api.get("/checks", params={"client_id": c["id"]})).json()["total"] == 0
