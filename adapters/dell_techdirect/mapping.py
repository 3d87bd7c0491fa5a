"""Dell assets -> WarrantyRecord; case requests -> dispatches and work orders -> case
records (pure functions)."""

from __future__ import annotations

import re
from datetime import date

from hub.sdk.errors import InvalidResponse, Rejected
from hub.sdk.parsing import parse_date
from hub.sdk.records import (
    CaseRecord,
    CaseRequest,
    CaseState,
    CaseUpdateKind,
    CaseUpdateRecord,
    EntitlementRecord,
    WarrantyRecord,
)

from .api import Asset
from .config import DellDispatchConfig
from .dispatch_api import MAX_NOTE, MAX_PARTS, Attachment, Created, NewDispatch, Part, Status

# Dell service tags are 7 characters today, 5 on old systems; anything else cannot be a
# tag, and a comma would split the warranty API's query string.
TAG = re.compile(r"^[A-Z0-9]{5,20}$")


def not_found(tag: str) -> WarrantyRecord:
    return WarrantyRecord(external_id=tag, found=False)


def warranty(tag: str, assets: list[Asset]) -> WarrantyRecord:
    """One record for a tag from every asset Dell returned for it (a `duplicated` tag may
    come back more than once: their entitlements are merged)."""
    known = [a for a in assets if not a.invalid]
    if not known:
        return not_found(tag)
    entitlements = {
        EntitlementRecord(
            service_level=(e.service_level_code or "").strip() or "unknown",
            description=e.service_level_description,
            kind=e.entitlement_type.upper() if e.entitlement_type else None,
            start_date=parse_date(e.start_date, what="entitlement startDate"),
            end_date=parse_date(e.end_date, what="entitlement endDate"),
        )
        for asset in known
        for e in asset.entitlements or []
    }
    first = known[0]
    ship_dates = [d for d in (parse_date(a.ship_date, what="shipDate") for a in known) if d]
    return WarrantyRecord(
        external_id=tag,
        found=True,
        model=first.product_line_description or first.system_description or first.product_family,
        ship_date=min(ship_dates) if ship_dates else None,
        entitlements=tuple(
            sorted(
                entitlements,
                key=lambda e: (
                    e.start_date or e.end_date or _EPOCH,
                    e.end_date or _EPOCH,
                    e.service_level,
                    e.kind or "",
                ),
            )
        ),
    )


_EPOCH = date.min


# -- Self-Dispatch (CaseDesk) -------------------------------------------------------------
# Dell's work-order statuses as its own tools group them: "submitted and under review",
# "approved" (a DPS number exists), "shipped", "denied" (resubmittable), "claims".
_NOT_SUBMITTED = {"start", "pending request", "pending 2"}
_APPROVED = {"issued", "issues", "dsp", "ord", "que"}
_SHIPPED = {"shipped parts"}
_DENIED = {"dispatch denied"}
_CLAIMS = {
    "claim submitted",
    "parts returned/claim submitted",
    "moved_to_claims_process",
    "defective part received",
}


def dispatch_state(status: str | None) -> CaseState:
    word = (status or "").strip().lower()
    if word in _APPROVED:
        return CaseState.open
    if word in _SHIPPED:
        return CaseState.resolved
    if word in _DENIED:
        return CaseState.waiting_on_us
    if word in _CLAIMS:
        return CaseState.closed
    # Submitted and in one of Dell's review queues (Parts Review, L2 Review, SBD, HOLD...),
    # not yet submitted (START, Pending Request), or a word we do not know yet.
    return CaseState.pending


def _details(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


def dispatch_created(created: Created, reference: str, service_tag: str) -> CaseRecord:
    if not created.code:
        raise InvalidResponse("CreateDispatch succeeded without a DispatchCode")
    return CaseRecord(
        external_id=created.code,
        reference=reference,
        state=dispatch_state(created.status),
        vendor_status=created.status or "unknown",
        details=_details(dispatch_id=created.dispatch_id, service_tag=service_tag, work_order=created.code),
    )


def dispatch_record(code: str, status: Status, *, reference: str | None = None) -> CaseRecord:
    """A work order as GetDispatchStatus sees it: the Dell DPS number (what Dell's people
    quote) arrives once the order is approved, the waybill once parts ship."""
    return CaseRecord(
        external_id=code,
        reference=reference,
        case_number=status.dps_number,
        state=dispatch_state(status.status),
        vendor_status=status.status or "unknown",
        details=_details(
            work_order=status.code or code, waybill=status.waybill, denied_reason=status.denied_reason
        ),
    )


def status_update(code: str, status: Status) -> CaseUpdateRecord:
    """The current status as a timeline entry. Dell keeps no history and no dates: the id
    is the status itself (with the DPS number and waybill), so each new state is a new
    entry and re-reading an unchanged one is not."""
    word = status.status or "unknown"
    key = "/".join(part for part in (word, status.dps_number, status.waybill) if part)
    lines = [f"Dell status: {word}"]
    if status.dps_number:
        lines.append(f"Dell dispatch number (DPS): {status.dps_number}")
    if status.waybill:
        lines.append(f"Waybill: {status.waybill}")
    if status.denied_reason:
        lines.append(f"Denied: {status.denied_reason}")
    return CaseUpdateRecord(
        external_id=f"{code}:{key}"[:200],
        case_external_id=code,
        kind=CaseUpdateKind.status_change,
        from_vendor=True,
        author="Dell",
        body="\n".join(lines),
        status=word,
    )


def new_dispatch(request: CaseRequest, config: DellDispatchConfig) -> NewDispatch:
    """The dispatch for a case request; `Rejected` naming the field before anything is
    sent when Dell would refuse it. A description longer than Dell's 1000-character note
    is cut there and sent whole as an attachment."""
    tag = (request.subject or "").strip().upper()
    if not TAG.match(tag):
        raise Rejected("subject: a Dell dispatch needs the service tag (5 to 20 letters and digits)")
    if not 1 <= len(request.parts) <= MAX_PARTS:
        raise Rejected(f"parts: a Dell dispatch asks for 1 to {MAX_PARTS} parts")
    contact = request.contact
    phone = (contact.phone if contact else None) or config.contact_phone
    full = f"{request.title}\n\n{request.description}".strip()
    attachments = [Attachment(a.filename, a.content_type, a.content, a.filename) for a in request.attachments]
    note = full
    if len(full) > MAX_NOTE:
        marker = " [...] (full text attached: case-description.txt)"
        note = full[: MAX_NOTE - len(marker)] + marker
        attachments.append(
            Attachment("case-description.txt", "text/plain", full.encode(), "Full troubleshooting notes")
        )
    return NewDispatch(
        service_tag=tag,
        reference=request.reference,
        note=note,
        parts=tuple(Part(p.part_number.strip().upper(), p.quantity, p.ppid) for p in request.parts),
        onsite=request.onsite,
        contact_name=contact.name if contact else config.contact_name,
        contact_phone=phone,
        contact_email=contact.email if contact else config.contact_email,
        attachments=tuple(attachments),
    )


__all__ = [
    "TAG",
    "dispatch_created",
    "dispatch_record",
    "dispatch_state",
    "new_dispatch",
    "not_found",
    "status_update",
    "warranty",
]
