"""Notify commands and queries behind the API and the CLI."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Resource, equals
from hub.audit.service import record
from hub.auth.principal import Principal
from hub.client.service import require_client
from hub.db import runtime_of, secret_box
from hub.errors import Forbidden, InvalidInput, NotFound
from hub.kit.crypto import Purpose
from hub.kit.time import utcnow
from hub.models import (
    CalendarFeed,
    Client,
    Domain,
    Endpoint,
    Notice,
    ReminderLadder,
    Subscription,
    User,
    Warranty,
    WebhookEndpoint,
)
from hub.models.enums import AuditAction, Role, VendorCategory
from hub.notify import calendar, delivery, email
from hub.notify.schemas import FeedCreate, LadderSet, ReminderTest, ReminderTestOutcome
from hub.notify.targets import AllowList, TargetRefused, check_url
from hub.terms import engine
from hub.terms.engine import SubjectType

# --- notices ---------------------------------------------------------------------------


def _open(stmt: Select[Any], value: bool) -> Select[Any]:
    now = utcnow()
    is_open = Notice.acknowledged_at.is_(None) & (
        Notice.snoozed_until.is_(None) | (Notice.snoozed_until <= now)
    )
    return stmt.where(is_open if value else ~is_open)


class NoticeService(CrudService[Notice]):
    resource = Resource(
        model=Notice,
        label="notice",
        subject_type="notice",
        client_column=Notice.client_id,
        sort_fields={"due_on": Notice.due_on, "created_at": Notice.created_at, "ends_on": Notice.ends_on},
        default_sort="-created_at",
        filters={
            "client_id": equals(Notice.client_id),
            "subject_type": equals(Notice.subject_type),
            "subject_id": equals(Notice.subject_id),
            "state": equals(Notice.state),
            "open": _open,
        },
    )

    async def get_notice(self, session: AsyncSession, principal: Principal, notice_id: int) -> Notice:
        return await self.get(session, principal, notice_id)  # type: ignore[arg-type]

    async def _same_term(self, session: AsyncSession, notice: Notice) -> list[Notice]:
        stmt = select(Notice).where(
            Notice.subject_type == notice.subject_type,
            Notice.subject_id == notice.subject_id,
            Notice.ends_on == notice.ends_on,
        )
        return list((await session.execute(stmt)).scalars())

    async def acknowledge(self, session: AsyncSession, principal: Principal, notice_id: int) -> Notice:
        """Stops the reminders of this item's term: nothing more is recorded for it, and
        what is still queued is cancelled."""
        principal.require_staff()
        notice = await self.get_notice(session, principal, notice_id)
        now = utcnow()
        if notice.acknowledged_at is None:
            notice.acknowledged_at, notice.acknowledged_by = now, principal.actor
        cancelled = await delivery.cancel_queued(
            session, [n.id for n in await self._same_term(session, notice)]
        )
        record(
            session,
            principal,
            AuditAction.update,
            subject_type="notice",
            subject_id=notice.id,
            client_id=notice.client_id,
            after={"acknowledged_by": principal.actor},
            meta={"deliveries_cancelled": cancelled},
        )
        await session.flush()
        return notice

    async def snooze(
        self, session: AsyncSession, principal: Principal, notice_id: int, until: datetime
    ) -> Notice:
        """Silent until `until`; then the latest reminder due by then goes out once."""
        principal.require_staff()
        now = utcnow()
        if until <= now:
            raise InvalidInput("until", "must be in the future")
        if until > now + timedelta(days=366):
            raise InvalidInput("until", "at most a year ahead; acknowledge instead")
        notice = await self.get_notice(session, principal, notice_id)
        notice.snoozed_until = until
        cancelled = await delivery.cancel_queued(
            session, [n.id for n in await self._same_term(session, notice)]
        )
        record(
            session,
            principal,
            AuditAction.update,
            subject_type="notice",
            subject_id=notice.id,
            client_id=notice.client_id,
            after={"snoozed_until": until.isoformat()},
            meta={"deliveries_cancelled": cancelled},
        )
        await session.flush()
        return notice


notices = NoticeService()


# --- webhook endpoints -----------------------------------------------------------------


class WebhookService(CrudService[WebhookEndpoint]):
    resource = Resource(
        model=WebhookEndpoint,
        label="webhook",
        subject_type="webhook_endpoint",
        client_column=WebhookEndpoint.client_id,
        sort_fields={"name": WebhookEndpoint.name, "created_at": WebhookEndpoint.created_at},
        default_sort="name",
        filters={"client_id": equals(WebhookEndpoint.client_id)},
    )

    def _check(self, session: AsyncSession, url: str) -> None:
        try:
            check_url(url, AllowList.parse(runtime_of(session).settings.notify.allowed_hosts))
        except TargetRefused as exc:
            raise InvalidInput("url", str(exc)) from None

    def _encrypt(self, session: AsyncSession, values: dict[str, Any]) -> None:
        if values.get("secret") is not None:
            values["secret_encrypted"] = secret_box(session, Purpose.webhook_secret).encrypt(
                values.pop("secret")
            )
            values["secret_changed_at"] = utcnow()
        values.pop("secret", None)

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        if values.get("client_id") is not None:
            await require_client(session, principal, values["client_id"])
        self._check(session, values["url"])
        self._encrypt(session, values)
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: WebhookEndpoint, changes: dict[str, Any]
    ) -> dict[str, Any]:
        for key in ("name", "url", "active"):
            if key in changes and changes[key] is None:
                raise InvalidInput(key, "cannot be null")
        if "url" in changes:
            self._check(session, changes["url"])
        if "secret" in changes and changes["secret"] is None:
            raise InvalidInput("secret", "cannot be null; send a new secret to rotate it")
        self._encrypt(session, changes)
        return changes


webhooks = WebhookService()


# --- calendar feeds --------------------------------------------------------------------

FEED_PREFIX = "hubcal_"
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-_")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_scope(stmt: Select[Any], principal: Principal) -> Select[Any]:
    if principal.client_id is not None:
        return stmt.where(CalendarFeed.client_id == principal.client_id)
    return stmt


_FEED_SORT = {"name": CalendarFeed.name, "created_at": CalendarFeed.created_at}


async def list_feeds(
    session: AsyncSession,
    principal: Principal,
    *,
    client_id: uuid.UUID | None,
    include_revoked: bool,
    sort: str | None = None,
) -> list[CalendarFeed]:
    order = []
    for raw in (s.strip() for s in (sort or "created_at").split(",") if s.strip()):
        name = raw.lstrip("-+")
        if name not in _FEED_SORT:
            raise InvalidInput(
                "sort", f"cannot sort by '{name}'; use one of name, created_at", location="query"
            )
        order.append(_FEED_SORT[name].desc() if raw.startswith("-") else _FEED_SORT[name].asc())
    stmt = feed_scope(select(CalendarFeed), principal)
    if client_id is not None:
        stmt = stmt.where(CalendarFeed.client_id == client_id)
    if not include_revoked:
        stmt = stmt.where(CalendarFeed.revoked_at.is_(None))
    return list((await session.execute(stmt.order_by(*order, CalendarFeed.id))).scalars())


async def create_feed(
    session: AsyncSession, principal: Principal, data: FeedCreate
) -> tuple[CalendarFeed, str]:
    principal.require_staff()
    if data.client_id is not None and data.user_id is not None:
        raise InvalidInput("user_id", "a feed is of one client or of one user's clients, not both")
    if data.client_id is not None:
        await require_client(session, principal, data.client_id)
    if data.user_id is not None:
        user = await session.get(User, data.user_id)
        if user is None or user.role is Role.client_viewer:
            raise InvalidInput("user_id", f"no staff user with id {data.user_id}")
    runtime = runtime_of(session)
    now = runtime.now()
    expires_at = data.expires_at
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at", "must be in the future")
    if data.client_id is None and data.user_id is None:
        # Every client's renewals in one URL anyone holding it can read: admins only, and
        # never for ever.
        principal.require_admin()
        longest = now + timedelta(days=runtime.settings.notify.all_client_feed_days)
        expires_at = min(expires_at or longest, longest)
    return await _new_feed(session, principal, data.name, data.client_id, data.user_id, expires_at)


async def _new_feed(
    session: AsyncSession,
    principal: Principal,
    name: str,
    client_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    expires_at: datetime | None,
) -> tuple[CalendarFeed, str]:
    prefix = f"{FEED_PREFIX}{secrets.token_hex(4)}"
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    feed = CalendarFeed(
        name=name,
        client_id=client_id,
        user_id=user_id,
        prefix=prefix,
        token_hash=_hash(token),
        created_by=principal.actor,
        expires_at=expires_at,
    )
    session.add(feed)
    await session.flush()
    record(
        session,
        principal,
        AuditAction.create,
        subject_type="calendar_feed",
        subject_id=feed.id,
        client_id=feed.client_id,
        after={"name": feed.name, "prefix": prefix, "user_id": str(user_id) if user_id else None},
    )
    return feed, token


OWN_FEED_DAYS = 365


async def create_own_feed(session: AsyncSession, principal: Principal) -> tuple[CalendarFeed, str]:
    """A client administrator's calendar link of its own client (the portal), for a
    year. Only the hash is kept, so the URL is shown once; a new one revokes the links
    this person made before (a lost URL is replaced, never two left working)."""
    if principal.client_id is None or principal.role is not Role.client_admin:
        raise Forbidden("a calendar link is made by the client's administrator")
    now = runtime_of(session).now()
    earlier = await session.execute(
        select(CalendarFeed).where(
            CalendarFeed.client_id == principal.client_id,
            CalendarFeed.created_by == principal.actor,
            CalendarFeed.revoked_at.is_(None),
        )
    )
    for old in earlier.scalars():
        old.revoked_at = now
        record(
            session,
            principal,
            AuditAction.delete,
            subject_type="calendar_feed",
            subject_id=old.id,
            client_id=old.client_id,
            before={"prefix": old.prefix},
        )
    client = await require_client(session, principal, principal.client_id)
    return await _new_feed(
        session, principal, client.name, principal.client_id, None, now + timedelta(days=OWN_FEED_DAYS)
    )


async def revoke_feed(session: AsyncSession, principal: Principal, feed_id: uuid.UUID) -> None:
    principal.require_staff()
    feed = await session.get(CalendarFeed, feed_id)
    if feed is None:
        raise NotFound(f"calendar feed {feed_id} not found")
    if feed.revoked_at is None:
        feed.revoked_at = utcnow()
        record(
            session,
            principal,
            AuditAction.delete,
            subject_type="calendar_feed",
            subject_id=feed.id,
            client_id=feed.client_id,
            before={"prefix": feed.prefix},
        )
    await session.flush()


async def render_feed(session: AsyncSession, token: str) -> bytes:
    """The feed of a valid, unrevoked token; NotFound (alike for every failure) else."""
    missing = NotFound("no such calendar feed")
    parts = token.split("_", 2)
    if (
        len(token) > 200
        or not _TOKEN_CHARS.issuperset(token)
        or len(parts) != 3
        or f"{parts[0]}_" != FEED_PREFIX
    ):
        raise missing
    feed = (
        await session.execute(select(CalendarFeed).where(CalendarFeed.prefix == f"{parts[0]}_{parts[1]}"))
    ).scalar_one_or_none()
    if feed is None or feed.revoked_at is not None or not hmac.compare_digest(feed.token_hash, _hash(token)):
        raise missing
    if feed.expires_at is not None and feed.expires_at <= runtime_of(session).now():
        raise missing
    client_ids: list[uuid.UUID] | None
    if feed.client_id is not None:
        client_ids = [feed.client_id]
    elif feed.user_id is not None:
        client_ids = list(
            (await session.execute(select(Client.id).where(Client.owner_user_id == feed.user_id))).scalars()
        )
    else:
        client_ids = None
    items = await calendar.entries(session, client_ids, utcnow().date())
    return calendar.render(f"Renewals: {feed.name}", items)


# --- ladders ---------------------------------------------------------------------------

_ITEM_MODELS: dict[str, Any] = {
    "subscription": Subscription,
    "warranty": Warranty,
    "domain": Domain,
    "endpoint": Endpoint,
}
_CATEGORY_KEYS = {c.value for c in VendorCategory} | {"warranty", "domain", "endpoint"}


async def list_ladders(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    principal.require_staff()
    settings = runtime_of(session).settings.notify
    stored = {(r.scope, r.key): r.days for r in (await session.execute(select(ReminderLadder))).scalars()}
    out = []
    for key in sorted(_CATEGORY_KEYS):
        subject = SubjectType(key) if key in {"warranty", "domain", "endpoint"} else SubjectType.subscription
        custom = stored.get(("category", key))
        days = engine.ladder_for(subject, key, item_ladder=custom, category_ladders=settings.category_ladders)
        out.append({"scope": "category", "key": key, "days": list(days), "custom": custom is not None})
    for (scope, key), item_days in sorted(stored.items()):
        if scope != "category":
            out.append({"scope": scope, "key": key, "days": list(item_days), "custom": True})
    return out


async def set_ladder(session: AsyncSession, principal: Principal, data: LadderSet) -> dict[str, Any]:
    principal.require_staff()
    client_id = None
    if data.scope == "category":
        if data.key not in _CATEGORY_KEYS:
            raise InvalidInput("key", f"not a vendor category or kind of item: {data.key}")
        key = data.key
    else:
        try:
            item_id = uuid.UUID(data.key)
        except ValueError:
            raise InvalidInput("key", f"not the id of a {data.scope}") from None
        obj = await session.get(_ITEM_MODELS[data.scope], item_id)
        if obj is None:
            raise InvalidInput("key", f"no {data.scope} with id {item_id}")
        client_id, key = obj.client_id, str(item_id)
    row = (
        await session.execute(
            select(ReminderLadder).where(ReminderLadder.scope == data.scope, ReminderLadder.key == key)
        )
    ).scalar_one_or_none()
    before = list(row.days) if row else None
    if data.days is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(ReminderLadder(scope=data.scope, key=key, client_id=client_id, days=data.days))
    else:
        row.days = data.days
    await session.flush()
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="reminder_ladder",
        subject_id=f"{data.scope}:{key}",
        client_id=client_id,
        before={"days": before},
        after={"days": data.days},
    )
    subject = SubjectType.subscription if data.scope == "category" else SubjectType(data.scope)
    if data.scope == "category" and key in {"warranty", "domain", "endpoint"}:
        subject = SubjectType(key)
    days = engine.ladder_for(
        subject,
        key,
        item_ladder=data.days,
        category_ladders=(
            runtime_of(session).settings.notify.category_ladders if data.scope == "category" else None
        ),
    )
    return {"scope": data.scope, "key": key, "days": list(days), "custom": data.days is not None}


# --- test reminder ---------------------------------------------------------------------


def _sample_notice() -> Notice:
    today = utcnow().date()
    return Notice(
        id=0,
        subject_type="test",
        subject_id="test",
        client_id=None,
        threshold="test",
        days=7,
        due_on=today,
        ends_on=today + timedelta(days=7),
        summary="Test reminder from the vendor hub: this channel works.",
    )


async def send_test(session: AsyncSession, principal: Principal, data: ReminderTest) -> ReminderTestOutcome:
    """Push one sample reminder through a channel now and say what happened."""
    principal.require_staff()
    settings = runtime_of(session).settings.notify
    notice = _sample_notice()
    if data.channel == "email":
        if data.to is None:
            raise InvalidInput("to", "the address to send the test e-mail to is required")
        line = email.DigestLine(0, "test", "test", notice.summary, notice.days)
        msg = email.render_digest(settings, data.to, notice.due_on or utcnow().date(), [line])
        try:
            await email.send(settings, msg)
        except Exception as exc:  # reported to the caller, who asked to know
            return ReminderTestOutcome(
                channel="email", target=data.to, delivered=False, detail=email.describe_error(exc)
            )
        return ReminderTestOutcome(
            channel="email", target=data.to, delivered=True, detail="accepted by the SMTP server"
        )
    if data.webhook_id is None:
        raise InvalidInput("webhook_id", "the webhook endpoint to call is required")
    hook = await webhooks.get(session, principal, data.webhook_id)
    body = orjson.dumps(delivery.payload(notice, test=True))
    secret = secret_box(session, Purpose.webhook_secret).decrypt(hook.secret_encrypted)
    call = delivery.HookCall(hook.url, secret)
    status, error = await delivery.post_webhook(call, delivery.new_webhook_id(), body, settings)
    return ReminderTestOutcome(
        channel="webhook",
        target=hook.url,
        delivered=error is None,
        status_code=status,
        detail=error or f"HTTP {status}",
    )
