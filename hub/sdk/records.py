"""Frozen records adapters return: vendor facts in the hub's vocabulary, never raw JSON.

Every record has an `external_id`, the vendor's stable identifier, on which sync upserts.
Money is Decimal, dates are dates, instants are aware datetimes. `schemas/records/` holds
their JSON Schema (`hub schemas export`); the conformance suite validates against it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ExternalId = Annotated[str, Field(min_length=1, max_length=200)]


class Record(BaseModel):
    """Base of every record: immutable, no unknown fields, an external id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    external_id: ExternalId


class AccountIdentity(BaseModel):
    """What `verify()` learned about the account the credentials belong to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_ref: str = Field(description="the vendor-side id the manifest names as unique")
    name: str
    details: dict[str, str] = Field(default_factory=dict)


class TenantRecord(Record):
    """A customer as the vendor knows it (Sophos tenant, Pax8 company, Microsoft 365 tenant)."""

    name: str
    status: str | None = None
    region: str | None = None
    domain: str | None = None
    billing_type: str | None = None


class SubscriptionRecord(Record):
    """Something paid for over a term (a Pax8 subscription, a Microsoft directory subscription)."""

    tenant_external_id: str | None = None
    product_external_id: str | None = None
    product_name: str
    sku: str | None = None
    quantity: int = Field(ge=0)
    unit_cost: Decimal | None = None
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    billing_term: str | None = None
    commitment_months: int | None = Field(default=None, ge=0)
    start_date: date | None = None
    end_date: date | None = None
    auto_renew: bool | None = None
    status: str


class LicenseRecord(Record):
    """A licence with its seats paid and used and its dates (Sophos, FortiGuard, Microsoft SKUs)."""

    tenant_external_id: str | None = None
    product_code: str
    product_name: str
    license_type: str | None = None
    seats_paid: int | None = Field(default=None, ge=0)
    seats_used: int | None = Field(default=None, ge=0)
    start_date: date | None = None
    end_date: date | None = None
    status: str | None = None


class AssetRecord(Record):
    """A device the vendor reports (serial number as external id)."""

    model: str | None = None
    hostname: str | None = None
    serial_number: str | None = None
    firmware_version: str | None = None


class FirmwareRecord(Record):
    """A device's running firmware and the versions its vendor offers."""

    model: str | None = None
    current_version: str
    latest_version: str | None = None
    available_versions: tuple[str, ...] = ()


class EntitlementRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service_level: str
    description: str | None = None
    kind: str | None = Field(default=None, description="e.g. INITIAL or EXTENDED")
    start_date: date | None = None
    end_date: date | None = None


class WarrantyRecord(Record):
    """A hardware warranty lookup result for one service tag (the external id)."""

    found: bool = Field(description="false when the vendor does not know the tag")
    model: str | None = None
    ship_date: date | None = None
    entitlements: tuple[EntitlementRecord, ...] = ()

    @property
    def ends_on(self) -> date | None:
        ends = [e.end_date for e in self.entitlements if e.end_date]
        return max(ends) if ends else None


class DnsZoneRecord(Record):
    name: str
    status: str | None = None


class DnsRecordRecord(Record):
    zone_external_id: str
    type: str
    name: str
    content: str
    ttl: int = Field(ge=1)
    priority: int | None = None
    proxied: bool | None = None


