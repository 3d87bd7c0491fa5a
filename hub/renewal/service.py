"""Renewals as a service: the list and read queries, the MSP-wide switchboard (controls),
the approve/decline transition, closing a renewal a person settled (renewed outside the
hub, will not renew), and the signed approval links a client uses without an
account. The executor (`executor.py`) is the only code that orders; everything a person
decides about a renewal goes through here, whether it comes from the API or the CLI."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Resource, equals, refuse_nulls
from hub.audit.service import record
from hub.auth.principal import SYSTEM, Principal
from hub.db import keyring_of
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.jobs.queue import bring_forward
from hub.models import (
    Client,
    Renewal,
    RenewalControls,
    Subscription,
    SubscriptionTerm,
    Vendor,
    VendorAccount,
)
from hub.models.enums import AuditAction, RenewalResolution, RenewalState, RenewalType, Role, TermRenewedBy
from hub.renewal import alerts, links
from hub.renewal.schemas import ApprovalClientView, RenewalClientRead
from hub.renewal.states import ACTIVE
from hub.terms.client_view import figures

# The switchboard as the migration creates it (and as a wiped table gets it back).
CONTROL_DEFAULTS: dict[str, Any] = {
    "paused": False,
    "lead_days": 14,
    "price_cap_pct": Decimal("10"),
    "cap_currency": "EUR",
    "approve_negative_margin": True,
}

# What a renewal waiting out the MSP-wide pause says (the executor writes it).
PAUSED_REASON = "renewals are paused MSP-wide"


class RenewalService(CrudService[Renewal]):
    resource = Resource(
        model=Renewal,
        label="renewal",
        subject_type="renewal",
        client_column=Renewal.client_id,
        sort_fields={
            "term_ends_on": Renewal.term_ends_on,
            "state": Renewal.state,
            "created_at": Renewal.created_at,
            "submitted_at": Renewal.submitted_at,
        },
        default_sort="term_ends_on",
        filters={
            "state": equals(Renewal.state),
            "client_id": equals(Renewal.client_id),
            "subscription_id": equals(Renewal.subscription_id),
        },
    )


renewals = RenewalService()


# -- the switchboard ------------------------------------------------------------------------


async def get_controls(session: AsyncSession) -> RenewalControls:
    """The switchboard as stored, or the defaults (not added to the session) when the row
    is missing."""
    controls = await session.get(RenewalControls, 1)
    return controls if controls is not None else RenewalControls(id=1, **CONTROL_DEFAULTS)


async def controls_for_update(session: AsyncSession) -> RenewalControls:
    controls = await session.get(RenewalControls, 1)
    if controls is None:  # the migration inserts it; a wiped table gets the defaults back
        controls = RenewalControls(id=1, **CONTROL_DEFAULTS)
        session.add(controls)
        await session.flush()
    return controls


async def update_controls(
    session: AsyncSession, principal: Principal, changes: dict[str, Any], now: datetime
) -> RenewalControls:
    """Apply the admin's changes (pause, lead time, caps) and audit before and after."""
    principal.require_admin()
    refuse_nulls(RenewalControls, changes)
    controls = await controls_for_update(session)
    before = controls_snapshot(controls)
    resumed = controls.paused and changes.get("paused") is False
    for name, value in changes.items():
        setattr(controls, name, value)
    if "paused" in changes:
        controls.paused_at = now if changes["paused"] else None
        controls.paused_by = principal.actor if changes["paused"] else None
        if not changes["paused"]:
            controls.paused_reason = None
        if resumed:
            await _resume_paused(session, now)
    controls.updated_at = now
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="renewal_controls",
        subject_id=1,
        client_id=None,
        before=before,
        after=controls_snapshot(controls),
    )
    return controls


async def _resume_paused(session: AsyncSession, now: datetime) -> None:
    """Renewals that were waiting out the pause go on now, not at their next recheck."""
    ids = list(
        (
            await session.execute(
                select(Renewal.id).where(
                    Renewal.state.in_(ACTIVE),
                    (Renewal.reason == PAUSED_REASON) | (Renewal.last_error == PAUSED_REASON),
                )
            )
        ).scalars()
    )
    if not ids:
        return
    await session.execute(
        update(Renewal)
        .where(Renewal.id.in_(ids))
        .values(next_action_at=now, updated_at=now, version=Renewal.version + 1)
        .execution_options(synchronize_session=False)
    )
    await bring_forward(session, [f"renewal:{i}" for i in ids], now)


def controls_snapshot(controls: RenewalControls) -> dict[str, Any]:
    from hub.renewal.schemas import ControlsRead

    return ControlsRead.model_validate(controls).model_dump(mode="json")


