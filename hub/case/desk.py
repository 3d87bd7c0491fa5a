"""The api channel of cases: a case followed through a vendor's case API
(`hub.sdk.CaseDesk`: Azure support tickets, Dell Self-Dispatch) instead of by mail.

- `open_through_api`: a draft is opened at the vendor through a named connection. Our
  reference and the connection are persisted on the case before anything is sent; a lost
  answer is looked for by that reference (`find_case`), and a second try of an open whose
  outcome was never learnt looks for it first: a case is never opened twice.
- `comment` / `retry_comment`: our message goes through `add_comment` with a reference
  persisted first in the ledger (`CaseVendorUpdate`); a lost answer is reconciled by
  looking for that reference in `list_updates`, never by sending again blind.
- `mirror_status`: closing or reopening the case is asked of the vendor (`set_status`),
  where its manifest says it allows it (a job queued with the transition).
- Polling the vendor's updates onto the timeline is `hub.case.api_poll`.

Every vendor call happens with no transaction open (read, call, write) and is audited."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth.principal import SYSTEM, Principal
from hub.case import service
from hub.connection import health, secrets
from hub.connection.service import apply_outcome
from hub.db import keyring_of, runtime_of
from hub.errors import Conflict, InvalidInput, NotFound, VendorFailed
from hub.models import Asset, CaseAttachment, CaseEvent, CaseVendorUpdate, Connection, VendorCase
from hub.models.enums import AuditAction, CaseChannel, CaseEventKind, CaseStatus, ConnectionScope
from hub.sdk import CaseDesk, OutcomeUnknown
from hub.sdk.capabilities import Capability
from hub.sdk.errors import AdapterError
from hub.sdk.manifest import AdapterSpec, secret_values
from hub.sdk.records import (
    CaseAttachment as FileRecord,
)
from hub.sdk.records import (
    CaseRecord,
    CaseRequest,
    CaseSeverity,
    CaseState,
    CaseStatusChange,
    CaseUpdateRecord,
    PartRequest,
)

REFERENCE_KEY = "api_reference"
# Ledger states of our comments (the vendor's own updates are `received`).
SENDING, SENT, UNKNOWN, FAILED, RECEIVED = "sending", "sent", "unknown", "failed", "received"
MAX_FILES = 10


@dataclass(frozen=True)
class Desk:
    """A connection's CaseDesk, loaded in a short read: what a vendor call needs."""

    connection_id: uuid.UUID
    spec: AdapterSpec
    config: BaseModel

    @property
    def vendor(self) -> str:
        return self.spec.manifest.vendor

    def supports(self, operation: str) -> bool:
        return operation not in self.spec.manifest.unsupported_operations

    def why_not(self, operation: str) -> str:
        return self.spec.manifest.unsupported_operations.get(operation, "")

    def redact(self, text: str) -> str:
        return secrets.redact(text, secret_values(self.config))


async def load_desk(
    session: AsyncSession, case: VendorCase, connection_id: uuid.UUID | None, *, field: str = "connection_id"
) -> Desk:
    """The connection's CaseDesk for this case, or a 422 naming `field`: no such
    connection, another client's, disabled, or an adapter without a CaseDesk."""
    connection = await session.get(Connection, connection_id) if connection_id is not None else None
    if connection is None:
        raise InvalidInput(field, "no connection with that id")
    if connection.scope is ConnectionScope.client and connection.client_id != case.client_id:
        raise InvalidInput(field, "the connection belongs to another client")
    if not connection.enabled:
        raise InvalidInput(field, "the connection is disabled")
    spec = runtime_of(session).connections.spec_for(connection.adapter_slug)
    if spec is None or Capability.case_desk not in spec.manifest.capabilities:
        raise InvalidInput(
            field, f"the connection's adapter ({connection.adapter_slug}) has no case API (CaseDesk)"
        )
    stored = secrets.decrypt(keyring_of(session), connection.config_encrypted)
    try:
        config = spec.parse_config(stored)
    except (ValidationError, ValueError):
        raise InvalidInput(
            field, "the connection's configuration does not parse; fix the connection"
        ) from None
    return Desk(connection.id, spec, config)


