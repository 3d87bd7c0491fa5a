"""ISP lines as stored things: CRUD with their rules, the PTR and block-list checks of
their public addresses (kept in step with the address blocks), the probe's plan -> probe
-> record, the state it gives, the history, and the schedule.

A probe is: `plan_probe` (short read) -> `hub.line.probe.probe_round` (TCP connects, no
transaction open) -> `record_round` (short write), as a check run is.
"""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from hub.api.crud import CrudService, Resource, contains_text, equals
from hub.asset.service import require_account_of_client
from hub.audit.service import record
from hub.auth.principal import SYSTEM, Principal
from hub.check.schemas import CheckCreate
from hub.check.service import CheckService
from hub.client.service import require_client
from hub.db import runtime_of
from hub.errors import Conflict, InvalidInput
from hub.jobs import enqueue, enqueue_or_join
from hub.kit.schema import UpdateInput
from hub.line.engine import judge_round
from hub.line.probe import ProbeResult, Target, targets_of
from hub.line.schemas import ProbeFilters, ProbeLine, checked_addresses
from hub.line.settings import LineSettings
from hub.models import Client, IspLine, LineProbe
from hub.models.check import Check
from hub.models.enums import AuditAction, CheckTarget, ClientStatus
from hub.models.line import LineState

STATE_CHANGED = "line.state_changed"
# The check kinds a line's addresses get ("dnsbl" only with zones configured).
ADDRESS_KINDS = ("ptr", "dnsbl")
ON_DEMAND_PRIORITY = -10


def dedupe_key(line_id: uuid.UUID) -> str:
    return f"line-probe:{line_id}"


def _settings(session: AsyncSession) -> LineSettings:
    return runtime_of(session).settings.line


class LineService(CrudService[IspLine]):
    resource = Resource(
        model=IspLine,
        label="line",
        subject_type="line",
        client_column=IspLine.client_id,
        sort_fields={
            "name": IspLine.name,
            "circuit_id": IspLine.circuit_id,
            "state": IspLine.state,
            "state_changed_at": IspLine.state_changed_at,
            "created_at": IspLine.created_at,
        },
        default_sort="name",
        filters={
            "client_id": equals(IspLine.client_id),
            "vendor_account_id": equals(IspLine.vendor_account_id),
            "technology": equals(IspLine.technology),
            "state": equals(IspLine.state),
            "q": contains_text(IspLine.name, IspLine.circuit_id),
        },
        json_fields=frozenset({"address_blocks", "probe_targets"}),
    )

    async def _unique_circuit(
        self, session: AsyncSession, account_id: uuid.UUID, circuit_id: str, skip: uuid.UUID | None = None
    ) -> None:
        found = (
            await session.execute(
                select(IspLine.id).where(
                    IspLine.vendor_account_id == account_id, IspLine.circuit_id == circuit_id
                )
            )
        ).scalar_one_or_none()
        if found is not None and found != skip:
            raise Conflict(f"circuit '{circuit_id}' is already a line of this ISP account")

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        client = await require_client(session, principal, values["client_id"])
        await require_account_of_client(session, values["vendor_account_id"], client.id, "vendor_account_id")
        await self._unique_circuit(session, values["vendor_account_id"], values["circuit_id"])
        if values.get("monthly_cost") is not None and not values.get("cost_currency"):
            values["cost_currency"] = client.default_currency
        values["state"] = LineState.unknown
        values["next_probe_at"] = runtime_of(session).now()  # due at once
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: IspLine, changes: dict[str, Any]
    ) -> dict[str, Any]:
        if "vendor_account_id" in changes:
            await require_account_of_client(
                session, changes["vendor_account_id"], obj.client_id, "vendor_account_id"
            )
        if "vendor_account_id" in changes or "circuit_id" in changes:
            await self._unique_circuit(
                session,
                changes.get("vendor_account_id", obj.vendor_account_id),
                changes.get("circuit_id", obj.circuit_id),
                skip=obj.id,
            )
        if changes.get("monthly_cost") is not None and not (
            changes.get("cost_currency") or obj.cost_currency
        ):
            client = await session.get(Client, obj.client_id)
            changes["cost_currency"] = client.default_currency if client else "EUR"
        if "probe_targets" in changes or changes.get("probe_enabled"):
            changes["next_probe_at"] = runtime_of(session).now()
        return changes

    async def after_create(self, session: AsyncSession, principal: Principal, obj: IspLine) -> None:
        await sync_address_checks(session, principal, obj, previous=[])

    async def update(
        self, session: AsyncSession, principal: Principal, obj_id: uuid.UUID, data: UpdateInput
    ) -> IspLine:
        principal.require_staff()  # before the read: a viewer is refused whoever's the line
        before = builtins.list((await self.get(session, principal, obj_id)).address_blocks)
        line = await super().update(session, principal, obj_id, data)
        if line.address_blocks != before:
            await sync_address_checks(session, principal, line, previous=before)
        return line

    async def delete(self, session: AsyncSession, principal: Principal, obj_id: uuid.UUID) -> None:
        principal.require_staff()
        line = await self.get(session, principal, obj_id)
        await _drop_address_checks(session, principal, line, checked_addresses(line.address_blocks))
        await super().delete(session, principal, obj_id)

    async def probes(
        self, session: AsyncSession, principal: Principal, line_id: uuid.UUID, params: ProbeFilters
    ) -> tuple[builtins.list[LineProbe], int]:
        """The line's probe history, newest first."""
        await self.get(session, principal, line_id)
        where = [LineProbe.line_id == line_id]
        if params.since is not None:
            where.append(LineProbe.probed_at >= params.since)
        total = (await session.execute(select(func.count()).where(*where))).scalar_one()
        rows = await session.execute(
            select(LineProbe)
            .where(*where)
            .order_by(LineProbe.probed_at.desc(), LineProbe.id.desc())
            .limit(params.limit)
            .offset(params.offset)
        )
        return builtins.list(rows.scalars()), int(total)

    async def address_checks(
        self, session: AsyncSession, principal: Principal, line_id: uuid.UUID
    ) -> builtins.list[Check]:
        line = await self.get(session, principal, line_id)
        return await checks_of(session, line)

    async def request_probe(
        self, session: AsyncSession, principal: Principal, line_id: uuid.UUID
    ) -> tuple[int, bool]:
        """Queue a probe now; one already queued or running is reused. Returns (job id,
        whether a new job was made)."""
        principal.require_staff()
        line = await self.get(session, principal, line_id)
        if not line.probe_targets:
            raise InvalidInput("probe_targets", "the line has no probe target to connect to")
        key = dedupe_key(line.id)
        joined = await enqueue_or_join(
            session, ProbeLine(line_id=line.id), dedupe_key=key, priority=ON_DEMAND_PRIORITY
        )
        if joined is None:
            raise Conflict("the line's probe keeps finishing as it is queued; try again")
        job_id, created = joined
        if created:
            record(
                session,
                principal,
                AuditAction.update,
                subject_type="line",
                subject_id=line.id,
                client_id=line.client_id,
                meta={"event": "line.probe_requested", "job_id": job_id},
            )
        return job_id, created


