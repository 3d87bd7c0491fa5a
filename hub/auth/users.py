"""People's accounts: creating them (by invitation), single-use e-mail links
(invitations and password resets), passwords and the TOTP second factor.

Who may create whom: an admin creates anyone; a technician creates client users; a
client admin creates users of its own client. Nobody becomes an admin by any other way
than an admin's decision (OIDC never creates one).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth import passwords, sessions, totp
from hub.auth.principal import Principal
from hub.auth.settings import AuthSettings
from hub.db import secret_box
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.kit.crypto import Purpose
from hub.models import Client, User, UserToken
from hub.models.enums import AuditAction, Role, UserTokenPurpose

CLIENT_ROLES = frozenset({Role.client_viewer, Role.client_admin})
LOCALES = ("en", "it")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 320 or any(c.isspace() for c in email):
        raise InvalidInput("email", "is not an e-mail address")
    return email


async def by_email(session: AsyncSession, email: str) -> User | None:
    return (
        await session.execute(select(User).where(func.lower(User.email) == email.strip().lower()))
    ).scalar_one_or_none()


def _may_create(principal: Principal, role: Role, client_id: uuid.UUID | None) -> None:
    if principal.role is Role.admin:
        return
    if principal.role is Role.technician and role in CLIENT_ROLES:
        return
    if principal.role is Role.client_admin and role in CLIENT_ROLES and client_id == principal.client_id:
        return
    raise Forbidden("you may not create a user with this role")


async def create_user(
    session: AsyncSession,
    principal: Principal,
    *,
    email: str,
    name: str,
    role: Role,
    client_id: uuid.UUID | None,
) -> User:
    email = normalise_email(email)
    if not name.strip():
        raise InvalidInput("name", "a user needs a name")
    if (role in CLIENT_ROLES) != (client_id is not None):
        raise InvalidInput("client_id", "a client user needs exactly one client; staff none")
    _may_create(principal, role, client_id)
    if client_id is not None and await session.get(Client, client_id) is None:
        raise InvalidInput("client_id", f"no client with id {client_id}")
    if await by_email(session, email) is not None:
        raise Conflict(f"a user with e-mail {email} already exists")
    user = User(email=email, name=name.strip()[:200], role=role, client_id=client_id, active=True)
    session.add(user)
    await session.flush()
    record(
        session,
        principal,
        AuditAction.create,
        subject_type="user",
        subject_id=user.id,
        client_id=client_id,
        after={"email": email, "name": user.name, "role": role.value},
    )
    return user


# --- single-use links ---------------------------------------------------------------------


async def issue_link(
    session: AsyncSession,
    user: User,
    purpose: UserTokenPurpose,
    *,
    now: datetime,
    settings: AuthSettings,
    created_by: str,
) -> str:
    """A new link token (returned once, to be e-mailed); earlier unused links of the same
    purpose for this user stop working."""
    await session.execute(
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.purpose == purpose, UserToken.used_at.is_(None))
        .values(used_at=now)
    )
    lifetime = (
        timedelta(days=settings.invite_days)
        if purpose is UserTokenPurpose.invite
        else timedelta(minutes=settings.reset_minutes)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        UserToken(
            token_hash=_hash(token),
            user_id=user.id,
            purpose=purpose,
            expires_at=now + lifetime,
            created_by=created_by[:200],
        )
    )
    await session.flush()
    return token


async def link_user(session: AsyncSession, token: str, purpose: UserTokenPurpose, now: datetime) -> User:
    """The user a link is for, while it is unused and unexpired (NotFound otherwise,
    the same answer whatever the reason)."""
    row = (
        await session.execute(
            select(UserToken).where(UserToken.token_hash == _hash(token), UserToken.purpose == purpose)
        )
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise NotFound("this link is not valid any more; ask for a new one")
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        raise NotFound("this link is not valid any more; ask for a new one")
    return user


async def spend_link(
    session: AsyncSession, token: str, purpose: UserTokenPurpose, password: str, now: datetime
) -> User:
    """Set the password through a link, once: the link is spent, every other link of the
    user too, and every session of the user ends (a reset locks out whoever had it)."""
    user = await link_user(session, token, purpose, now)
    set_password(user, password, now)
    await session.execute(
        update(UserToken).where(UserToken.user_id == user.id, UserToken.used_at.is_(None)).values(used_at=now)
    )
    await sessions.end_all(session, user.id, now)
    record(
        session,
        sessions.principal_of(user),
        AuditAction.update,
        subject_type="user",
        subject_id=user.id,
        client_id=user.client_id,
        after={"password": "set"},
        meta={"via": purpose.value},
    )
    await session.flush()
    return user


def set_password(user: User, password: str, now: datetime) -> None:
    found = passwords.problem(password, email=user.email, name=user.name)
    if found is not None:
        raise InvalidInput("password", passwords.MESSAGES[found])
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now


# --- TOTP --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str


def begin_totp(session: AsyncSession, user: User) -> TotpEnrolment:
    """A new pending secret (replaces any pending one; an enabled factor stays enabled
    until `confirm_totp` succeeds with the new one)."""
    if user.totp_enabled_at is not None:
        raise Conflict("two-step sign-in is already on; turn it off first")
    secret = totp.new_secret()
    user.totp_secret_encrypted = secret_box(session, Purpose.totp_secret).encrypt(secret)
    return TotpEnrolment(secret, totp.provisioning_uri(secret, user.email))


def totp_secret(session: AsyncSession, user: User) -> str | None:
    if user.totp_secret_encrypted is None:
        return None
    return secret_box(session, Purpose.totp_secret).decrypt(user.totp_secret_encrypted)


def check_totp(session: AsyncSession, user: User, code: str, now: datetime) -> bool:
    """A valid, unused code of the user's secret (and remember its step)."""
    secret = totp_secret(session, user)
    if secret is None:
        return False
    step = totp.verify(secret, code, now, last_step=user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True


def confirm_totp(session: AsyncSession, user: User, code: str, now: datetime) -> None:
    if user.totp_enabled_at is not None:
        raise Conflict("two-step sign-in is already on")
    if not check_totp(session, user, code, now):
        raise InvalidInput("code", "the code does not match; check the time on your phone and try again")
    user.totp_enabled_at = now
    record(
        session,
        sessions.principal_of(user),
        AuditAction.update,
        subject_type="user",
        subject_id=user.id,
        client_id=user.client_id,
        after={"totp": "enabled"},
    )


def disable_totp(session: AsyncSession, principal: Principal, user: User) -> None:
    if principal.user_id != user.id and principal.role is not Role.admin:
        raise Forbidden("only an admin may turn off someone else's two-step sign-in")
    user.totp_secret_encrypted = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="user",
        subject_id=user.id,
        client_id=user.client_id,
        after={"totp": "disabled"},
    )


def set_locale(user: User, locale: str | None) -> None:
    if locale is not None and locale not in LOCALES:
        raise InvalidInput("locale", f"must be one of {', '.join(LOCALES)}")
    user.locale = locale


async def list_users(session: AsyncSession, principal: Principal) -> list[User]:
    stmt = select(User).order_by(User.role, User.email)
    if principal.client_id is not None:
        stmt = stmt.where(User.client_id == principal.client_id)
    elif not principal.is_staff:
        raise Forbidden("this needs a technician or admin")
    return list((await session.execute(stmt)).scalars())
