"""Storing check runs: the run is appended, the check's status moves, a status change (and
only a change) is an event, lookups that fail are `unknown`, and expiry dates reach the
domain. Real DNS server on loopback, real database, checks created through the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.check.enums import CheckStatus
from hub.check.service import STATUS_CHANGED, execute, plan_run, record_run
from hub.check.settings import CheckSettings
from hub.db import session_scope
from hub.kit.time import utcnow
from hub.models import AuditEvent, Domain
from hub.models.check import Check, CheckRun
from tests import factories as f
from tests.check.dns_server import DnsTestServer
from tests.check.http_server import RdapTestServer, rdap_domain
from tests.check.tls_server import TlsTestServer, make_certificates
from tests.check.world import publish, txt

SM = async_sessionmaker[AsyncSession]


async def new_check(api: httpx.AsyncClient, domain_name: str, kind: str = "spf") -> dict[str, Any]:
    client = await f.client(api)
    domain = await f.domain(api, client["id"], name=domain_name)
    r = await api.post("/checks", json={"client_id": client["id"], "kind": kind, "target_ref": domain["id"]})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def run_once(sm: SM, check_id: str, settings: CheckSettings) -> CheckRun:
    """One run as the job does it: plan (read), engine (no transaction), record (write)."""
    async with session_scope(sm, write=False) as session:
        plan = await plan_run(session, uuid.UUID(check_id))
    assert plan is not None
    started = utcnow()
    result = await execute(plan, settings)
    async with session_scope(sm) as session:
        check = await session.get(Check, uuid.UUID(check_id))
        assert check is not None
        return await record_run(session, check, result, started_at=started)


async def load(sm: SM, check_id: str) -> tuple[Check, list[CheckRun], list[AuditEvent]]:
    async with sm() as session:
        check = await session.get(Check, uuid.UUID(check_id))
        assert check is not None
        runs = (await session.execute(select(CheckRun).where(CheckRun.check_id == check.id))).scalars()
        events = (
            await session.execute(
                select(AuditEvent).where(
                    AuditEvent.subject_type == "check", AuditEvent.subject_id == check_id
                )
            )
        ).scalars()
        changes = [e for e in events if e.meta.get("event") == STATUS_CHANGED]
        return check, list(runs), changes


async def test_a_domain_without_spf_stores_a_failing_run_and_the_check_fails(
    app: Any, api: httpx.AsyncClient, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(dns_server, "nospf.test", {("@", "TXT"): [txt("google-site-verification=abc")]})
    created = await new_check(api, "nospf.test")
    assert created["status"] == "pending"

    run = await run_once(app.state.runtime.sessionmaker, created["id"], check_settings)

    check, runs, changes = await load(app.state.runtime.sessionmaker, created["id"])
    assert [r.id for r in runs] == [run.id]
    assert run.status == CheckStatus.fail and run.error is None
    assert "spf_missing" in [finding["code"] for finding in run.findings]
    assert {"code", "severity", "message", "evidence"} <= set(run.findings[0])
    assert check.status == CheckStatus.fail
    assert check.last_run_at is not None and check.status_changed_at == check.last_run_at
    assert check.next_run_at == check.last_run_at + timedelta(seconds=check.interval_seconds)
    assert [(e.meta["from"], e.meta["to"], e.client_id) for e in changes] == [
        ("pending", "fail", check.client_id)
    ]


async def test_a_second_identical_run_records_no_second_status_change(
    app: Any, api: httpx.AsyncClient, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(dns_server, "twice.test", {("@", "TXT"): [txt("google-site-verification=abc")]})
    created = await new_check(api, "twice.test")

    await run_once(app.state.runtime.sessionmaker, created["id"], check_settings)
    first_change = (await load(app.state.runtime.sessionmaker, created["id"]))[0].status_changed_at
    await run_once(app.state.runtime.sessionmaker, created["id"], check_settings)

    check, runs, changes = await load(app.state.runtime.sessionmaker, created["id"])
    assert [r.status for r in runs] == [CheckStatus.fail, CheckStatus.fail]
    assert len(changes) == 1
    assert check.status_changed_at == first_change and check.last_run_at is not None
    assert check.last_run_at > first_change  # type: ignore[operator]


async def test_fixing_the_record_is_one_more_change_back_to_ok(
    app: Any, api: httpx.AsyncClient, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(dns_server, "fixed.test", {("@", "TXT"): [txt("google-site-verification=abc")]})
    created = await new_check(api, "fixed.test")
    await run_once(app.state.runtime.sessionmaker, created["id"], check_settings)

    dns_server.add("fixed.test", "TXT", txt("v=spf1 mx -all"))
    await run_once(app.state.runtime.sessionmaker, created["id"], check_settings)

    check, _, changes = await load(app.state.runtime.sessionmaker, created["id"])
    assert check.status == CheckStatus.ok
    assert [(e.meta["from"], e.meta["to"]) for e in changes] == [("pending", "fail"), ("fail", "ok")]


async def test_a_dns_timeout_stores_an_unknown_run_with_the_reason_never_a_failure(
    app: Any, api: httpx.AsyncClient, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    # Were the answer to arrive, it would be a failure (no SPF record).
    publish(dns_server, "slow.test", {("@", "TXT"): [txt("google-site-verification=abc")]})
    dns_server.timeout_names.add("slow.test")
    created = await new_check(api, "slow.test")

    run = await run_once(app.state.runtime.sessionmaker, created["id"], check_settings)

    check, _, changes = await load(app.state.runtime.sessionmaker, created["id"])
    assert run.status == CheckStatus.unknown and check.status == CheckStatus.unknown
    assert run.error is not None and "timeout" in run.error
    assert not [x for x in run.findings if x["severity"] in ("error", "critical")]
    assert [e.meta["to"] for e in changes] == ["unknown"]


async def test_a_check_whose_domain_is_gone_runs_unknown(
    app: Any, api: httpx.AsyncClient, check_settings: CheckSettings
) -> None:
    created = await new_check(api, "gone.test")
    assert (await api.delete(f"/domains/{created['target_ref']}")).status_code == 204

    run = await run_once(app.state.runtime.sessionmaker, created["id"], check_settings)

    assert run.status == CheckStatus.unknown
    assert run.error is not None and "no longer exists" in run.error


@pytest.fixture
def rdap() -> Iterator[RdapTestServer]:
    with RdapTestServer() as server:
        yield server


async def test_the_registration_expiry_from_rdap_is_written_to_the_domain(
    app: Any, api: httpx.AsyncClient, rdap: RdapTestServer, check_settings: CheckSettings
) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=200)
    rdap.domains["registered.test"] = rdap_domain("registered.test", expires.strftime("%Y-%m-%dT%H:%M:%SZ"))
    created = await new_check(api, "registered.test", kind="domain_expiry")
    settings = check_settings.model_copy(update={"rdap_bootstrap_url": rdap.bootstrap_url})

    run = await run_once(app.state.runtime.sessionmaker, created["id"], settings)
    await run_once(app.state.runtime.sessionmaker, created["id"], settings)

    assert run.status == CheckStatus.ok
    async with app.state.runtime.sessionmaker() as session:
        domain = await session.get(Domain, uuid.UUID(created["target_ref"]))
        learnt = (
            await session.execute(
                select(AuditEvent).where(
                    AuditEvent.subject_type == "domain", AuditEvent.subject_id == created["target_ref"]
                )
            )
        ).scalars()
        learnt_events = [e for e in learnt if e.meta.get("event") == "check.expiry_learnt"]
    assert domain is not None
    assert domain.expires_on == date.fromisoformat(expires.date().isoformat())
    assert domain.expiry_checked_at is not None
    # The date is audited once, when it changed, not on every run.
    assert [e.after for e in learnt_events] == [{"expires_on": expires.date().isoformat()}]


async def test_an_unreachable_rdap_server_leaves_the_known_expiry_alone(
    app: Any, api: httpx.AsyncClient, check_settings: CheckSettings
) -> None:
    client = await f.client(api)
    domain = await f.domain(api, client["id"], name="kept.test", expires_on="2030-01-01")
    r = await api.post(
        "/checks", json={"client_id": client["id"], "kind": "domain_expiry", "target_ref": domain["id"]}
    )
    assert r.status_code == 201, r.text

    run = await run_once(app.state.runtime.sessionmaker, r.json()["id"], check_settings)

    assert run.status == CheckStatus.unknown
    assert (await api.get(f"/domains/{domain['id']}")).json()["expires_on"] == "2030-01-01"


async def test_the_certificate_expiry_of_an_endpoint_is_written_to_it(
    app: Any, api: httpx.AsyncClient, check_settings: CheckSettings, tmp_path: Path
) -> None:
    certs = make_certificates(tmp_path, timedelta(days=90))
    client = await f.client(api)
    with TlsTestServer(certs) as server:
        endpoint = await api.post(
            "/endpoints", json={"client_id": client["id"], "host": "127.0.0.1", "port": server.port}
        )
        assert endpoint.status_code == 201, endpoint.text
        r = await api.post(
            "/checks",
            json={
                "client_id": client["id"],
                "kind": "tls_cert",
                "target_ref": endpoint.json()["id"],
            },
        )
        assert r.status_code == 201, r.text
        # The test CA is the server's configured extra CA (operators set it; API callers cannot).
        with_ca = check_settings.model_copy(update={"tls_ca_file": str(certs.ca)})
        run = await run_once(app.state.runtime.sessionmaker, r.json()["id"], with_ca)

    leaf = x509.load_pem_x509_certificates(certs.chain.read_bytes())[0]
    assert run.status == CheckStatus.ok, run.error
    stored = (await api.get(f"/endpoints/{endpoint.json()['id']}")).json()
    assert stored["expires_on"] == leaf.not_valid_after_utc.date().isoformat()
    assert stored["last_checked_at"] is not None
