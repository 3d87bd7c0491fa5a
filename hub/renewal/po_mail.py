"""Renewals ordered by e-mail purchase order (issue 12): a distributor without an API.

A route with `order_by="email"` (hub.renewal.routes) names the client's account at the
distributor and the address its orders go to. The executor runs the same states as for
an API order, with three steps swapped in:

- quote (`price`): the route's unit price, else the last term's unit cost; the policy
  (price cap, approval, daily caps) decides as for any quote;
- order (`submit`): the compare-and-set approved -> submitting (`Executor._claim_send`)
  also records our reference as the order's and queues `SendPurchaseOrder` in the same
  fenced transaction. The case module composes the purchase order on a thread of its own
  (a `VendorCase` with `renewal_id`, unique: one per renewal, so one per term) and puts it
  in the case outbox, which sends each message exactly once. A retried job or a crash
  between the steps finds the thread already there and sends nothing more;
- confirm (`await_confirmation`): the distributor's reply is filed on that thread by the
  ordinary reply-matching ladder (our token, Message-IDs, plus-address). A reply is only
  "the distributor replied" (a notice asks a technician to confirm): confirming is a
  person's act (`confirm_by_person`: `POST /renewals/{id}/confirm`, `hub renewals
  confirm`) or the route's read-back showing the new term. Without either by the last
  rung of the deadline ladder (a day before the term ends) the renewal escalates; the
  sweeper's ladder alerts before that, as for every unconfirmed renewal.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth.principal import SYSTEM, Principal
from hub.errors import Conflict, InvalidInput
from hub.jobs import JobContext, enqueue
from hub.models import Renewal, Subscription, SubscriptionTerm, VendorCase
from hub.models.enums import AuditAction, RenewalState, TermRenewedBy
from hub.renewal import alerts
from hub.renewal.schemas import SendPurchaseOrder, SettlePurchaseOrder
from hub.sdk.errors import AdapterError, Rejected
from hub.sdk.records import OrderRequest, QuoteRecord

if TYPE_CHECKING:
    from hub.renewal.executor import Executor, Snapshot

# A person may confirm while the order waits for its confirmation, and after it escalated
# for want of one (the distributor confirmed by phone, or late).
CONFIRMABLE = frozenset({RenewalState.submitting, RenewalState.escalated})


def po_number(renewal: Renewal) -> str:
    """Our purchase order number: the renewal's reference, minted when it was planned."""
    return renewal.idempotency_key


def confirm_by(term_ends_on: date) -> datetime:
    """When a missing confirmation escalates: the last rung of the deadline ladder."""
    day = term_ends_on - timedelta(days=min(alerts.DEADLINE_LADDER))
    return datetime.combine(day, time.min, tzinfo=UTC)


async def price(ctx: JobContext, snap: Snapshot) -> QuoteRecord:
    """The quote of a purchase order: the route's price, else the last term's unit cost."""
    unit = snap.route.po_unit_price
    if unit is None:
        async with ctx.session(write=False) as session:
            unit = (
                await session.execute(select(Renewal.previous_unit_cost).where(Renewal.id == snap.renewal_id))
            ).scalar_one_or_none()
    if unit is None:
        raise Rejected("no price for the purchase order: set the route's po_unit_price")
    assert snap.route.order_ref
    return QuoteRecord(
        subscription_external_id=snap.route.order_ref,
        product_external_id=snap.route.order_ref,
        quantity=snap.quantity,
        unit_price=unit,
        currency=snap.currency,
    )