@asynccontextmanager
async def adapter_of(runtime: Any, desk: Desk) -> AsyncIterator[CaseDesk]:
    async with runtime.connections.open(desk.spec, desk.config, desk.connection_id) as adapter:
        if not isinstance(adapter, CaseDesk):
            raise InvalidInput("connection_id", f"the {desk.vendor} adapter does not implement CaseDesk")
        yield adapter


def _principal_of(actor: str) -> Principal:
    return Principal(actor=actor, role=SYSTEM.role)


async def note_failure(
    runtime: Any, desk: Desk, case_id: uuid.UUID, action: str, exc: BaseException, actor: str
) -> str:
    """A vendor fault, recorded in its own short write: the connection's health, the case's
    last API error, an internal note and the audit (error text redacted). Returns what the
    caller is told (the hub's words, not the vendor's)."""
    message = desk.redact(health.describe(exc))
    async with runtime.unit_of_work() as session:
        case = await session.get(VendorCase, case_id)
        connection = await session.get(Connection, desk.connection_id)
        if connection is not None:
            await apply_outcome(
                session,
                connection,
                error=exc,
                message=message,
                degraded_after=runtime.settings.adapters.degraded_after,
            )
        if case is not None:
            case.api_error = message[:1000]
            service.add_system_event(
                session,
                case,
                CaseEventKind.note,
                actor,
                runtime.now(),
                f"{desk.vendor}'s API: {action} failed ({message})",
                visible=False,
                meta={"api_action": action, "error": message},
            )
            record(
                session,
                _principal_of(actor),
                AuditAction.vendor_action,
                subject_type="vendor_case",
                subject_id=case.id,
                client_id=case.client_id,
                meta={"action": f"api_{action}", "ok": False, "connection_id": str(desk.connection_id)},
            )
    return health.describe_for_caller(exc)


# --- opening -------------------------------------------------------------------------------


async def _request_files(session: AsyncSession, case_id: uuid.UUID) -> tuple[FileRecord, ...]:
    """The case's evidence as the vendor takes it at creation (the first ten files that
    fit the SDK's limits; the rest stays on our timeline only)."""
    rows = (
        await session.execute(
            select(CaseAttachment).where(CaseAttachment.case_id == case_id).order_by(CaseAttachment.id)
        )
    ).scalars()
    files: list[FileRecord] = []
    for row in rows:
        if len(files) >= MAX_FILES:
            break
        try:
            files.append(
                FileRecord(filename=row.filename, content_type=row.content_type, content=row.content)
            )
        except ValidationError:
            continue
    return tuple(files)


def _learn_number_text(record_: CaseRecord) -> str:
    return record_.case_number or record_.external_id


