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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, insert, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import event_values, record, record_rows
from hub.auth.principal import SYSTEM
from hub.db import begin_one_read
from hub.jobs import JobContext, enqueue
from hub.jobs.context import Fence
from hub.kit.time import utcnow
from hub.models import (
    AuditEvent,
    Client,
    Connection,
    Renewal,
    RenewalControls,
    RenewalRoute,
    Subscription,
    SubscriptionTerm,
    VendorAccount,
)
from hub.models.enums import AuditAction, RenewalState, TermRenewedBy
from hub.renewal import alerts, po_mail
from hub.renewal.planner import dedupe_key
from hub.renewal.policy import Policy, Resale, decide
from hub.renewal.routes import Route, route_of
from hub.renewal.schemas import AdvanceRenewal
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
from hub.sdk.records import DeliverableKind, OrderRequest

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
class OrderConnection:
    """What opening the ordering connection needs (`hub.connection.opener.ConnectionRow`)."""

    id: uuid.UUID
    enabled: bool
    adapter_slug: str
    config_encrypted: str = field(repr=False)


# The connection a renewal orders through, as `route_of` picks it: the route's when the
# subscription has one, else the connection the planner recorded, else the subscription's.
# (Only a hint: the executor uses the row read with it when its id is the route's.)
_ORDER_CONNECTION_ID = case(
    (
        RenewalRoute.subscription_id.is_(None),
        func.coalesce(Renewal.connection_id, Subscription.connection_id),
    ),
    else_=RenewalRoute.order_connection_id,
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
    previous_unit_cost: Decimal | None = None
    approvals: tuple[dict[str, Any], ...] = ()
    # The subscription's unit cost as read with the snapshot (the audit's "before").
    subscription_unit_cost: Decimal | None = None
    # The ordering connection's row, read with the snapshot: the renewer is opened from it
    # without a read of its own (its decrypted config is kept per process, by ciphertext).
    order_connection: OrderConnection | None = field(default=None, repr=False)

    @property
    def term_superseded(self) -> bool:
        """The subscription's term end moved (edited, synced, co-termed) after this
        renewal was planned: ordering now would renew the new term, which has (or will
        get) a renewal of its own."""
        return self.subscription_ends_on != self.term_ends_on


async def load_snapshot(session: AsyncSession, renewal_id: uuid.UUID) -> Snapshot | None:
    row = (
        await session.execute(
            select(
                Renewal,
                Subscription,
                VendorAccount.external_ref,
                RenewalRoute,
                RenewalControls.paused,
                Connection.id,
                Connection.enabled,
                Connection.adapter_slug,
                Connection.config_encrypted,
            )
            .join(Subscription, Subscription.id == Renewal.subscription_id)
            .join(VendorAccount, VendorAccount.id == Subscription.vendor_account_id)
            .outerjoin(RenewalRoute, RenewalRoute.subscription_id == Subscription.id)
            # The switchboard's one row, in the same statement (missing: the defaults).
            .outerjoin(RenewalControls, RenewalControls.id == 1)
            .outerjoin(Connection, Connection.id == _ORDER_CONNECTION_ID)
            .where(Renewal.id == renewal_id)
        )
    ).one_or_none()
    if row is None:
        return None
    renewal, sub, tenant, route_row, paused = row[:5]
    route = route_of(route_row, sub, tenant)
    if route_row is None and renewal.connection_id is not None:
        # The connection the planner recorded (a subscription re-linked since keeps its
        # renewal on the connection it was planned with).
        route = Route(renewal.connection_id, route.order_ref, route.tenant_ref)
    connection: OrderConnection | None = OrderConnection(*row[5:]) if row[5] is not None else None
    if connection is not None and connection.id != route.order_connection_id:
        connection = None
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
        previous_unit_cost=renewal.previous_unit_cost,
        approvals=tuple(renewal.approvals or ()),
        subscription_unit_cost=sub.unit_cost,
        order_connection=connection,
    )


