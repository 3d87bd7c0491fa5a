"""Capabilities: what an adapter can do, as Protocols (nouns; their methods are verbs).

A manifest declares its capabilities; the conformance suite checks the adapter really
implements each declared Protocol and exercises it against the simulator. List methods
are async iterators so that a 30,000-subscription partner streams page by page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from hub.sdk.records import (
    AccountIdentity,
    AssetRecord,
    CaseRecord,
    CaseRequest,
    CaseSeverity,
    CaseStatusChange,
    CaseUpdateRecord,
    DnsRecordInput,
    DnsRecordRecord,
    DnsZoneRecord,
    DomainRecord,
    FirmwareRecord,
    LicenseRecord,
    MailDomainRecord,
    OrderRecord,
    OrderRequest,
    PrinterStatusRecord,
    QuoteRecord,
    RegistrationRecord,
    SubscriptionRecord,
    TenantRecord,
    TermRecord,
    WarrantyRecord,
)


class Capability(StrEnum):
    tenants = "tenants"
    subscriptions = "subscriptions"
    license_usage = "license_usage"
    assets = "assets"
    firmware = "firmware"
    warranty = "warranty"
    dns_zones = "dns_zones"
    dns_write = "dns_write"
    mail_domains = "mail_domains"
    printer_status = "printer_status"
    renewal = "renewal"
    case_desk = "case_desk"
    # renewal routes (issue 11): order at one connection, confirm at another
    term_readback = "term_readback"
    registration = "registration"
    order_tracking = "order_tracking"
    domains = "domains"


@runtime_checkable
class Adapter(Protocol):
    """What every adapter does: prove its credentials work and release what it holds."""

    async def verify(self) -> AccountIdentity:
        """Call the vendor with the configured credentials and say whose account it is.

        Raises `AuthenticationFailed` for refused credentials, `ConfigurationError` when
        they work but point somewhere unusable."""
        ...

    async def aclose(self) -> None:
        """Release per-instance resources (not the shared HTTP client)."""
        ...


@runtime_checkable
class TenantSource(Protocol):
    def list_tenants(self) -> AsyncIterator[TenantRecord]:
        """Every customer tenant this (partner) account manages."""
        ...


@runtime_checkable
class SubscriptionSource(Protocol):
    def list_subscriptions(self, tenant_external_id: str | None = None) -> AsyncIterator[SubscriptionRecord]:
        """Every subscription, or those of one tenant."""
        ...


@runtime_checkable
class LicenseUsageSource(Protocol):
    def list_licenses(self, tenant_external_id: str | None = None) -> AsyncIterator[LicenseRecord]:
        """Licences with seats paid/used and dates, for all tenants or one."""
        ...


@runtime_checkable
class AssetSource(Protocol):
    def list_assets(self) -> AsyncIterator[AssetRecord]: ...


@runtime_checkable
class FirmwareSource(Protocol):
    def list_firmware(self) -> AsyncIterator[FirmwareRecord]:
        """Running and available firmware of every device behind this connection."""
        ...


@runtime_checkable
class WarrantyLookup(Protocol):
    max_batch: int

    async def lookup_warranties(self, service_tags: Sequence[str]) -> list[WarrantyRecord]:
        """One record per requested tag, in any order; unknown tags come back with
        `found=False`. Batches larger than the vendor's limit are split by the adapter."""
        ...


@runtime_checkable
class DnsZoneSource(Protocol):
    def list_zones(self) -> AsyncIterator[DnsZoneRecord]: ...

    def list_records(self, zone_external_id: str) -> AsyncIterator[DnsRecordRecord]: ...


@runtime_checkable
class DnsRecordWriter(Protocol):
    async def create_record(self, zone_external_id: str, record: DnsRecordInput) -> DnsRecordRecord:
        """Create a record; an identical existing record is returned, not duplicated."""
        ...

    async def update_record(
        self, zone_external_id: str, record_external_id: str, record: DnsRecordInput
    ) -> DnsRecordRecord: ...

    async def delete_record(self, zone_external_id: str, record_external_id: str) -> None:
        """Delete; deleting a record that is already gone is not an error."""
        ...


@runtime_checkable
class MailTenantSource(Protocol):
    def list_mail_domains(self) -> AsyncIterator[MailDomainRecord]: ...


@runtime_checkable
class PrinterStatusSource(Protocol):
    def list_printers(self) -> AsyncIterator[PrinterStatusRecord]: ...