# --- the addresses' checks ----------------------------------------------------------------


async def checks_of(session: AsyncSession, line: IspLine) -> list[Check]:
    """The PTR and block-list checks of the line's checked addresses."""
    addresses = checked_addresses(line.address_blocks)
    if not addresses:
        return []
    rows = await session.execute(
        select(Check)
        .where(
            Check.client_id == line.client_id,
            Check.target_type == CheckTarget.ip,
            Check.target_ref.in_(addresses),
            Check.kind.in_(ADDRESS_KINDS),
        )
        .order_by(Check.target_ref, Check.kind)
    )
    return list(rows.scalars())


def _wanted_params(settings: LineSettings) -> dict[str, dict[str, Any]]:
    wanted: dict[str, dict[str, Any]] = {"ptr": {}}
    if settings.dnsbl_zones:
        wanted["dnsbl"] = {
            "zones": [z.model_dump(mode="json", exclude_none=True) for z in settings.dnsbl_zones]
        }
    return wanted


async def sync_address_checks(
    session: AsyncSession, principal: Principal, line: IspLine, *, previous: list[str]
) -> None:
    """Creates the PTR (and, with zones configured, block-list) check of every checked
    address that has none, and drops those of addresses the line no longer has (unless
    another line of the client still has them). A check of the address that already
    exists is reused, whoever made it; one of another client is left alone."""
    settings = _settings(session)
    now = checked_addresses(line.address_blocks)
    gone = [a for a in checked_addresses(previous) if a not in now]
    await _drop_address_checks(session, principal, line, gone)
    if not now:
        return
    existing = {
        (c.kind, c.target_ref)
        for c in (
            await session.execute(
                select(Check).where(Check.target_type == CheckTarget.ip, Check.target_ref.in_(now))
            )
        ).scalars()
    }
    service = CheckService()
    for address in now:
        for kind, params in _wanted_params(settings).items():
            if (kind, address) in existing:
                continue
            await service.create(
                session,
                principal,
                CheckCreate(
                    client_id=line.client_id,
                    kind=kind,
                    target_ref=address,
                    params=params,
                    interval_seconds=settings.address_check_interval_seconds,
                ),
            )


async def _drop_address_checks(
    session: AsyncSession, principal: Principal, line: IspLine, addresses: list[str]
) -> None:
    if not addresses:
        return
    others = (
        await session.execute(
            select(IspLine.address_blocks).where(IspLine.client_id == line.client_id, IspLine.id != line.id)
        )
    ).scalars()
    kept = {a for blocks in others for a in checked_addresses(blocks)}
    dropped = [a for a in addresses if a not in kept]
    if not dropped:
        return
    rows = await session.execute(
        select(Check.id).where(
            Check.client_id == line.client_id,
            Check.target_type == CheckTarget.ip,
            Check.target_ref.in_(dropped),
            Check.kind.in_(ADDRESS_KINDS),
        )
    )
    service = CheckService()
    for check_id in list(rows.scalars()):
        await service.delete(session, principal, check_id)