class DnsRecordInput(BaseModel):
    """A record to create or replace (no id: the vendor assigns it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    name: str
    content: str
    ttl: int = Field(default=1, ge=1)
    priority: int | None = None
    proxied: bool | None = None


class DnsRequirement(BaseModel):
    """A DNS record a vendor asks the domain to publish (verification, MX, autodiscover...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: str
    type: str
    name: str
    value: str
    ttl: int | None = None
    optional: bool = False


class MailDomainRecord(Record):
    """A domain of a mail tenant with its verification and service records."""

    tenant_external_id: str | None = None
    name: str
    verified: bool
    is_default: bool = False
    services: tuple[str, ...] = ()
    required_records: tuple[DnsRequirement, ...] = ()


class SupplyState(StrEnum):
    ok = "ok"
    low = "low"
    empty = "empty"
    some_remaining = "some_remaining"  # Printer-MIB -3: present, level not measurable
    unknown = "unknown"  # Printer-MIB -2
    # Receptacles that fill up (waste toner, maintenance box): full is the problem, not empty.
    almost_full = "almost_full"
    full = "full"


class SupplyRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    kind: str
    colour: str | None = None
    level: int | None = None
    max_capacity: int | None = None
    percent: int | None = Field(default=None, ge=0, le=100)
    state: SupplyState
    receptacle: bool = Field(
        default=False,
        description="a receptacle that fills (waste toner): percent is how full it is, and its "
        "states are ok, almost_full, full (never low or empty)",
    )


class PrinterStatusRecord(Record):
    """One printer's identity, counters and supplies (serial number as external id)."""

    model: str | None = None
    serial_number: str | None = None
    firmware_version: str | None = None
    page_count_total: int | None = Field(default=None, ge=0)
    page_count_mono: int | None = Field(default=None, ge=0)
    page_count_colour: int | None = Field(default=None, ge=0)
    supplies: tuple[SupplyRecord, ...] = ()
    read_at: AwareDatetime


class ProductRecord(Record):
    name: str
    vendor_name: str | None = None
    sku: str | None = None


class QuoteRecord(BaseModel):
    """What renewing (or ordering) would cost now, as the vendor prices it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subscription_external_id: str
    product_external_id: str | None = None
    quantity: int = Field(ge=1)
    unit_price: Decimal
    currency: str = Field(min_length=3, max_length=3)
    term_months: int | None = None
    valid: bool = True
    messages: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


class OrderRequest(BaseModel):
    """A renewal or purchase order. `reference` is ours, persisted before sending, and
    written into the vendor's reference field so the order can be found again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str = Field(min_length=8, max_length=80)
    tenant_external_id: str
    subscription_external_id: str | None = None
    product_external_id: str
    quantity: int = Field(ge=1)
    term_months: int | None = None
    expected_current_end: date | None = Field(
        default=None,
        description="the end of the term this order renews, as the caller knows it: a registrar "
        "refuses (or the adapter refuses before sending) a renewal of a term that has already "
        "moved on, and a lookup after a lost answer recognises the renewal by the end having moved",
    )


class OrderRecord(Record):
    """An order as the vendor shows it. An order in any state, pending included, counts as
    placed: `pending` only says the vendor has not provisioned it yet."""

    reference: str | None = None
    tenant_external_id: str | None = None
    status: str
    created_at: datetime | None = None
    subscription_external_ids: tuple[str, ...] = ()
    pending: bool | None = Field(
        default=None,
        description="true while the vendor has accepted the order but not provisioned every line "
        "(Pax8 PendingAutomated, a registrar's pendingRenew); None when the adapter did not read it",
    )
    deliverables: tuple[Deliverable, ...] = Field(
        default=(),
        description="what the order delivered that another vendor needs (a contract registration "
        "code to register at FortiCare, a licence key); empty until the vendor provisioned it",
    )


# -- renewal routes (issue 11): read-back, deliverables, registration, domains ------------------


class DeliverableKind(StrEnum):
    registration_code = "registration_code"
    """A code to register against a unit at its vendor (a FortiCare contract registration code)."""
    licence_key = "licence_key"
    vendor_subscription_id = "vendor_subscription_id"
    """The vendor's own id of what was bought (where a read-back finds it)."""


class Deliverable(BaseModel):
    """Something an order delivered that the buyer must use elsewhere (issue 11: a FortiGate
    bundle bought at the distributor yields a code that is then registered at FortiCare)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DeliverableKind
    value: str = Field(min_length=1, max_length=200)
    subscription_external_id: str | None = None
    product_external_id: str | None = None


class TermState(StrEnum):
    active = "active"
    pending = "pending"
    """The vendor accepted a change (a renewal, a registration) it has not applied yet."""
    expired = "expired"
    cancelled = "cancelled"
    unknown = "unknown"


class TermRecord(Record):
    """A term read back where it lives (a distributor subscription, a Sophos licence, a
    FortiGuard contract on the box, a FortiCare entitlement, a domain's registry expiry), to
    confirm a renewal that was ordered elsewhere. `external_id` is the ref that was read."""

    ends_on: date | None = Field(description="when the term ends as the vendor says now; None: no end known")
    starts_on: date | None = None
    state: TermState
    evidence: str = Field(
        min_length=1,
        max_length=1000,
        description="what was read, in words a person can check (vendor, object, field, value)",
    )
    read_at: AwareDatetime


class RegistrationRecord(Record):
    """A contract registered against a unit (external id: the contract registration code)."""

    serial_number: str
    contract_code: str
    contract_number: str | None = Field(default=None, description="the vendor's number for the contract")
    sku: str | None = None
    already_registered: bool = Field(
        default=False,
        description="the code was found already registered to this unit (an earlier attempt whose "
        "answer was lost): nothing new was registered",
    )
    ends_on: date | None = Field(
        default=None,
        description="the latest end date the vendor showed for the unit right after registering "
        "(entitlements may be updated later: confirm with a term read-back)",
    )
    registered_at: datetime | None = None


class DomainRecord(Record):
    """A domain held at a registrar (external id: its ASCII name, lowercase)."""

    name: str
    expires_on: date | None = None
    statuses: tuple[str, ...] = Field(default=(), description="EPP statuses as the registrar lists them")
    auto_renew: bool | None = None
    tenant_external_id: str | None = Field(default=None, description="the registrar-side owner/organisation")


# -- vendor cases (CaseDesk) ---------------------------------------------------------------
# A case opened with a vendor through its API (Azure support tickets, Dell dispatches). The
# vendor's case number is a string (prefixes, leading zeros), never an int.

CaseReference = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
"""Our reference for a case: persisted before the case is sent, written where the vendor
keeps it, and how a case whose creation answer was lost is found again. Letters, digits,
`_`, `.` and `-` only: some vendors use it as a resource name (Azure's ticket name)."""


class CaseSeverity(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    critical = "critical"


class CaseState(StrEnum):
    """A vendor's case status in the hub's vocabulary (`CaseRecord.vendor_status` keeps
    the vendor's own word)."""

    pending = "pending"
    """Accepted, not yet visible or approved (asynchronous creation, a dispatch in review)."""
    open = "open"
    """The vendor is working on it."""
    waiting_on_us = "waiting_on_us"
    """The vendor waits for us (more information asked, a dispatch denied until resubmitted)."""
    resolved = "resolved"
    """The vendor says it is done (fixed, parts shipped)."""
    closed = "closed"
    rejected = "rejected"
    """The vendor refused the request for good."""


class CaseStatusChange(StrEnum):
    """What `CaseDesk.set_status` may ask."""

    closed = "closed"
    reopened = "reopened"


class CaseUpdateKind(StrEnum):
    comment = "comment"
    """A message on the case (ours or the vendor's)."""
    status_change = "status_change"
    """The vendor changed the case's status (approved, shipped, denied...)."""


class CaseContact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, max_length=40)


class CaseAttachment(BaseModel):
    """A file sent with a case (evidence: a check's raw answers, a screenshot, a log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str = Field(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$")
    content_type: str = Field(min_length=3, max_length=200, pattern=r"^[\w.+-]+/[\w.+-]+$")
    content: bytes = Field(max_length=4 * 1024 * 1024)


class PartRequest(BaseModel):
    """A replacement part asked for in a hardware dispatch (the vendor's part code)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    part_number: str = Field(min_length=1, max_length=40)
    quantity: int = Field(default=1, ge=1, le=99)
    ppid: str | None = Field(default=None, max_length=40, description="serial of the part being replaced")


class CaseRequest(BaseModel):
    """A case to open. Fields a vendor has no place for are folded into the description
    by the adapter; a field it requires and the request lacks is a `Rejected` before
    anything is sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: CaseReference
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=20_000)
    severity: CaseSeverity = CaseSeverity.normal
    category: str | None = Field(
        default=None,
        max_length=500,
        description="the vendor's problem category (Azure: a problem classification id)",
    )
    subject: str | None = Field(
        default=None,
        max_length=500,
        description="what the case is about at the vendor (Dell: a service tag; Azure: a resource id)",
    )
    contact: CaseContact | None = None
    parts: tuple[PartRequest, ...] = Field(default=(), max_length=10)
    onsite: bool = Field(default=False, description="a technician on site is asked for (hardware)")
    attachments: tuple[CaseAttachment, ...] = Field(default=(), max_length=10)


class CaseRecord(Record):
    """A case at the vendor. `external_id` is what `get_case` takes (Azure: the ticket
    name; Dell: the work order); `case_number` is the number the vendor's people quote,
    which may arrive later than the case (asynchronous assignment)."""

    reference: str | None = None
    case_number: str | None = Field(default=None, max_length=120)
    title: str | None = None
    state: CaseState
    vendor_status: str = Field(description="the vendor's own status word")
    severity: str | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    vendor_due_at: AwareDatetime | None = Field(
        default=None, description="the vendor's own SLA deadline, if it says"
    )
    assignee: str | None = None
    details: dict[str, str] = Field(default_factory=dict)


class CaseUpdateRecord(Record):
    """One entry of a case's timeline at the vendor. `external_id` is stable across reads:
    callers de-duplicate on it (`list_updates(since=...)` may repeat entries)."""

    case_external_id: str
    kind: CaseUpdateKind
    from_vendor: bool
    occurred_at: AwareDatetime | None = Field(
        default=None, description="when the vendor says it happened; None when it does not say (Dell)"
    )
    author: str | None = None
    subject: str | None = None
    body: str = ""
    status: str | None = Field(default=None, description="the vendor's status word, for a status change")


__all__ = [
    "AccountIdentity",
    "AssetRecord",
    "CaseAttachment",
    "CaseContact",
    "CaseRecord",
    "CaseReference",
    "CaseRequest",
    "CaseSeverity",
    "CaseState",
    "CaseStatusChange",
    "CaseUpdateKind",
    "CaseUpdateRecord",
    "Deliverable",
    "DeliverableKind",
    "DnsRecordInput",
    "DnsRecordRecord",
    "DnsRequirement",
    "DnsZoneRecord",
    "DomainRecord",
    "EntitlementRecord",
    "FirmwareRecord",
    "LicenseRecord",
    "MailDomainRecord",
    "OrderRecord",
    "OrderRequest",
    "PartRequest",
    "PrinterStatusRecord",
    "ProductRecord",
    "QuoteRecord",
    "Record",
    "RegistrationRecord",
    "SubscriptionRecord",
    "SupplyRecord",
    "SupplyState",
    "TenantRecord",
    "TermRecord",
    "TermState",
    "WarrantyRecord",
]
