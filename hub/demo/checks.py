"""The demo's checks: one per kind for every demo domain, a firmware check for every demo
firewall and a block-list check for every client mail gateway, all aimed at the demo world.

Created idempotently (a check is unique per kind and target, so an existing one is reused,
whoever made it), run once so the API shows results at once, and paused when the world
stops: against the real Internet the demo domains would only produce noise (and queries
for names that are not the MSP's), so `hub serve` leaves them alone until the next
`hub demo` resumes them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.audit.service import record
from hub.auth.principal import SYSTEM
from hub.check.context import CheckContext
from hub.check.engine import DOMAIN_KINDS
from hub.check.schemas import CheckCreate
from hub.check.service import CheckService, RunPlan, execute_in, plan_run, record_run
from hub.check.settings import CheckSettings
from hub.db import session_scope
from hub.demo.catalogue import CLIENTS
from hub.demo.zones import DNSBL_ZONES, FIRMWARE_TABLE, WorldPlan, build_world, demo_domains
from hub.kit.time import utcnow
from hub.models import Asset, Client, Domain
from hub.models.check import Check, CheckRun
from hub.models.enums import AssetKind, AuditAction, CheckStatus

# Often enough that a demo left running shows the worker re-running them.
DEMO_INTERVAL_SECONDS = 900
# Worst first: what a technician looks at.
STATUS_ORDER = (CheckStatus.fail, CheckStatus.unknown, CheckStatus.warn, CheckStatus.ok, CheckStatus.pending)


@dataclass(frozen=True)
class WantedCheck:
    client_id: uuid.UUID
    kind: str
    target_ref: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoChecks:
    ids: list[uuid.UUID] = field(default_factory=list)
    created: int = 0
    resumed: int = 0


@dataclass(frozen=True)
class CheckRow:
    client: str
    target: str
    kind: str
    status: CheckStatus
    codes: tuple[str, ...]
    # Why the latest run could not complete, if it could not.
    error: str | None = None


async def world_plan(session: AsyncSession, today: date) -> WorldPlan:
    """The world for the demo as it is in the database: the registry agrees with the
    expiry dates the hub holds for the demo domains."""
    names = [name for _, name in demo_domains()]
    rows = await session.execute(select(Domain.name, Domain.expires_on).where(Domain.name.in_(names)))
    return build_world({name: expires for name, expires in rows}, today)


async def wanted_checks(session: AsyncSession, plan: WorldPlan) -> list[WantedCheck]:
    rows = await session.execute(
        select(Client.slug, Client.id).where(Client.slug.in_([c.slug for c in CLIENTS]))
    )
    clients: dict[str, uuid.UUID] = {slug: client_id for slug, client_id in rows}
    ids = list(clients.values())
    wanted: list[WantedCheck] = []
    names = [name for _, name in demo_domains()]
    domains = await session.execute(
        select(Domain.id, Domain.client_id)
        .where(Domain.client_id.in_(ids), Domain.name.in_(names))
        .order_by(Domain.name)
    )
    for domain_id, client_id in domains:
        wanted.extend(WantedCheck(client_id, kind, str(domain_id)) for kind in DOMAIN_KINDS)
    firewalls = await session.execute(
        select(Asset.id, Asset.client_id)
        .where(Asset.client_id.in_(ids), Asset.kind == AssetKind.firewall)
        .order_by(Asset.name)
    )
    for asset_id, client_id in firewalls:
        wanted.append(WantedCheck(client_id, "firmware", str(asset_id), {"table": FIRMWARE_TABLE}))
    for slug, addresses in plan.dnsbl_targets.items():
        if slug in clients:
            wanted.extend(WantedCheck(clients[slug], "dnsbl", ip, {"zones": DNSBL_ZONES}) for ip in addresses)
    return wanted


async def ensure_checks(session: AsyncSession, plan: WorldPlan) -> DemoChecks:
    """Creates the demo checks that do not exist and resumes those a previous demo paused."""
    wanted = await wanted_checks(session, plan)
    existing = {
        (c.kind, c.target_ref): c
        for c in (
            await session.execute(select(Check).where(Check.target_ref.in_({w.target_ref for w in wanted})))
        ).scalars()
    }
    service = CheckService()
    result = DemoChecks()
    for want in wanted:
        check = existing.get((want.kind, want.target_ref))
        if check is None:
            check = await service.create(
                session,
                SYSTEM,
                CheckCreate(
                    client_id=want.client_id,
                    kind=want.kind,
                    target_ref=want.target_ref,
                    params=want.params,
                    interval_seconds=DEMO_INTERVAL_SECONDS,
                ),
            )
            result.created += 1
        elif not check.enabled:
            _set_enabled(session, check, True)
            result.resumed += 1
        result.ids.append(check.id)
    await session.flush()
    return result


async def pause_checks(session: AsyncSession, ids: Iterable[uuid.UUID]) -> int:
    """Disables the demo checks (see the module's note); returns how many were running."""
    paused = 0
    for check in (await session.execute(select(Check).where(Check.id.in_(list(ids))))).scalars():
        if check.enabled:
            _set_enabled(session, check, False)
            paused += 1
    await session.flush()
    return paused


def _set_enabled(session: AsyncSession, check: Check, enabled: bool) -> None:
    record(
        session,
        SYSTEM,
        AuditAction.update,
        subject_type="check",
        subject_id=check.id,
        client_id=check.client_id,
        before={"enabled": check.enabled},
        after={"enabled": enabled},
        meta={"event": "demo.checks_resumed" if enabled else "demo.checks_paused"},
    )
    check.enabled = enabled
    if enabled:
        check.next_run_at = utcnow()


async def run_checks(
    sessionmaker: async_sessionmaker[AsyncSession], ids: list[uuid.UUID], settings: CheckSettings
) -> None:
    """Runs the checks now, as `check.run` does (read, engine with no transaction open,
    write), sharing one engine context so shared lookups are made once."""
    async with session_scope(sessionmaker, write=False) as session:
        plans = [plan for check_id in ids if (plan := await plan_run(session, check_id)) is not None]
    limit = asyncio.Semaphore(settings.check_concurrency)

    async with CheckContext.create(settings) as ctx:

        async def one(plan: RunPlan) -> tuple[RunPlan, Any, Any]:
            async with limit:
                started = utcnow()
                return plan, started, await execute_in(ctx, plan)

        outcomes = await asyncio.gather(*(one(plan) for plan in plans))
    async with session_scope(sessionmaker) as session:
        for plan, started, result in outcomes:
            check = await session.get(Check, plan.check_id)
            if check is not None:
                await record_run(session, check, result, started_at=started)


async def start_checks(
    sessionmaker: async_sessionmaker[AsyncSession], plan: WorldPlan, settings: CheckSettings
) -> DemoChecks:
    """Creates (or resumes) the demo checks and runs them once against the world."""
    async with session_scope(sessionmaker) as session:
        checks = await ensure_checks(session, plan)
    await run_checks(sessionmaker, checks.ids, settings)
    return checks


async def stop_checks(sessionmaker: async_sessionmaker[AsyncSession], ids: list[uuid.UUID]) -> int:
    async with session_scope(sessionmaker) as session:
        return await pause_checks(session, ids)


async def check_rows(session: AsyncSession, ids: list[uuid.UUID]) -> list[CheckRow]:
    """The checks with their client and a readable target, worst status first."""
    checks = list((await session.execute(select(Check).where(Check.id.in_(ids)))).scalars())
    client_rows = await session.execute(
        select(Client.id, Client.slug).where(Client.id.in_({c.client_id for c in checks}))
    )
    clients: dict[uuid.UUID, str] = {client_id: slug for client_id, slug in client_rows}
    refs = [uuid.UUID(c.target_ref) for c in checks if c.kind != "dnsbl"]
    labels: dict[str, str] = {}
    for model in (Domain, Asset):
        for row_id, name in await session.execute(select(model.id, model.name).where(model.id.in_(refs))):
            labels[str(row_id)] = name
    latest_ids = select(func.max(CheckRun.id)).where(CheckRun.check_id.in_(ids)).group_by(CheckRun.check_id)
    latest = {
        run.check_id: run
        for run in (await session.execute(select(CheckRun).where(CheckRun.id.in_(latest_ids)))).scalars()
    }
    rows = [
        CheckRow(
            client=clients.get(c.client_id, str(c.client_id)),
            target=labels.get(c.target_ref, c.target_ref),
            kind=c.kind,
            status=c.status,
            codes=tuple(
                f["code"]
                for f in (latest[c.id].findings if c.id in latest else [])
                if f.get("severity") != "info"
            ),
            error=latest[c.id].error if c.id in latest else None,
        )
        for c in checks
    ]
    rows.sort(key=lambda r: (STATUS_ORDER.index(r.status), r.client, r.target, r.kind))
    return rows


__all__ = [
    "DEMO_INTERVAL_SECONDS",
    "CheckRow",
    "DemoChecks",
    "check_rows",
    "ensure_checks",
    "pause_checks",
    "run_checks",
    "start_checks",
    "stop_checks",
    "wanted_checks",
    "world_plan",
]