@runtime_checkable
class Renewer(Protocol):
    """Orders renewals. `place_order` is not idempotent at most vendors: the caller
    persists `request.reference` first and, on `OutcomeUnknown`, calls `find_order`
    before anything is sent again.

    `find_order` has three outcomes, and only one of them allows a resend:

    - an `OrderRecord`: an order exists (in any state: a pending, unprovisioned order
      counts as placed). Never send again.
    - `None`: the listing the adapter read proves that no such order exists (it was
      complete, current, and would show the order if it had been placed). Sending again
      cannot duplicate it.
    - `AbsenceUnproven` (raised): nothing was found but the read proves nothing (a list
      that may lag behind, a renewal still processing, no hints to match on). Never send
      again on it: look again after its `retry_after`, and past a bounded wait escalate
      to a person with its `evidence`.

    Callers pass `like=` (the request as sent) and `placed_after=` (when it was FIRST
    sent, taken before the send) on every call: orders a vendor stored without our
    reference are matched on them, and without them an adapter proves absence only where
    its listing proves it by itself (Pax8: the company has no order at all, or the vendor
    visibly keeps our references); otherwise it raises `AbsenceUnproven`. An adapter
    whose vendor's order list lags behind creation declares `order_visibility_lag`
    (a `timedelta`, see `order_visibility_lag()`); it raises `AbsenceUnproven` before
    `placed_after + order_visibility_lag` rather than trust a list that may not show
    the order yet. The caller's own bounded wait must still exceed it: a vendor's true
    lag cannot be known, only declared."""

    async def quote(self, subscription_external_id: str, quantity: int | None = None) -> QuoteRecord: ...

    async def validate_order(self, request: OrderRequest) -> QuoteRecord:
        """Ask the vendor to check the order without placing it (dry run)."""
        ...

    async def place_order(self, request: OrderRequest) -> OrderRecord: ...

    async def find_order(
        self,
        reference: str,
        tenant_external_id: str,
        *,
        like: OrderRequest | None = None,
        placed_after: datetime | None = None,
    ) -> OrderRecord | None:
        """The order placed with our `reference`; None only on proof that none exists;
        `AbsenceUnproven` when neither can be said (see the class docstring).

        `like` (the request as it was sent) and `placed_after` (when it was first sent)
        let adapters whose vendor may not keep our reference (Pax8 has no reference
        field; a registrar's renew takes none) match company, product, subscription,
        quantity and creation time instead, less a documented clock-skew allowance.
        Without them such an adapter cannot prove absence."""
        ...

    async def get_subscription(self, subscription_external_id: str) -> SubscriptionRecord: ...


# -- vendor cases ---------------------------------------------------------------------------


@runtime_checkable
class CaseDesk(Protocol):
    """Opens and follows cases with a vendor through its API.

    `open_case` is not idempotent at most vendors: the caller persists `request.reference`
    first and, on `OutcomeUnknown`, calls `find_case` before anything is sent again. The
    adapter writes the reference where the vendor keeps it (a resource name, a title
    prefix, a custom or purchase-order field). Operations the vendor does not offer raise
    `UnsupportedOperation` and are listed, with the reason, in the manifest's
    `unsupported_operations` (only those of `OPTIONAL_OPERATIONS`)."""

    async def open_case(self, request: CaseRequest) -> CaseRecord:
        """Open the case (with the request's attachments where the vendor takes them at
        creation). The record may be `pending` with no `case_number` yet: vendors that
        create cases asynchronously assign it later (`get_case` shows it)."""
        ...

    async def find_case(
        self, reference: str, *, like: CaseRequest | None = None, placed_after: datetime | None = None
    ) -> CaseRecord | None:
        """The case opened with our `reference`, or None when the vendor has none.

        `like` (the request as sent) and `placed_after` (when it was first sent) are hints
        for vendors whose read API does not return the reference: the adapter may then
        match the subject and creation time instead (and says so in its README)."""
        ...

    async def get_case(self, external_id: str) -> CaseRecord:
        """The case now; `NotFound` when the vendor does not know it."""
        ...

    async def add_comment(
        self, external_id: str, text: str, *, reference: str | None = None
    ) -> CaseUpdateRecord:
        """Add our message to the case. `reference` (persisted first by the caller) makes
        a retry after `OutcomeUnknown` safe where the vendor lets us name the message:
        the update then has it as `external_id`, to be looked for in `list_updates`."""
        ...

    async def set_status(self, external_id: str, status: CaseStatusChange) -> CaseRecord:
        """Close the case, or reopen it, where the vendor allows it."""
        ...

    async def set_severity(self, external_id: str, severity: CaseSeverity) -> CaseRecord: ...

    def list_updates(
        self, external_id: str, since: datetime | None = None
    ) -> AsyncIterator[CaseUpdateRecord]:
        """The case's timeline at the vendor (messages both ways, status changes), oldest
        first. `since` is a hint: at least every update after it comes back, maybe more;
        callers de-duplicate on `external_id`."""
        ...

    async def attach(self, external_id: str, filename: str, content_type: str, content: bytes) -> None:
        """Add a file to an existing case."""
        ...