def _quoted_product(approvals: list[dict[str, Any]] | None) -> str | None:
    for approval in reversed(approvals or []):
        if approval.get("product_external_id"):
            return str(approval["product_external_id"])
    return None


async def policy_for(session: AsyncSession, subscription_id: uuid.UUID) -> Policy:
    return (await policy_and_resale(session, subscription_id))[0]


def _base_policy(controls: RenewalControls) -> Policy:
    return Policy(
        lead_days=controls.lead_days,
        price_cap_pct=controls.price_cap_pct,
        approval_above=controls.approval_above,
        client_daily_cap=controls.client_daily_cap,
        msp_daily_cap=controls.msp_daily_cap,
        cap_currency=controls.cap_currency,
        approve_negative_margin=controls.approve_negative_margin,
    )


async def policy_and_resale(session: AsyncSession, subscription_id: uuid.UUID) -> tuple[Policy, Resale]:
    """The policy in force for the subscription (switchboard, then client, then subscription
    overrides) and what the client pays for it (for the margin check), in two statements."""
    base = _base_policy(await get_controls(session))
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


@dataclass(frozen=True)
class SendContext:
    """What deciding and claiming a send needs, read under the send's fence in one
    statement: the switchboard (the pause, the caps), the policy in force, what the
    client pays, whether the subscription is still wanted, today's spend, and (with a
    `Fence`) the job's lease."""

    paused: bool
    policy: Policy
    resale: Resale
    still_wanted: bool
    client_spent: Decimal
    msp_spent: Decimal
    lease_end: datetime | None = None


async def send_context(
    session: AsyncSession, snap: Snapshot, currency: str, now: datetime, fence: Fence | None = None
) -> SendContext:
    """Read in the send's write transaction; with `fence` (`JobContext.fenced_in_statement`)
    the same statement checks and locks the job's lease (`fence.read`: LeaseLost if gone)."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    params: dict[str, Any] = {
        "s_sub": snap.subscription_id,
        "s_client": snap.client_id,
        "s_midnight": midnight,
        "s_currency": currency,
    }
    if fence is not None:
        params.update(fence.params())
    row = (await session.execute(_SEND_CONTEXT[fence is not None], params)).one()
    controls, sub_policy, client_policy, payer, price, sub_currency = row[:6]
    cancelled_at, status, renewal_type, ends_on, client_spent, msp_spent = row[6:12]
    lease_end = fence.read(row[12]) if fence is not None else None
    if controls is None:
        controls = RenewalControls(id=1, **CONTROL_DEFAULTS)
    return SendContext(
        paused=controls.paused,
        policy=_base_policy(controls).overridden(client_policy).overridden(sub_policy),
        resale=Resale(payer, price, sub_currency),
        still_wanted=_wanted(cancelled_at, status, renewal_type, ends_on, snap.term_ends_on),
        client_spent=Decimal(client_spent or 0),
        msp_spent=Decimal(msp_spent or 0),
        lease_end=lease_end,
    )


def _wanted(
    cancelled_at: Any, status: Any, renewal_type: Any, ends_on: date | None, term_ends_on: date
) -> bool:
    """The subscription is still active, auto-renewed by the hub, and still ends on this
    renewal's term."""
    return bool(
        cancelled_at is None
        and status.value not in {"cancelled", "expired"}
        and renewal_type.value == "auto_hub"
        and ends_on == term_ends_on
    )


async def _still_wanted(session: AsyncSession, renewal: Renewal) -> bool:
    """Read again under the send's compare-and-set (see `_wanted`)."""
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
    return row is not None and _wanted(*row, renewal.term_ends_on)


COMMITTED_SPEND = (
    RenewalState.submitting,
    RenewalState.unknown,
    RenewalState.reconciling,
    RenewalState.confirmed,
)


