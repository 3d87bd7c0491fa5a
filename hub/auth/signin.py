"""Signing in: the password step (throttled per account and address), the TOTP step,
and mapping an OIDC identity to a hub user. Every attempt, good or bad, is audited.

The caller commits what these functions record even when the answer is a refusal (the
failure count and the audit record are the point of a refusal).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth import passwords, throttle, users
from hub.auth.policy import OidcIdentity, OidcRefused
from hub.auth.principal import Principal
from hub.auth.sessions import principal_of
from hub.auth.settings import AuthSettings
from hub.models import User
from hub.models.enums import AuditAction, Role


class Outcome(enum.StrEnum):
    signed_in = "signed_in"
    needs_totp = "needs_totp"
    refused = "refused"  # wrong e-mail or password (the same answer for both)
    locked = "locked"


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    user: User | None = None
    retry_at: datetime | None = None


def audit_attempt(
    session: AsyncSession,
    *,
    email: str,
    user: User | None,
    ok: bool,
    method: str,
    address: str | None,
    reason: str | None = None,
) -> None:
    actor = (
        principal_of(user)
        if user is not None
        else Principal(actor=f"user:{email}"[:200], role=Role.client_viewer)
    )
    record(
        session,
        actor,
        AuditAction.sign_in if ok else AuditAction.sign_in_failed,
        subject_type="user",
        subject_id=user.id if user is not None else email[:64],
        client_id=user.client_id if user is not None else None,
        meta={"method": method, "address": address, **({"reason": reason} if reason else {})},
    )


async def with_password(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    address: str,
    known_device: bool,
    now: datetime,
    settings: AuthSettings,
) -> Attempt:
    """The first step. A locked key answers `locked` without looking at the password
    (so a lock cannot be used to test passwords faster)."""
    email = email.strip().lower()[:320]
    keys = throttle.account_keys(email, address)
    if known_device:
        keys.pop("account")  # this browser signed in to this account before
    until = await throttle.locked_until(session, keys, now)
    if until is not None:
        audit_attempt(
            session, email=email, user=None, ok=False, method="password", address=address, reason="locked"
        )
        return Attempt(Outcome.locked, retry_at=until)
    user = await users.by_email(session, email)
    ok, rehashed = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        await throttle.record_failure(session, throttle.account_keys(email, address) | keys, now, settings)
        reason = "unknown_user" if user is None else ("inactive" if not user.active else "bad_password")
        audit_attempt(
            session, email=email, user=user, ok=False, method="password", address=address, reason=reason
        )
        return Attempt(Outcome.refused)
    if rehashed:
        user.password_hash = rehashed
    await throttle.clear(session, throttle.account_keys(email, address))
    if user.totp_enabled_at is not None:
        return Attempt(Outcome.needs_totp, user=user)
    audit_attempt(session, email=email, user=user, ok=True, method="password", address=address)
    return Attempt(Outcome.signed_in, user=user)


async def with_totp(
    session: AsyncSession,
    user: User,
    code: str,
    *,
    address: str,
    now: datetime,
    settings: AuthSettings,
) -> Attempt:
    """The second step, after a good password: a wrong code counts as a failed sign-in."""
    keys = throttle.account_keys(user.email, address)
    until = await throttle.locked_until(session, keys, now)
    if until is not None:
        audit_attempt(
            session, email=user.email, user=user, ok=False, method="totp", address=address, reason="locked"
        )
        return Attempt(Outcome.locked, retry_at=until)
    if not users.check_totp(session, user, code, now):
        await throttle.record_failure(session, keys, now, settings)
        audit_attempt(
            session, email=user.email, user=user, ok=False, method="totp", address=address, reason="bad_code"
        )
        return Attempt(Outcome.refused, user=user)
    audit_attempt(session, email=user.email, user=user, ok=True, method="password+totp", address=address)
    return Attempt(Outcome.signed_in, user=user)


async def with_oidc(
    session: AsyncSession,
    identity: OidcIdentity,
    *,
    address: str,
    settings: AuthSettings,
) -> User:
    """The hub user an OIDC identity signs in as: the one already linked to its subject,
    else the one with its e-mail (then linked), else - only when the settings allow it -
    a new technician. Raises OidcRefused otherwise (the caller audits it)."""
    reason = "no hub account"
    user = (
        await session.execute(select(User).where(User.oidc_subject == identity.subject))
    ).scalar_one_or_none()
    if user is None:
        user = await users.by_email(session, identity.email)
        if user is not None and user.oidc_subject not in (None, identity.subject):
            user = None  # linked to another identity: never re-linked silently
            reason = "linked to another identity"
        elif user is None and settings.oidc_create_technicians:
            user = User(email=identity.email, name=identity.name, role=Role.technician, active=True)
            session.add(user)
            await session.flush()
            record(
                session,
                Principal(actor="oidc", role=Role.admin),
                AuditAction.create,
                subject_type="user",
                subject_id=user.id,
                client_id=None,
                after={"email": user.email, "role": user.role.value},
                meta={"via": "oidc", "subject": identity.subject},
            )
        if user is not None:
            user.oidc_subject = identity.subject
    if user is None or not user.active:
        why = "the account is disabled" if user is not None else reason
        # Audited by the caller (`refused_claims`), after this unit of work rolls back.
        raise OidcRefused(f"{identity.email} cannot sign in here ({why}); ask an admin to invite you")
    audit_attempt(session, email=identity.email, user=user, ok=True, method="oidc", address=address)
    return user


def refused_claims(session: AsyncSession, claims: dict[str, Any], error: OidcRefused, address: str) -> None:
    email = str(claims.get("email") or claims.get("sub") or "unknown")
    audit_attempt(
        session, email=email, user=None, ok=False, method="oidc", address=address, reason=str(error)
    )