OPTIONAL_OPERATIONS: dict[Capability, frozenset[str]] = {
    Capability.case_desk: frozenset({"add_comment", "set_status", "set_severity", "attach"}),
}
"""Operations of a capability an adapter may refuse with `UnsupportedOperation`, when its
manifest lists them in `unsupported_operations` with the reason."""


def order_visibility_lag(adapter: object) -> timedelta:
    """How long after a send the adapter's vendor may still not list the order, as the
    adapter declares it (`order_visibility_lag` attribute); zero when it declares none."""
    lag = getattr(adapter, "order_visibility_lag", None)
    return lag if isinstance(lag, timedelta) else timedelta(0)


# -- renewal routes (issue 11): confirm where the term lives, register what was bought ---------


@runtime_checkable
class TermReadBack(Protocol):
    """Reads a term back where it lives, to confirm a renewal ordered at another connection
    (ordered at Pax8, confirmed by the Sophos licence's end date or the FortiGate's
    FortiGuard expiry). What `ref` names is the adapter's to document (a subscription id,
    a licence id, a service on the box, a unit's serial, a domain name)."""

    async def read_term(self, ref: str) -> TermRecord:
        """The term as the vendor shows it now. Raises `NotFound` when the vendor does not
        know `ref`; a term not yet moved is a record with the old `ends_on`, not an error."""
        ...


@runtime_checkable
class ContractRegistrar(Protocol):
    """Registers a contract bought elsewhere (a FortiCare contract registration code from
    the distributor) against the unit it covers."""

    async def register_contract(self, serial: str, contract_code: str) -> RegistrationRecord:
        """Idempotent from the caller's view: a code already registered to this serial
        returns that registration (`already_registered=True`), so it is safe to call again
        after `OutcomeUnknown`; a code registered to another unit, a used or unknown code,
        or an unknown serial raise `Rejected` naming which."""
        ...


@runtime_checkable
class OrderTracker(Protocol):
    async def get_order(self, order_external_id: str, tenant_external_id: str) -> OrderRecord:
        """The order as the vendor shows it now: `pending` until provisioned, and its
        `deliverables` (registration codes, licence keys) once the vendor issued them."""
        ...


@runtime_checkable
class DomainSource(Protocol):
    def list_domains(self) -> AsyncIterator[DomainRecord]:
        """Every domain the registrar account holds, with its registry expiry."""
        ...


PROTOCOLS: dict[Capability, tuple[type, ...]] = {
    Capability.tenants: (TenantSource,),
    Capability.subscriptions: (SubscriptionSource,),
    Capability.license_usage: (LicenseUsageSource,),
    Capability.assets: (AssetSource,),
    Capability.firmware: (FirmwareSource,),
    Capability.warranty: (WarrantyLookup,),
    Capability.dns_zones: (DnsZoneSource,),
    Capability.dns_write: (DnsZoneSource, DnsRecordWriter),
    Capability.mail_domains: (MailTenantSource,),
    Capability.printer_status: (PrinterStatusSource,),
    Capability.renewal: (Renewer,),
    Capability.case_desk: (CaseDesk,),
    Capability.term_readback: (TermReadBack,),
    Capability.registration: (ContractRegistrar,),
    Capability.order_tracking: (OrderTracker,),
    Capability.domains: (DomainSource,),
}
"""The Protocols an adapter must implement for each declared capability."""


__all__ = [
    "OPTIONAL_OPERATIONS",
    "PROTOCOLS",
    "Adapter",
    "AssetSource",
    "Capability",
    "CaseDesk",
    "ContractRegistrar",
    "DnsRecordWriter",
    "DnsZoneSource",
    "DomainSource",
    "FirmwareSource",
    "LicenseUsageSource",
    "MailTenantSource",
    "OrderTracker",
    "PrinterStatusSource",
    "Renewer",
    "SubscriptionSource",
    "TenantSource",
    "TermReadBack",
    "WarrantyLookup",
    "order_visibility_lag",
]
