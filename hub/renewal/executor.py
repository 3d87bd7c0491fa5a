"""The renewal executor: moves one Renewal through its states, ordering at most once.

    planned -> awaiting_approval -> approved -> submitting -> confirmed
                                             submitting -> rejected -> escalated
                                             submitting -> unknown -> confirmed (found, or the term moved)
                                                        unknown -> approved (resend, on proof of absence)
                                                        unknown -> escalated (absence unproven too long)

Why an order is never placed twice:
- our reference (Renewal.idempotency_key) is committed when the renewal is planned, long
  before anything is sent, and goes into the vendor's reference field where it has one;
- approved -> submitting is a compare-and-set in a transaction fenced by the job lease,
  so two workers cannot both send; the sender sets a send deadline (its lease end) that
  the HTTP layer checks immediately before the request leaves (`hub.sdk.http`); the
  request as sent and when it was first sent are committed with it;
- an answer lost after sending (timeout, reset, 5xx, a crash) leaves the renewal
  `submitting`/`unknown`. Only after the sender's deadline plus the in-flight grace has
  passed is the vendor asked: the order list since before the first send, matched by our
  reference or, for a vendor that keeps none, by product, subscription and quantity (an
  order in any state, pending included, counts as placed), and the term read back where
  it lives. Only a lookup that proves no order exists lets it be sent again; one that
  cannot prove it (`AbsenceUnproven`: a lagging list) is asked again later, and past a
  bound the renewal escalates to a person with the evidence. Never a guess.

A route (hub.renewal.routes) may order at one connection, register the contract code the
order delivered at a second, and confirm by reading the term back at a third.

Every vendor call happens with no transaction open; every state change is a short
fenced write, so a worker that lost its lease records nothing.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth.principal import SYSTEM
from hub.jobs import JobContext
from hub.models import (
    Client,
    Renewal,
    RenewalControls,
    RenewalRoute,
    Subscription,
    SubscriptionTerm,
    VendorAccount,
)
from hub.models.enums import AuditAction, RenewalState, TermRenewedBy
from hub.renewal import alerts, po_mail
from hub.renewal.policy import Policy, Resale, decide
from hub.renewal.routes import Route, route_of
from hub.renewal.service import CONTROL_DEFAULTS, PAUSED_REASON, get_controls
from hub.renewal.states import ACTIVE, TERMINAL
from hub.sdk.capabilities import Capability, ContractRegistrar, OrderTracker, Renewer, TermReadBack
from hub.sdk.capabilities import order_visibility_lag as declared_lag
from hub.sdk.errors import (
    AbsenceUnproven,
    AdapterError,
    NotFound,
    NotSent,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TemporaryFailure,
    UnsupportedOperation,
)
from hub.sdk.http import SEND_NOT_AFTER
from hub.sdk.records import DeliverableKind, OrderRequest, QuoteRecord

log = logging.getLogger("hub.renewal")
ClaimHook = Callable[[AsyncSession, Renewal], Awaitable[None]]

MAX_RECONCILES = 5
PAUSED_RECHECK = timedelta(minutes=5)


def audit(session: AsyncSession, renewal: Renewal, *, meta: dict[str, Any], **change: Any) -> None:
    """Record one step of a renewal (every vendor action is audited; secrets never in meta)."""
    record(
        session,
        SYSTEM,
        AuditAction.vendor_action,
        subject_type="renewal",
        subject_id=renewal.id,
        client_id=renewal.client_id,
        meta=meta,
        **change,
    )


@dataclass(frozen=True)
class Snapshot:
    """What one step needs, read in a short read transaction."""

    renewal_id: uuid.UUID
    state: RenewalState
    version: int
    reference: str
    route: Route
    subscription_id: uuid.UUID
    client_id: uuid.UUID
    term_ends_on: date
    quantity: int
    quoted_price: Decimal | None
    currency: str
    vendor_order_ref: str | None
    send_not_after: datetime | None
    reconcile_attempts: int
    attempts: int
    paused: bool
    subscription_cancelled: bool
    auto_renew_on: bool
    subscription_ends_on: date | None
    order_request: dict[str, Any] | None
    first_sent_at: datetime | None
    unproven_since: datetime | None
    registration_code: str | None
    registered_at: datetime | None
    # The product the last quote priced (what an order names), from `approvals`.
    product_external_id: str | None = None

    @property
    def term_superseded(self) -> bool:
        """The subscription's term end moved (edited, synced, co-termed) after this
        renewal was planned: ordering now would renew the new term, which has (or will
        get) a renewal of its own."""
        return self.subscription_ends_on != self.term_ends_on


async def load_snapshot(session: AsyncSession, renewal_id: uuid.UUID) -> Snapshot | None:
    row = (
        await session.execute(
            select(Renewal, Subscription, VendorAccount.external_ref, RenewalRoute, RenewalControls.paused)
            .join(Subscription, Subscription.id == Renewal.subscription_id)
            .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
            .outerjoin(RenewalRoute, RenewalRoute.subscription_id == Subscription.id)
            # The switchboard's one row, in the same statement (missing: the defaults).
            .outerjoin(RenewalControls, RenewalControls.id == 1)
            .where(Renewal.id == renewal_id)
        )
    ).one_or_none()
    if row is None:
        return None
    renewal, sub, tenant, route_row, paused = row
    route = route_of(route_row, sub, tenant)
    if route_row is None and renewal.connection_id is not None:
        # The connection the planner recorded (a subscription re-linked since keeps its
        # renewal on the connection it was planned with).
        route = Route(renewal.connection_id, route.order_ref, route.tenant_ref)
    return Snapshot(
        renewal_id=renewal.id,
        state=renewal.state,
        version=renewal.version,
        reference=renewal.idempotency_key,
        route=route,
        subscription_id=sub.id,
        client_id=renewal.client_id,
        term_ends_on=renewal.term_ends_on,
        quantity=renewal.quantity or sub.quantity,
        quoted_price=renewal.quoted_price,
        currency=renewal.currency or sub.currency,
        vendor_order_ref=renewal.vendor_order_ref,
        send_not_after=renewal.send_not_after,
        reconcile_attempts=renewal.reconcile_attempts,
        attempts=renewal.attempts,
        paused=CONTROL_DEFAULTS["paused"] if paused is None else paused,
        subscription_cancelled=sub.cancelled_at is not None or sub.status.value in {"cancelled", "expired"},
        auto_renew_on=sub.renewal_type.value == "auto_hub",
        subscription_ends_on=sub.ends_on,
        order_request=renewal.order_request,
        first_sent_at=renewal.first_sent_at,
        unproven_since=renewal.unproven_since,
        registration_code=renewal.registration_code,
        registered_at=renewal.registered_at,
        product_external_id=_quoted_product(renewal.approvals),
    )


def _quoted_product(approvals: list[dict[str, Any]] | None) -> str | None:
    for approval in reversed(approvals or []):
        if approval.get("product_external_id"):
            return str(approval["product_external_id"])
    return None


async def policy_for(session: AsyncSession, subscription_id: uuid.UUID) -> Policy:
    return (await policy_and_resale(session, subscription_id))[0]


async def policy_and_resale(session: AsyncSession, subscription_id: uuid.UUID) -> tuple[Policy, Resale]:
    """The policy in force for the subscription (switchboard, then client, then subscription
    overrides) and what the client pays for it (for the margin check), in two statements."""
    controls = await get_controls(session)
    base = Policy(
        lead_days=controls.lead_days,
        price_cap_pct=controls.price_cap_pct,
        approval_above=controls.approval_above,
        client_daily_cap=controls.client_daily_cap,
        msp_daily_cap=controls.msp_daily_cap,
        cap_currency=controls.cap_currency,
        approve_negative_margin=controls.approve_negative_margin,
    )
    sub_policy, client_policy, payer, price, currency = (
        await session.execute(
            select(
                Subscription.renewal_policy,
                Client.renewal_policy,
                Subscription.payer,
                Subscription.client_unit_price,
                Subscription.currency,
            )
            .join(Client, Client.id == Subscription.client_id)
            .where(Subscription.id == subscription_id)
        )
    ).one()
    return base.overridden(client_policy).overridden(sub_policy), Resale(payer, price, currency)


async def _still_wanted(session: AsyncSession, renewal: Renewal) -> bool:
    """Read again under the send's compare-and-set: the subscription is still active,
    auto-renewed by the hub, and still ends on this renewal's term."""
    row = (
        await session.execute(
            select(
                Subscription.cancelled_at,
                Subscription.status,
                Subscription.renewal_type,
                Subscription.ends_on,
            ).where(Subscription.id == renewal.subscription_id)
        )
    ).one_or_none()
    if row is None:
        return False
    cancelled_at, status, renewal_type, ends_on = row
    return bool(
        cancelled_at is None
        and status.value not in {"cancelled", "expired"}
        and renewal_type.value == "auto_hub"
        and ends_on == renewal.term_ends_on
    )