def _send_context_statement(fenced: bool) -> Any:
    """`send_context`'s statement, built once (with the lease's column when fenced)."""
    committed = (
        Renewal.state.in_(COMMITTED_SPEND),
        Renewal.submitted_at >= bindparam("s_midnight", type_=Renewal.submitted_at.type),
        Renewal.currency == bindparam("s_currency", type_=Renewal.currency.type),
    )
    spent = func.coalesce(func.sum(Renewal.quoted_total), 0)
    columns: list[Any] = [
        RenewalControls,
        Subscription.renewal_policy,
        Client.renewal_policy,
        Subscription.payer,
        Subscription.client_unit_price,
        Subscription.currency,
        Subscription.cancelled_at,
        Subscription.status,
        Subscription.renewal_type,
        Subscription.ends_on,
        select(spent)
        .where(*committed, Renewal.client_id == bindparam("s_client", type_=Renewal.client_id.type))
        .scalar_subquery(),
        select(spent).where(*committed).scalar_subquery(),
    ]
    if fenced:
        columns.append(Fence.LEASE_END)
    return (
        select(*columns)
        .select_from(Subscription)
        .join(Client, Client.id == Subscription.client_id)
        # The switchboard's one row (missing: the defaults).
        .outerjoin(RenewalControls, RenewalControls.id == 1)
        .where(Subscription.id == bindparam("s_sub", type_=Subscription.id.type))
    )


_SEND_CONTEXT = {fenced: _send_context_statement(fenced) for fenced in (False, True)}


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


# The executor's writes as Core statements built once: the columns to set come with each
# execution's parameters (a statement built per write cost more CPU than its round trip).
_RENEWALS = cast(Table, Renewal.__table__)
_SUBSCRIPTIONS = cast(Table, Subscription.__table__)
_CAS_STATE = (
    update(_RENEWALS)
    .where(_RENEWALS.c.id == bindparam("b_id"), _RENEWALS.c.state == bindparam("b_state"))
    .values(version=_RENEWALS.c.version + 1)
    .returning(_RENEWALS.c.version)
)
_CAS = _CAS_STATE.where(_RENEWALS.c.version == bindparam("b_version"))
# The same, also guarded by the job's lease (`Fence.HELD`, `JobContext.fenced_in_statement`):
# by (check_version, fenced).
_CAS_BY = {
    (True, False): _CAS,
    (False, False): _CAS_STATE,
    (True, True): _CAS.where(Fence.HELD),
    (False, True): _CAS_STATE.where(Fence.HELD),
}
_AUDIT = cast(Table, AuditEvent.__table__)
_AUDIT_COLUMNS = tuple(
    event_values(SYSTEM, AuditAction.vendor_action, subject_type="", subject_id="", client_id=None)
)
_CAS_AUDITED: dict[tuple[frozenset[str], bool, bool, int], Any] = {}


def _cas_audited(keys: frozenset[str], check_version: bool, fenced: bool, events: int) -> Any:
    """PostgreSQL: the compare-and-set and its audit events in one statement,
    `WITH cas AS (UPDATE renewals ... RETURNING version), ev AS (INSERT INTO audit_events
    SELECT ... FROM cas [UNION ALL ...]) SELECT version FROM cas`: the events are written
    exactly when the row moved, as with two statements, one round trip fewer. Built once
    per set of columns and number of events (SQLite has no data-modifying CTE and keeps
    the two statements)."""
    stmt = _CAS_AUDITED.get((keys, check_version, fenced, events))
    if stmt is None:
        cas = _CAS_BY[check_version, fenced].values(
            {key: bindparam(f"v_{key}", type_=_RENEWALS.c[key].type) for key in sorted(keys)}
        )
        cas_cte = cas.cte("cas")
        rows = [
            select(
                *(bindparam(f"a{i}_{col}", type_=_AUDIT.c[col].type) for col in _AUDIT_COLUMNS)
            ).select_from(cas_cte)
            for i in range(events)
        ]
        source = rows[0] if events == 1 else union_all(*rows)
        event = insert(_AUDIT).from_select(list(_AUDIT_COLUMNS), source)
        stmt = select(cas_cte.c.version).add_cte(event.cte("ev"))
        _CAS_AUDITED[(keys, check_version, fenced, events)] = stmt
    return stmt