# -- a person's decision ----------------------------------------------------------------------


async def decide(
    session: AsyncSession,
    principal: Principal,
    renewal: Renewal,
    *,
    version: int,
    approve: bool,
    note: str | None,
    now: datetime,
) -> Renewal:
    """Approve a renewal waiting for approval (it is ordered by the next step), or decline
    one that has not been sent (nothing will be ordered for this term)."""
    if renewal.version != version:
        raise Conflict(f"renewal {renewal.id} changed (version {renewal.version}); read it again")
    allowed = (
        {RenewalState.awaiting_approval}
        if approve
        else {RenewalState.awaiting_approval, RenewalState.planned, RenewalState.approved}
    )
    if renewal.state not in allowed:
        verb = "approved" if approve else "declined"
        raise Conflict(f"renewal {renewal.id} is {renewal.state.value}: it cannot be {verb} now")
    before = {"state": renewal.state.value}
    renewal.state = RenewalState.approved if approve else RenewalState.declined
    renewal.decided_by = principal.actor
    renewal.reason = note
    renewal.next_action_at = now if approve else None
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="renewal",
        subject_id=renewal.id,
        client_id=renewal.client_id,
        before=before,
        after={"state": renewal.state.value, "note": note},
    )
    await session.flush()
    return renewal


# -- closing a renewal a person settled outside the executor ---------------------------------

# Nothing was sent for these, or what was sent was refused: a person may close them.
RESOLVABLE = frozenset(
    {
        RenewalState.escalated,
        RenewalState.awaiting_approval,
        RenewalState.planned,
        RenewalState.approved,
        RenewalState.declined,
    }
)
# An order may be on its way: closing it now could hide a duplicate.
IN_FLIGHT = frozenset({RenewalState.submitting, RenewalState.unknown, RenewalState.reconciling})


@dataclass(frozen=True)
class NewTerm:
    """The term a renewal done outside the hub bought (None: as the subscription has it)."""

    ends_on: date | None = None
    starts_on: date | None = None
    quantity: int | None = None
    unit_cost: Decimal | None = None
    renewed_by: TermRenewedBy = TermRenewedBy.manual


async def resolve(
    session: AsyncSession,
    principal: Principal,
    renewal: Renewal,
    *,
    version: int,
    outcome: RenewalResolution,
    term: NewTerm | None,
    note: str | None,
    now: datetime,
) -> Renewal:
    """Close a renewal the executor will not finish, with what really happened:

    - `renewed_outside`: someone renewed it by hand (or the vendor did): the new term is
      recorded as a SubscriptionTerm saying how, the subscription moves onto it;
    - `will_not_renew`: the subscription ends with this term: its auto-renew is turned
      off (renewal type `none`).

    Either way the renewal is closed (`resolved`) and its alerts (approval, escalation,
    deadline ladder) are acknowledged in the notice ledger; all of it audited."""
    principal.require_staff()
    if renewal.version != version:
        raise Conflict(f"renewal {renewal.id} changed (version {renewal.version}); read it again")
    if renewal.state in IN_FLIGHT:
        raise Conflict(
            f"renewal {renewal.id} is {renewal.state.value}: an order may be on its way; "
            "wait until it is reconciled"
        )
    if renewal.state not in RESOLVABLE:
        raise Conflict(f"renewal {renewal.id} is {renewal.state.value}: there is nothing to resolve")
    sub = await session.get(Subscription, renewal.subscription_id, with_for_update=True)
    assert sub is not None  # renewals restrict the subscription's deletion
    before = {"state": renewal.state.value}
    if outcome is RenewalResolution.renewed_outside:
        renewal.new_term_ends_on = await _record_outside_term(
            session, principal, renewal, sub, term or NewTerm(), note
        )
    else:
        _refuse_term(term)
        _end_with_term(session, principal, renewal, sub)
    renewal.state = RenewalState.resolved
    renewal.resolution = outcome
    renewal.decided_by = principal.actor
    renewal.reason = note or _OUTCOME_TEXT[outcome]
    renewal.next_action_at = None
    acknowledged = await alerts.acknowledge(session, renewal, principal.actor, now)
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="renewal",
        subject_id=renewal.id,
        client_id=renewal.client_id,
        before=before,
        after={
            "state": renewal.state.value,
            "resolution": outcome.value,
            "new_term_ends_on": renewal.new_term_ends_on.isoformat() if renewal.new_term_ends_on else None,
            "note": note,
        },
        meta={"action": "renewal.resolved", "notices_acknowledged": acknowledged},
    )
    await session.flush()
    return renewal