async def open_through_api(
    runtime: Any,
    principal: Principal,
    case_id: uuid.UUID,
    connection_id: uuid.UUID,
    *,
    subject: str | None = None,
    parts: tuple[PartRequest, ...] = (),
) -> VendorCase:
    """Open a draft api-channel case through the connection's CaseDesk; returns the case
    (waiting on the vendor, with the vendor's case number or work order)."""
    principal.require_staff()
    async with runtime.unit_of_work() as session:
        case = await service.cases.get(session, principal, case_id)
        if case.channel is not CaseChannel.api:
            raise InvalidInput("channel", "only a case on the api channel is opened through a vendor API")
        if case.status is not CaseStatus.draft:
            raise Conflict(f"the case is {case.status.value}: only a draft is opened through the API")
        if case.api_reference and case.connection_id not in (None, connection_id):
            # The earlier try may have opened it there: only that connection can tell.
            raise InvalidInput(
                "connection_id",
                f"the case was already sent through connection {case.connection_id}; try again with it",
            )
        desk = await load_desk(session, case, connection_id)
        if subject is None and case.asset_id is not None:
            asset = await session.get(Asset, case.asset_id)
            subject = asset.serial if asset is not None else None
        retry = case.api_reference is not None
        reference = case.api_reference or f"{runtime.settings.case.token_prefix}-{case.token}"
        sent_at = case.api_cursor or service.now_of(session)
        if not retry:
            # Persisted before the call: a lost answer is reconciled by this reference.
            case.api_reference, case.connection_id, case.api_cursor = reference, connection_id, sent_at
            service.add_system_event(
                session,
                case,
                CaseEventKind.note,
                principal.actor,
                sent_at,
                f"Opening the case through {desk.vendor}'s API (our reference {reference})",
                visible=False,
                meta={REFERENCE_KEY: reference, "connection_id": str(connection_id)},
            )
        try:
            request = CaseRequest(
                reference=reference,
                title=case.title[:200],
                description=case.description or case.title,
                severity=CaseSeverity(case.severity.value),
                subject=subject,
                parts=parts,
                attachments=await _request_files(session, case.id),
            )
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            raise InvalidInput(".".join(str(p) for p in first["loc"]) or "body", first["msg"]) from None
    try:
        made = await _open_or_find(runtime, desk, request, sent_at, look_first=retry)
    except AdapterError as exc:
        raise VendorFailed(await note_failure(runtime, desk, case_id, "open", exc, principal.actor)) from None
    async with runtime.unit_of_work() as session:
        case = await service.cases.get(session, principal, case_id)
        if case.status is not CaseStatus.draft:  # opened meanwhile by another request
            return case
        case.vendor_external_id = made.external_id
        await set_vendor_number(session, case, _learn_number_text(made))
        case.api_error = None
        now = service.now_of(session)
        service.add_system_event(
            session,
            case,
            CaseEventKind.api_out,
            principal.actor,
            now,
            f"Opened at {desk.vendor} through its API: case {case.external_ref or made.external_id} "
            f"({made.vendor_status})",
            visible=True,
            meta={"external_id": made.external_id, "state": made.state.value, REFERENCE_KEY: reference},
        )
        record(
            session,
            principal,
            AuditAction.vendor_action,
            subject_type="vendor_case",
            subject_id=case.id,
            client_id=case.client_id,
            meta={"action": "api_case_opened", "connection_id": str(connection_id), "reference": reference},
        )
        await service.submit(session, principal, case)
    return case


async def _open_or_find(
    runtime: Any, desk: Desk, request: CaseRequest, sent_at: datetime, *, look_first: bool
) -> CaseRecord:
    """Never two cases: a second try looks for the first one before sending; a lost answer
    is looked for by our reference, and only the vendor's "no such case" allows a send."""
    async with adapter_of(runtime, desk) as adapter:
        if look_first:
            found = await adapter.find_case(request.reference, like=request, placed_after=sent_at)
            if found is not None:
                return found
        try:
            return await adapter.open_case(request)
        except OutcomeUnknown:
            found = await adapter.find_case(request.reference, like=request, placed_after=sent_at)
            if found is None:
                raise
            return found


async def set_vendor_number(session: AsyncSession, case: VendorCase, number: str | None) -> bool:
    """Record the vendor's case number (unique per vendor account); False when another
    case of the account already has it (left as it was, a person looks)."""
    if not number or case.external_ref == number:
        return False
    taken = (
        await session.execute(
            select(VendorCase.id).where(
                VendorCase.vendor_account_id == case.vendor_account_id,
                VendorCase.external_ref == number,
                VendorCase.id != case.id,
            )
        )
    ).first()
    if taken is not None:
        return False
    case.external_ref = number[:120]
    return True


# --- our comments --------------------------------------------------------------------------


async def _api_case(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID
) -> tuple[VendorCase, Desk]:
    case = await service.cases.get(session, principal, case_id)
    if case.channel is not CaseChannel.api or case.connection_id is None or case.vendor_external_id is None:
        raise Conflict("the case is not followed through a vendor's API: open it through one first")
    desk = await load_desk(session, case, case.connection_id, field="case_id")
    return case, desk


