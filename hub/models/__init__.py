"""All ORM models. Import from here so the metadata is complete."""

from hub.models.asset import Asset, Warranty
from hub.models.audit import AuditEvent
from hub.models.auth import ApiToken, AuthFailure, SignInThrottle, User, UserSession, UserToken
from hub.models.base import Base
from hub.models.case import (
    CaseAttachment,
    CaseChaser,
    CaseEvent,
    CaseMail,
    CaseVendorUpdate,
    MailboxCursor,
    TriageItem,
    VendorCase,
    VendorMailProfile,
)
from hub.models.check import Check, CheckRun
from hub.models.client import Client, Contact
from hub.models.coverage import CoverageSnapshot
from hub.models.domain import Domain, Endpoint
from hub.models.job import Job, JobCounter, JobWorker
from hub.models.line import IspLine, LineProbe
from hub.models.link import LinkProposal, ProposalState
from hub.models.notify import CalendarFeed, NoticeDelivery, ReminderLadder, WebhookEndpoint
from hub.models.renewal import Notice, Renewal, RenewalControls, RenewalRoute
from hub.models.subscription import Subscription, SubscriptionTerm
from hub.models.sync import Discrepancy, OAuthToken, TenantMapping, VendorRecord
from hub.models.vendor import Connection, Vendor, VendorAccount

__all__ = [
    "ApiToken",
    "Asset",
    "AuditEvent",
    "AuthFailure",
    "Base",
    "CalendarFeed",
    "CaseAttachment",
    "CaseChaser",
    "CaseEvent",
    "CaseMail",
    "CaseVendorUpdate",
    "Check",
    "CheckRun",
    "Client",
    "Connection",
    "Contact",
    "CoverageSnapshot",
    "Discrepancy",
    "Domain",
    "Endpoint",
    "IspLine",
    "Job",
    "JobCounter",
    "JobWorker",
    "LineProbe",
    "LinkProposal",
    "MailboxCursor",
    "Notice",
    "NoticeDelivery",
    "OAuthToken",
    "ProposalState",
    "ReminderLadder",
    "Renewal",
    "RenewalControls",
    "RenewalRoute",
    "SignInThrottle",
    "Subscription",
    "SubscriptionTerm",
    "TenantMapping",
    "TriageItem",
    "User",
    "UserSession",
    "UserToken",
    "Vendor",
    "VendorAccount",
    "VendorCase",
    "VendorMailProfile",
    "VendorRecord",
    "Warranty",
    "WebhookEndpoint",
]
