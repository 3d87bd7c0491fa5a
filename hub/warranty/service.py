"""The daily warranty lookup and the review list.

Lookup (issue 6): once a day `warranty.refresh` queues one `warranty.lookup` job per
enabled connection with the `warranty` capability. Each job asks its vendor about the
serials of that vendor's hardware (the same serials a sync of the connection asks about,
`hub.sync.service.warranty_serials`) whose warranty ends within the reminder horizon (the
largest step of the warranty reminder ladder, 90 days by default) or is not known at all,
in batches of the adapter's `max_batch`, with no transaction open during the calls. What
it learns is stored by sync's own code (`store_warranty_lookup`): adapter-sourced Warranty
rows, manual ones never changed but flagged when the vendor disagrees. Every lookup is
audited (`vendor_action`, action `warranty_lookup`).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record as audit
from hub.auth.principal import Principal, scope_to_client
from hub.connection import health, secrets
from hub.db import runtime_of
from hub.jobs import enqueue
from hub.kit.time import utcnow
from hub.models import Asset, Client, Connection, Warranty
from hub.models.enums import AuditAction, ClientStatus
from hub.models.notify import ReminderLadder
from hub.sdk.capabilities import Capability
from hub.sdk.records import Record
from hub.sync import service as sync
from hub.terms.engine import SubjectType, ladder_for, validate_ladder
from hub.warranty.schemas import LookupWarranties, RefreshWarranties

if TYPE_CHECKING:
    from hub.runtime import HubRuntime

REFRESH_TASK = RefreshWarranties.kind
LOOKUP_TASK = LookupWarranties.kind
DEFAULT_HORIZON_DAYS = 90


def lookup_key(connection_id: uuid.UUID) -> str:
    return f"{LOOKUP_TASK}:{connection_id}"


# --- the horizon -------------------------------------------------------------------------


async def horizon_days(session: AsyncSession) -> int:
    """How far ahead warranties are refreshed: the largest step of the warranty ladder in
    effect (configured for the kind, else built in) or of any warranty's own ladder."""
    configured = {**runtime_of(session).settings.notify.category_ladders}
    own: list[int] = []
    rows = await session.execute(
        select(ReminderLadder.scope, ReminderLadder.key, ReminderLadder.days).where(
            or_(
                ReminderLadder.scope == SubjectType.warranty.value,
                ReminderLadder.key == SubjectType.warranty.value,
            )
        )
    )
    for scope, key, days in rows.all():
        if scope == "category" and key == SubjectType.warranty.value:
            configured[key] = list(days)
        elif scope == SubjectType.warranty.value and days:
            own.extend(validate_ladder(days))
    steps = [*ladder_for(SubjectType.warranty, category_ladders=configured), *own]
    return max([d for d in steps if d > 0], default=DEFAULT_HORIZON_DAYS)


# --- queueing ----------------------------------------------------------------------------


async def queue_lookups(session: AsyncSession) -> int:
    """One lookup job per enabled warranty connection (deduplicated per connection)."""
    queued = 0
    for connection in (
        await session.execute(select(Connection).where(Connection.enabled.is_(True)))
    ).scalars():
        spec = runtime_of(session).connections.spec_for(connection.adapter_slug)
        if spec is None or Capability.warranty not in spec.manifest.capabilities:
            continue
        job = await enqueue(
            session, LookupWarranties(connection_id=connection.id), dedupe_key=lookup_key(connection.id)
        )
        queued += 0 if job is None else 1
    return queued


# --- one lookup: plan, call, store -------------------------------------------------------


@dataclass
class LookupPlan:
    plan: sync.Plan
    horizon_days: int


async def plan_lookup(session: AsyncSession, connection_id: uuid.UUID, today: date) -> LookupPlan | None:
    """The connection (as sync plans it) with the serials due: no warranty known, or the
    latest one ending by today + horizon (lapsed ones too: an extension may have been bought)."""
    p = await sync.plan(session, connection_id)
    if p is None or Capability.warranty not in p.spec.manifest.capabilities:
        return None
    connection = await session.get(Connection, connection_id)
    assert connection is not None  # plan() just read it
    horizon = await horizon_days(session)
    covered = (
        select(Warranty.asset_id)
        .group_by(Warranty.asset_id)
        .having(func.max(Warranty.ends_on) > today + timedelta(days=horizon))
    )
    stmt = sync.warranty_serials(connection, p.spec).where(Asset.id.not_in(covered))
    p.serials = sorted({s for s in (await session.execute(stmt)).scalars() if s})
    return LookupPlan(p, horizon)


