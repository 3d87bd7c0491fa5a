"""Close the loop: a case opened from a failing check is verified by running that check
again. Pass: the case is resolved with the passing run as evidence. Fail: the case is
reopened (a new resolution cycle of the vendor's clock) and the vendor is told, with the
new evidence attached. A run that cannot decide (DNS down) changes nothing but says so.

The run happens with no transaction open (`plan` -> `hub.check.service.execute` ->
`apply`), as every check run does."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import SYSTEM
from hub.case import outbox, service
from hub.case.schemas import SendCaseEvidence
from hub.case.settings import CaseSettings
from hub.case.timeline import ACTIVE
from hub.check import service as checks
from hub.check.enums import CheckStatus
from hub.check.findings import Evaluation
from hub.jobs import enqueue
from hub.models import CaseAttachment, Check, CheckRun, VendorCase
from hub.models.enums import CaseChannel, CaseEventKind, CaseStatus

ACTOR = "verification"


async def plan(session: AsyncSession, case_id: uuid.UUID) -> checks.RunPlan | None:
    case = await session.get(VendorCase, case_id)
    if case is None or case.check_run_id is None:
        return None
    run = await session.get(CheckRun, case.check_run_id)
    return await checks.plan_run(session, run.check_id) if run is not None else None


def _attachment(case: VendorCase, run: CheckRun, check: Check, now: datetime) -> CaseAttachment:
    content = json.dumps(
        {
            "check": check.kind,
            "status": run.status.value,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "findings": run.findings,
        },
        indent=2,
        default=str,
    ).encode()
    return CaseAttachment(
        case_id=case.id,
        filename=f"check-{check.kind}-{run.id}.json",
        content_type="application/json",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        created_at=now,
    )


async def apply(
    session: AsyncSession,
    case_id: uuid.UUID,
    check_id: uuid.UUID,
    result: Evaluation,
    started: datetime,
    now: datetime,
    settings: CaseSettings,
) -> str:
    """Store the run and act on it; returns passed / failed / undecided / gone."""
    case = await session.get(VendorCase, case_id)
    check = await session.get(Check, check_id)
    if case is None or check is None:
        return "gone"
    run = await checks.record_run(session, check, result, started_at=started, finished_at=now)
    await session.flush()
    lines = [f"{f.get('severity', '')}: {f.get('message', f.get('code', ''))}" for f in run.findings]
    meta = {"check_run_id": run.id, "status": run.status.value}
    if run.status is CheckStatus.unknown:
        service.add_system_event(
            session,
            case,
            CaseEventKind.verification,
            ACTOR,
            now,
            f"The {check.kind} check could not decide ({run.error or 'no answer'}); nothing changed.",
            visible=False,
            meta=meta,
        )
        return "undecided"
    evidence = _attachment(case, run, check, now)
    session.add(evidence)
    await session.flush()
    if run.status is CheckStatus.ok:
        service.add_system_event(
            session,
            case,
            CaseEventKind.verification,
            ACTOR,
            now,
            f"Re-checked {check.kind} at {now:%Y-%m-%d %H:%M} UTC: it passes. Evidence: {evidence.filename}.",
            visible=True,
            meta=meta,
        )
        if case.status in ACTIVE:
            await service.move(session, SYSTEM, case, CaseStatus.resolved, now, "the re-check passes")
        return "passed"
    service.add_system_event(
        session,
        case,
        CaseEventKind.verification,
        ACTOR,
        now,
        f"Re-checked {check.kind} at {now:%Y-%m-%d %H:%M} UTC: still failing.\n" + "\n".join(lines),
        visible=True,
        meta=meta,
    )
    if case.status in (CaseStatus.resolved, CaseStatus.closed):
        await service.move(session, SYSTEM, case, CaseStatus.open, now, "the re-check still fails")
    if case.channel is CaseChannel.api and case.vendor_external_id is not None:
        # Through the vendor's API, after this commits: the vendor is never called inside it.
        message = f"Re-checked {check.kind} at {now:%Y-%m-%d %H:%M} UTC: still failing.\n" + "\n".join(lines)
        await enqueue(
            session,
            SendCaseEvidence(case_id=case.id, attachment_id=evidence.id, message=message),
            dedupe_key=f"case.api_evidence:{case.id}:{evidence.id}",
        )
    if case.channel is CaseChannel.email and case.to_addresses:
        await outbox.queue_message(
            session,
            case,
            "reopen",
            now,
            settings,
            context={"checked_at": f"{now:%Y-%m-%d %H:%M} UTC", "evidence": lines},
            attachments=[evidence],
        )
        if case.status is not CaseStatus.waiting_vendor:
            await service.move(session, SYSTEM, case, CaseStatus.waiting_vendor, now, "")
    return "failed"
