"""The planner's two paths give the same renewals: the set-based insert (no policy
override; ids and order references drawn by the database) and the exact one (a client's
or a subscription's lead time applied in Python). Planning again, or on two workers at
once, plans nothing twice."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update

from hub.db import create_engine, make_sessionmaker, session_scope
from hub.kit.time import utcnow
from hub.models import Client, Renewal, Subscription
from hub.models.enums import RenewalState
from hub.renewal import planner
from hub.settings import Settings
from tests.renewal import storm

# 30 subscriptions over two clients: sub-000000, 2, 4... belong to A, the odd ones to B.
A, B = "company-00000", "company-00001"


async def test_both_paths_plan_the_due_terms_once_with_the_same_contents(settings: Settings) -> None:
    url = settings.resolved_database_url
    storm.seed(url, "http://127.0.0.1:9", storm.planner_subs(30, all_due=True))
    engine = create_engine(settings)
    sm = make_sessionmaker(engine)
    now = utcnow()
    today = now.date()
    try:
        async with session_scope(sm) as s:
            a_id = (
                await s.execute(
                    select(Subscription.client_id).where(Subscription.external_id == "sub-000000")
                )
            ).scalar_one()
            # Nothing due by the hub's 14 days: every term ends in 20 days...
            await s.execute(update(Subscription).values(ends_on=today + timedelta(days=20)))
            # ...but client A asks for 30 days (due), except one subscription asking for 3.
            await s.execute(update(Client).where(Client.id == a_id).values(renewal_policy={"lead_days": 30}))
            await s.execute(
                update(Subscription)
                .where(Subscription.external_id == "sub-000000")
                .values(renewal_policy={"lead_days": 3})
            )
            # B: two due by the hub's lead time (no override), one of them not by its own 2 days.
            await s.execute(
                update(Subscription)
                .where(Subscription.external_id.in_(["sub-000001", "sub-000003", "sub-000005"]))
                .values(ends_on=today + timedelta(days=5))
            )
            await s.execute(
                update(Subscription)
                .where(Subscription.external_id == "sub-000005")
                .values(renewal_policy={"lead_days": 2})
            )
        expected = {f"sub-{i:06d}" for i in range(2, 30, 2)} | {"sub-000001", "sub-000003"}

        async with session_scope(sm) as s:
            assert await planner.plan(s, today, now=now) == len(expected)
        async with session_scope(sm) as s:
            assert await planner.plan(s, today, now=utcnow()) == 0  # planning again adds nothing
            rows = (await s.execute(select(Renewal, Subscription).join(Subscription))).all()
        assert {sub.external_id for _, sub in rows} == expected
        for renewal, sub in rows:
            assert renewal.state == RenewalState.planned and renewal.term_ends_on == sub.ends_on
            assert re.fullmatch(r"hub-[0-9a-f]{20}", renewal.idempotency_key)
            assert isinstance(renewal.id, uuid.UUID) and renewal.id.version == 4
            assert renewal.client_id == sub.client_id and renewal.connection_id == sub.connection_id
            assert (renewal.quantity, renewal.currency) == (sub.quantity, sub.currency)
            assert renewal.previous_unit_cost == sub.unit_cost == Decimal("18.70")
            assert renewal.approvals == [] and renewal.attempts == 0 and renewal.reconcile_attempts == 0
            assert renewal.next_action_at == now and renewal.created_at == now and renewal.version == 1
        assert len({renewal.idempotency_key for renewal, _ in rows}) == len(rows)
        assert len({renewal.id for renewal, _ in rows}) == len(rows)

        # Two workers plan at once: the rest of B falls due (one of them through an override).
        async with session_scope(sm) as s:
            await s.execute(
                update(Subscription)
                .where(Subscription.client_id != a_id, Subscription.external_id != "sub-000005")
                .values(ends_on=today + timedelta(days=6))
            )
            await s.execute(
                update(Subscription)
                .where(Subscription.external_id == "sub-000007")
                .values(renewal_policy={"lead_days": 10})
            )

        async def one_worker() -> int:
            async with session_scope(sm) as s:
                return await planner.plan(s, today, now=utcnow())

        added = await asyncio.gather(one_worker(), one_worker())
        async with session_scope(sm) as s:
            after = (await s.execute(select(Renewal.subscription_id, Renewal.term_ends_on))).all()
        # B's 15 less sub-000005; the two due before now have a renewal for another term.
        assert sum(added) == len(after) - len(rows) == 14
        assert len(set(after)) == len(after)
    finally:
        await engine.dispose()
