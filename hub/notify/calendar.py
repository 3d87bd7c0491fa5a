"""The renewals calendar (RFC 5545) through the `icalendar` package: maintained, pure
Python, and it parses what it writes, which is how the tests read the feed back.

Events are all-day; a UID names the item and the kind of date (never the date itself),
so a renewal moves the event in the subscriber's calendar instead of adding a new one.
DTSTAMP is the item's last change, so two fetches of an unchanged feed are identical.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.kit.money import MONTHS_IN_PERIOD
from hub.models import Asset, Client, Domain, Endpoint, Subscription, Vendor, VendorAccount, Warranty
from hub.models.enums import ClientStatus, SubscriptionStatus
from hub.notify.ledger import renewal_months
from hub.terms import engine
from hub.terms.engine import Item, SubjectType

UID_DOMAIN = "vendor-hub"
PAST_DAYS, FUTURE_DAYS = 90, 800


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    day: date
    summary: str
    description: str
    stamp: datetime


def _uid(kind: str, obj_id: uuid.UUID, event: str) -> str:
    return f"{kind}-{obj_id}-{event}@{UID_DOMAIN}"


async def entries(
    session: AsyncSession, client_ids: Sequence[uuid.UUID] | None, today: date
) -> list[CalendarEntry]:
    """Renewal dates of the given clients (None: every client that is not archived)."""
    lo, hi = today - timedelta(days=PAST_DAYS), today + timedelta(days=FUTURE_DAYS)

    def scoped(stmt: Any, column: Any) -> Any:
        live = select(Client.id).where(Client.status != ClientStatus.archived)
        stmt = stmt.where(column.in_(live))
        return stmt.where(column.in_(client_ids)) if client_ids is not None else stmt

    months_of = await renewal_months(session)
    names = dict((await session.execute(select(Client.id, Client.name))).all())
    out: list[CalendarEntry] = []
    subs = await session.execute(
        scoped(
            select(Subscription, Vendor.name)
            .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
            .join(Vendor, Vendor.id == VendorAccount.vendor_id)
            .where(Subscription.ends_on.is_not(None), Subscription.status == SubscriptionStatus.active),
            Subscription.client_id,
        )
    )
    for sub, vendor in subs.all():
        item = Item(
            SubjectType.subscription,
            sub.ends_on,
            sub.starts_on,
            sub.renewal_type,
            months_of.get(sub.id) or MONTHS_IN_PERIOD[sub.billing_period],
            sub.notice_days,
        )
        sched = engine.schedule(item, today)
        if sched.current is None:
            continue
        client = names.get(sub.client_id, "")
        what = f"{vendor} {sub.product} ({client})"
        info = f"Renewal: {sched.renewal_type.value}; payer: {sub.payer.value}; subscription {sub.id}"
        out.append(
            CalendarEntry(
                _uid("subscription", sub.id, "ends"),
                sched.current.ends_on,
                f"Ends: {what}",
                info,
                sub.updated_at,
            )
        )
        if sched.cancel_by is not None and sched.cancel_by != sched.current.ends_on:
            out.append(
                CalendarEntry(
                    _uid("subscription", sub.id, "cancel-by"),
                    sched.cancel_by,
                    f"Cancel by: {what}",
                    f"Last day to give {sub.notice_days} days' notice. {info}",
                    sub.updated_at,
                )
            )
    warranties = await session.execute(
        scoped(select(Warranty, Asset.name).join(Asset, Asset.id == Warranty.asset_id), Warranty.client_id)
    )
    for w, asset in warranties.all():
        out.append(
            CalendarEntry(
                _uid("warranty", w.id, "ends"),
                w.ends_on,
                f"Warranty ends: {asset} {w.level} ({names.get(w.client_id, '')})",
                f"warranty {w.id}",
                w.updated_at,
            )
        )
    for d in (
        await session.execute(scoped(select(Domain).where(Domain.expires_on.is_not(None)), Domain.client_id))
    ).scalars():
        assert d.expires_on is not None
        out.append(
            CalendarEntry(
                _uid("domain", d.id, "expires"),
                d.expires_on,
                f"Domain expires: {d.name} ({names.get(d.client_id, '')})",
                f"domain {d.id}",
                d.updated_at,
            )
        )
    for e in (
        await session.execute(
            scoped(select(Endpoint).where(Endpoint.expires_on.is_not(None)), Endpoint.client_id)
        )
    ).scalars():
        assert e.expires_on is not None
        out.append(
            CalendarEntry(
                _uid("endpoint", e.id, "cert-expires"),
                e.expires_on,
                f"Certificate expires: {e.host}:{e.port} ({names.get(e.client_id, '')})",
                f"endpoint {e.id}",
                e.updated_at,
            )
        )
    return sorted((x for x in out if lo <= x.day <= hi), key=lambda x: (x.day, x.uid))


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _one_line(text: str) -> str:
    # Names are refused with line breaks now; rows stored before that must still render.
    return _CONTROL.sub(" ", text)


def render(name: str, items: Sequence[CalendarEntry]) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//vendor hub//renewals//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _one_line(name))
    for x in items:
        event = Event()
        event.add("uid", x.uid)
        event.add("dtstamp", x.stamp)
        event.add("dtstart", x.day)  # a date: an all-day event
        event.add("dtend", x.day + timedelta(days=1))
        event.add("summary", _one_line(x.summary))
        event.add("description", _one_line(x.description))
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return bytes(cal.to_ical())
