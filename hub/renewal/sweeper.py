"""The deadline sweeper: every auto-renew subscription nearing its end without a
confirmed renewal raises an alert at 14, 7, 3 and 1 days (each once), whatever the
reason (no connection, vendor down, waiting for approval, escalated)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Client, Renewal, Subscription
from hub.models.enums import RenewalState, RenewalType, SubscriptionStatus
from hub.renewal import alerts


def _unconfirmed(today: date, within_days: int):  # type: ignore[no-untyped-def]
    return (
        select(Subscription.id, Subscription.client_id, Subscription.ends_on)
        .join(Client, Client.id == Subscription.client_id)
        .outerjoin(
            Renewal,
            and_(
                Renewal.subscription_id == Subscription.id,
                Renewal.term_ends_on == Subscription.ends_on,
                Renewal.state == RenewalState.confirmed,
            ),
        )
        .where(
            Subscription.renewal_type == RenewalType.auto_hub,
            Subscription.status == SubscriptionStatus.active,
            Subscription.cancelled_at.is_(None),
            Subscription.ends_on.is_not(None),
            Subscription.ends_on >= today,
            Subscription.ends_on <= today + timedelta(days=within_days),
            Client.archived_at.is_(None),
            Renewal.id.is_(None),
        )
    )


@dataclass(frozen=True)
class SweepResult:
    at_risk: int
    alerts_raised: int


async def sweep(session: AsyncSession, today: date, *, now: datetime) -> SweepResult:
    raised = 0
    rows = (await session.execute(_unconfirmed(today, max(alerts.DEADLINE_LADDER)))).all()
    for sub_id, client_id, ends_on in rows:
        threshold = alerts.deadline_threshold(ends_on, today)
        if threshold is None:
            continue
        if await alerts.raise_notice(
            session,
            subject_type="renewal_deadline",
            subject_id=f"{sub_id}:{ends_on.isoformat()}",
            client_id=client_id,
            threshold=threshold,
            now=now,
        ):
            raised += 1
    return SweepResult(len(rows), raised)


async def at_risk_count(session: AsyncSession, today: date) -> int:
    """Auto-renew subscriptions within 14 days of their end with no confirmed renewal
    (exported as a gauge on /metrics)."""
    query = _unconfirmed(today, max(alerts.DEADLINE_LADDER)).subquery()
    return int((await session.execute(select(func.count()).select_from(query))).scalar_one())