_OUTCOME_TEXT = {
    RenewalResolution.renewed_outside: "renewed outside the hub",
    RenewalResolution.will_not_renew: "will not be renewed: the subscription ends with this term",
}


def _refuse_term(term: NewTerm | None) -> None:
    if term is None:
        return
    for name in ("ends_on", "starts_on", "quantity", "unit_cost"):
        if getattr(term, name) is not None:
            raise InvalidInput(
                name, "only for outcome renewed_outside (a renewal that will not happen has no new term)"
            )


def _end_with_term(session: AsyncSession, principal: Principal, renewal: Renewal, sub: Subscription) -> None:
    before = sub.renewal_type.value
    sub.renewal_type = RenewalType.none
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="subscription",
        subject_id=sub.id,
        client_id=sub.client_id,
        before={"renewal_type": before},
        after={"renewal_type": sub.renewal_type.value},
        meta={"action": "renewal.resolved", "renewal_id": str(renewal.id), "ends_on": str(sub.ends_on)},
    )


async def _record_outside_term(
    session: AsyncSession,
    principal: Principal,
    renewal: Renewal,
    sub: Subscription,
    term: NewTerm,
    note: str | None,
) -> date:
    """The new term's end; the term is appended unless it was recorded already (the
    subscription already ends after this renewal's term)."""
    if sub.ends_on is not None and sub.ends_on > renewal.term_ends_on:
        if term.ends_on is not None and term.ends_on != sub.ends_on:
            raise InvalidInput(
                "ends_on", f"the subscription's new term is recorded already and ends on {sub.ends_on}"
            )
        return sub.ends_on
    if sub.ends_on != renewal.term_ends_on:
        raise Conflict(
            f"the subscription now ends on {sub.ends_on}, not on this renewal's term end "
            f"({renewal.term_ends_on}): record its term on the subscription and decline this renewal"
        )
    if term.ends_on is None:
        raise InvalidInput("ends_on", "required: when the term renewed outside the hub ends")
    starts = term.starts_on or renewal.term_ends_on + timedelta(days=1)
    if starts <= renewal.term_ends_on:
        raise InvalidInput(
            "starts_on", f"the new term must start after the renewed one ends ({renewal.term_ends_on})"
        )
    if term.ends_on < starts:
        raise InvalidInput("ends_on", f"must not be before the new term starts ({starts})")
    clash = await session.execute(
        select(SubscriptionTerm.id).where(
            SubscriptionTerm.subscription_id == sub.id, SubscriptionTerm.starts_on == starts
        )
    )
    if clash.first() is not None:
        raise InvalidInput("starts_on", f"the subscription has a term starting on {starts} already")
    how = "by the vendor" if term.renewed_by is TermRenewedBy.auto_vendor else "by hand"
    added = SubscriptionTerm(
        subscription_id=sub.id,
        starts_on=starts,
        ends_on=term.ends_on,
        quantity=term.quantity if term.quantity is not None else sub.quantity,
        unit_cost=term.unit_cost if term.unit_cost is not None else sub.unit_cost,
        currency=sub.currency,
        renewed_by=term.renewed_by,
        renewal_id=renewal.id,
        note=f"renewed outside the hub ({how}){': ' + note if note else ''}"[:20_000],
    )
    session.add(added)
    before = {
        "starts_on": str(sub.starts_on),
        "ends_on": str(sub.ends_on),
        "quantity": sub.quantity,
        "unit_cost": str(sub.unit_cost),
    }
    sub.starts_on, sub.ends_on = added.starts_on, added.ends_on
    sub.quantity, sub.unit_cost = added.quantity, added.unit_cost
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="subscription",
        subject_id=sub.id,
        client_id=sub.client_id,
        before=before,
        after={
            "starts_on": str(sub.starts_on),
            "ends_on": str(sub.ends_on),
            "quantity": sub.quantity,
            "unit_cost": str(sub.unit_cost),
        },
        meta={
            "action": "renewal.resolved",
            "renewal_id": str(renewal.id),
            "renewed_by": term.renewed_by.value,
        },
    )
    return term.ends_on


# -- signed approval links (the client approves without an account) -------------------------


@dataclass(frozen=True)
class ApprovalLinkToken:
    token: str
    expires_at: str


async def create_approval_link(
    session: AsyncSession, principal: Principal, renewal: Renewal, now: datetime
) -> ApprovalLinkToken:
    principal.require_admin()
    if renewal.state != RenewalState.awaiting_approval:
        raise Conflict(f"renewal {renewal.id} is {renewal.state.value}, not waiting for approval")
    token, claims = links.issue(keyring_of(session), renewal.id, renewal.version, principal.actor, now)
    expires = claims.expires_at.isoformat()
    record(
        session,
        principal,
        AuditAction.vendor_action,
        subject_type="renewal",
        subject_id=renewal.id,
        client_id=renewal.client_id,
        meta={"action": "renewal.approval_link_created", "expires_at": expires},
    )
    return ApprovalLinkToken(token, expires)