# --- probing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbePlan:
    line_id: uuid.UUID
    targets: list[Target]


async def plan_probe(session: AsyncSession, line_id: uuid.UUID) -> ProbePlan | None:
    """What to connect to, or None when the line is gone or has nothing to probe."""
    line = await session.get(IspLine, line_id)
    if line is None:
        return None
    targets = targets_of(line.probe_targets)
    return ProbePlan(line.id, targets) if targets else None


async def record_round(
    session: AsyncSession, line: IspLine, results: list[ProbeResult], at: datetime
) -> LineState:
    """Appends the round to the history, moves the line's state (audited when it changes:
    the event an outage case is opened from) and its next probe."""
    for r in results:
        session.add(
            LineProbe(
                line_id=line.id,
                probed_at=at,
                host=r.host,
                port=r.port,
                ok=r.ok,
                latency_ms=r.latency_ms,
                error=r.error,
            )
        )
    outcome = judge_round(
        sum(r.ok for r in results), len(results), line.consecutive_failures, line.failures_for_down
    )
    previous = line.state
    bookkeeping = {
        "consecutive_failures": outcome.consecutive_failures,
        "last_probed_at": at,
        "next_probe_at": at + timedelta(seconds=line.probe_interval_seconds),
    }
    if outcome.state == previous:
        # The probe's own bookkeeping: no new version, so a person's edit made on what they
        # read is not refused after every round (CONTRIBUTING, "Caches").
        await _bookkeep(session, line, bookkeeping)
    else:
        # A state is what people read and act on: it moves the version like any change.
        for key, value in bookkeeping.items():
            setattr(line, key, value)
        line.state = outcome.state
        line.state_changed_at = at
        record(
            session,
            SYSTEM,
            AuditAction.update,
            subject_type="line",
            subject_id=line.id,
            client_id=line.client_id,
            before={"state": previous.value},
            after={"state": outcome.state.value},
            meta={
                "event": STATE_CHANGED,
                "from": previous.value,
                "to": outcome.state.value,
                "failed": [f"{r.host}:{r.port}" for r in results if not r.ok],
            },
        )
    await session.flush()
    return line.state


async def _bookkeep(session: AsyncSession, line: IspLine, values: dict[str, Any]) -> None:
    """Writes the probe's bookkeeping columns without moving `version` or `updated_at`."""
    await session.execute(
        update(IspLine)
        .where(IspLine.id == line.id)
        .values(**values, updated_at=IspLine.updated_at)
        .execution_options(synchronize_session=False)
    )
    for key, value in values.items():
        set_committed_value(line, key, value)


async def schedule_due(session: AsyncSession, now: datetime, settings: LineSettings) -> int:
    """Queues a probe of every due line that has targets (one job per line), moves each
    one's next probe an interval on, and deletes probes older than the history kept.
    Returns the number of new jobs."""
    due = await session.execute(
        select(IspLine)
        .join(Client, Client.id == IspLine.client_id)
        .where(
            Client.status == ClientStatus.active,  # an archived client's lines are not probed
            IspLine.probe_enabled.is_(True),
            (IspLine.next_probe_at.is_(None)) | (IspLine.next_probe_at <= now),
        )
        .order_by(IspLine.next_probe_at.asc().nulls_first(), IspLine.id)
        .limit(settings.schedule_batch)
    )
    added = 0
    for line in list(due.scalars()):
        await _bookkeep(
            session, line, {"next_probe_at": now + timedelta(seconds=line.probe_interval_seconds)}
        )
        if not line.probe_targets:
            continue
        job_id = await enqueue(session, ProbeLine(line_id=line.id), dedupe_key=dedupe_key(line.id))
        added += job_id is not None
    await session.execute(
        delete(LineProbe).where(LineProbe.probed_at < now - timedelta(days=settings.history_days))
    )
    await session.flush()
    return added


async def find_line(session: AsyncSession, ref: str) -> IspLine | None:
    """A line by id, or by circuit id (when only one line has it)."""
    try:
        return await session.get(IspLine, uuid.UUID(ref))
    except ValueError:
        pass
    rows = list((await session.execute(select(IspLine).where(IspLine.circuit_id == ref).limit(2))).scalars())
    return rows[0] if len(rows) == 1 else None


__all__ = [
    "ADDRESS_KINDS",
    "STATE_CHANGED",
    "LineService",
    "ProbePlan",
    "checks_of",
    "dedupe_key",
    "find_line",
    "plan_probe",
    "record_round",
    "schedule_due",
    "sync_address_checks",
]
