"""Browser sessions: a random token in a signed, HttpOnly cookie; its SHA-256 in
`user_sessions`. A session ends when idle too long, at its absolute end, at sign-out,
or when its user signs out everywhere (or changes the password)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.auth.settings import AuthSettings
from hub.models import User, UserSession

# Writing last_seen_at on every page would serialise requests on SQLite's write lock;
# idle time is measured with this resolution.
SEEN_RESOLUTION = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_of(user: User) -> Principal:
    """The same principal a token of this role would give: pages and the API share
    every scoping rule through it."""
    return Principal(actor=f"user:{user.email}", role=user.role, client_id=user.client_id, user_id=user.id)


@dataclass(frozen=True)
class Started:
    token: str  # goes into the cookie (signed); never stored
    row: UserSession


async def start(
    session: AsyncSession,
    user: User,
    *,
    method: str,
    now: datetime,
    settings: AuthSettings,
    address: str | None,
    user_agent: str | None,
) -> Started:
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=_hash(token),
        user_id=user.id,
        started_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        method=method,
        address=(address or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(row)
    user.last_sign_in_at = now
    await session.flush()
    return Started(token, row)


@dataclass(frozen=True)
class Current:
    row: UserSession
    user: User
    stale: bool  # last_seen_at is due for a refresh

    @property
    def principal(self) -> Principal:
        return principal_of(self.user)


async def current(session: AsyncSession, token: str, now: datetime, settings: AuthSettings) -> Current | None:
    """The live session of this token and its active user, or None."""
    found = (
        await session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == _hash(token))
        )
    ).one_or_none()
    if found is None:
        return None
    row, user = found
    idle = timedelta(minutes=settings.session_idle_minutes)
    if (
        row.revoked_at is not None
        or row.expires_at <= now
        or now - row.last_seen_at > idle
        or not user.active
    ):
        return None
    return Current(row, user, stale=now - row.last_seen_at > SEEN_RESOLUTION)


async def touch(session: AsyncSession, session_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))


async def end(session: AsyncSession, token: str, now: datetime) -> UserSession | None:
    row = (
        await session.execute(select(UserSession).where(UserSession.token_hash == _hash(token)))
    ).scalar_one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
    return row


async def end_all(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    """Sign a user out everywhere: every live session ends now."""
    result = await session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def live_sessions(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> list[UserSession]:
    rows = await session.execute(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > now)
        .order_by(UserSession.last_seen_at.desc())
    )
    return list(rows.scalars())
