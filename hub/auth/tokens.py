"""API tokens: `hub_<8 hex id>_<43 chars secret>`, stored as SHA-256 only.

A token carries 256 bits of randomness, so a fast hash is enough (no password
stretching needed); the id part finds the row without scanning.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.auth.principal import Principal
from hub.db import session_scope
from hub.errors import InvalidInput, NotFound, Unauthorized
from hub.kit.time import utcnow
from hub.models import ApiToken, Client
from hub.models.enums import Role

log = logging.getLogger("hub.auth")
_HEX = frozenset(string.hexdigits.lower())
_URLSAFE = frozenset(string.ascii_letters + string.digits + "-_")
TOKEN_PREFIX = "hub_"
# Writing last_used_at on every request would serialise all requests on SQLite's lock.
LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    row: ApiToken


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split_token(token: str) -> str | None:
    """The public prefix of a well-formed token, or None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "hub" or len(parts[1]) != 8 or len(parts[2]) < 32:
        return None
    if not all(c in _HEX for c in parts[1]) or not all(c in _URLSAFE for c in parts[2]):
        return None
    return f"{parts[0]}_{parts[1]}"


async def issue_token(
    session: AsyncSession,
    *,
    name: str,
    role: Role,
    client_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """A new token; `expires_at` None means it never expires (callers pass the default
    lifetime, HUB_AUTH_TOKEN_DAYS, unless someone asked for a token that never expires)."""
    if not name.strip():
        raise InvalidInput("name", "a token needs a name")
    if (role is Role.client_viewer) != (client_id is not None):
        raise InvalidInput("client", "a client_viewer token needs exactly one client; staff none")
    if client_id is not None and await session.get(Client, client_id) is None:
        raise NotFound("client not found")
    prefix = f"{TOKEN_PREFIX}{secrets.token_hex(4)}"
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(
        name=name.strip(),
        prefix=prefix,
        token_hash=_hash(token),
        role=role,
        client_id=client_id,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return IssuedToken(token=token, row=row)


@dataclass(frozen=True, slots=True)
class TokenFields:
    """What authentication reads of a token's row."""

    id: uuid.UUID
    prefix: str
    token_hash: str
    role: Role
    client_id: uuid.UUID | None
    revoked_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None


def verify(row: TokenFields | ApiToken | None, token: str, now: datetime) -> tuple[Principal, bool]:
    """The principal of `token` given the row its prefix found (None: no such prefix), and
    whether its last-used time is due for a refresh; Unauthorized when it does not hold."""
    if row is None or not hmac.compare_digest(row.token_hash, _hash(token)):
        raise Unauthorized("invalid API token")
    if row.revoked_at is not None:
        raise Unauthorized("API token revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("API token expired")
    principal = Principal(
        actor=f"token:{row.prefix}", role=row.role, client_id=row.client_id, token_id=row.id
    )
    stale = row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION
    return principal, stale


async def authenticate(
    session: AsyncSession, token: str, now: datetime | None = None
) -> tuple[Principal, bool]:
    """The token's principal, and whether its last-used time is due for a refresh."""
    prefix = split_token(token)
    if prefix is None:
        raise Unauthorized("malformed API token")
    row = (await session.execute(select(ApiToken).where(ApiToken.prefix == prefix))).scalar_one_or_none()
    return verify(row, token, now or utcnow())


async def touch_token(sessionmaker: async_sessionmaker[AsyncSession], token_id: uuid.UUID) -> None:
    """Best effort, in its own short write: a busy database must not fail the request
    that merely used the token."""
    try:
        async with session_scope(sessionmaker) as session:
            await session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow())
            )
    except OperationalError as exc:
        log.warning("could not record token use: %s", type(exc).__name__)


async def revoke_token(session: AsyncSession, prefix: str) -> ApiToken:
    row = (await session.execute(select(ApiToken).where(ApiToken.prefix == prefix))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no token with prefix {prefix}")
    row.revoked_at = row.revoked_at or utcnow()
    await session.flush()
    return row
