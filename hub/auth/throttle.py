"""Failed sign-ins, counted per key in the database so every API process sees them.

Keys are the account and the address together (what stops guessing from one place), the
address alone (one place trying many accounts) and the account alone (guessing from many
places). The account-alone key is not checked for a browser that signed in to that
account before (its signed "known device" cookie): so somebody failing on purpose from
elsewhere can delay, never stop, the account's owner. Every lock ends by itself after at
most the cap. Key texts are hashed: the table holds no e-mail or address.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.policy import ThrottleRule, counted_failures
from hub.auth.settings import AuthSettings
from hub.models import SignInThrottle

# The address alone may fail more often (an office behind one NAT address).
_ADDRESS_FACTOR = 4


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def account_keys(email: str, address: str) -> dict[str, str]:
    email = email.strip().lower()
    return {
        "account_address": _hash(f"aa|{email}|{address}"),
        "address": _hash(f"a|{address}"),
        "account": _hash(f"acct|{email}"),
    }


def rules(settings: AuthSettings) -> dict[str, ThrottleRule]:
    base = ThrottleRule(
        settings.signin_free_attempts, settings.signin_lock_base_seconds, settings.signin_lock_cap_seconds
    )
    wide = ThrottleRule(base.free * _ADDRESS_FACTOR, base.base_seconds, base.cap_seconds)
    account = ThrottleRule(base.free * 2, base.base_seconds, base.cap_seconds)
    return {"account_address": base, "address": wide, "account": account}


async def locked_until(session: AsyncSession, keys: dict[str, str], now: datetime) -> datetime | None:
    """The latest end of a lock on any of the keys, while one holds."""
    rows = (
        await session.execute(
            select(SignInThrottle.locked_until).where(SignInThrottle.key.in_(keys.values()))
        )
    ).scalars()
    ends = [end for end in rows if end is not None and end > now]
    return max(ends) if ends else None


async def record_failure(
    session: AsyncSession, keys: dict[str, str], now: datetime, settings: AuthSettings
) -> None:
    by_name = rules(settings)
    existing = {
        row.key: row
        for row in (
            await session.execute(select(SignInThrottle).where(SignInThrottle.key.in_(keys.values())))
        ).scalars()
    }
    for name, key in keys.items():
        rule = by_name[name]
        row = existing.get(key)
        if row is None:
            row = SignInThrottle(key=key, failures=0, last_failure_at=now)
            session.add(row)
            row.failures = 1
        else:
            row.failures = counted_failures(row.failures, row.last_failure_at, now, rule)
            row.last_failure_at = now
        lock = rule.lock_for(row.failures)
        row.locked_until = now + lock if lock is not None else None
    await session.flush()


async def clear(session: AsyncSession, keys: dict[str, str]) -> None:
    """A success: the account's keys start again (the address's does not: one good
    password does not license guessing others from the same place)."""
    mine = [keys["account_address"], keys["account"]]
    await session.execute(delete(SignInThrottle).where(SignInThrottle.key.in_(mine)))