async def comment(runtime: Any, principal: Principal, case_id: uuid.UUID, text: str) -> CaseEvent:
    """Our message to the vendor through its API; the case then waits on the vendor."""
    principal.require_staff()
    async with runtime.unit_of_work() as session:
        case, desk = await _api_case(session, principal, case_id)
        if case.status in (CaseStatus.draft, CaseStatus.closed):
            raise Conflict(f"the case is {case.status.value}: reopen it before writing to the vendor")
        if not desk.supports("add_comment"):
            raise Conflict(f"{desk.vendor} takes no messages through its API: {desk.why_not('add_comment')}")
        ours = (
            await session.execute(
                select(func.count())
                .select_from(CaseVendorUpdate)
                .where(CaseVendorUpdate.case_id == case.id, CaseVendorUpdate.from_vendor.is_(False))
            )
        ).scalar_one()
        reference = f"{case.api_reference}-m{ours + 1}"
        now = service.now_of(session)
        event = service.add_system_event(
            session,
            case,
            CaseEventKind.api_out,
            principal.actor,
            now,
            f"Message to {desk.vendor}: {text}",
            visible=True,
            meta={REFERENCE_KEY: reference, "state": SENDING},
        )
        await session.flush()
        row = CaseVendorUpdate(
            case_id=case.id,
            reference=reference,
            from_vendor=False,
            state=SENDING,
            event_id=event.id,
            body=text,
            created_at=now,
        )
        session.add(row)
        record(
            session,
            principal,
            AuditAction.vendor_action,
            subject_type="vendor_case",
            subject_id=case.id,
            client_id=case.client_id,
            meta={"action": "api_comment", "reference": reference, "connection_id": str(desk.connection_id)},
        )
        await session.flush()
        row_id, external_id = row.id, case.vendor_external_id
        assert external_id is not None
    await _send_comment(
        runtime, principal, desk, case_id, row_id, external_id, reference, text, look_first=False
    )
    return await _event_after(runtime, event.id)


async def retry_comment(runtime: Any, principal: Principal, case_id: uuid.UUID, event_id: int) -> CaseEvent:
    """Send again a message whose answer was lost or that failed: the vendor's list is
    looked at first, and a message found there is not sent a second time."""
    principal.require_staff()
    async with runtime.unit_of_work(write=False) as session:
        case, desk = await _api_case(session, principal, case_id)
        row = (
            await session.execute(
                select(CaseVendorUpdate).where(
                    CaseVendorUpdate.case_id == case.id, CaseVendorUpdate.event_id == event_id
                )
            )
        ).scalar_one_or_none()
        if row is None or row.from_vendor or row.reference is None:
            raise NotFound(f"no message of ours to the vendor with id {event_id} on this case")
        if row.state not in (UNKNOWN, FAILED):
            raise Conflict(f"the message is {row.state}: only an unknown or failed one is sent again")
        external_id, reference, text, row_id = case.vendor_external_id, row.reference, row.body, row.id
        assert external_id is not None
    await _send_comment(
        runtime, principal, desk, case_id, row_id, external_id, reference, text, look_first=True
    )
    return await _event_after(runtime, event_id)


async def _event_after(runtime: Any, event_id: int) -> CaseEvent:
    async with runtime.unit_of_work(write=False) as session:
        event: CaseEvent | None = await session.get(CaseEvent, event_id)
        assert event is not None
        return event


async def _find_ours(
    adapter: CaseDesk, external_id: str, reference: str, text: str
) -> CaseUpdateRecord | None:
    """Our message in the vendor's list: by the reference it was named with, else (a
    vendor that names messages itself) by its text among ours."""
    by_text = None
    async for update in adapter.list_updates(external_id):
        if update.external_id == reference:
            return update
        if not update.from_vendor and update.body.strip() == text.strip():
            by_text = update
    return by_text