async def link_of(session: AsyncSession, token: str, now: datetime) -> tuple[Renewal, links.LinkClaims]:
    """The renewal a link approves and the link's claims, while the link is valid; any
    malformed, forged, expired, spent or outdated link answers as not found."""
    try:
        claims = links.read(keyring_of(session), token, now)
    except links.InvalidLink:
        raise NotFound("approval link not found") from None
    renewal = await session.get(Renewal, claims.renewal_id)
    if (
        renewal is None
        or renewal.version != claims.version
        or renewal.state != RenewalState.awaiting_approval
    ):
        raise NotFound("approval link not found")
    return renewal, claims


async def renewal_of_link(session: AsyncSession, token: str, now: datetime) -> tuple[Renewal, str]:
    renewal, claims = await link_of(session, token, now)
    return renewal, claims.expires_at.isoformat()


async def approval_view(session: AsyncSession, renewal: Renewal, expires_at: str) -> ApprovalClientView:
    """The approval page's content, in the client-safe projection: for a line the client
    pays the vendor directly its price is the vendor's quote; for a resold one the MSP's
    price; for one the fee covers, none."""
    return ApprovalClientView(**(await client_offer(session, renewal)), expires_at=expires_at)


async def client_offer(session: AsyncSession, renewal: Renewal) -> dict[str, Any]:
    """What a renewal asks the client to approve, in the client-safe projection (the
    approval link's page and the portal show the same): the service, its vendor, the
    quantity and what the client will pay per period."""
    sub = await session.get(Subscription, renewal.subscription_id)
    if sub is None:
        raise NotFound("approval link not found")
    vendor = (
        await session.execute(
            select(Vendor.name)
            .join(VendorAccount, VendorAccount.vendor_id == Vendor.id)
            .where(VendorAccount.id == sub.vendor_account_id)
        )
    ).scalar_one()
    unit_cost = renewal.quoted_price if renewal.quoted_price is not None else sub.unit_cost
    f = figures(sub.payer, unit_cost, sub.client_unit_price, renewal.quantity, sub.billing_period)
    return {
        "renewal": RenewalClientRead.model_validate(renewal),
        "product": sub.product,
        "vendor": vendor,
        "quantity": renewal.quantity,
        "billing_period": sub.billing_period.value,
        "currency": renewal.currency or sub.currency,
        "pays": f.pays.value,
        "unit_price": f.unit_price,
        "period_price": f.period_price,
    }


async def decide_as_client(
    session: AsyncSession,
    principal: Principal,
    renewal_id: uuid.UUID,
    *,
    version: int,
    approve: bool,
    now: datetime,
) -> Renewal:
    """A client's own answer to a renewal waiting for its approval (the portal): only a
    client admin, only its own client's renewal (another client's is not found), only
    while it waits. Then the same transition as an admin's (`decide`): an approved
    renewal is ordered by its next step."""
    if not principal.is_client or principal.role is not Role.client_admin:
        raise Forbidden("approving or declining a renewal needs the client's administrator")
    renewal = await renewals.get(session, principal, renewal_id)
    if renewal.state is not RenewalState.awaiting_approval:
        raise Conflict(f"renewal {renewal.id} is {renewal.state.value}: it is not waiting for your approval")
    note = "approved by the client" if approve else "declined by the client"
    return await decide(session, principal, renewal, version=version, approve=approve, note=note, now=now)


async def approve_by_link(session: AsyncSession, token: str, now: datetime) -> Renewal:
    renewal, claims = await link_of(session, token, now)
    client = await session.get(Client, renewal.client_id)
    who = client.slug if client is not None else str(renewal.client_id)
    # The audit names who approved: the client, through a link an admin made.
    actor = f"client:{who} via approval link from {claims.created_by}"[:200]
    return await decide(
        session,
        Principal(actor=actor, role=SYSTEM.role),
        renewal,
        version=renewal.version,
        approve=True,
        note="approved by the client",
        now=now,
    )


__all__ = [
    "CONTROL_DEFAULTS",
    "RenewalService",
    "approve_by_link",
    "client_offer",
    "controls_for_update",
    "create_approval_link",
    "decide",
    "decide_as_client",
    "get_controls",
    "renewal_of_link",
    "renewals",
    "resolve",
    "update_controls",
]
