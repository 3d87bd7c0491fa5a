"""The reminder ledger: which reminders are due now, written once per (subject,
threshold) with their deliveries queued in the same transaction.

`run_reminders(session, now)` is what the periodic job and `hub notify run` call. It is
safe to run any number of times, from any number of workers: the unique constraint on
notices turns a second insert of the same threshold into nothing (INSERT ... ON CONFLICT
DO NOTHING on SQLite and PostgreSQL), and only a notice this run inserted gets
deliveries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hub.kit.money import MONTHS_IN_PERIOD
from hub.models import (
    Asset,
    Client,
    Contact,
    Domain,
    Endpoint,
    Notice,
    NoticeDelivery,
    ReminderLadder,
    Subscription,
    SubscriptionTerm,
    User,
    Vendor,
    VendorAccount,
    Warranty,
    WebhookEndpoint,
)
from hub.models.enums import (
    ClientStatus,
    ContactRole,
    NoticeChannel,
    Payer,
    RenewalType,
    SubscriptionStatus,
    TermRenewedBy,
)
from hub.models.notify import NoticeState
from hub.notify.settings import NotifySettings
from hub.terms import engine
from hub.terms.engine import Item, SubjectType


@dataclass(frozen=True)
class Subject:
    """One item the ledger looks at, with what its reminders need."""

    subject_type: SubjectType
    subject_id: str
    client_id: uuid.UUID
    item: Item
    ladder: tuple[int, ...]
    title: str
    client_pays: bool = False


@dataclass
class RunResult:
    issued: int = 0
    skipped: int = 0
    deliveries: int = 0
    subjects: int = 0
    notice_ids: list[int] = field(default_factory=list)


def _insert(session: AsyncSession, model: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


async def _ladders(session: AsyncSession) -> tuple[dict[str, list[int]], dict[tuple[str, str], list[int]]]:
    categories: dict[str, list[int]] = {}
    items: dict[tuple[str, str], list[int]] = {}
    for scope, key, days in (
        await session.execute(select(ReminderLadder.scope, ReminderLadder.key, ReminderLadder.days))
    ).all():
        if scope == "category":
            categories[key] = list(days)
        else:
            items[(scope, key)] = list(days)
    return categories, items


async def renewal_months(session: AsyncSession) -> dict[uuid.UUID, int]:
    """The length in months of each subscription's latest renewal term: a contract billed
    monthly may renew yearly, and what it last renewed for says so better than billing.
    Without a renewal in its history an item renews for its billing period."""
    rows = await session.execute(
        select(SubscriptionTerm.subscription_id, SubscriptionTerm.starts_on, SubscriptionTerm.ends_on)
        .where(SubscriptionTerm.renewed_by != TermRenewedBy.initial, SubscriptionTerm.ends_on.is_not(None))
        .order_by(SubscriptionTerm.subscription_id, SubscriptionTerm.starts_on)
    )
    out: dict[uuid.UUID, int] = {}
    for sub_id, starts, ends in rows.all():
        if ends is None:
            continue
        after = ends + timedelta(days=1)
        months = engine.months_between(starts, after)
        if months > 0 and engine.add_months(starts, months) == after:
            out[sub_id] = months
        else:
            out.pop(sub_id, None)
    return out


async def load_subjects(session: AsyncSession, settings: NotifySettings) -> list[Subject]:
    """Every active item with an end date, of every client that is not archived."""
    configured, per_item = await _ladders(session)
    category_ladders = {**settings.category_ladders, **configured}

    def ladder(subject_type: SubjectType, subject_id: str, category: str | None = None) -> tuple[int, ...]:
        return engine.ladder_for(
            subject_type,
            category,
            item_ladder=per_item.get((subject_type.value, subject_id)),
            category_ladders=category_ladders,
        )

    live = select(Client.id).where(Client.status != ClientStatus.archived)
    first_start = (
        select(SubscriptionTerm.subscription_id, func.min(SubscriptionTerm.starts_on))
        .group_by(SubscriptionTerm.subscription_id)
        .subquery()
    )
    subs = await session.execute(
        select(Subscription, Vendor.name, first_start.c[1])
        .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
        .join(Vendor, Vendor.id == VendorAccount.vendor_id)
        .outerjoin(first_start, first_start.c.subscription_id == Subscription.id)
        .where(
            Subscription.ends_on.is_not(None),
            Subscription.status == SubscriptionStatus.active,
            Subscription.client_id.in_(live),
        )
    )
    months_of = await renewal_months(session)
    out: list[Subject] = []
    for sub, vendor_name, series_start in subs.all():
        sid = str(sub.id)
        item = Item(
            SubjectType.subscription,
            sub.ends_on,
            sub.starts_on,
            sub.renewal_type,
            months_of.get(sub.id) or MONTHS_IN_PERIOD[sub.billing_period],
            sub.notice_days,
            series_start=series_start,
        )
        out.append(
            Subject(
                SubjectType.subscription,
                sid,
                sub.client_id,
                item,
                ladder(SubjectType.subscription, sid, sub.category.value),
                f"{vendor_name} {sub.product}",
                client_pays=sub.payer is Payer.client_direct,
            )
        )
    warranties = await session.execute(
        select(Warranty, Asset.name)
        .join(Asset, Asset.id == Warranty.asset_id)
        .where(Warranty.client_id.in_(live))
    )
    for w, asset_name in warranties.all():
        wid = str(w.id)
        item = Item(SubjectType.warranty, w.ends_on, w.starts_on, RenewalType.manual)
        out.append(
            Subject(
                SubjectType.warranty,
                wid,
                w.client_id,
                item,
                ladder(SubjectType.warranty, wid),
                f"warranty {w.level} of {asset_name}",
            )
        )
    for d in (
        await session.execute(
            select(Domain).where(Domain.expires_on.is_not(None), Domain.client_id.in_(live))
        )
    ).scalars():
        did = str(d.id)
        item = Item(SubjectType.domain, d.expires_on, None, RenewalType.manual)
        out.append(
            Subject(
                SubjectType.domain,
                did,
                d.client_id,
                item,
                ladder(SubjectType.domain, did),
                f"domain {d.name}",
            )
        )
    for e in (
        await session.execute(
            select(Endpoint).where(Endpoint.expires_on.is_not(None), Endpoint.client_id.in_(live))
        )
    ).scalars():
        eid = str(e.id)
        item = Item(SubjectType.endpoint, e.expires_on, None, RenewalType.manual)
        out.append(
            Subject(
                SubjectType.endpoint,
                eid,
                e.client_id,
                item,
                ladder(SubjectType.endpoint, eid),
                f"TLS certificate of {e.host}:{e.port}",
            )
        )
    return out


@dataclass(frozen=True)
class ClientFacts:
    name: str
    timezone: ZoneInfo
    owner_email: str | None
    billing_emails: tuple[str, ...]


async def client_facts(
    session: AsyncSession, client_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ClientFacts]:
    ids = list(set(client_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(Client.id, Client.name, Client.timezone, User.email, User.active)
        .outerjoin(User, User.id == Client.owner_user_id)
        .where(Client.id.in_(ids))
    )
    billing: dict[uuid.UUID, list[str]] = defaultdict(list)
    for cid, email, roles in (
        await session.execute(
            select(Contact.client_id, Contact.email, Contact.roles).where(
                Contact.client_id.in_(ids), Contact.email.is_not(None)
            )
        )
    ).all():
        if cid is not None and email and ContactRole.billing.value in (roles or []):
            billing[cid].append(email.lower())
    facts = {}
    for cid, name, tz, owner_email, owner_active in rows.all():
        try:
            zone = ZoneInfo(tz)
        except (KeyError, ValueError):
            zone = ZoneInfo("UTC")
        owner = owner_email.lower() if owner_email and owner_active else None
        facts[cid] = ClientFacts(name, zone, owner, tuple(sorted(set(billing[cid]))))
    return facts


def summary(subject: Subject, threshold: engine.Threshold, client: str) -> str:
    when = threshold.anchor_on
    if threshold.anchor == "cancel_by":
        what = f"cancel by {when.isoformat()} (ends {threshold.ends_on.isoformat()})"
    elif threshold.days < 0:
        what = f"ended {threshold.ends_on.isoformat()}"
    else:
        what = f"ends {threshold.ends_on.isoformat()}"
    return f"{client}: {subject.title}: {what}"[:500]


def technician(facts: ClientFacts, settings: NotifySettings) -> list[str]:
    """The technician who owns the client, else the fallback address (else nobody)."""
    if facts.owner_email:
        return [facts.owner_email]
    if settings.notify_fallback_email:
        return [settings.notify_fallback_email.lower()]
    return []


def recipients(subject: Subject, facts: ClientFacts, settings: NotifySettings) -> list[str]:
    """The technician who owns the client (else the fallback address), and the client's
    billing contacts for what the client pays directly."""
    out = technician(facts, settings)
    if subject.client_pays:
        out.extend(facts.billing_emails)
    return list(dict.fromkeys(out))


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


LedgerRow = tuple[str, date | None, datetime | None, datetime | None]  # threshold, term end, ack, snooze


async def _ledger(session: AsyncSession, now: datetime) -> dict[tuple[str, str], list[LedgerRow]]:
    """What the ledger already holds per subject (terms of the last 800 days)."""
    oldest = now.date() - timedelta(days=800)
    ledger: dict[tuple[str, str], list[LedgerRow]] = defaultdict(list)
    for row in (
        await session.execute(
            select(
                Notice.subject_type,
                Notice.subject_id,
                Notice.threshold,
                Notice.ends_on,
                Notice.acknowledged_at,
                Notice.snoozed_until,
            ).where((Notice.ends_on.is_(None)) | (Notice.ends_on >= oldest))
        )
    ).all():
        ledger[(row[0], row[1])].append((row[2], row[3], row[4], row[5]))
    return ledger


def _silenced(recorded: list[LedgerRow], term_ends_on: date, now: datetime) -> bool:
    """Acknowledged, or snoozed past now: silent for this term."""
    this_term = [r for r in recorded if r[1] == term_ends_on]
    return any(r[2] is not None or (r[3] is not None and r[3] > now) for r in this_term)


async def run_reminders(
    session: AsyncSession,
    now: datetime,
    settings: NotifySettings,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Write today's reminders into the ledger and queue their deliveries (in the
    caller's transaction, which should be a writer)."""
    subjects = await load_subjects(session, settings)
    facts = await client_facts(session, (s.client_id for s in subjects))
    ledger = await _ledger(session, now)
    hooks = (
        (await session.execute(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))))
        .scalars()
        .all()
    )
    result = RunResult(subjects=len(subjects))
    for n, subject in enumerate(subjects, 1):
        if progress is not None:
            progress(n, len(subjects))
        client = facts.get(subject.client_id)
        if client is None:
            continue
        today = engine.local_today(now, client.timezone)
        sched = engine.schedule(subject.item, today)
        if sched.current is None:
            continue
        recorded = ledger.get((subject.subject_type.value, subject.subject_id), [])
        if _silenced(recorded, sched.current.ends_on, now):
            continue
        plan = engine.plan_reminders(
            engine.thresholds(sched, subject.ladder),
            today,
            (r[0] for r in recorded),
            catch_up_days=settings.notify_catch_up_days,
        )
        await _issue(session, subject, client, plan, hooks, settings, now, result)
    result.deliveries += await adopt_addressed_notices(session, now, hooks)
    return result


