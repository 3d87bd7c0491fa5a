"""All ORM models. Import from here so the metadata is complete."""

from hub.models.asset import Asset, Warranty
from hub.models.audit import AuditEvent
from hub.models.auth import ApiToken, User
from hub.models.base import Base
from hub.models.case import CaseEvent, VendorCase
from hub.models.check import Check, CheckRun
from hub.models.client import Client, Contact
from hub.models.domain import Domain, Endpoint
from hub.models.job import Job, JobCounter, JobWorker
from hub.models.notify import CalendarFeed, NoticeDelivery, ReminderLadder, WebhookEndpoint
from hub.models.renewal import Notice, Renewal
from hub.models.subscription import Subscription, SubscriptionTerm
from hub.models.vendor import Connection, Vendor, VendorAccount

__all__ = [
    "ApiToken",
    "Asset",
    "AuditEvent",
    "Base",
    "CalendarFeed",
    "CaseEvent",
    "Check",
    "CheckRun",
    "Client",
    "Connection",
    "Contact",
    "Domain",
    "Endpoint",
    "Job",
    "JobCounter",
    "JobWorker",
    "Notice",
    "NoticeDelivery",
    "ReminderLadder",
    "Renewal",
    "Subscription",
    "SubscriptionTerm",
    "User",
    "Vendor",
    "VendorAccount",
    "VendorCase",
    "Warranty",
    "WebhookEndpoint",
]
