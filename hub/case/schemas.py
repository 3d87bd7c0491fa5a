"""Request and response models of vendor cases, the triage queue and their jobs.

The vendor's case number is stored in `VendorCase.external_ref` and shown as
`vendor_case_number` (to staff and to the client alike)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator

from hub.api.crud import ListParams
from hub.jobs.payload import JobPayload, PeriodicPayload
from hub.kit.fields import LongText, Name
from hub.kit.schema import Input, Output
from hub.models.enums import CaseChannel, CaseEventKind, CaseSeverity, CaseStatus, MailState, TriageState

Entitlement = Field(
    None,
    max_length=40,
    description="the vendor's target: '4h', '30m', 'business_hours:8', 'nbd', 'nbd@17:00'",
)


class CaseFilters(ListParams):
    client_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    status: CaseStatus | None = None
    breaching: bool | None = Field(None, description="true: a vendor target is past due now")
    q: str | None = Field(
        None, max_length=100, description="search in the title, our token and the vendor's case number"
    )


class CaseCreate(Input):
    vendor_account_id: uuid.UUID = Field(description="the client's account with the vendor")
    title: Name | None = Field(None, description="default: from what the case is opened from")
    description: LongText = ""
    severity: CaseSeverity = CaseSeverity.normal
    channel: CaseChannel = CaseChannel.email
    # Open from what is failing: at most one of these; its evidence is attached.
    check_run_id: int | None = Field(None, ge=1, description="a failing run of one of the client's checks")
    check_id: uuid.UUID | None = Field(None, description="a failing check: its latest run is the evidence")
    asset_id: uuid.UUID | None = None
    subscription_id: uuid.UUID | None = None
    line_id: uuid.UUID | None = Field(None, description="an ISP line: circuit, addresses, probe history")
    domain_id: uuid.UUID | None = None
    to: list[str] = Field(
        default_factory=list, max_length=20, description="default: the vendor's support e-mail"
    )
    cc: list[str] = Field(default_factory=list, max_length=20)
    sla_first_response: str | None = Entitlement
    sla_resolution: str | None = Entitlement
    submit: bool = Field(False, description="true: open it now and send the vendor the first message")

    @model_validator(mode="after")
    def _one_source(self) -> CaseCreate:
        sources = ("check_run_id", "check_id", "asset_id", "subscription_id", "line_id")
        given = [n for n in sources if getattr(self, n)]
        if len(given) > 1:
            raise ValueError(f"open a case from one thing at a time, not {' and '.join(given)}")
        return self


class CaseTransition(Input):
    status: CaseStatus
    note: LongText = Field("", description="why: becomes a client-visible line of the timeline")
    skip_verification: bool = Field(
        False, description="resolve without re-running the originating check (it is re-run by default)"
    )


class CaseEventCreate(Input):
    kind: Literal["note", "call_logged", "time_spent"] = "note"
    body: LongText = ""
    minutes: int | None = Field(None, ge=1, le=24 * 60, description="time spent, minutes")
    client_visible: bool = False

    @model_validator(mode="after")
    def _minutes(self) -> CaseEventCreate:
        if self.kind == "time_spent" and self.minutes is None:
            raise ValueError("minutes: time logged needs the minutes spent")
        if self.kind == "note" and not self.body:
            raise ValueError("body: a note needs a text")
        return self


class CaseReply(Input):
    """A message to the vendor on the case's thread (through the outbox)."""

    body: LongText = Field(min_length=1)
    cc: list[str] = Field(default_factory=list, max_length=20)


class PartAsked(Input):
    part_number: str = Field(min_length=1, max_length=40)
    quantity: int = Field(1, ge=1, le=99)
    ppid: str | None = Field(None, max_length=40, description="serial of the part being replaced")


class CaseOpenViaApi(Input):
    """Open a draft case at the vendor through a connection's case API (CaseDesk)."""

    connection_id: uuid.UUID = Field(
        description="a connection whose adapter has a case API (Azure support, Dell)"
    )
    subject: str | None = Field(
        None,
        max_length=500,
        description="what the case is about at the vendor (Dell: the service tag; Azure: a resource id); "
        "default: the case's asset serial",
    )
    parts: list[PartAsked] = Field(default_factory=list, max_length=4, description="hardware dispatch parts")


class CaseComment(Input):
    """A message to the vendor through its case API."""

    body: LongText = Field(min_length=1)


class CaseEscalation(Input):
    """A person escalates: the message goes to the vendor on the case's thread, copying
    one of the vendor's escalation contacts (`Vendor.escalation_levels` with an e-mail)."""

    contact: str = Field(min_length=3, max_length=320, description="the escalation contact's e-mail")
    body: LongText = Field(min_length=1)


class CaseControls(Input):
    chasers_paused: bool


class MailProfileWrite(Input):
    language: Literal["en", "it"] = "en"
    support_email: str | None = Field(None, max_length=320)
    mail_domains: list[str] = Field(default_factory=list, max_length=20)
    case_number_patterns: list[str] = Field(default_factory=list, max_length=10)
    calendar: dict[str, Any] | None = None
    sla_first_response: str | None = Entitlement
    sla_resolution: str | None = Entitlement


