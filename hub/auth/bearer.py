"""A request's bearer token checked in one statement.

Every API request authenticates, so this is the hottest read of the hub. The token's
row and both failure counters of hub.auth.token_throttle (the caller's address and the
token's prefix, in the current window) come back in one row of one statement, read on a
connection of its own outside any transaction (no BEGIN, no session): profiling a cached
report showed authentication at 30 % of the request, most of it in building and running
two statements in a session. The rules are hub.auth.tokens.verify and
hub.auth.token_throttle.first_reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.auth.token_throttle import Limit, first_reached, window_start
from hub.auth.tokens import TokenFields
from hub.db import ONE_READ_OPTIONS
from hub.models import ApiToken, AuthFailure


def _failures(key: str) -> Any:
    return (
        select(AuthFailure.count)
        .where(AuthFailure.key == bindparam(key), AuthFailure.window_start == bindparam("window_start"))
        .scalar_subquery()
    )


# FROM a one-row subquery LEFT JOIN the token: the counters come back even when no token
# has the prefix (a guess must still meet the limit).
_ONE = select(literal(1).label("one")).subquery("one")
_LOOKUP = (
    select(
        _failures("address_key").label("address_failures"),
        _failures("token_key").label("token_failures"),
        ApiToken.id,
        ApiToken.prefix,
        ApiToken.token_hash,
        ApiToken.role,
        ApiToken.client_id,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
    )
    .select_from(_ONE)
    .outerjoin(ApiToken, ApiToken.prefix == bindparam("prefix"))
)
# No BEGIN on SQLite (one statement reads one snapshot); no transaction on PostgreSQL,
# where BEGIN and ROLLBACK would be two more round trips. (Not AUTOCOMMIT on SQLite: there
# SQLAlchemy sets and resets it with PRAGMA statements on every checkout.)
_READ_OPTIONS = {"sqlite": ONE_READ_OPTIONS, "postgresql": {"isolation_level": "AUTOCOMMIT"}}


@dataclass(frozen=True, slots=True)
class Lookup:
    token: TokenFields | None  # None: no token has this prefix
    failures: dict[str, int]  # failures so far in this window, by throttle key

    def blocked(self, keys: list[Limit]) -> Limit | None:
        return first_reached(keys, self.failures)


async def lookup(
    engine: AsyncEngine, prefix: str | None, keys: list[Limit], now: datetime, window_seconds: int
) -> Lookup:
    address_key = next((k.key for k in keys if k.key.startswith("address:")), None)
    token_key = next((k.key for k in keys if k.key.startswith("token:")), None)
    params = {
        "address_key": address_key,
        "token_key": token_key,
        "window_start": window_start(now, window_seconds),
        "prefix": prefix,
    }
    conn = await engine.connect()
    try:
        await conn.execution_options(**_READ_OPTIONS.get(engine.dialect.name, {}))
        row = (await conn.execute(_LOOKUP, params)).one()
    finally:
        # Not `async with`: its exit shields the close in a task of its own, so the
        # connection went back to the pool only after the event loop had run every other
        # ready request, each checking out one more (50 concurrent requests held 20).
        await conn.close()
    failures = {
        key: count
        for key, count in ((address_key, row.address_failures), (token_key, row.token_failures))
        if key is not None and count is not None
    }
    token = None
    if row.id is not None:
        token = TokenFields(
            id=row.id,
            prefix=row.prefix,
            token_hash=row.token_hash,
            role=row.role,
            client_id=row.client_id,
            revoked_at=row.revoked_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
        )
    return Lookup(token=token, failures=failures)


__all__ = ["Lookup", "lookup"]
