"""Renewals as a service: the list and read queries, the MSP-wide switchboard (controls),
the approve/decline transition, and the signed approval links a client uses without an
account. The executor (`executor.py`) is the only code that orders; everything a person
decides about a renewal goes through here, whether it comes from the API or the CLI."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Resource, equals
from hub.audit.service import record
from hub.auth.principal import SYSTEM, Principal
from hub.db import secret_box
from hub.errors import Conflict, NotFound
from hub.models import Renewal, RenewalControls
from hub.models.enums import AuditAction, RenewalState

# The switchboard as the migration creates it (and as a wiped table gets it back).
CONTROL_DEFAULTS: dict[str, Any] = {
    "paused": False,
    "lead_days": 14,
    "price_cap_pct": Decimal("10"),
    "cap_currency": "EUR",
}

# How long a signed approval link stays valid.
LINK_LIFETIME = timedelta(days=7)


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
    controls = await controls_for_update(session)
    before = controls_snapshot(controls)
    for name, value in changes.items():
        setattr(controls, name, value)
    if "paused" in changes:
        controls.paused_at = now if changes["paused"] else None
        controls.paused_by = principal.actor if changes["paused"] else None
        if not changes["paused"]:
            controls.paused_reason = None
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
    expires = (now + LINK_LIFETIME).isoformat()
    payload = json.dumps({"r": str(renewal.id), "v": renewal.version, "exp": expires})
    # Fernet tokens are authenticated encryption: unforgeable and opaque to the holder.
    token = secret_box(session).encrypt(payload)
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


async def renewal_of_link(session: AsyncSession, token: str, now: datetime) -> tuple[Renewal, str]:
    """The renewal a link approves, while the link is valid; any malformed, forged,
    expired or outdated link answers as not found."""
    try:
        data = json.loads(secret_box(session).decrypt(token))
        renewal_id, version, expires = uuid.UUID(data["r"]), int(data["v"]), str(data["exp"])
    except Exception:  # any malformed or forged token answers the same
        raise NotFound("approval link not found") from None
    if expires < now.isoformat():
        raise NotFound("approval link expired")
    renewal = await session.get(Renewal, renewal_id)
    if renewal is None or renewal.version != version or renewal.state != RenewalState.awaiting_approval:
        raise NotFound("approval link no longer valid (the renewal changed)")
    return renewal, expires


async def approve_by_link(session: AsyncSession, token: str, now: datetime) -> Renewal:
    renewal, _ = await renewal_of_link(session, token, now)
    client = Principal(actor="client via signed approval link", role=SYSTEM.role)
    return await decide(
        session,
        client,
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
    "controls_for_update",
    "create_approval_link",
    "decide",
    "get_controls",
    "renewal_of_link",
    "renewals",
    "update_controls",
]