async def _send_comment(
    runtime: Any,
    principal: Principal,
    desk: Desk,
    case_id: uuid.UUID,
    row_id: int,
    external_id: str,
    reference: str,
    text: str,
    *,
    look_first: bool,
) -> None:
    state, update, error = SENT, None, None
    maybe_sent = False
    try:
        async with adapter_of(runtime, desk) as adapter:
            if look_first:
                # A retry: until the vendor's list answers, the first try may have arrived.
                maybe_sent = True
                update = await _find_ours(adapter, external_id, reference, text)
                maybe_sent = False
            if update is None:
                try:
                    update = await adapter.add_comment(external_id, text, reference=reference)
                except OutcomeUnknown:
                    maybe_sent = True
                    update = await _find_ours(adapter, external_id, reference, text)
                    if update is None:
                        state = UNKNOWN
    except AdapterError as exc:
        # A message that may have reached the vendor and could not be looked up is
        # unknown (looked for again by the poller and before any retry), never resent blind.
        state = UNKNOWN if maybe_sent or isinstance(exc, OutcomeUnknown) else FAILED
        error = await note_failure(runtime, desk, case_id, "comment", exc, principal.actor)
    async with runtime.unit_of_work() as session:
        row = await session.get(CaseVendorUpdate, row_id)
        case = await session.get(VendorCase, case_id)
        assert row is not None and case is not None
        if row.state in (SENT, RECEIVED):  # the poller saw it meanwhile
            return
        row.state, row.last_error = state, error
        if update is not None and row.update_id is None:
            row.update_id = update.external_id[:200]
        event = await session.get(CaseEvent, row.event_id) if row.event_id is not None else None
        if event is not None:
            event.meta = {**event.meta, "state": state, **({"error": error} if error else {})}
        if state == SENT and case.status in (CaseStatus.open, CaseStatus.waiting_client):
            await service.move(
                session, principal, case, CaseStatus.waiting_vendor, service.now_of(session), ""
            )
    if state == FAILED:
        raise VendorFailed(error or "the vendor refused the message")


# --- status at the vendor ------------------------------------------------------------------


async def mirror_status(runtime: Any, case_id: uuid.UUID, status: CaseStatusChange) -> str:
    """Ask the vendor to close or reopen the case as we did; returns what happened:
    done, unsupported (noted on the timeline), skipped (not an api case), or failed."""
    async with runtime.unit_of_work(write=False) as session:
        case = await session.get(VendorCase, case_id)
        if case is None or case.channel is not CaseChannel.api or case.vendor_external_id is None:
            return "skipped"
        try:
            desk = await load_desk(session, case, case.connection_id)
        except InvalidInput:
            return "skipped"
        external_id = case.vendor_external_id
    if not desk.supports("set_status"):
        why = desk.why_not("set_status")
        text = f"{desk.vendor} cannot be told through its API that the case is {status.value}: {why}"
        outcome, made = "unsupported", None
    else:
        try:
            async with adapter_of(runtime, desk) as adapter:
                made = await adapter.set_status(external_id, status)
        except AdapterError as exc:
            await note_failure(runtime, desk, case_id, f"set_status {status.value}", exc, SYSTEM.actor)
            return "failed"
        text = (
            f"{desk.vendor} was told through its API that the case is {status.value} ({made.vendor_status})"
        )
        outcome = "done"
    found = await _note_outcome(
        runtime,
        case_id,
        text,
        done=outcome == "done",
        event_meta={"api_action": "set_status", "status": status.value, "outcome": outcome},
        audit_meta={"action": "api_set_status", "status": status.value, "outcome": outcome},
    )
    return outcome if found else "skipped"


async def _note_outcome(
    runtime: Any,
    case_id: uuid.UUID,
    text: str,
    *,
    done: bool,
    event_meta: dict[str, Any],
    audit_meta: dict[str, Any],
) -> bool:
    """A system action through the vendor's API, on the case's timeline (client-visible
    when the vendor got it, an internal note otherwise) and in the audit; False when the
    case is gone."""
    async with runtime.unit_of_work() as session:
        case = await session.get(VendorCase, case_id)
        if case is None:
            return False
        service.add_system_event(
            session,
            case,
            CaseEventKind.api_out if done else CaseEventKind.note,
            SYSTEM.actor,
            runtime.now(),
            text,
            visible=done,
            meta=event_meta,
        )
        record(
            session,
            SYSTEM,
            AuditAction.vendor_action,
            subject_type="vendor_case",
            subject_id=case.id,
            client_id=case.client_id,
            meta=audit_meta,
        )
    return True