async def _issue(
    session: AsyncSession,
    subject: Subject,
    client: ClientFacts,
    plan: engine.Plan,
    hooks: Sequence[WebhookEndpoint],
    settings: NotifySettings,
    now: datetime,
    result: RunResult,
) -> None:
    """Record the thresholds the plan skips, and the one it sends with its deliveries."""
    for threshold in plan.skip:
        if await _record(session, subject, threshold, client.name, NoticeState.skipped, now) is not None:
            result.skipped += 1
    if plan.send is None:
        return
    notice_id = await _record(session, subject, plan.send, client.name, NoticeState.issued, now)
    if notice_id is None:
        return  # another run recorded it first
    result.issued += 1
    result.notice_ids.append(notice_id)
    for email in recipients(subject, client, settings):
        await _queue(session, notice_id, NoticeChannel.email, email, None, now)
        result.deliveries += 1
    for hook in hooks:
        if hook.client_id is None or hook.client_id == subject.client_id:
            await _queue(session, notice_id, NoticeChannel.webhook, str(hook.id), hook.id, now)
            result.deliveries += 1


ROLE_PREFIX = "role:"


async def adopt_addressed_notices(
    session: AsyncSession, now: datetime, hooks: Iterable[WebhookEndpoint]
) -> int:
    """Deliver notices other modules raise into the ledger addressed to a role (the
    renewal executor's "approval needed", "escalated", deadline alerts: recipient
    "role:admin"): to every active user with that role and to the matching webhooks.
    A notice gets deliveries once, like the reminders; acknowledged ones get none."""
    undelivered = ~select(NoticeDelivery.id).where(NoticeDelivery.notice_id == Notice.id).exists()
    rows = await session.execute(
        select(Notice.id, Notice.recipient, Notice.client_id).where(
            Notice.recipient.like(f"{ROLE_PREFIX}%"),
            Notice.acknowledged_at.is_(None),
            Notice.created_at >= now - timedelta(days=7),
            undelivered,
        )
    )
    found = rows.all()
    if not found:
        return 0
    staff: dict[str, list[str]] = defaultdict(list)
    for role, address in (
        await session.execute(select(User.role, User.email).where(User.active.is_(True)))
    ).all():
        staff[str(role)].append(address.lower())
    hooks = list(hooks)
    queued = 0
    for notice_id, recipient, client_id in found:
        for address in sorted(set(staff.get((recipient or "")[len(ROLE_PREFIX) :], []))):
            await _queue(session, notice_id, NoticeChannel.email, address, None, now)
            queued += 1
        for hook in hooks:
            if hook.client_id is None or hook.client_id == client_id:
                await _queue(session, notice_id, NoticeChannel.webhook, str(hook.id), hook.id, now)
                queued += 1
    return queued