COMMITTED_SPEND = (
    RenewalState.submitting,
    RenewalState.unknown,
    RenewalState.reconciling,
    RenewalState.confirmed,
)


async def spent_today(
    session: AsyncSession, currency: str, client_id: uuid.UUID | None, now: datetime
) -> Decimal:
    """What renewals ordered (or being ordered) since midnight UTC add up to."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    query = select(func.coalesce(func.sum(Renewal.quoted_total), 0)).where(
        Renewal.state.in_(COMMITTED_SPEND), Renewal.submitted_at >= midnight, Renewal.currency == currency
    )
    if client_id is not None:
        query = query.where(Renewal.client_id == client_id)
    total = (await session.execute(query)).scalar_one()
    return Decimal(total or 0)


async def spent_today_by(
    session: AsyncSession, currency: str, client_id: uuid.UUID, now: datetime
) -> tuple[Decimal, Decimal]:
    """(the client's, the MSP's) `spent_today`, in one statement."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    client, msp = (
        await session.execute(
            select(
                func.coalesce(
                    func.sum(case((Renewal.client_id == client_id, Renewal.quoted_total), else_=0)), 0
                ),
                func.coalesce(func.sum(Renewal.quoted_total), 0),
            ).where(
                Renewal.state.in_(COMMITTED_SPEND),
                Renewal.submitted_at >= midnight,
                Renewal.currency == currency,
            )
        )
    ).one()
    return Decimal(client or 0), Decimal(msp or 0)


