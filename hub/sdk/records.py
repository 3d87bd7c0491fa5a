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


__all__ = [
    "AccountIdentity",
    "AssetRecord",
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
