"""The audit trail as read: staff get the raw events (`AuditService`), a client user the
client-facing activity log (`client_activity`, see hub.activity.client)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.account.schemas import VendorAccountClientRead
from hub.activity.client import SUBJECTS, Event, project
from hub.activity.schemas import AuditFilters
from hub.api.crud import CrudService, Resource, equals
from hub.asset.schemas import AssetClientRead, WarrantyClientRead
from hub.auth.principal import Principal
from hub.check.schemas import CheckRead
from hub.client.schemas import ClientClientRead, ContactClientRead
from hub.domain.schemas import DomainRead, EndpointRead
from hub.kit.schema import Output
from hub.line.schemas import LineClientRead
from hub.models import (
    ApiToken,
    Asset,
    AuditEvent,
    CalendarFeed,
    Check,
    Contact,
    Domain,
    Endpoint,
    IspLine,
    Renewal,
    Subscription,
    VendorAccount,
    Warranty,
)
from hub.notify.schemas import FeedClientRead
from hub.renewal.schemas import RenewalClientRead
from hub.subscription.schemas import SubscriptionClientRead


class AuditService(CrudService[AuditEvent]):
    resource = Resource(
        model=AuditEvent,
        label="audit event",
        subject_type="audit_event",
        client_column=AuditEvent.client_id,
        sort_fields={"occurred_at": AuditEvent.occurred_at, "id": AuditEvent.id},
        default_sort="-id",
        filters={
            name: equals(getattr(AuditEvent, name))
            for name in ("subject_type", "subject_id", "client_id", "actor", "action")
        },
    )


audit = AuditService()

# What of each object a client's view shows: a change to anything else is not told.
_CLIENT_VIEWS: dict[str, type[Output]] = {
    "client": ClientClientRead,
    "contact": ContactClientRead,
    "vendor_account": VendorAccountClientRead,
    "subscription": SubscriptionClientRead,
    "asset": AssetClientRead,
    "warranty": WarrantyClientRead,
    "domain": DomainRead,
    "endpoint": EndpointRead,
    "check": CheckRead,
    "renewal": RenewalClientRead,
    "calendar_feed": FeedClientRead,
    "line": LineClientRead,
}
VISIBLE_FIELDS: dict[str, frozenset[str]] = {
    subject: frozenset(schema.model_fields) - {"created_at", "updated_at", "version"}
    for subject, schema in _CLIENT_VIEWS.items()
}

# subject type -> (model, the column that names an object in words)
_NAMES: dict[str, tuple[Any, Any]] = {
    "contact": (Contact, Contact.name),
    "vendor_account": (VendorAccount, VendorAccount.account_number),
    "subscription": (Subscription, Subscription.product),
    "asset": (Asset, Asset.name),
    "warranty": (Warranty, Warranty.level),
    "domain": (Domain, Domain.name),
    "endpoint": (Endpoint, Endpoint.host),
    "check": (Check, Check.kind),
    "renewal": (Renewal, Renewal.term_ends_on),
    "calendar_feed": (CalendarFeed, CalendarFeed.name),
    "line": (IspLine, IspLine.name),
}


async def _names(session: AsyncSession, events: list[Event]) -> dict[tuple[str, str], str]:
    wanted: dict[str, set[uuid.UUID]] = {}
    for e in events:
        if e.subject_type in _NAMES:
            try:
                wanted.setdefault(e.subject_type, set()).add(uuid.UUID(e.subject_id))
            except ValueError:
                continue
    names: dict[tuple[str, str], str] = {}
    for subject, ids in wanted.items():
        model, column = _NAMES[subject]
        for obj_id, name in await session.execute(select(model.id, column).where(model.id.in_(ids))):
            names[(subject, str(obj_id))] = str(name)
    return names


async def client_activity(
    session: AsyncSession, principal: Principal, params: AuditFilters
) -> tuple[list[dict[str, Any]], int]:
    """The client's activity log, newest first: every event of its objects the client is
    told about (hub.activity.client), paged after the telling (so `total` is exact)."""
    assert principal.client_id is not None
    if params.client_id not in (None, principal.client_id):
        return [], 0  # another client's log: nothing, as for any list a viewer asks elsewhere
    stmt = select(AuditEvent).where(
        AuditEvent.client_id == principal.client_id, AuditEvent.subject_type.in_(list(SUBJECTS))
    )
    for name in ("subject_type", "subject_id", "action"):
        value = getattr(params, name)
        if value is not None:
            stmt = stmt.where(getattr(AuditEvent, name) == value)
    rows = (await session.execute(stmt.order_by(AuditEvent.id.desc()))).scalars().all()
    events = [
        Event(r.id, r.occurred_at, r.actor, r.action, r.subject_type, r.subject_id, r.after, r.before, r.meta)
        for r in rows
    ]
    prefixes = await session.execute(select(ApiToken.prefix).where(ApiToken.client_id == principal.client_id))
    told = project(
        events,
        own_actor=principal.actor,
        client_tokens=frozenset(f"token:{p}" for p in prefixes.scalars()),
        visible_fields=VISIBLE_FIELDS,
        names=await _names(session, events),
    )
    if params.actor is not None:
        told = [t for t in told if t["who"] == params.actor]
    return told[params.offset : params.offset + params.limit], len(told)


__all__ = ["VISIBLE_FIELDS", "AuditService", "audit", "client_activity"]
