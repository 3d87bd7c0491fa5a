"""Opening a draft case through a vendor's API (`hub.sdk.CaseDesk`: Azure support tickets,
Dell Self-Dispatch), the channel=api counterpart of `service.submit`'s first e-mail.

The smallest honest path, in three steps so that no transaction is held open across the
vendor call: (1) our reference is persisted on the case's timeline before anything is
sent; (2) the adapter opens the case (when the answer is lost, `find_case` looks for our
reference before anything is sent again); (3) the vendor's case number is recorded, the
case is opened and waits on the vendor, its clock running. Updates from the vendor's API
(`list_updates`) are not polled yet: the case is followed by hand after that."""

from __future__ import annotations

import uuid
from typing import Any

from hub.audit.service import record
from hub.auth.principal import Principal
from hub.case import service
from hub.errors import Conflict, InvalidInput
from hub.models import VendorCase
from hub.models.enums import AuditAction, CaseChannel, CaseEventKind, CaseStatus
from hub.sdk import CaseDesk, OutcomeUnknown
from hub.sdk.records import CaseRecord, CaseRequest, CaseSeverity, PartRequest

REFERENCE_KEY = "api_reference"


async def open_through_api(
    runtime: Any,
    principal: Principal,
    case_id: uuid.UUID,
    connection_id: uuid.UUID,
    *,
    subject: str | None = None,
    parts: tuple[PartRequest, ...] = (),
) -> VendorCase:
    """Send a draft api-channel case through the connection's CaseDesk; returns the case
    (waiting on the vendor, with the vendor's case number)."""
    principal.require_staff()
    async with runtime.unit_of_work() as session:
        case = await service.cases.get(session, principal, case_id)
        if case.channel is not CaseChannel.api:
            raise InvalidInput("channel", "only a case on the api channel is opened through a vendor API")
        if case.status is not CaseStatus.draft:
            raise Conflict(f"the case is {case.status.value}: only a draft is opened through the API")
        reference = f"{runtime.settings.case.token_prefix}-{case.token}"
        sent_at = service.now_of(session)
        # Persisted before the call: a lost answer is reconciled by this reference.
        service.add_system_event(
            session,
            case,
            CaseEventKind.note,
            principal.actor,
            sent_at,
            f"Opening the case through the vendor's API (our reference {reference})",
            visible=False,
            meta={REFERENCE_KEY: reference, "connection_id": str(connection_id)},
        )
        request = CaseRequest(
            reference=reference,
            title=case.title[:200],
            description=case.description or case.title,
            severity=CaseSeverity(case.severity.value),
            subject=subject,
            parts=parts,
        )
    spec, config = await runtime.connections.load(connection_id)
    async with runtime.connections.open(spec, config, connection_id) as adapter:
        if not isinstance(adapter, CaseDesk):
            raise InvalidInput("connection_id", f"{spec.manifest.slug} cannot open cases through its API")
        try:
            made: CaseRecord = await adapter.open_case(request)
        except OutcomeUnknown:
            found = await adapter.find_case(reference, like=request, placed_after=sent_at)
            if found is None:
                raise
            made = found
    async with runtime.unit_of_work() as session:
        case = await service.cases.get(session, principal, case_id)
        case.external_ref = made.case_number or made.external_id
        now = service.now_of(session)
        service.add_system_event(
            session,
            case,
            CaseEventKind.note,
            principal.actor,
            now,
            f"Opened at the vendor through its API: case {case.external_ref} ({made.vendor_status})",
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


__all__ = ["REFERENCE_KEY", "open_through_api"]