@dataclass(frozen=True)
class ReadBack:
    """The term as the vendor shows it now, and what was read (for the audit trail)."""

    ends_on: date | None
    evidence: str

    def moved_past(self, term_ends_on: date) -> bool:
        return self.ends_on is not None and self.ends_on > term_ends_on


class Executor:
    """Advances one renewal as far as it can go now. Each call of `run` is one job."""

    def __init__(self, ctx: JobContext, renewal_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.renewal_id = renewal_id
        runtime = ctx.runtime
        self.settings = runtime.settings.renewal
        self.now = runtime.now
        self.renewers = runtime.renewers
        self.connections = runtime.connections
        self.failpoints = runtime.failpoints
        self.retry_delay = self.settings.retry_delay
        # Margin between the lease end and the last moment a request may start.
        self.send_margin = self.settings.send_margin
        # After the send deadline: how long an answer may still be in flight at the vendor
        # (the HTTP timeout plus slack) before a lookup's "not found" is believed.
        self.in_flight_grace = self.settings.in_flight_grace
        self.confirm_recheck = self.settings.confirm_recheck
        # The renewers opened by this run, by connection, kept open for its steps (quote,
        # order, read back): one connection read, one token, and the adapter's per-run
        # memos, instead of one of each per step.
        self._stack: contextlib.AsyncExitStack | None = None
        self._open: dict[uuid.UUID, Renewer] = {}

    async def run(self, max_steps: int = 6) -> RenewalState | None:
        async with contextlib.AsyncExitStack() as stack:
            self._stack = stack
            try:
                return await self._steps(max_steps)
            finally:
                self._stack = None
                self._open.clear()

    async def _steps(self, max_steps: int) -> RenewalState | None:
        state: RenewalState | None = None
        for _ in range(max_steps):
            async with self.ctx.session(write=False) as session:
                snap = await load_snapshot(session, self.renewal_id)
            if snap is None:
                return None
            state = snap.state
            if state in TERMINAL or state in (RenewalState.awaiting_approval, RenewalState.declined):
                return state
            moved = await self.step(snap)
            if not moved:
                return state
        return state

    async def step(self, snap: Snapshot) -> bool:
        """One transition. True when the renewal moved and another step may follow now."""
        if snap.state in (RenewalState.unknown, RenewalState.reconciling) or (
            snap.state == RenewalState.submitting and snap.vendor_order_ref is None
        ):
            # A send whose outcome we do not know (answer lost, or a crash mid-send).
            return await self.reconcile(snap)
        if snap.state == RenewalState.submitting:
            return await self.confirm(snap)
        if snap.state == RenewalState.rejected:
            await self.escalate(snap, "the vendor refused the order")
            return False
        if snap.paused:
            await self.wait(snap, PAUSED_RECHECK, PAUSED_REASON)
            return False
        if snap.subscription_cancelled or not snap.auto_renew_on:
            await self.transition(
                snap, RenewalState.declined, reason="subscription cancelled or auto-renew off"
            )
            return False
        if snap.term_superseded:
            await self.transition(
                snap,
                RenewalState.declined,
                reason=f"the term changed: the subscription now ends on {snap.subscription_ends_on}",
            )
            return False
        if self.now().date() > snap.term_ends_on:
            await self.escalate(snap, f"the term ended on {snap.term_ends_on} without a confirmed renewal")
            return False
        if snap.state == RenewalState.planned:
            return await self.quote(snap)
        if snap.state == RenewalState.approved:
            return await self.submit(snap)
        return False

    # -- vendor steps -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _renewer(self, snap: Snapshot) -> AsyncIterator[Renewer]:
        connection_id = snap.route.order_connection_id
        assert connection_id is not None
        renewer = self._open.get(connection_id)
        if renewer is None and self._stack is None:  # a step run on its own
            async with self.renewers(connection_id) as renewer:
                yield renewer
            return
        if renewer is None:
            assert self._stack is not None
            renewer = await self._stack.enter_async_context(self.renewers(connection_id))
            self._open[connection_id] = renewer
        yield renewer

    async def quote(self, snap: Snapshot) -> bool:
        problem = snap.route.problem
        if problem is not None:
            await self.escalate(snap, f"{problem}: nothing can order this renewal")
            return False
        assert snap.route.order_ref
        try:
            if snap.route.by_email:  # no vendor API: the route's price or the last term's
                quote = await po_mail.price(self.ctx, snap)
            else:
                async with self._renewer(snap) as renewer:
                    quote = await renewer.quote(snap.route.order_ref, snap.quantity)
        except (Rejected, NotFound, UnsupportedOperation) as exc:
            await self.escalate(snap, f"quote refused: {exc}")
            return False
        except AdapterError as exc:
            await self.wait(snap, self.retry_delay(snap.attempts), f"quote failed: {exc}", temporary=True)
            return False
        if not quote.valid:
            await self.escalate(
                snap, "the vendor says this subscription cannot be renewed: " + "; ".join(quote.messages)
            )
            return False
        async with self.ctx.fenced() as (session, _lease):
            renewal = await self._current(session, snap)
            if renewal is None or renewal.state != RenewalState.planned:
                return False
            policy, resale = await policy_and_resale(session, snap.subscription_id)
            client_spent, msp_spent = await spent_today_by(
                session, quote.currency, renewal.client_id, self.now()
            )
            decision = decide(
                policy,
                unit_price=quote.unit_price,
                quantity=quote.quantity,
                currency=quote.currency,
                previous_unit_cost=renewal.previous_unit_cost,
                client_spent_today=client_spent,
                msp_spent_today=msp_spent,
                resale=resale,
            )
            self._store_quote(renewal, quote)
            renewal.margin_warning = decision.margin_warning
            if decision.approved:
                renewal.state = RenewalState.approved
                renewal.reason = None
                renewal.next_action_at = self.now()
            else:
                renewal.state = RenewalState.awaiting_approval
                renewal.reason = decision.reason
                renewal.next_action_at = None
                await alerts.approval_needed(session, renewal, self.now())
            audit(
                session,
                renewal,
                meta={
                    "action": "renewal.quoted",
                    "unit_price": str(quote.unit_price),
                    "currency": quote.currency,
                    "quantity": quote.quantity,
                    "decision": "approved" if decision.approved else decision.reason,
                    "margin_warning": decision.margin_warning,
                },
            )
        return decision.approved

    def _store_quote(self, renewal: Renewal, quote: QuoteRecord) -> None:
        renewal.quoted_price = quote.unit_price
        renewal.quantity = quote.quantity
        renewal.currency = quote.currency
        renewal.quoted_total = quote.unit_price * quote.quantity
        renewal.approvals = [*renewal.approvals, {"product_external_id": quote.product_external_id}]

    def _order(self, snap: Snapshot, product: str | None) -> OrderRequest:
        return OrderRequest(
            reference=snap.reference,
            tenant_external_id=snap.route.tenant_ref,
            subscription_external_id=snap.route.order_ref,
            product_external_id=product or "",
            quantity=snap.quantity,
            expected_current_end=snap.term_ends_on,
        )

    async def submit(self, snap: Snapshot) -> bool:
        problem = snap.route.problem
        if problem is not None:
            await self.escalate(snap, f"{problem}: nothing can order this renewal")
            return False
        request = self._order(snap, await self._product(snap))
        if snap.route.by_email:
            return await po_mail.submit(self, snap, request)
        try:
            # No dry run first: the vendor runs the same checks on the order itself, and a
            # refused order is a 4xx on which nothing was placed (Rejected, escalated below).
            async with self._renewer(snap) as renewer:
                not_after = await self._claim_send(snap, request)
                if not_after is None:
                    return False
                await self.failpoints.hit("before_send")
                token = SEND_NOT_AFTER.set(not_after)
                try:
                    order = await renewer.place_order(request)
                finally:
                    SEND_NOT_AFTER.reset(token)
                await self.failpoints.hit("after_answer")
        except (Rejected, NotFound, UnsupportedOperation) as exc:
            await self._after_refusal(snap, exc)
            return False
        except NotSent:
            await self._back_to_approved(snap, "not sent: this worker's lease ran out", delay=timedelta(0))
            return False
        except (RateLimited, TemporaryFailure) as exc:
            # VendorHttp raises these for a write only when nothing was processed.
            await self._back_to_approved(snap, f"not placed: {exc}", delay=self.retry_delay(snap.attempts))
            return False
        except OutcomeUnknown as exc:
            await self.failpoints.hit("on_unknown")
            await self._unknown(snap, f"order sent, answer lost: {exc}")
            return False
        except AdapterError as exc:
            await self._unknown(snap, f"order outcome unclear: {exc}")
            return False
        async with self.ctx.fenced() as (session, _lease):
            renewal = await session.get(Renewal, snap.renewal_id, with_for_update=True)
            if renewal is None or renewal.state != RenewalState.submitting:
                return False
            renewal.vendor_order_ref = order.external_id
            renewal.next_action_at = self.now()
            audit(
                session,
                renewal,
                meta={"action": "renewal.order_placed", "response": order.model_dump(mode="json")},
            )
        return True

    async def _claim_send(
        self, snap: Snapshot, request: OrderRequest, also: ClaimHook | None = None
    ) -> datetime | None:
        """Compare-and-set approved -> submitting under the job fence: one sender. The
        request as sent and the first send time are committed before it leaves (`also`
        writes in the same transaction: a purchase order queued). Returns the send
        deadline, or None when this worker must not send."""
        async with self.ctx.fenced() as (session, lease_end):
            renewal = await self._current(session, snap)
            if renewal is None or renewal.state != RenewalState.approved:
                return None
            if (await get_controls(session)).paused:
                renewal.next_action_at = self.now() + PAUSED_RECHECK
                renewal.reason = PAUSED_REASON
                return None
            if not await _still_wanted(session, renewal):
                renewal.next_action_at = self.now()  # the next step declines it
                return None
            now = self.now()
            renewal.state = RenewalState.submitting
            renewal.attempts += 1
            renewal.submitted_at = now
            # "Since before the send": a lookup after a lost answer looks from here on.
            renewal.first_sent_at = renewal.first_sent_at or now
            renewal.order_request = request.model_dump(mode="json")
            renewal.send_not_after = lease_end - self.send_margin
            renewal.next_action_at = renewal.send_not_after + self.in_flight_grace
            audit(
                session,
                renewal,
                meta={
                    "action": "renewal.order_requested",
                    "request": request.model_dump(mode="json"),
                    "attempt": renewal.attempts,
                },
            )
            if also is not None:
                await also(session, renewal)
            return renewal.send_not_after

    async def _product(self, snap: Snapshot) -> str | None:
        return snap.product_external_id

    # -- after the order: register, read back -------------------------------------------

    async def confirm(self, snap: Snapshot) -> bool:
        """The order was placed: register its contract code where the route says, then read
        the term back; the renewal is confirmed when the term's end moved on."""
        if snap.route.by_email:
            return await po_mail.await_confirmation(self, snap)
        if snap.route.register_connection_id is not None and snap.registered_at is None:
            return await self.register(snap)
        try:
            back = await self._read_back(snap)
        except AdapterError as exc:
            await self.wait(
                snap, self.retry_delay(snap.reconcile_attempts), f"confirmation read failed: {exc}"
            )
            return False
        if not back.moved_past(snap.term_ends_on):
            await self._not_yet(
                snap,
                f"order {snap.vendor_order_ref} placed; waiting for the vendor to extend the term "
                f"({back.evidence})",
                f"order {snap.vendor_order_ref} placed but the end date never moved ({back.evidence})",
            )
            return False
        assert back.ends_on is not None
        await self._confirmed(snap, back)
        return False

    async def register(self, snap: Snapshot) -> bool:
        """Register the code the order delivered against the unit (a FortiCare contract):
        read the code from the order at the distributor first; registering again after a
        lost answer is safe (the registrar answers "already registered to this unit")."""
        route = snap.route
        assert route.register_connection_id is not None and route.register_serial
        code = snap.registration_code
        try:
            if code is None:
                code = await self._delivered_code(snap)
                if code is None:
                    await self._not_yet(
                        snap,
                        f"order {snap.vendor_order_ref} placed; waiting for the distributor's code",
                        f"order {snap.vendor_order_ref} placed but no registration code was ever issued",
                    )
                    return False
            async with self.connections.capable(route.register_connection_id, Capability.registration) as a:
                assert isinstance(a, ContractRegistrar)
                registered = await a.register_contract(route.register_serial, code)
        except Rejected as exc:
            await self.escalate(snap, f"the contract code could not be registered: {exc}")
            return False
        except AdapterError as exc:
            await self.wait(snap, self.retry_delay(snap.reconcile_attempts), f"registration failed: {exc}")
            return False
        async with self.ctx.fenced() as (session, _lease):
            renewal = await self._current(session, snap)
            if renewal is None:
                return False
            renewal.registration_code = code
            renewal.registered_at = self.now()
            renewal.reconcile_attempts = 0
            renewal.next_action_at = self.now()
            audit(
                session,
                renewal,
                meta={
                    "action": "renewal.registered",
                    "serial": route.register_serial,
                    "contract_number": registered.contract_number,
                    "already_registered": registered.already_registered,
                },
            )
        return True

    async def _delivered_code(self, snap: Snapshot) -> str | None:
        """The registration code the order delivered, once the distributor issued it."""
        assert snap.route.order_connection_id is not None and snap.vendor_order_ref
        async with self.connections.capable(snap.route.order_connection_id, Capability.order_tracking) as a:
            assert isinstance(a, OrderTracker)
            order = await a.get_order(snap.vendor_order_ref, snap.route.tenant_ref)
        if order.pending:
            return None
        codes = [d.value for d in order.deliverables if d.kind is DeliverableKind.registration_code]
        return codes[0] if codes else None

    async def _read_back(self, snap: Snapshot) -> ReadBack:
        """The term where the route says it lives: read back at the confirming connection,
        or the subscription at the ordering connection."""
        route = snap.route
        if route.confirm_connection_id is not None:
            assert route.confirm_ref
            async with self.connections.capable(route.confirm_connection_id, Capability.term_readback) as a:
                assert isinstance(a, TermReadBack)
                term = await a.read_term(route.confirm_ref)
            return ReadBack(term.ends_on, term.evidence)
        assert route.order_ref
        async with self._renewer(snap) as renewer:
            if isinstance(renewer, TermReadBack):  # the term alone: no catalogue lookups
                term = await renewer.read_term(route.order_ref)
                return ReadBack(term.ends_on, term.evidence)
            sub = await renewer.get_subscription(route.order_ref)
        return ReadBack(sub.end_date, f"subscription {route.order_ref} ends on {sub.end_date}")

    async def _not_yet(self, snap: Snapshot, waiting: str, giving_up: str) -> None:
        """Look again later; after `max_confirm_reads` looks, a person takes over."""
        if snap.reconcile_attempts >= self.settings.max_confirm_reads:
            await self.escalate(snap, giving_up)
            return
        async with self.ctx.fenced() as (session, _lease):
            renewal = await self._current(session, snap)
            if renewal is not None:
                renewal.reconcile_attempts += 1
                renewal.next_action_at = self.now() + self.confirm_recheck
                renewal.reason = waiting

    # -- a lost answer ------------------------------------------------------------------

    async def reconcile(self, snap: Snapshot) -> bool:
        now = self.now()
        if snap.send_not_after is not None and now < snap.send_not_after + self.in_flight_grace:
            # A sender may still be in flight: a lookup now could miss its order.
            await self.wait_until(snap, snap.send_not_after + self.in_flight_grace)
            return False
        if snap.route.problem is not None:
            await self.escalate(snap, f"{snap.route.problem}: a sent order cannot be looked up")
            return False
        request = (
            OrderRequest.model_validate(snap.order_request)
            if snap.order_request
            else self._order(snap, await self._product(snap))
        )
        unproven: AbsenceUnproven | None = None
        lag = timedelta(0)
        try:
            async with self._renewer(snap) as renewer:
                lag = declared_lag(renewer)
                try:
                    found = await renewer.find_order(
                        snap.reference,
                        snap.route.tenant_ref,
                        like=request,
                        placed_after=snap.first_sent_at,
                    )
                except AbsenceUnproven as exc:
                    found, unproven = None, exc
            back = await self._read_back(snap)
        except AdapterError as exc:
            await self.wait(
                snap,
                self.retry_delay(snap.reconcile_attempts),
                f"reconciliation lookup failed: {exc}",
                state=RenewalState.unknown,
            )
            return False
        moved = back.moved_past(snap.term_ends_on)
        if found is not None or moved:
            await self._placed(snap, found.external_id if found else None, moved, back)
            return True
        if unproven is not None:
            await self._unproven(snap, unproven, lag)
            return False
        return await self._proven_absent(snap, back)

    async def _placed(self, snap: Snapshot, order_ref: str | None, moved: bool, back: ReadBack) -> None:
        async with self.ctx.fenced() as (session, _lease):
            renewal = await self._current(session, snap)
            if renewal is None:
                return
            renewal.state = RenewalState.submitting
            renewal.vendor_order_ref = order_ref or renewal.vendor_order_ref or "unknown"
            renewal.unproven_since = None
            renewal.next_action_at = self.now()
            audit(
                session,
                renewal,
                meta={
                    "action": "renewal.reconciled",
                    "found_order": order_ref,
                    "end_date_moved": moved,
                    "read_back": back.evidence,
                },
            )

    async def _unproven(self, snap: Snapshot, exc: AbsenceUnproven, lag: timedelta) -> None:
        """The vendor could not show the order, nor prove there is none: look again later,
        and past the bound escalate to a person with what was read. Never resend."""
        now = self.now()
        since = snap.unproven_since or now
        bound = max(self.settings.absence_proof_wait, lag + self.in_flight_grace)
        # Past the bound, or past the term's end (the renewal must not go quietly), a person
        # decides with what was read.
        if now - since >= bound or now.date() > snap.term_ends_on:
            await self.escalate(
                snap,
                f"order {snap.reference} may have been placed: the vendor could neither show it nor "
                f"prove it absent for {int((now - since).total_seconds())} s ({exc.evidence}); "
                "check at the vendor before ordering by hand",
                meta={"evidence": exc.evidence},
            )
            return
        again = timedelta(seconds=exc.retry_after) if exc.retry_after else self.settings.unproven_recheck
        async with self.ctx.fenced() as (session, _lease):
            renewal = await self._current(session, snap)
            if renewal is None:
                return
            renewal.state = RenewalState.unknown
            renewal.unproven_since = since
            renewal.last_error = f"absence not proven yet: {exc}"[:1000]
            renewal.next_action_at = now + min(again, bound)
            audit(session, renewal, meta={"action": "renewal.absence_unproven", "evidence": exc.evidence})

    async def _proven_absent(self, snap: Snapshot, back: ReadBack) -> bool:
        if snap.reconcile_attempts + 1 >= MAX_RECONCILES:
            await self.escalate(snap, "the order could not be confirmed after repeated lookups")
            return False
        async with self.ctx.fenced() as (session, _lease):
            renewal = await self._current(session, snap)
            if renewal is None:
                return False
            # Proven not placed (no order since before the first send, term not extended):
            # sending again cannot duplicate it.
            renewal.state = RenewalState.approved
            renewal.reconcile_attempts += 1
            renewal.unproven_since = None
            renewal.reason = "reconciled: the vendor has no such order; sending again"
            renewal.next_action_at = self.now()
            audit(
                session,
                renewal,
                meta={"action": "renewal.reconciled", "found_order": None, "read_back": back.evidence},
            )
        return True

    # -- writes -----------------------------------------------------------------------

    async def _current(self, session: AsyncSession, snap: Snapshot) -> Renewal | None:
        renewal = await session.get(Renewal, snap.renewal_id, with_for_update=True)
        if renewal is None or renewal.version != snap.version:
            return None  # someone else moved it: this step's reading is stale
        return renewal

    async def _confirmed(self, snap: Snapshot, back: ReadBack) -> None:
        new_end = back.ends_on
        assert new_end is not None
        async with self.ctx.fenced() as (session, _lease):
            renewal = await self._current(session, snap)
            if renewal is None:
                return
            sub = await session.get(Subscription, snap.subscription_id, with_for_update=True)
            assert sub is not None
            renewal.state = RenewalState.confirmed
            renewal.confirmed_at = self.now()
            renewal.new_term_ends_on = new_end
            renewal.next_action_at = None
            renewal.reason = None
            unit = renewal.quoted_price if renewal.quoted_price is not None else sub.unit_cost
            session.add(
                SubscriptionTerm(
                    subscription_id=sub.id,
                    starts_on=snap.term_ends_on + timedelta(days=1),
                    ends_on=new_end,
                    quantity=renewal.quantity,
                    unit_cost=unit,
                    currency=renewal.currency or sub.currency,
                    renewed_by=TermRenewedBy.auto_hub,
                    renewal_id=renewal.id,
                    note=f"renewed automatically, vendor order {renewal.vendor_order_ref}",
                )
            )
            before = {"ends_on": str(sub.ends_on), "unit_cost": str(sub.unit_cost)}
            sub.ends_on = new_end
            sub.starts_on = min(sub.starts_on, new_end)
            sub.unit_cost = unit
            audit(
                session,
                renewal,
                before=before,
                after={"ends_on": str(new_end), "unit_cost": str(unit)},
                meta={
                    "action": "renewal.confirmed",
                    "order": renewal.vendor_order_ref,
                    "read_back": back.evidence,
                },
            )

    async def _after_refusal(self, snap: Snapshot, exc: AdapterError) -> None:
        async with self.ctx.fenced() as (session, _lease):
            renewal = await session.get(Renewal, snap.renewal_id, with_for_update=True)
            if renewal is None or renewal.state not in (RenewalState.approved, RenewalState.submitting):
                return
            renewal.state = RenewalState.escalated
            renewal.escalated_at = self.now()
            renewal.next_action_at = None
            renewal.reason = f"the vendor refused the order: {exc}"
            renewal.last_error = str(exc)[:1000]
            audit(session, renewal, meta={"action": "renewal.rejected", "error": str(exc)[:500]})
            await alerts.escalated(session, renewal, self.now())

    async def _back_to_approved(self, snap: Snapshot, reason: str, *, delay: timedelta) -> None:
        async with self.ctx.fenced() as (session, _lease):
            renewal = await session.get(Renewal, snap.renewal_id, with_for_update=True)
            if renewal is None or renewal.state not in (RenewalState.approved, RenewalState.submitting):
                return
            renewal.state = RenewalState.approved
            renewal.last_error = reason[:1000]
            renewal.next_action_at = self.now() + delay

    async def _unknown(self, snap: Snapshot, reason: str) -> None:
        async with self.ctx.fenced() as (session, _lease):
            renewal = await session.get(Renewal, snap.renewal_id, with_for_update=True)
            if renewal is not None and renewal.state == RenewalState.approved:
                # Failed before the send was claimed: nothing was ordered, try again later.
                renewal.last_error = reason[:1000]
                renewal.next_action_at = self.now() + self.retry_delay(renewal.attempts)
                return
            if renewal is None or renewal.state != RenewalState.submitting:
                return
            renewal.state = RenewalState.unknown
            renewal.last_error = reason[:1000]
            renewal.next_action_at = (renewal.send_not_after or self.now()) + self.in_flight_grace

    async def escalate(self, snap: Snapshot, reason: str, *, meta: dict[str, Any] | None = None) -> None:
        async with self.ctx.fenced() as (session, _lease):
            renewal = await self._current(session, snap)
            if renewal is None:
                return
            renewal.state = RenewalState.escalated
            renewal.escalated_at = self.now()
            renewal.reason = reason
            renewal.next_action_at = None
            audit(session, renewal, meta={"action": "renewal.escalated", "reason": reason, **(meta or {})})
            await alerts.escalated(session, renewal, self.now())

    async def transition(self, snap: Snapshot, state: RenewalState, *, reason: str) -> None:
        async with self.ctx.fenced() as (session, _lease):
            renewal = await self._current(session, snap)
            if renewal is None:
                return
            renewal.state = state
            renewal.reason = reason
            renewal.next_action_at = None

    async def wait(
        self,
        snap: Snapshot,
        delay: timedelta,
        reason: str,
        *,
        temporary: bool = False,
        state: RenewalState | None = None,
    ) -> None:
        async with self.ctx.fenced() as (session, _lease):
            renewal = await session.get(Renewal, snap.renewal_id, with_for_update=True)
            if renewal is None:
                return
            if temporary:
                renewal.attempts += 1
            if state is not None:
                renewal.state = state
            renewal.last_error = reason[:1000]
            renewal.next_action_at = self.now() + delay

    async def wait_until(self, snap: Snapshot, when: datetime) -> None:
        async with self.ctx.fenced() as (session, _lease):
            renewal = await session.get(Renewal, snap.renewal_id, with_for_update=True)
            if renewal is not None:
                renewal.next_action_at = when


__all__ = ["ACTIVE", "TERMINAL", "Executor", "Renewer", "policy_for"]