async def submit(ex: Executor, snap: Snapshot, request: OrderRequest) -> bool:
    """Claim the send and queue the purchase order in one fenced write; the case outbox
    sends it. Never waits for anything: the confirmation comes later."""

    async def queue_po(session: AsyncSession, renewal: Renewal) -> None:
        now = ex.now()
        renewal.vendor_order_ref = po_number(renewal)
        renewal.next_action_at = min(now + ex.settings.po_recheck, confirm_by(renewal.term_ends_on))
        renewal.reason = (
            f"purchase order {po_number(renewal)} sent to {snap.route.po_email}; "
            "waiting for the distributor's confirmation"
        )
        # Deduplicated while queued; the case module makes it exactly once per renewal.
        await enqueue(
            session, SendPurchaseOrder(renewal_id=renewal.id), dedupe_key=f"renewal.po:{renewal.id}"
        )
        record(
            session,
            SYSTEM,
            AuditAction.vendor_action,
            subject_type="renewal",
            subject_id=renewal.id,
            client_id=renewal.client_id,
            meta={"action": "renewal.po_queued", "po_number": po_number(renewal), "to": snap.route.po_email},
        )

    await ex._claim_send(snap, request, also=queue_po)
    return False


async def await_confirmation(ex: Executor, snap: Snapshot) -> bool:
    """Confirmed by the read-back where the route has one; else note the distributor's
    reply (once) and wait for a person; escalate at the deadline."""
    evidence = ""
    if snap.route.confirm_connection_id is not None:
        try:
            back = await ex._read_back(snap)
        except AdapterError as exc:
            evidence = f"; the read-back failed: {exc}"
        else:
            if back.ends_on is not None and back.moved_past(snap.term_ends_on):
                await _confirm_in_job(ex, snap, back.ends_on, f"read back: {back.evidence}")
                return False
            evidence = f"; read back: {back.evidence}"
    now = ex.now()
    async with ex.ctx.session(write=False) as session:
        replied_at = (
            await session.execute(
                select(VendorCase.first_response_at).where(VendorCase.renewal_id == snap.renewal_id)
            )
        ).scalar_one_or_none()
    number = snap.vendor_order_ref
    if now >= confirm_by(snap.term_ends_on):
        answer = "it replied but nobody confirmed the order" if replied_at else "it never replied"
        await ex.escalate(
            snap,
            f"the distributor has not confirmed purchase order {number} ({answer}){evidence}; "
            f"the term ends on {snap.term_ends_on}",
            meta={"po_number": number, "replied": replied_at is not None},
        )
        return False
    async with ex.ctx.fenced() as (session, _lease):
        renewal = await ex._current(session, snap)
        if renewal is None:
            return False
        if replied_at is not None:
            renewal.reason = (
                f"the distributor replied to purchase order {number}: read its answer on the order's "
                f"thread and confirm the renewal with the new term end{evidence}"
            )
            if await alerts.raise_notice(
                session,
                subject_type="renewal_po_replied",
                subject_id=str(renewal.id),
                client_id=renewal.client_id,
                threshold="replied",
                now=now,
                summary=f"the distributor replied to purchase order {number}: confirm the renewal",
            ):
                ex_audit(session, renewal, {"action": "renewal.po_replied", "po_number": number})
        renewal.next_action_at = min(now + ex.settings.po_recheck, confirm_by(snap.term_ends_on))
    return False


def ex_audit(session: AsyncSession, renewal: Renewal, meta: dict[str, Any]) -> None:
    record(
        session,
        SYSTEM,
        AuditAction.vendor_action,
        subject_type="renewal",
        subject_id=renewal.id,
        client_id=renewal.client_id,
        meta=meta,
    )


async def _confirm_in_job(ex: Executor, snap: Snapshot, ends_on: date, evidence: str) -> None:
    async with ex.ctx.fenced() as (session, _lease):
        renewal = await ex._current(session, snap)
        if renewal is None:
            return
        sub = await session.get(Subscription, snap.subscription_id, with_for_update=True)
        assert sub is not None
        await _record_confirmation(session, SYSTEM, renewal, sub, ends_on, evidence, ex.now())


