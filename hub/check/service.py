"""Checks as stored things: creating and listing them (scoped per client), turning one into
an engine run, recording the result, scheduling due checks and the per-client summary.

The engine (`hub.check.engine`) knows nothing of the database; this module is the only
bridge, so a run is: `plan_run` (short read) -> `execute` (no transaction) -> `record_run`
(short write). It knows no kind in particular: what a kind takes from its target and what
it writes back are the kind's hooks (`hub.check.kinds.base`), fed and applied here.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Resource, equals
from hub.audit.service import record
from hub.auth.principal import SYSTEM, Principal
from hub.check import policy
from hub.check.context import CheckContext
from hub.check.engine import run_kind
from hub.check.findings import Evaluation, Severity, evaluation
from hub.check.kinds.base import AssetTarget, DomainTarget, EndpointTarget, IpTarget, Target, TargetUpdate
from hub.check.kinds.registry import KINDS, get_kind
from hub.check.schemas import RunCheck
from hub.check.settings import CheckSettings
from hub.client.service import ClientService, require_client
from hub.db import runtime_of
from hub.errors import Conflict, InvalidInput
from hub.jobs import enqueue, enqueue_or_join
from hub.kit.time import utcnow
from hub.models import Asset, Domain, Endpoint
from hub.models.check import Check, CheckRun
from hub.models.enums import AuditAction, CheckStatus, CheckTarget
from hub.notify.ledger import ClientNotice, notify_technician

RUN_TASK = RunCheck.kind
STATUS_CHANGED = "check.status_changed"
# The notices of a check's transitions (subject_id: the check's id).
CHECK_SUBJECT = "check"
# Checks enqueued per schedule tick: bounded so one tick is one short transaction; the
# rest are due at the next tick.
SCHEDULE_BATCH = 2_000
# On-demand runs go ahead of scheduled ones (lower runs first).
ON_DEMAND_PRIORITY = -10

_TARGET_MODELS: dict[CheckTarget, type[Domain] | type[Endpoint] | type[Asset]] = {
    CheckTarget.domain: Domain,
    CheckTarget.endpoint: Endpoint,
    CheckTarget.asset: Asset,
}
# Params no API caller may set, whatever the kind (a path on the server...).
_SERVER_ONLY_PARAMS: frozenset[str] = frozenset().union(*(kind.server_only_params for kind in KINDS.values()))
_FAILING = {Severity.error.value, Severity.critical.value}
# How bad a status is, for a domain's summary of its checks.
_RANK = {
    CheckStatus.fail: 4,
    CheckStatus.unknown: 3,
    CheckStatus.warn: 2,
    CheckStatus.ok: 1,
    CheckStatus.pending: 0,
}


def dedupe_key(check_id: uuid.UUID) -> str:
    return f"check:{check_id}"


class CheckService(CrudService[Check]):
    resource = Resource(
        model=Check,
        label="check",
        subject_type="check",
        client_column=Check.client_id,
        sort_fields={
            "kind": Check.kind,
            "status": Check.status,
            "status_changed_at": Check.status_changed_at,
            "last_run_at": Check.last_run_at,
            "next_run_at": Check.next_run_at,
            "created_at": Check.created_at,
        },
        default_sort="kind",
        filters={
            "client_id": equals(Check.client_id),
            "status": equals(Check.status),
            "kind": equals(Check.kind),
            "target_type": equals(Check.target_type),
            "enabled": equals(Check.enabled),
        },
        json_fields=frozenset({"params"}),
    )

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        client_id = values["client_id"]
        await require_client(session, principal, client_id)
        try:
            kind = get_kind(values["kind"])
        except KeyError:
            raise InvalidInput("kind", f"unknown check kind; use one of {', '.join(sorted(KINDS))}") from None
        if "\\u0000" in json.dumps(values["params"]):
            raise InvalidInput("params", "text must not contain NUL characters")
        refused = sorted(_SERVER_ONLY_PARAMS.intersection(values["params"]))
        if refused:
            raise InvalidInput(
                "params", f"{refused[0]} cannot be set through the API; configure it on the server"
            )
        values["target_type"] = kind.target
        values["target_ref"] = await _target_ref(session, kind.target, values["target_ref"], client_id)
        # Validated as the run will see them: what the kind takes from the target (an
        # asset's firmware, an endpoint's port) completes the params it does not set.
        target = await _load_target(session, kind.target, values["target_ref"])
        params = kind.params_for(target, values["params"]) if target is not None else values["params"]
        try:
            kind.parse_params(params)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise InvalidInput(
                "params", f"{where + ': ' if where else ''}{first.get('msg', 'invalid')}"
            ) from None
        taken = await session.execute(
            select(Check.id).where(
                Check.kind == values["kind"],
                Check.target_type == kind.target,
                Check.target_ref == values["target_ref"],
            )
        )
        if taken.first():
            raise Conflict(f"a {values['kind']} check of that {kind.target.value} already exists")
        values["status"] = CheckStatus.pending
        values["next_run_at"] = utcnow()  # due at once: a new check should not wait an interval
        return values

    async def runs(
        self, session: AsyncSession, principal: Principal, check_id: uuid.UUID, *, limit: int, offset: int
    ) -> tuple[list[CheckRun], int]:
        await self.get(session, principal, check_id)
        total = (
            await session.execute(select(func.count()).where(CheckRun.check_id == check_id))
        ).scalar_one()
        rows = await session.execute(
            select(CheckRun)
            .where(CheckRun.check_id == check_id)
            .order_by(CheckRun.started_at.desc(), CheckRun.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows.scalars()), int(total)

    async def request_run(
        self, session: AsyncSession, principal: Principal, check_id: uuid.UUID
    ) -> tuple[int, bool]:
        """Queue a run now; a run already queued or running is reused. Returns (job id,
        whether a new job was made)."""
        principal.require_staff()
        check = await self.get(session, principal, check_id)
        key = dedupe_key(check.id)
        joined = await enqueue_or_join(
            session, RunCheck(check_id=check.id), dedupe_key=key, priority=ON_DEMAND_PRIORITY
        )
        if joined is None:
            raise Conflict("the check's run keeps finishing as it is queued; try again")
        job_id, created = joined
        if created:
            record(
                session,
                principal,
                AuditAction.update,
                subject_type="check",
                subject_id=check.id,
                client_id=check.client_id,
                meta={"event": "check.run_requested", "job_id": job_id},
            )
        return job_id, created


async def _target_ref(session: AsyncSession, target: CheckTarget, ref: str, client_id: uuid.UUID) -> str:
    if target is CheckTarget.ip:
        try:
            return str(ipaddress.ip_address(ref.strip()))
        except ValueError:
            raise InvalidInput("target_ref", "must be an IP address for this kind") from None
    model = _TARGET_MODELS[target]
    missing = InvalidInput("target_ref", f"no {target.value} with that id for this client")
    try:
        target_id = uuid.UUID(ref.strip())
    except ValueError:
        raise missing from None
    row: Domain | Endpoint | Asset | None = await session.get(model, target_id)
    if row is None or row.client_id != client_id:
        raise missing
    return str(target_id)


# --- running ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    """What the engine needs for one check, read in a short transaction and then used with
    none open (a DNS run can take seconds; SQLite's writer must not wait on it)."""

    check_id: uuid.UUID
    kind: str
    target: str
    params: dict[str, Any]
    # Why the check cannot run (its target is gone): recorded as an unknown run.
    problem: str | None = None


async def plan_run(session: AsyncSession, check_id: uuid.UUID) -> RunPlan | None:
    """The run of a check, or None when it no longer exists or is disabled."""
    check = await session.get(Check, check_id)
    if check is None or not check.enabled:
        return None
    params = dict(check.params or {})
    target = await _load_target(session, check.target_type, check.target_ref)
    if target is None:
        problem = f"the {check.target_type.value} {check.target_ref} no longer exists"
        return RunPlan(check.id, check.kind, check.target_ref, params, problem)
    kind = KINDS.get(check.kind)  # a kind no longer known fails in `execute`, as any run would
    if kind is not None:
        params = kind.params_for(target, params)
    return RunPlan(check.id, check.kind, target.subject, params)


async def _load_target(session: AsyncSession, target_type: CheckTarget, ref: str) -> Target | None:
    """What the hub knows of a check's target, as the kinds see it; None if it is gone."""
    if target_type is CheckTarget.ip:
        return IpTarget(ref)
    row: Domain | Endpoint | Asset | None = await session.get(_TARGET_MODELS[target_type], uuid.UUID(ref))
    if isinstance(row, Domain):
        return DomainTarget(row.name, tuple(row.dkim_selectors), row.expected_mail_provider.value)
    if isinstance(row, Endpoint):
        return EndpointTarget(row.host, row.port, row.tls_mode, row.sni)
    if isinstance(row, Asset):
        return AssetTarget(row.name, row.manufacturer, row.model, row.firmware_version, row.firmware_latest)
    return None


async def execute(plan: RunPlan, settings: CheckSettings | None = None) -> Evaluation:
    """Runs the engine (no database): failures of any kind come back as `unknown`."""
    if plan.problem:
        return evaluation([], [plan.problem])
    async with CheckContext.create(settings or CheckSettings()) as ctx:
        return await execute_in(ctx, plan)


async def execute_in(ctx: CheckContext, plan: RunPlan) -> Evaluation:
    """`execute` in a context shared by many runs (one DNS cache for a batch of checks, as
    a mail provider's SPF include or MX hosts are shared by many domains)."""
    if plan.problem:
        return evaluation([], [plan.problem])
    return await run_kind(ctx, plan.kind, plan.target, plan.params)


async def record_run(
    session: AsyncSession,
    check: Check,
    result: Evaluation,
    *,
    started_at: datetime,
    finished_at: datetime | None = None,
) -> CheckRun:
    """Append the run, move the check's status and schedule, emit a status-change event
    only when the status changed, and store the facts the run learnt (expiry dates)."""
    finished = finished_at or utcnow()
    run = CheckRun(
        check_id=check.id,
        started_at=started_at,
        finished_at=finished,
        status=result.status,
        findings=[f.model_dump(mode="json") for f in result.findings],
        error="; ".join(result.unknown) or None,
    )
    session.add(run)
    previous = check.status
    check.last_run_at = finished
    check.next_run_at = finished + timedelta(seconds=check.interval_seconds)
    check.status_runs = (check.status_runs or 0) + 1 if result.status == previous else 1
    if result.status != previous:
        check.status = result.status
        check.status_changed_at = finished
        record(
            session,
            SYSTEM,
            AuditAction.update,
            subject_type="check",
            subject_id=check.id,
            client_id=check.client_id,
            before={"status": previous.value},
            after={"status": result.status.value},
            meta={
                "event": STATUS_CHANGED,
                "from": previous.value,
                "to": result.status.value,
                "kind": check.kind,
                "codes": result.codes,
            },
        )
    await _alert(session, check, result, finished)
    kind = KINDS.get(check.kind)
    if kind is not None:
        await _update_target(session, check, kind.target_update(result), finished)
    await session.flush()
    return run


async def _alert(session: AsyncSession, check: Check, result: Evaluation, now: datetime) -> None:
    """Tell the client's technician of a settled status change (hub.check.policy), once:
    the notice is named by the check's transition count, so the ledger refuses a second
    copy of the same transition (a retried run whose first attempt did commit)."""
    runtime = runtime_of(session)
    change = policy.transition(
        check.settled_status,
        check.status,
        check.status_runs,
        check.status_changed_at,
        now,
        runtime.settings.check.damping,
    )
    if change is None:
        return
    check.settled_status = change.after
    if not change.notify:
        return
    check.transitions = (check.transitions or 0) + 1
    target = await _load_target(session, check.target_type, check.target_ref)
    what = target.subject if target is not None else check.target_ref
    summary = f"{check.kind} check of {what} {change.describe()}"
    if not change.recovery:
        reasons = result.codes or result.unknown
        if reasons:
            summary += ": " + ", ".join(reasons)
    before = change.before.value if change.before else "new"
    notice = ClientNotice(
        subject_type=CHECK_SUBJECT,
        subject_id=str(check.id),
        client_id=check.client_id,
        threshold=f"{check.transitions}:{before}>{change.after.value}",
        summary=summary,
    )
    await notify_technician(session, notice, now, runtime.settings.notify)


async def _update_target(session: AsyncSession, check: Check, update: TargetUpdate, at: datetime) -> None:
    """Stores what a run learnt on its target (a domain or an endpoint: the rows with an
    expiry and a checked-at stamp); a changed expiry is audited."""
    if update.empty or check.target_type not in (CheckTarget.domain, CheckTarget.endpoint):
        return
    model: type[Domain] | type[Endpoint] = Domain if check.target_type is CheckTarget.domain else Endpoint
    row: Domain | Endpoint | None = await session.get(model, uuid.UUID(check.target_ref))
    if row is None:
        return
    if update.expires_on is not None and row.expires_on != update.expires_on:
        record(
            session,
            SYSTEM,
            AuditAction.update,
            subject_type=check.target_type.value,
            subject_id=row.id,
            client_id=row.client_id,
            before={"expires_on": row.expires_on.isoformat() if row.expires_on else None},
            after={"expires_on": update.expires_on.isoformat()},
            meta={"event": "check.expiry_learnt"},
        )
        row.expires_on = update.expires_on
    if update.checked:
        if isinstance(row, Domain):
            row.expiry_checked_at = at
        else:
            row.last_checked_at = at


# --- scheduling ---------------------------------------------------------------------------


async def schedule_due(
    session: AsyncSession, now: datetime | None = None, *, limit: int = SCHEDULE_BATCH
) -> int:
    """Enqueue a run of every enabled check that is due (one job per check: a check whose
    run is still queued or running is not queued twice). Each scheduled check's next run
    moves one interval on, so a run that keeps failing is retried per interval, not per
    tick. Returns the number of new jobs."""
    now = now or utcnow()
    due = await session.execute(
        select(Check)
        .where(Check.enabled.is_(True), (Check.next_run_at.is_(None)) | (Check.next_run_at <= now))
        .order_by(Check.next_run_at.asc().nulls_first(), Check.id)
        .limit(limit)
    )
    added = 0
    for check in due.scalars():
        job_id = await enqueue(session, RunCheck(check_id=check.id), dedupe_key=dedupe_key(check.id))
        added += job_id is not None
        check.next_run_at = now + timedelta(seconds=check.interval_seconds)
    await session.flush()
    return added


# --- the client's health ------------------------------------------------------------------


async def client_health(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> dict[str, Any]:
    """Checks per status, and per domain the codes its latest runs report."""
    await ClientService().get(session, principal, client_id)
    checks = list((await session.execute(select(Check).where(Check.client_id == client_id))).scalars())
    latest_ids = (
        select(func.max(CheckRun.id))
        .join(Check, Check.id == CheckRun.check_id)
        .where(Check.client_id == client_id)
        .group_by(CheckRun.check_id)
    )
    latest = {
        run.check_id: run
        for run in (await session.execute(select(CheckRun).where(CheckRun.id.in_(latest_ids)))).scalars()
    }
    counts = dict.fromkeys(CheckStatus, 0)
    by_domain: dict[str, list[Check]] = {}
    for check in checks:
        counts[check.status] += 1
        if check.target_type is CheckTarget.domain:
            by_domain.setdefault(check.target_ref, []).append(check)
    names = {
        str(d.id): d.name
        for d in (
            await session.execute(select(Domain).where(Domain.id.in_([uuid.UUID(ref) for ref in by_domain])))
        ).scalars()
    }
    domains: list[dict[str, Any]] = []
    failing_domains: dict[str, int] = {}
    for ref, domain_checks in by_domain.items():
        if ref not in names:
            continue  # the domain was deleted; its checks are counted above
        failing: dict[str, None] = {}
        warnings: dict[str, None] = {}
        for check in domain_checks:
            run = latest.get(check.id)
            for found in run.findings if run else []:
                if found.get("severity") in _FAILING:
                    failing[found["code"]] = None
                elif found.get("severity") == Severity.warning.value:
                    warnings[found["code"]] = None
        for code in failing:
            failing_domains[code] = failing_domains.get(code, 0) + 1
        domains.append(
            {
                "domain_id": uuid.UUID(ref),
                "name": names[ref],
                "status": max((c.status for c in domain_checks), key=_RANK.__getitem__),
                "checks": len(domain_checks),
                "failing": sorted(failing),
                "warnings": sorted(warnings),
                "unknown": sorted(c.kind for c in domain_checks if c.status is CheckStatus.unknown),
            }
        )
    domains.sort(key=lambda d: (-_RANK[d["status"]], d["name"]))
    return {
        "client_id": client_id,
        "checks": counts,
        "failing_domains": dict(sorted(failing_domains.items(), key=lambda kv: (-kv[1], kv[0]))),
        "domains": domains,
    }


__all__ = [
    "CheckService",
    "RunPlan",
    "client_health",
    "dedupe_key",
    "execute",
    "execute_in",
    "plan_run",
    "record_run",
    "schedule_due",
]
