"""Enumerations of the domain model (stored as their values)."""

from __future__ import annotations

import enum

from hub.check.enums import CheckStatus, CheckTarget, TlsMode
from hub.kit.money import BillingPeriod

__all__ = ["BillingPeriod", "CheckStatus", "CheckTarget", "TlsMode"]


class ClientStatus(enum.StrEnum):
    onboarding = "onboarding"
    active = "active"
    archived = "archived"


class ServiceTier(enum.StrEnum):
    good = "good"
    better = "better"
    best = "best"


class ContactRole(enum.StrEnum):
    primary = "primary"
    billing = "billing"
    technical = "technical"
    authorised_requester = "authorised_requester"
    account_manager = "account_manager"
    support = "support"
    escalation = "escalation"


class VendorCategory(enum.StrEnum):
    isp = "isp"
    mail_hosting = "mail_hosting"
    dns_hosting = "dns_hosting"
    registrar = "registrar"
    firewall = "firewall"
    antivirus = "antivirus"
    printer = "printer"
    hardware = "hardware"
    telephony = "telephony"
    software = "software"
    backup = "backup"
    cloud = "cloud"
    distributor = "distributor"
    other = "other"


class SupportChannelKind(enum.StrEnum):
    phone = "phone"
    email = "email"
    portal = "portal"
    api = "api"


class ConnectionScope(enum.StrEnum):
    msp = "msp"
    client = "client"


class ConnectionHealth(enum.StrEnum):
    unknown = "unknown"
    ok = "ok"
    degraded = "degraded"
    needs_reauth = "needs_reauth"
    misconfigured = "misconfigured"


class SubscriptionKind(enum.StrEnum):
    licence = "licence"
    plan = "plan"
    line = "line"
    contract = "contract"
    support = "support"
    domain_registration = "domain_registration"
    hosting = "hosting"
    rental = "rental"
    other = "other"


class Payer(enum.StrEnum):
    client_direct = "client_direct"
    msp_resold = "msp_resold"
    msp_included = "msp_included"


class RenewalType(enum.StrEnum):
    none = "none"
    manual = "manual"
    auto_vendor = "auto_vendor"
    auto_hub = "auto_hub"


class SubscriptionStatus(enum.StrEnum):
    active = "active"
    cancelled = "cancelled"


class RecordSource(enum.StrEnum):
    manual = "manual"
    connection = "connection"
    import_ = "import"


class TermRenewedBy(enum.StrEnum):
    initial = "initial"
    manual = "manual"
    auto_vendor = "auto_vendor"
    auto_hub = "auto_hub"
    sync = "sync"


class AssetKind(enum.StrEnum):
    firewall = "firewall"
    printer = "printer"
    server = "server"
    switch = "switch"
    ap = "ap"
    nas = "nas"
    workstation = "workstation"
    ups = "ups"
    pbx = "pbx"
    other = "other"


class WarrantySource(enum.StrEnum):
    manual = "manual"
    adapter = "adapter"


class MailProvider(enum.StrEnum):
    microsoft365 = "microsoft365"
    google_workspace = "google_workspace"
    other = "other"
    none = "none"


class RenewalState(enum.StrEnum):
    planned = "planned"
    awaiting_approval = "awaiting_approval"
    approved = "approved"
    submitting = "submitting"
    confirmed = "confirmed"
    rejected = "rejected"
    unknown = "unknown"
    reconciling = "reconciling"
    escalated = "escalated"
    declined = "declined"
    # Closed by a person with an outcome (RenewalResolution): renewed outside the hub, or
    # not to be renewed.
    resolved = "resolved"


class RenewalResolution(enum.StrEnum):
    renewed_outside = "renewed_outside"  # renewed by hand (portal, phone) or by the vendor
    will_not_renew = "will_not_renew"  # the subscription ends with this term


class NoticeChannel(enum.StrEnum):
    email = "email"
    webhook = "webhook"
    digest = "digest"


class CaseSeverity(enum.StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    critical = "critical"


class CaseStatus(enum.StrEnum):
    draft = "draft"
    open = "open"
    waiting_vendor = "waiting_vendor"
    waiting_client = "waiting_client"
    resolved = "resolved"
    closed = "closed"


class CaseChannel(enum.StrEnum):
    api = "api"
    email = "email"
    phone = "phone"
    portal = "portal"


class CaseEventKind(enum.StrEnum):
    note = "note"
    email_out = "email_out"
    email_in = "email_in"
    status_change = "status_change"
    escalation = "escalation"
    time_spent = "time_spent"
    call_logged = "call_logged"
    chaser = "chaser"
    verification = "verification"
    # Through a vendor's case API (hub.case.desk): our comment, the vendor's update.
    api_out = "api_out"
    api_in = "api_in"


class MailDirection(enum.StrEnum):
    outbound = "outbound"
    inbound = "inbound"


class MailState(enum.StrEnum):
    """An outbound message in the outbox (`queued` -> `sending` -> `sent`, or back to
    `queued` with backoff, `dead` after the last attempt or a permanent refusal, `unknown`
    when the server may have it: never resent without a person); `received` for inbound."""

    queued = "queued"
    sending = "sending"
    sent = "sent"
    unknown = "unknown"
    dead = "dead"
    received = "received"


class TriageState(enum.StrEnum):
    open = "open"
    filed = "filed"
    dismissed = "dismissed"


class Role(enum.StrEnum):
    admin = "admin"
    technician = "technician"
    client_viewer = "client_viewer"
    # A client's own administrator: sees what a viewer sees and decides for its client
    # (renewal approvals, inviting its colleagues) in the portal.
    client_admin = "client_admin"


class UserTokenPurpose(enum.StrEnum):
    invite = "invite"
    reset = "reset"


class AuditAction(enum.StrEnum):
    create = "create"
    update = "update"
    delete = "delete"
    archive = "archive"
    restore = "restore"
    reveal_secret = "reveal_secret"
    import_ = "import"
    vendor_action = "vendor_action"
    sign_in = "sign_in"
    sign_in_failed = "sign_in_failed"
    sign_out = "sign_out"
