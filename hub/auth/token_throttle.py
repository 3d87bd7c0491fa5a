"""Failed API authentications (bearer tokens), limited per client address and token prefix.

Counters live in the database (`auth_failures`, one row per key and fixed window), so
the limit holds across every API process of a scaled-out install, and a restart does not
reset it. Before a token is checked, the caller's address and the token's prefix are
looked up; past either limit the request is refused with 429 and Retry-After (the end of
the window) without the token being checked, so guessing cannot go on faster than the
limit. A lockout lasts at most one window after the failures that caused it: refused
requests are not counted, so nobody can be locked out for longer than an attacker keeps
failing, and a valid token from elsewhere is never affected by another address's limit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import session_scope
from hub.models import AuthFailure

log = logging.getLogger("hub.auth")
KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    key: str  # "address:203.0.113.9" or "token:hub_1a2b3c4d"
    allowed: int  # failures allowed per window (0: no limit)


def window_start(now: datetime, seconds: int) -> datetime:
    """The fixed window `now` falls in (windows are aligned on the epoch)."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, now.tzinfo)


def retry_after(now: datetime, seconds: int) -> int:
    """Whole seconds until the window of `now` ends (at least 1)."""
    end = window_start(now, seconds) + timedelta(seconds=seconds)
    return max(1, math.ceil((end - now).total_seconds()))


def limits(address: str | None, prefix: str | None, per_address: int, per_token: int) -> list[Limit]:
    found = []
    if address and per_address > 0:
        found.append(Limit(f"address:{address}"[:120], per_address))
    if prefix and per_token > 0:
        found.append(Limit(f"token:{prefix}"[:120], per_token))
    return found


def first_reached(keys: list[Limit], failures: dict[str, int]) -> Limit | None:
    """The first limit already reached, given the failures counted so far in the current
    window by key (hub.auth.bearer reads them with the token, in one statement)."""
    return next((k for k in keys if failures.get(k.key, 0) >= k.allowed), None)


async def record_failure(
    sessionmaker: async_sessionmaker[AsyncSession], keys: list[Limit], now: datetime, seconds: int
) -> None:
    """Count one failure against each key, in a short write of its own (best effort: a
    busy database must not turn a 401 into a 500)."""
    if not keys:
        return
    start = window_start(now, seconds)
    try:
        async with session_scope(sessionmaker) as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            for key in keys:
                stmt = insert(AuthFailure).values(key=key.key, window_start=start, count=1)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[AuthFailure.key, AuthFailure.window_start],
                    set_={"count": AuthFailure.count + 1},
                )
                await session.execute(stmt)
            await session.execute(delete(AuthFailure).where(AuthFailure.window_start < now - KEEP))
    except OperationalError as exc:
        log.warning("could not count a failed authentication: %s", type(exc).__name__)


__all__ = ["Limit", "first_reached", "limits", "record_failure", "retry_after", "window_start"]