class MailProfileRead(Output):
    vendor_id: uuid.UUID
    language: str
    support_email: str | None
    mail_domains: list[str]
    case_number_patterns: list[str]
    calendar: dict[str, Any] | None
    sla_first_response: str | None
    sla_resolution: str | None


# --- reads ---------------------------------------------------------------------------------


class ClockTargetRead(Output):
    target: str
    entitlement: str
    due_at: datetime
    met_at: datetime | None
    breached: bool
    paused: bool
    elapsed_minutes: int
    remaining_minutes: int


class CaseClientRead(Output):
    """What the client sees: who contacted which vendor, the vendor's clock; no notes, no
    costs, no MSP internals."""

    id: uuid.UUID
    client_id: uuid.UUID
    vendor_account_id: uuid.UUID
    title: str
    severity: CaseSeverity
    status: CaseStatus
    channel: CaseChannel
    vendor_case_number: str | None = Field(
        validation_alias=AliasChoices("vendor_case_number", "external_ref")
    )
    opened_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    vendor_sla_due_at: datetime | None
    created_at: datetime


class CaseRead(CaseClientRead):
    vendor_account_id: uuid.UUID
    subscription_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    domain_id: uuid.UUID | None
    line_id: uuid.UUID | None
    check_run_id: int | None
    description: str
    token: str | None
    language: str
    to_addresses: list[str]
    cc_addresses: list[str]
    sla_first_response: str | None
    sla_resolution: str | None
    chasers_paused: bool
    opened_by: str | None
    connection_id: uuid.UUID | None = Field(None, description="api channel: the connection following it")
    vendor_external_id: str | None = Field(None, description="api channel: the vendor's id of the case")
    api_polled_at: datetime | None = None
    api_error: str | None = Field(None, description="api channel: the last vendor fault (None once read)")
    version: int
    updated_at: datetime


class CaseEventClientRead(Output):
    id: int
    kind: CaseEventKind
    occurred_at: datetime
    actor: str
    body: str
    minutes_spent: int | None


class CaseEventRead(CaseEventClientRead):
    client_visible: bool
    mail_id: int | None
    meta: dict[str, Any]


class AttachmentRead(Output):
    id: int
    event_id: int | None
    filename: str
    content_type: str
    size: int
    sha256: str


class MailRead(Output):
    id: int
    direction: str
    kind: str
    message_id: str | None
    state: MailState
    subject: str
    recipients: list[str]
    attempts: int
    sent_at: datetime | None
    last_error: str | None
    matched_by: str | None
    created_at: datetime


class CaseDetailClientRead(CaseClientRead):
    timeline: list[CaseEventClientRead]
    attachments: list[AttachmentRead]
    clock: list[ClockTargetRead]
    minutes_charged: int


class CaseDetailRead(CaseRead):
    timeline: list[CaseEventRead]
    attachments: list[AttachmentRead]
    clock: list[ClockTargetRead]
    minutes_charged: int
    mails: list[MailRead]


class TriageFilters(ListParams):
    state: TriageState | None = TriageState.open


class TriageRead(Output):
    id: int
    mail_id: int
    reason: str
    detail: str
    state: TriageState
    case_id: uuid.UUID | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    sender: str = ""
    subject: str = ""


class TriageAssign(Input):
    case_id: uuid.UUID


class InboundResult(Output):
    outcome: Literal["filed", "triage", "dropped", "duplicate"]
    mail_id: int | None
    case_id: uuid.UUID | None
    signal: str | None = None
    reason: str | None = None


# --- jobs ----------------------------------------------------------------------------------


class SendCaseMail(PeriodicPayload, kind="case.outbox"):
    """Send what the outbox holds that is due (every minute, and right after queueing)."""


class PollCaseMailbox(PeriodicPayload, kind="case.poll"):
    """Read new mail from the cases mailbox and file it."""


class VerifyCase(JobPayload, kind="case.verify"):
    """Re-run the check a resolved case was opened from."""

    case_id: uuid.UUID


class ChaseVendors(PeriodicPayload, kind="case.chase"):
    """Follow up with silent vendors past their targets."""


class RaiseCaseAlerts(PeriodicPayload, kind="case.alerts"):
    """Tell the client's technician of breaching and unowned cases (once each)."""


class PollCaseDesks(PeriodicPayload, kind="case.api_poll"):
    """Read every open api-channel case's updates at its vendor and file what is new."""


class MirrorCaseStatus(JobPayload, kind="case.api_status"):
    """Tell the vendor's case API that we closed or reopened the case."""

    case_id: uuid.UUID
    status: Literal["closed", "reopened"]


class SendCaseEvidence(JobPayload, kind="case.api_evidence"):
    """Tell the vendor's case API what a failed re-check found, with its evidence file."""

    case_id: uuid.UUID
    attachment_id: int = Field(ge=1)
    message: str = Field(min_length=1, max_length=20_000)


class OpenOutageCases(PeriodicPayload, kind="case.line_outages"):
    """Open a case with the ISP of each line that went down (once per outage)."""