async def call_vendor(lp: LookupPlan, runtime: HubRuntime) -> list[Record]:
    """The vendor's answer for every due serial, in batches of the adapter's max_batch, one
    after the other (a daily job has time; the vendor's rate limit is shared). No
    transaction is open here. Raises the first failure: a partial answer is not stored."""
    p = lp.plan
    if p.config is None:
        assert p.config_error is not None
        raise p.config_error
    found: list[Record] = []
    if not p.serials:
        return found
    settings = runtime.settings.sync
    async with (
        asyncio.timeout(settings.deadline_seconds),
        runtime.connections.open(
            p.spec, p.config, p.connection_id, http_timeout=settings.http_timeout_seconds
        ) as adapter,
    ):
        a: Any = adapter
        size = max(1, int(getattr(a, "max_batch", 100)))
        for i in range(0, len(p.serials), size):
            found.extend(await a.lookup_warranties(p.serials[i : i + size]))
    return found


def _principal(actor: str | None) -> Principal:
    return sync.system_principal(actor or "system:warranty")


async def store_lookup(
    session: AsyncSession, lp: LookupPlan, records: list[Record], *, actor: str | None = None
) -> dict[str, Any] | None:
    p = lp.plan
    stats = await sync.store_warranty_lookup(session, p, records, utcnow())
    if stats is None:
        return None
    stats.update(
        asked=len(p.serials),
        found=sum(1 for r in records if getattr(r, "found", False)),
        horizon_days=lp.horizon_days,
    )
    audit(
        session,
        _principal(actor),
        AuditAction.vendor_action,
        subject_type="connection",
        subject_id=p.connection_id,
        client_id=p.client_id,
        meta={"action": "warranty_lookup", "ok": True, "stats": stats},
    )
    return stats


async def store_lookup_failure(
    session: AsyncSession, lp: LookupPlan, exc: BaseException, *, actor: str | None = None
) -> str:
    """Audit a failed lookup (error text redacted). Connection health stays sync's to judge:
    the next sync meets the same vendor with the same credentials."""
    p = lp.plan
    message = secrets.redact(health.describe(exc), p.secrets)
    audit(
        session,
        _principal(actor),
        AuditAction.vendor_action,
        subject_type="connection",
        subject_id=p.connection_id,
        client_id=p.client_id,
        meta={"action": "warranty_lookup", "ok": False, "asked": len(p.serials), "error": message},
    )
    return message


# --- the review list ---------------------------------------------------------------------


def _latest_warranties() -> Any:
    return (
        select(Warranty.asset_id, func.max(Warranty.ends_on).label("ends_on"))
        .group_by(Warranty.asset_id)
        .subquery()
    )


async def review(
    session: AsyncSession,
    principal: Principal,
    *,
    days: int,
    client_id: uuid.UUID | None = None,
    limit: int | None = None,
    offset: int = 0,
    today: date | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Assets out of warranty, ending within `days`, or with no warranty known, per client
    (client name, then the soonest end first, unknown last). Viewers see their own client's."""
    today = today or utcnow().date()
    latest = _latest_warranties()
    stmt = (
        select(Asset, Client, latest.c.ends_on)
        .join(Client, Client.id == Asset.client_id)
        .outerjoin(latest, latest.c.asset_id == Asset.id)
        .where(
            Client.status != ClientStatus.archived,
            or_(latest.c.ends_on.is_(None), latest.c.ends_on <= today + timedelta(days=days)),
        )
    )
    stmt = scope_to_client(stmt, principal, Asset.client_id)
    if client_id is not None:
        stmt = stmt.where(Asset.client_id == client_id)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    stmt = stmt.order_by(Client.name, latest.c.ends_on.asc().nulls_last(), Asset.name, Asset.id)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    rows = (await session.execute(stmt)).all()
    ids = [asset.id for asset, _, _ in rows]
    best: dict[uuid.UUID, Warranty] = {}
    for i in range(0, len(ids), 500):
        found = await session.execute(select(Warranty).where(Warranty.asset_id.in_(ids[i : i + 500])))
        for w in found.scalars():
            held = best.get(w.asset_id)
            if held is None or (w.ends_on, w.starts_on) > (held.ends_on, held.starts_on):
                best[w.asset_id] = w
    items = []
    for asset, client, ends_on in rows:
        top = best.get(asset.id)
        items.append(
            {
                "id": str(asset.id),
                "client_id": str(client.id),
                "client": {"id": str(client.id), "name": client.name, "slug": client.slug},
                "name": asset.name,
                "kind": asset.kind.value,
                "manufacturer": asset.manufacturer,
                "model": asset.model,
                "serial": asset.serial,
                "warranty_ends_on": ends_on.isoformat() if ends_on else None,
                "warranty_level": top.level if top else None,
                "warranty_source": top.source.value if top else None,
                "last_checked_at": top.last_checked_at.isoformat() if top and top.last_checked_at else None,
                "days_left": (ends_on - today).days if ends_on else None,
                "status": "unknown" if ends_on is None else ("expired" if ends_on < today else "ending"),
            }
        )
    return items, int(total)
