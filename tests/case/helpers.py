"""Builders for case tests: a client with a vendor that takes cases by mail, built
through the API as a technician would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.jobs import JobContext, queue
from hub.jobs.worker import run_task
from hub.models import CaseMail
from hub.runtime import HubRuntime
from tests import factories as f

OWNER = "case-test"
MAIL_SETTINGS = {
    "instance_id": "casetest1",
    "mail_domain": "msp.example",
    "from_address": "cases@msp.example",
    "from_name": "MSP Service desk",
}


def world_case_settings(mail_world: Any, **extra: Any) -> dict[str, Any]:
    """The case settings that point the hub at a `MailWorld`: its SMTP server, its IMAP
    mailbox (plain, on loopback) and the test identity, plus `extra`."""
    imap = mail_world.imap_settings()
    return {
        **MAIL_SETTINGS,
        "smtp_host": "127.0.0.1",
        "smtp_port": mail_world.smtp_port,
        "smtp_security": "none",
        "smtp_timeout_seconds": 5,
        "imap_host": imap.host,
        "imap_port": imap.port,
        "imap_security": "none",
        "imap_username": imap.username,
        "imap_password": imap.password.get_secret_value(),
        **extra,
    }


async def vendor_world(
    api: httpx.AsyncClient,
    *,
    category: str = "mail_hosting",
    language: str = "en",
    domain: str = "mailhost.example",
    sla: str | None = "4h",
) -> dict[str, Any]:
    c = await f.client(api)
    v = await f.vendor(api, category=category)
    a = await f.account(api, c["id"], v["id"], contract_number="CTR-9")
    profile = {
        "language": language,
        "support_email": f"support@{domain}",
        "mail_domains": [domain],
        "sla_first_response": sla,
    }
    r = await api.put(f"/vendors/{v['id']}/case-mail", json=profile)
    assert r.status_code == 200, r.text
    return {"client": c, "vendor": v, "account": a, "domain": domain}


async def blank_case(api: httpx.AsyncClient, w: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = {"vendor_account_id": w["account"]["id"], "title": "Mail bounces", **kw}
    r = await api.post("/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def run_jobs(runtime: HubRuntime, kind: str) -> int:
    """Run every queued job of `kind` now, as a worker would; how many ran."""
    ran = 0
    while True:
        async with runtime.unit_of_work() as session:
            claimed = await queue.claim(session, OWNER, [kind], 1, timedelta(seconds=60))
        if not claimed:
            return ran
        await run_task(JobContext.of(runtime, claimed[0], OWNER))
        ran += 1


async def mails(sm: async_sessionmaker[AsyncSession], case_id: str | None = None) -> list[CaseMail]:
    async with sm() as session:
        stmt = select(CaseMail).order_by(CaseMail.id)
        if case_id is not None:
            import uuid

            stmt = stmt.where(CaseMail.case_id == uuid.UUID(case_id))
        return list((await session.execute(stmt)).scalars())
