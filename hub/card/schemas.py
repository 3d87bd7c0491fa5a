"""The "who to call" card: staff see it whole (`Card`); a client user sees `ClientCard`:
the channels and whether they are open, the SLA, escalation, its account numbers, its open
cases and what depends on the vendor; never whether a PIN is on file, the vendor-side
tenant id, the MSP's notes, or any cost."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from pydantic import Field

from hub.kit.schema import Input, Output
from hub.models.enums import (
    AssetKind,
    CaseChannel,
    CaseSeverity,
    CaseStatus,
    SubscriptionStatus,
    SupportChannelKind,
    VendorCategory,
)

# -- parts shown to everyone ----------------------------------------------------------------


class CardClient(Output):
    id: uuid.UUID
    name: str
    slug: str


class CardVendor(Output):
    id: uuid.UUID
    name: str
    category: VendorCategory
    website: str | None


class ClientChannelStatus(Output):
    kind: SupportChannelKind
    value: str
    label: str
    timezone: str
    hours: str = Field(description="opening hours in the vendor's time zone, e.g. 'Mon-Fri 08:30-18:00'")
    levels: list[str] = Field(description="support levels the channel is reserved to (empty: everyone)")
    entitled: bool = Field(description="this client holds a level the channel serves")
    open_now: bool | None = Field(description="null when the stored hours cannot be read")
    local_time: str = Field(description="the vendor's wall clock now")
    closes_at: datetime | None
    opens_at: datetime | None = Field(description="when it next opens, if closed now")
    problem: str | None = None


class ChannelStatus(ClientChannelStatus):
    notes: str


class SlaAsset(Output):
    id: uuid.UUID
    name: str
    serial: str | None
    warranty_ends_on: date


class Sla(Output):
    source: str = Field(description="account (the contract's level), warranty (assets'), or vendor_default")
    level: str | None = Field(description="the level as the contract or warranty names it")
    matched_level: str | None = Field(description="the vendor's SLA level it matched (null: none known)")
    vendor_account_id: uuid.UUID | None = None
    assets: list[SlaAsset] = Field(
        default_factory=list, description="the assets under warranty at this level"
    )
    first_response: str | None
    resolution: str | None
    onsite: bool = False
    hours: str = ""
    timezone: str = Field("UTC", description="the time zone of the SLA's hours")
    first_response_due_if_opened_now: datetime | None = None
    resolution_due_if_opened_now: datetime | None = None
    problem: str | None = None


class Person(Output):
    id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    roles: list[str]


class EscalationStep(Output):
    level: int
    name: str
    contact: str
    after_hours: int | None
    people: list[Person] = Field(description="the vendor's contacts at this escalation level")


class ClientAccountInfo(Output):
    vendor_account_id: uuid.UUID
    account_number: str
    contract_number: str | None
    support_level: str | None
    account_holder: str | None
    authorised_by: str | None
    authorisers: list[Person] = Field(description="the client's contacts who may authorise changes")


class AccountInfo(ClientAccountInfo):
    notice_email: str | None
    external_ref: str | None = Field(description="vendor-side tenant or customer id")
    support_pin_set: bool
    support_pin_changed_at: datetime | None
    reveal_pin: str | None = Field(
        description="the audited action that shows the PIN (POST), if one is on file"
    )
    notes: str


class CaseSummary(Output):
    id: uuid.UUID
    vendor_account_id: uuid.UUID
    title: str
    status: CaseStatus
    severity: CaseSeverity
    channel: CaseChannel
    vendor_case_number: str | None
    opened_at: datetime | None
    vendor_sla_due_at: datetime | None


class DependentSubscription(Output):
    id: uuid.UUID
    vendor_account_id: uuid.UUID
    product: str
    sku: str | None
    quantity: int
    status: SubscriptionStatus
    ends_on: date | None


class DependentAsset(Output):
    id: uuid.UUID
    vendor_account_id: uuid.UUID | None
    name: str
    kind: AssetKind
    manufacturer: str
    model: str | None
    serial: str | None
    warranty_level: str | None
    warranty_ends_on: date | None


class DependentDomain(Output):
    id: uuid.UUID
    name: str
    roles: list[str] = Field(description="registrar, dns_host, mail_host")


class DependentLine(Output):
    id: uuid.UUID
    name: str
    circuit_id: str
    technology: str
    state: str
    address_blocks: list[str]


class Dependencies(Output):
    subscriptions: list[DependentSubscription]
    assets: list[DependentAsset]
    domains: list[DependentDomain]
    lines: list[DependentLine] = Field(
        default_factory=list, description="ISP lines on this vendor's accounts"
    )


# -- the card ---------------------------------------------------------------------------


class ClientCard(Output):
    client: CardClient
    vendor: CardVendor
    now: datetime
    open_now: bool = Field(description="a channel this client may use is open now")
    channels: Sequence[ClientChannelStatus]
    sla: list[Sla]
    escalation: list[EscalationStep]
    accounts: Sequence[ClientAccountInfo]
    open_cases: list[CaseSummary]
    depends_on: Dependencies


class Card(ClientCard):
    channels: Sequence[ChannelStatus]
    accounts: Sequence[AccountInfo]
    vendor_notes: str


# -- the search ---------------------------------------------------------------------------


class FailingCheck(Output):
    id: uuid.UUID
    kind: str
    status: str
    since: datetime | None


class ClientWhoMatch(Output):
    vendor_id: uuid.UUID
    vendor_name: str
    why: list[str] = Field(description="what of the client led to this vendor")
    roles: list[str] = Field(description="for a domain: registrar, dns_host, mail_host")
    failing_checks: list[FailingCheck]
    card: ClientCard


class WhoMatch(ClientWhoMatch):
    card: Card


class ClientWhoAnswer(Output):
    client_id: uuid.UUID
    query: str | None
    kind: str = Field(description="ip, domain or text (serial, account number, vendor); all without a query")
    matches: Sequence[ClientWhoMatch]


class WhoAnswer(ClientWhoAnswer):
    matches: Sequence[WhoMatch]


class WhoParams(Input):
    q: str | None = Field(
        None,
        min_length=1,
        max_length=253,
        description="a domain (or e-mail address, URL), a serial, an IP address, an account or contract "
        "number, or a vendor's name; none: every vendor of the client",
    )