async def _record(
    session: AsyncSession,
    subject: Subject,
    threshold: engine.Threshold,
    client_name: str,
    state: NoticeState,
    now: datetime,
) -> int | None:
    stmt = (
        _insert(session, Notice)
        .values(
            subject_type=subject.subject_type.value,
            subject_id=subject.subject_id,
            client_id=subject.client_id,
            threshold=threshold.key,
            state=state,
            days=threshold.days,
            due_on=threshold.due_on,
            ends_on=threshold.ends_on,
            summary=summary(subject, threshold, client_name),
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(Notice.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def _queue(
    session: AsyncSession,
    notice_id: int,
    channel: NoticeChannel,
    target: str,
    hook_id: uuid.UUID | None,
    now: datetime,
) -> None:
    stmt = (
        _insert(session, NoticeDelivery)
        .values(
            notice_id=notice_id,
            channel=channel,
            target=target,
            webhook_endpoint_id=hook_id,
            state="queued",
            attempts=0,
            next_attempt_at=now,
            message_id=new_message_id(),
            created_at=now,
        )
        .on_conflict_do_nothing()
    )
    await session.execute(stmt)


@dataclass(frozen=True)
class ClientNotice:
    """A notice another module raises for a client's technician (a check's status
    transition): `threshold` names the event, so raising it again is a no-op."""

    subject_type: str
    subject_id: str
    client_id: uuid.UUID
    threshold: str
    summary: str


async def notify_technician(
    session: AsyncSession, notice: ClientNotice, now: datetime, settings: NotifySettings
) -> int | None:
    """Record the notice and queue its deliveries (the client's technician by e-mail, in
    the next digest; the client's and the MSP-wide webhooks) in the caller's transaction.
    Returns the notice's id, or None when it was recorded before (nothing is queued)."""
    facts = (await client_facts(session, [notice.client_id])).get(notice.client_id)
    stmt = (
        _insert(session, Notice)
        .values(
            subject_type=notice.subject_type,
            subject_id=notice.subject_id,
            client_id=notice.client_id,
            threshold=notice.threshold[:40],
            state=NoticeState.issued,
            days=0,
            due_on=now.date(),
            summary=((f"{facts.name}: " if facts else "") + notice.summary)[:500],
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(Notice.id)
    )
    notice_id: int | None = (await session.execute(stmt)).scalar_one_or_none()
    if notice_id is None:
        return None
    for address in technician(facts, settings) if facts else []:
        await _queue(session, notice_id, NoticeChannel.email, address, None, now)
    hooks = await session.execute(
        select(WebhookEndpoint).where(
            WebhookEndpoint.active.is_(True),
            (WebhookEndpoint.client_id.is_(None)) | (WebhookEndpoint.client_id == notice.client_id),
        )
    )
    for hook in hooks.scalars():
        await _queue(session, notice_id, NoticeChannel.webhook, str(hook.id), hook.id, now)
    return notice_id
