"""Renewal alerts, written to the Notice ledger (unique per subject and threshold, so
each fires once however often the sweeper or a retry raises it); the notify module
delivers them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Notice, Renewal
from hub.models.enums import NoticeChannel

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
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(Notice.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def approval_needed(session: AsyncSession, renewal: Renewal, now: datetime) -> None:
    await raise_notice(
        session,
        subject_type="renewal_approval",
        subject_id=str(renewal.id),
        client_id=renewal.client_id,
        threshold="approval",
        now=now,
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