async def confirm_by_person(
    session: AsyncSession,
    principal: Principal,
    renewal: Renewal,
    *,
    version: int,
    ends_on: date,
    note: str | None,
    now: datetime,
) -> Renewal:
    """A technician confirms a renewal ordered by purchase order (the distributor confirmed
    it): the new term is recorded and the subscription moves onto it."""
    principal.require_staff()
    if renewal.version != version:
        raise Conflict(f"renewal {renewal.id} changed (version {renewal.version}); read it again")
    thread = (
        await session.execute(select(VendorCase.id).where(VendorCase.renewal_id == renewal.id))
    ).scalar_one_or_none()
    if thread is None:
        raise Conflict(f"renewal {renewal.id} sent no purchase order: nothing to confirm")
    if renewal.state not in CONFIRMABLE:
        raise Conflict(f"renewal {renewal.id} is {renewal.state.value}: there is nothing to confirm")
    if ends_on <= renewal.term_ends_on:
        raise InvalidInput("ends_on", f"must be after the renewed term's end ({renewal.term_ends_on})")
    sub = await session.get(Subscription, renewal.subscription_id, with_for_update=True)
    assert sub is not None  # renewals restrict the subscription's deletion
    if sub.ends_on != renewal.term_ends_on:
        raise Conflict(
            f"the subscription now ends on {sub.ends_on}, "
            f"not on this renewal's term end ({renewal.term_ends_on})"
        )
    evidence = f"confirmed by {principal.actor}" + (f": {note}" if note else "")
    await _record_confirmation(session, principal, renewal, sub, ends_on, evidence, now)
    await session.flush()
    return renewal


async def _record_confirmation(
    session: AsyncSession,
    principal: Principal,
    renewal: Renewal,
    sub: Subscription,
    ends_on: date,
    evidence: str,
    now: datetime,
) -> None:
    """Confirmed: the term, the subscription, the audit trail, the renewal's alerts
    acknowledged and the order's thread resolved (by the case module, queued here)."""
    before = {"state": renewal.state.value, "ends_on": str(sub.ends_on), "unit_cost": str(sub.unit_cost)}
    unit = renewal.quoted_price if renewal.quoted_price is not None else sub.unit_cost
    renewal.state = RenewalState.confirmed
    renewal.confirmed_at = now
    renewal.new_term_ends_on = ends_on
    renewal.next_action_at = None
    renewal.reason = None
    renewal.decided_by = principal.actor if principal is not SYSTEM else renewal.decided_by
    session.add(
        SubscriptionTerm(
            subscription_id=sub.id,
            starts_on=renewal.term_ends_on + timedelta(days=1),
            ends_on=ends_on,
            quantity=renewal.quantity,
            unit_cost=unit,
            currency=renewal.currency or sub.currency,
            renewed_by=TermRenewedBy.auto_hub,
            renewal_id=renewal.id,
            note=f"renewed by purchase order {po_number(renewal)} ({evidence})"[:20_000],
        )
    )
    sub.ends_on = ends_on
    sub.starts_on = min(sub.starts_on, ends_on)
    sub.unit_cost = unit
    await alerts.acknowledge(session, renewal, principal.actor, now)
    record(
        session,
        principal,
        AuditAction.vendor_action if principal is SYSTEM else AuditAction.update,
        subject_type="renewal",
        subject_id=renewal.id,
        client_id=renewal.client_id,
        before=before,
        after={"state": "confirmed", "ends_on": str(ends_on), "unit_cost": str(unit)},
        meta={"action": "renewal.confirmed", "order": po_number(renewal), "confirmation": evidence},
    )
    await enqueue(
        session, SettlePurchaseOrder(renewal_id=renewal.id), dedupe_key=f"renewal.po_settled:{renewal.id}"
    )


async def thread_of(session: AsyncSession, renewal_id: uuid.UUID) -> VendorCase | None:
    """The purchase order's thread (a staff-only case), if one was sent."""
    return (
        await session.execute(select(VendorCase).where(VendorCase.renewal_id == renewal_id))
    ).scalar_one_or_none()