_CONFIRM = _CAS.returning(
    _RENEWALS.c.quantity, _RENEWALS.c.quoted_price, _RENEWALS.c.currency, _RENEWALS.c.vendor_order_ref
)
# The subscription on its new term: a Core UPDATE bumps version and updated_at (the spend
# report's cache fingerprint); the unit cost is the quoted price when there is one.
_NEW_TERM = (
    update(_SUBSCRIPTIONS)
    .where(_SUBSCRIPTIONS.c.id == bindparam("b_id"))
    .values(
        ends_on=bindparam("b_ends_on"),
        starts_on=case(
            (_SUBSCRIPTIONS.c.starts_on > bindparam("b_ends_on"), bindparam("b_ends_on")),
            else_=_SUBSCRIPTIONS.c.starts_on,
        ),
        unit_cost=func.coalesce(
            bindparam("b_unit_cost", type_=_SUBSCRIPTIONS.c.unit_cost.type), _SUBSCRIPTIONS.c.unit_cost
        ),
        version=_SUBSCRIPTIONS.c.version + 1,
        updated_at=bindparam("b_now"),
    )
    .returning(_SUBSCRIPTIONS.c.unit_cost, _SUBSCRIPTIONS.c.currency)
)

_TERMS = cast(Table, SubscriptionTerm.__table__)
_TERM_COLUMNS = (
    "subscription_id",
    "starts_on",
    "ends_on",
    "quantity",
    "renewal_id",
    "renewed_by",
    "note",
    "created_at",
)
# The confirmed term's row (its unit cost and currency as the subscription now stores them).
_TERM = insert(_TERMS)
# PostgreSQL: the subscription on its new term and that term's row in one statement (`WITH s
# AS (UPDATE subscriptions ... RETURNING unit_cost, currency), t AS (INSERT INTO
# subscription_terms SELECT ... FROM s) SELECT unit_cost, currency FROM s`); SQLite has no
# data-modifying CTE and runs `_NEW_TERM` then `_TERM`.
_NEW_TERM_CTE = _NEW_TERM.cte("s")
_NEW_TERM_AND_ROW = select(_NEW_TERM_CTE.c.unit_cost, _NEW_TERM_CTE.c.currency).add_cte(
    insert(_TERMS)
    .from_select(
        [*_TERM_COLUMNS, "unit_cost", "currency"],
        select(
            *(bindparam(f"t_{name}", type_=_TERMS.c[name].type) for name in _TERM_COLUMNS),
            _NEW_TERM_CTE.c.unit_cost,
            func.coalesce(bindparam("t_currency", type_=_TERMS.c.currency.type), _NEW_TERM_CTE.c.currency),
        ).select_from(_NEW_TERM_CTE),
        include_defaults=False,
    )
    .cte("t")
)


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
        # The renewal as this run's last write left it, when that write knows all of it
        # (its new version from RETURNING): the next step starts from it instead of
        # reading it again. Any other writer bumps the version, so a stale one is refused.
        self._next: Snapshot | None = None

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
            snap, self._next = self._next, None
            if snap is None:
                async with self.ctx.sessionmaker() as session:
                    await begin_one_read(session)  # one statement: no BEGIN on SQLite
                    snap = await load_snapshot(session, self.renewal_id)
            if snap is None:
                return None
            state = snap.state
            if state in TERMINAL or state in (RenewalState.awaiting_approval, RenewalState.declined):
                return state
            moved = await self.step(snap)
            if not moved or self.ctx.finished:
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
        row = snap.order_connection
        if renewer is None and self._stack is None:  # a step run on its own
            async with self.renewers(connection_id, row=row) as renewer:
                yield renewer
            return
        if renewer is None:
            assert self._stack is not None
            renewer = await self._stack.enter_async_context(self.renewers(connection_id, row=row))
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
        # The order this quote leads to (the quoted product and quantity).
        request = self._order(replace(snap, quantity=quote.quantity), quote.product_external_id)
        # Fenced by the send context's own read of the lease (one statement fewer).
        async with self.ctx.fenced_in_statement() as (session, fence):
            now = self.now()
            context = await send_context(session, snap, quote.currency, now, fence)
            lease_end = fence.read(context.lease_end)
            decision = decide(
                context.policy,
                unit_price=quote.unit_price,
                quantity=quote.quantity,
                currency=quote.currency,
                previous_unit_cost=snap.previous_unit_cost,
                client_spent_today=context.client_spent,
                msp_spent_today=context.msp_spent,
                resale=context.resale,
            )
            quoted: dict[str, Any] = {
                "quoted_price": quote.unit_price,
                "quantity": quote.quantity,
                "currency": quote.currency,
                "quoted_total": quote.unit_price * quote.quantity,
                "approvals": [*snap.approvals, {"product_external_id": quote.product_external_id}],
                "margin_warning": decision.margin_warning,
            }
            if decision.approved and snap.route.by_email:
                # A purchase order is claimed by the next step (`submit` -> po_mail), which
                # queues the order's mail in the claim's own transaction.
                values = {**quoted, "reason": None, "state": RenewalState.approved, "next_action_at": now}
            elif decision.approved:
                # No vendor call lies between the approval and the send: the send is
                # claimed in this same transaction, with the pause switch and the
                # subscription read here, under the fence (as `_claim_send` does).
                values = {**quoted, "reason": None, **self._claim_values(snap, context, request, lease_end)}
            else:
                values = {
                    **quoted,
                    "state": RenewalState.awaiting_approval,
                    "reason": decision.reason,
                    "next_action_at": None,
                }
            sending = values["state"] == RenewalState.submitting

            # The quote (and the send it claims) with its events: one statement on PostgreSQL.
            version = await self._cas_and_audit(
                session,
                snap,
                RenewalState.planned,
                lambda written: self._quote_events(snap, quote, decision, written, sending=sending),
                **values,
            )
            if version is None:
                return False
            if not decision.approved:
                renewal = await session.get(Renewal, snap.renewal_id)
                assert renewal is not None
                await alerts.approval_needed(session, renewal, now)
                return False
        if not sending:
            return bool(values["next_action_at"] <= now)  # the next step declines or escalates
        claimed = replace(
            snap,
            state=RenewalState.submitting,
            version=version,
            quantity=quote.quantity,
            quoted_price=quote.unit_price,
            currency=quote.currency,
            product_external_id=quote.product_external_id,
            approvals=tuple(quoted["approvals"]),
            attempts=values["attempts"],
            first_sent_at=values["first_sent_at"],
            order_request=values["order_request"],
            send_not_after=values["send_not_after"],
        )
        async with self._renewer(snap) as renewer:
            return await self._send(claimed, renewer, request, retries=snap.attempts)

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
            async with self._renewer(snap) as renewer:
                claimed = await self._claim_send(snap, request)
                if claimed is None:
                    return False
                return await self._send(claimed, renewer, request, retries=snap.attempts)
        # Opening the connection failed (`_send` handles the order's own errors); nothing
        # was claimed: refused as before, or retried later (the renewal stays approved).
        except (Rejected, NotFound, UnsupportedOperation) as exc:
            await self._after_refusal(snap, exc)
            return False
        except AdapterError as exc:
            await self._unknown(snap, f"order outcome unclear: {exc}")
            return False

    async def _send(self, snap: Snapshot, renewer: Renewer, request: OrderRequest, *, retries: int) -> bool:
        """Place the order whose send `snap` (submitting) claimed, and record its answer.
        `retries`: the attempts before this one (the delay of a retry)."""
        assert snap.send_not_after is not None
        try:
            # No dry run first: the vendor runs the same checks on the order itself, and a
            # refused order is a 4xx on which nothing was placed (Rejected, escalated below).
            await self.failpoints.hit("before_send")
            token = SEND_NOT_AFTER.set(snap.send_not_after)
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
            await self._back_to_approved(snap, f"not placed: {exc}", delay=self.retry_delay(retries))
            return False
        except OutcomeUnknown as exc:
            await self.failpoints.hit("on_unknown")
            await self._unknown(snap, f"order sent, answer lost: {exc}")
            return False
        except AdapterError as exc:
            await self._unknown(snap, f"order outcome unclear: {exc}")
            return False
        # Fenced by the compare-and-set's own WHERE (one statement fewer).
        async with self.ctx.fenced_in_statement() as (session, fence):
            # Guarded by the state alone, as before: the answer is the truth whatever
            # bookkeeping bumped the version meanwhile (a resume of the pause switch).
            version = await self._cas_and_audit(
                session,
                snap,
                RenewalState.submitting,
                lambda _values: [self._placed_row(snap, order.model_dump(mode="json"))],
                check_version=False,
                fence=fence,
                vendor_order_ref=order.external_id,
                next_action_at=self.now(),
            )
            if version is None:
                return False
        # The read-back follows at once, from what this write left.
        self._next = replace(snap, version=version, vendor_order_ref=order.external_id)
        return True

    async def _claim_send(
        self, snap: Snapshot, request: OrderRequest, also: ClaimHook | None = None
    ) -> Snapshot | None:
        """Compare-and-set approved -> submitting under the job fence: one sender. The
        request as sent and the first send time are committed before it leaves (`also`
        writes in the same transaction: a purchase order queued). Returns the renewal as
        claimed (its send deadline set), or None when this worker must not send."""
        async with self.ctx.fenced_in_statement() as (session, fence):
            context = await send_context(session, snap, snap.currency, self.now(), fence)
            values = self._claim_values(snap, context, request, fence.read(context.lease_end))
            if values["state"] != RenewalState.submitting:
                await self._cas(session, snap, RenewalState.approved, **values)
                return None
            # The claim and its "order requested" event: one statement on PostgreSQL.
            version = await self._cas_and_audit(
                session,
                snap,
                RenewalState.approved,
                lambda claim: [self._requested_row(snap, claim)],
                **values,
            )
            if version is None:
                return None
            if also is not None:
                # The e-mail route's extra writes (hub.renewal.po_mail), on the row as claimed.
                claimed = await session.get(Renewal, snap.renewal_id)
                assert claimed is not None
                await also(session, claimed)
        return replace(
            snap,
            state=RenewalState.submitting,
            version=version,
            attempts=values["attempts"],
            first_sent_at=values["first_sent_at"],
            order_request=values["order_request"],
            send_not_after=values["send_not_after"],
        )

    def _claim_values(
        self, snap: Snapshot, context: SendContext, request: OrderRequest, lease_end: datetime
    ) -> dict[str, Any]:
        """The columns that claim the send (approved -> submitting), or that leave it
        approved: paused (looked at again later), or the subscription no longer wanted or
        the term over (the next step declines or escalates it)."""
        now = self.now()
        if context.paused:
            return {
                "state": RenewalState.approved,
                "next_action_at": now + PAUSED_RECHECK,
                "reason": PAUSED_REASON,
            }
        if not context.still_wanted or now.date() > snap.term_ends_on:
            return {"state": RenewalState.approved, "next_action_at": now}
        send_not_after = lease_end - self.send_margin
        return {
            "state": RenewalState.submitting,
            "attempts": snap.attempts + 1,
            "submitted_at": now,
            # "Since before the send": a lookup after a lost answer looks from here on.
            "first_sent_at": snap.first_sent_at or now,
            "order_request": request.model_dump(mode="json"),
            "send_not_after": send_not_after,
            "next_action_at": send_not_after + self.in_flight_grace,
        }

    def _quote_events(
        self, snap: Snapshot, quote: Any, decision: Any, written: dict[str, Any], *, sending: bool
    ) -> list[dict[str, Any]]:
        """The audit events of a quote's write: the quote, and the send when it claims one."""
        rows = [
            self._audit_row(
                snap,
                meta={
                    "action": "renewal.quoted",
                    "unit_price": str(quote.unit_price),
                    "currency": quote.currency,
                    "quantity": quote.quantity,
                    "decision": "approved" if decision.approved else decision.reason,
                    "margin_warning": decision.margin_warning,
                },
            )
        ]
        if sending:
            rows.append(self._requested_row(snap, written))
        return rows

    def _placed_row(self, snap: Snapshot, response: dict[str, Any]) -> dict[str, Any]:
        return self._audit_row(snap, meta={"action": "renewal.order_placed", "response": response})

    def _requested_row(self, snap: Snapshot, claim: dict[str, Any]) -> dict[str, Any]:
        """The audit event of a claimed send: the request as it leaves, and its attempt."""
        return self._audit_row(
            snap,
            meta={
                "action": "renewal.order_requested",
                "request": claim["order_request"],
                "attempt": claim["attempts"],
            },
        )

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

    async def _cas(
        self,
        session: AsyncSession,
        snap: Snapshot,
        expect: RenewalState,
        *,
        check_version: bool = True,
        fence: Fence | None = None,
        **values: Any,
    ) -> int | None:
        """Compare-and-set: write `values` to the renewal only if it is still in `expect`
        at the version this step read (one UPDATE, no SELECT ... FOR UPDATE first: the
        UPDATE locks the row and re-checks its WHERE after a concurrent writer). Returns
        the new version; None when someone else moved it (nothing written). With `fence`
        the same UPDATE checks the job's lease (see `_fenced`)."""
        params = {**values, "updated_at": utcnow(), "b_id": snap.renewal_id, "b_state": expect}
        if check_version:
            params["b_version"] = snap.version
        if fence is not None:
            params.update(fence.params())
        version = (
            await session.execute(_CAS_BY[check_version, fence is not None], params)
        ).scalar_one_or_none()
        return await self._fenced(session, fence, version)

    async def _cas_and_audit(
        self,
        session: AsyncSession,
        snap: Snapshot,
        expect: RenewalState,
        events: Callable[[dict[str, Any]], list[dict[str, Any]]],
        *,
        check_version: bool = True,
        fence: Fence | None = None,
        **values: Any,
    ) -> int | None:
        """`_cas`, and when it moved the row, the audit events `events(values)` in the same
        transaction: one statement on PostgreSQL (`_cas_audited`), two on SQLite."""
        if session.get_bind().dialect.name != "postgresql":
            version = await self._cas(
                session, snap, expect, check_version=check_version, fence=fence, **values
            )
            if version is not None:
                await record_rows(session, events(values))
            return version
        values = {**values, "updated_at": utcnow()}
        rows = events(values)
        params = {f"v_{key}": value for key, value in values.items()}
        for i, row in enumerate(rows):
            params.update({f"a{i}_{key}": value for key, value in row.items()})
        params.update({"b_id": snap.renewal_id, "b_state": expect})
        if check_version:
            params["b_version"] = snap.version
        if fence is not None:
            params.update(fence.params())
        stmt = _cas_audited(frozenset(values), check_version, fence is not None, len(rows))
        version = (await session.execute(stmt, params)).scalar_one_or_none()
        return await self._fenced(session, fence, version)

    @staticmethod
    async def _fenced(session: AsyncSession, fence: Fence | None, version: Any) -> int | None:
        """The outcome of a compare-and-set guarded by the lease (`Fence.HELD`): a row moved,
        so the lease was held; none did: LeaseLost if the lease is gone, else the step's
        reading was stale (None)."""
        if version is not None:
            if fence is not None:
                fence.matched()
            return int(version)
        if fence is not None:
            await fence.check(session)
        return None

    def _audit_row(self, snap: Snapshot, *, meta: dict[str, Any], **change: Any) -> dict[str, Any]:
        """An audit event of this renewal's step, for `record_rows` (one INSERT per write)."""
        return event_values(
            SYSTEM,
            AuditAction.vendor_action,
            subject_type="renewal",
            subject_id=snap.renewal_id,
            client_id=snap.client_id,
            meta=meta,
            **change,
        )

    async def _confirmed(self, snap: Snapshot, back: ReadBack) -> None:
        """The term moved on: the renewal confirmed, the subscription on its new term,
        and the job completed, in one transaction (nothing follows a confirmed renewal;
        `ctx.finish` is fenced like every other write)."""
        new_end = back.ends_on
        assert new_end is not None
        now = self.now()
        confirmed = False

        async with self.ctx.finish(then=lambda session: self._follow_up(session, confirmed)) as session:
            params = {
                "b_id": snap.renewal_id,
                "b_state": RenewalState.submitting,
                "b_version": snap.version,
                "state": RenewalState.confirmed,
                "confirmed_at": now,
                "new_term_ends_on": new_end,
                "next_action_at": None,
                "reason": None,
                "updated_at": utcnow(),
            }
            row = (await session.execute(_CONFIRM, params)).one_or_none()
            if row is None:
                return  # someone else moved it: this step's reading is stale
            confirmed = True
            _version, quantity, quoted_price, currency, order_ref = row
            term = {
                "subscription_id": snap.subscription_id,
                "starts_on": snap.term_ends_on + timedelta(days=1),
                "ends_on": new_end,
                "quantity": quantity,
                "renewal_id": snap.renewal_id,
                "renewed_by": TermRenewedBy.auto_hub,
                "note": f"renewed automatically, vendor order {order_ref}",
                "created_at": utcnow(),
            }
            sub_params = {
                "b_id": snap.subscription_id,
                "b_ends_on": new_end,
                "b_unit_cost": quoted_price,
                "b_now": utcnow(),
            }
            if session.get_bind().dialect.name == "postgresql":
                params = {**sub_params, "t_currency": currency, **{f"t_{k}": v for k, v in term.items()}}
                unit, _sub_currency = (await session.execute(_NEW_TERM_AND_ROW, params)).one()
            else:
                unit, sub_currency = (await session.execute(_NEW_TERM, sub_params)).one()
                await session.execute(
                    _TERM, {**term, "unit_cost": unit, "currency": currency or sub_currency}
                )
            # "Before" as this run read the subscription (the row is not read again here).
            before = {
                "ends_on": str(snap.subscription_ends_on),
                "unit_cost": str(snap.subscription_unit_cost),
            }
            await record_rows(
                session,
                [
                    self._audit_row(
                        snap,
                        before=before,
                        after={"ends_on": str(new_end), "unit_cost": str(unit)},
                        meta={"action": "renewal.confirmed", "order": order_ref, "read_back": back.evidence},
                    )
                ],
            )

    async def _follow_up(self, session: AsyncSession, settled: bool) -> None:
        """After the job's completion, in its transaction: a renewal with more to do gets
        its next job at its own time (a settled one needs no read to know it has none)."""
        if not settled:
            await follow_up(session, self.renewal_id)

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


async def follow_up(session: AsyncSession, renewal_id: uuid.UUID) -> None:
    """The next step at its own time (a lost answer reconciled once its in-flight grace
    has passed, a read-back a minute later), not at the next minute tick: enqueued in the
    transaction that completes this job, under the same dedupe key."""
    renewal = await session.get(Renewal, renewal_id)
    if renewal is not None and renewal.state in ACTIVE and renewal.next_action_at is not None:
        await enqueue(
            session,
            AdvanceRenewal(renewal_id=renewal_id),
            run_at=renewal.next_action_at,
            dedupe_key=dedupe_key(renewal_id),
        )


__all__ = ["ACTIVE", "TERMINAL", "Executor", "Renewer", "follow_up", "policy_for"]
