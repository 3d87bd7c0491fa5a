"""Case requests -> Azure ticket bodies, and Azure tickets and communications -> hub
records (pure functions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.sdk.errors import InvalidResponse, Rejected
from hub.sdk.records import (
    CaseRecord,
    CaseRequest,
    CaseSeverity,
    CaseState,
    CaseUpdateKind,
    CaseUpdateRecord,
)

from .api import Communication, Ticket
from .config import CLASSIFICATION, AzureSupportConfig

SEVERITIES = {
    CaseSeverity.low: "minimal",
    CaseSeverity.normal: "moderate",
    CaseSeverity.high: "critical",
    CaseSeverity.critical: "critical",
}
CLOSED = {"closed"}
OPEN = {"open", "updating"}


def azure_severity(severity: CaseSeverity, config: AzureSupportConfig) -> str:
    if severity is CaseSeverity.critical and config.highest_critical_impact:
        return "highestcriticalimpact"
    return SEVERITIES[severity]


def classification_of(request: CaseRequest, config: AzureSupportConfig) -> tuple[str, str]:
    """(serviceId, problemClassificationId) for the request; a `Rejected` naming the field
    before anything is sent when there is none or it is malformed."""
    chosen = request.category or config.default_problem_classification_id
    if not chosen:
        raise Rejected(
            "Azure support needs a problem classification: set the case's category "
            "(or the connection's default_problem_classification_id)"
        )
    match = CLASSIFICATION.match(chosen)
    if match is None:
        raise Rejected(
            "category: not an Azure problem classification id "
            "(/providers/Microsoft.Support/services/{service}/problemClassifications/{id})"
        )
    return f"/providers/Microsoft.Support/services/{match.group('service')}", chosen


def ticket_body(request: CaseRequest, config: AzureSupportConfig, workspace: str | None) -> dict[str, Any]:
    """The PUT body of a new ticket. Azure has no place for parts or an on-site request:
    they are folded into the description, as is the contact's phone."""
    service_id, classification = classification_of(request, config)
    contact = config.contact
    first, last, email, phone = contact.first_name, contact.last_name, contact.email, contact.phone
    if request.contact is not None:
        given, _, family = request.contact.name.rpartition(" ")
        first, last = (given or request.contact.name), (family if given else contact.last_name)
        email, phone = request.contact.email, request.contact.phone or phone
    lines = [request.description]
    if request.parts:
        lines.append("Parts: " + ", ".join(f"{p.quantity} x {p.part_number}" for p in request.parts))
    if request.onsite:
        lines.append("An engineer on site is requested.")
    contact_details: dict[str, Any] = {
        "firstName": first,
        "lastName": last,
        "primaryEmailAddress": email,
        "preferredContactMethod": "email",
        "preferredTimeZone": contact.time_zone,
        "country": contact.country.lower(),
        "preferredSupportLanguage": contact.language,
    }
    if phone:
        contact_details["phoneNumber"] = phone
    properties: dict[str, Any] = {
        "serviceId": service_id,
        "problemClassificationId": classification,
        "title": request.title,
        "description": "\n\n".join(lines),
        "severity": azure_severity(request.severity, config),
        "advancedDiagnosticConsent": config.advanced_diagnostic_consent,
        "contactDetails": contact_details,
    }
    if request.subject and request.subject.lower().startswith("/subscriptions/"):
        properties["technicalTicketDetails"] = {"resourceId": request.subject}
    if workspace:
        properties["fileWorkspaceName"] = workspace
    return {"properties": properties}


def parse_instant(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidResponse(f"unexpected {what}: not an ISO 8601 instant") from None
    if parsed.tzinfo is None:
        raise InvalidResponse(f"unexpected {what}: an instant without a time zone")
    return parsed


def case_state(status: str | None, number: str | None) -> CaseState:
    word = (status or "").strip().lower()
    if word in CLOSED:
        return CaseState.closed
    if word in OPEN and number:
        return CaseState.open
    # "Creating" while the long-running creation runs, or no ticket number yet.
    return CaseState.pending


def case_record(ticket: Ticket) -> CaseRecord:
    p = ticket.properties
    sla = p.serviceLevelAgreement
    details = {
        k: v
        for k, v in {
            "service": p.serviceDisplayName,
            "problem_classification": p.problemClassificationDisplayName,
            "support_plan": p.supportPlanDisplayName,
            "file_workspace": p.fileWorkspaceName,
        }.items()
        if v
    }
    return CaseRecord(
        external_id=ticket.name,
        # The ticket name is our reference: we chose it when creating the ticket.
        reference=ticket.name,
        case_number=p.supportTicketId or None,
        title=p.title,
        state=case_state(p.status, p.supportTicketId),
        vendor_status=p.status or "unknown",
        severity=p.severity,
        created_at=parse_instant(p.createdDate, "ticket createdDate"),
        updated_at=parse_instant(p.modifiedDate, "ticket modifiedDate"),
        vendor_due_at=parse_instant(
            sla.expirationTime if sla else None, "serviceLevelAgreement.expirationTime"
        ),
        assignee=(p.supportEngineer.emailAddress if p.supportEngineer else None) or None,
        details=details,
    )


def update_record(ticket_name: str, communication: Communication, our_sender: str) -> CaseUpdateRecord:
    """A communication as a timeline entry. Direction is the customer's point of view in
    Azure's examples (a message we add reads `outbound`), so `inbound` is Microsoft's; a
    message from our own sender address is ours whatever the direction says."""
    p = communication.properties
    ours = (p.sender or "").strip().lower() == our_sender.strip().lower()
    direction = (p.communicationDirection or "").strip().lower()
    from_vendor = not ours and (direction == "inbound" or not direction)
    return CaseUpdateRecord(
        external_id=communication.name,
        case_external_id=ticket_name,
        kind=CaseUpdateKind.comment,
        from_vendor=from_vendor,
        occurred_at=parse_instant(p.createdDate, "communication createdDate"),
        author=p.sender,
        subject=p.subject,
        body=p.body or "",
    )


__all__ = [
    "azure_severity",
    "case_record",
    "case_state",
    "classification_of",
    "parse_instant",
    "ticket_body",
    "update_record",
]