async def send_evidence(runtime: Any, case_id: uuid.UUID, attachment_id: int, message: str) -> str:
    """What a failed re-check found, told through the vendor's API: the message (if the
    vendor takes messages) and the evidence file (if it takes files on an open case);
    what the vendor cannot take is said on the timeline for a person to pass on."""
    async with runtime.unit_of_work(write=False) as session:
        case = await session.get(VendorCase, case_id)
        found = await session.get(CaseAttachment, attachment_id)
        if case is None or found is None or found.case_id != case_id or case.vendor_external_id is None:
            return "gone"
        desk = await load_desk(session, case, case.connection_id)
        external_id, filename, ctype, content = (
            case.vendor_external_id,
            found.filename,
            found.content_type,
            found.content,
        )
        closed = case.status in (CaseStatus.draft, CaseStatus.closed)
    done: list[str] = []
    if desk.supports("set_status") and not closed:
        done += await _reopen_at_vendor(runtime, desk, case_id, external_id)
    if desk.supports("add_comment") and not closed:
        try:
            await comment(runtime, SYSTEM, case_id, message)
            done.append("message")
        except (VendorFailed, Conflict):
            pass  # recorded on the timeline by `comment`
    if not desk.supports("attach"):
        outcome, text = (
            "unsupported",
            f"{desk.vendor} takes no files on an open case through its API: {filename} "
            f"was not sent ({desk.why_not('attach')})",
        )
    else:
        try:
            async with adapter_of(runtime, desk) as adapter:
                await adapter.attach(external_id, filename, ctype, content)
        except AdapterError as exc:
            await note_failure(runtime, desk, case_id, f"attach {filename}", exc, SYSTEM.actor)
            return "failed"
        outcome, text = "done", f"Sent {filename} to {desk.vendor} through its API"
        done.append("file")
    found = await _note_outcome(
        runtime,
        case_id,
        text,
        done=outcome == "done",
        event_meta={"api_action": "attach", "attachment_id": attachment_id, "outcome": outcome},
        audit_meta={"action": "api_evidence", "attachment_id": attachment_id, "sent": done},
    )
    return outcome if found else "gone"


async def _reopen_at_vendor(runtime: Any, desk: Desk, case_id: uuid.UUID, external_id: str) -> list[str]:
    """A vendor that closed the case takes no more messages: the failed re-check reopens
    it there first (the vendor called it fixed; our check says it is not)."""
    try:
        async with adapter_of(runtime, desk) as adapter:
            if (await adapter.get_case(external_id)).state is not CaseState.closed:
                return []
            made = await adapter.set_status(external_id, CaseStatusChange.reopened)
    except AdapterError as exc:
        await note_failure(runtime, desk, case_id, "set_status reopened", exc, SYSTEM.actor)
        return []
    async with runtime.unit_of_work() as session:
        case = await session.get(VendorCase, case_id)
        if case is not None:
            service.add_system_event(
                session,
                case,
                CaseEventKind.api_out,
                SYSTEM.actor,
                runtime.now(),
                f"Reopened at {desk.vendor} through its API: the re-check still fails ({made.vendor_status})",
                visible=True,
                meta={"api_action": "set_status", "status": "reopened", "outcome": "done"},
            )
    return ["reopened"]


async def poll_now(runtime: Any, principal: Principal, case_id: uuid.UUID) -> VendorCase:
    """Read the case's updates at the vendor now (what the periodic poll does); a vendor
    fault is a 502 after it is recorded on the case."""
    from hub.case import api_poll

    principal.require_staff()
    async with runtime.unit_of_work(write=False) as session:
        await _api_case(session, principal, case_id)
    outcome = await api_poll.poll_case(runtime, runtime.unit_of_work, case_id, actor=principal)
    if isinstance(outcome, str):
        raise VendorFailed(outcome)
    async with runtime.unit_of_work(write=False) as session:
        return await service.cases.get(session, principal, case_id)


__all__ = [
    "REFERENCE_KEY",
    "Desk",
    "adapter_of",
    "comment",
    "load_desk",
    "mirror_status",
    "note_failure",
    "open_through_api",
    "poll_now",
    "retry_comment",
    "send_evidence",
    "set_vendor_number",
]
