"""Renewal alerts, written to the Notice ledger (unique per subject and threshold, so
each fires once however often the sweeper or a retry raises it); the notify module
delivers them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Client, Notice, NoticeDelivery, Renewal, Subscription
from hub.models.enums import NoticeChannel
from hub.models.notify import DeliveryState

# Escalating alerts before the end of an auto-renew term without a confirmed renewal.
DEADLINE_LADDER = (14, 7, 3, 1)
STAFF = "role:admin"


async def raise_notice(
    session: AsyncSession,
    *,
    subject_type: str,
    subject_id: str,
    client_id: object,
    threshold: str,
    now: datetime,
    recipient: str = STAFF,
    summary: str = "",
) -> bool:
    """Insert the notice unless it exists; True when it is new."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Notice)
    stmt = (
        insert.values(
            subject_type=subject_type,
            subject_id=subject_id,
            client_id=client_id,
            threshold=threshold,
            channel=NoticeChannel.email,
            recipient=recipient,
            summary=summary[:500],
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(Notice.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def approval_needed(session: AsyncSession, renewal: Renewal, now: datetime) -> None:
    """The approval request: what waits, why, and the margin warning when there is one
    (the digest and webhooks carry the summary)."""
    row = (
        await session.execute(
            select(Client.name, Subscription.product)
            .join(Subscription, Subscription.client_id == Client.id)
            .where(Subscription.id == renewal.subscription_id)
        )
    ).one_or_none()
    client, product = row if row is not None else ("?", "?")
    summary = f"{client}: renewal of {product} (term ending {renewal.term_ends_on}) waits for approval"
    if renewal.reason:
        summary += f": {renewal.reason}"
    if renewal.margin_warning and renewal.margin_warning != renewal.reason:
        summary += f"; {renewal.margin_warning}"
    await raise_notice(
        session,
        subject_type="renewal_approval",
        subject_id=str(renewal.id),
        client_id=renewal.client_id,
        threshold="approval",
        now=now,
        summary=summary,
    )


async def escalated(session: AsyncSession, renewal: Renewal, now: datetime) -> None:
    await raise_notice(
        session,
        subject_type="renewal_escalated",
        subject_id=str(renewal.id),
        client_id=renewal.client_id,
        threshold="escalated",
        now=now,
    )


def deadline_threshold(ends_on: date, today: date) -> str | None:
    """The most urgent rung of the ladder reached (e.g. '7d'), or None if none yet."""
    days = (ends_on - today).days
    reached = [rung for rung in DEADLINE_LADDER if days <= rung]
    return f"{min(reached)}d" if reached else None


async def notices_for(session: AsyncSession, subject_type: str, subject_id: str) -> list[Notice]:
    rows = await session.execute(
        select(Notice).where(Notice.subject_type == subject_type, Notice.subject_id == subject_id)
    )
    return list(rows.scalars())


async def acknowledge(session: AsyncSession, renewal: Renewal, actor: str, now: datetime) -> int:
    """Close the alerts of a renewal a person settled: its approval request, its escalation
    and the deadline ladder of its term are acknowledged in the ledger (so nothing more is
    recorded for them) and what is still queued for delivery is cancelled. The notify
    module's own acknowledge does the same for one notice; this module may not import it
    (notify reads the client module, which reads renewals). Returns how many notices."""
    subjects = (
        ("renewal_approval", str(renewal.id)),
        ("renewal_escalated", str(renewal.id)),
        ("renewal_deadline", f"{renewal.subscription_id}:{renewal.term_ends_on.isoformat()}"),
    )
    ids = list(
        (
            await session.execute(
                select(Notice.id).where(
                    or_(*(and_(Notice.subject_type == t, Notice.subject_id == i) for t, i in subjects)),
                    Notice.acknowledged_at.is_(None),
                )
            )
        ).scalars()
    )
    if not ids:
        return 0
    await session.execute(
        update(Notice)
        .where(Notice.id.in_(ids))
        .values(acknowledged_at=now, acknowledged_by=actor)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.notice_id.in_(ids), NoticeDelivery.state == DeliveryState.queued)
        .values(state=DeliveryState.cancelled)
        .execution_options(synchronize_session=False)
    )
    return len(ids)
