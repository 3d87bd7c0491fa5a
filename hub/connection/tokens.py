"""The OAuth token cache shared by every worker (implements `hub.sdk.oauth.TokenCache`).

Tokens live encrypted in `oauth_tokens`, one row per cache key. A usable token is read
without locking. Otherwise the caller takes the key row's lock and looks again before
fetching, so N workers needing a token at once make one request to the vendor's token
endpoint, and the others wait for the lock and read the token it stored:

- PostgreSQL: `INSERT ... ON CONFLICT DO NOTHING` (so there is a row to lock, even for a
  first token), then `SELECT ... FOR UPDATE` on it, held while fetching;
- SQLite: the write transaction starts with `BEGIN IMMEDIATE` (`hub.db.begin_write`),
  which serialises writers for the whole database while the token is fetched (bounded by
  the adapter's timeout and retry deadline).

`drop` is compare-and-delete on the token's sha256, so a worker holding a token the
vendor refused never deletes the fresh one another worker stored meanwhile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import begin_write, secret_box
from hub.kit.crypto import Purpose, SecretDecryptionError
from hub.kit.time import utcnow
from hub.models.sync import OAuthToken
from hub.sdk.oauth import AccessToken


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class DbTokenCache:
    """`memo`: usable tokens already read, shared by the caches of one process (the
    connection opener's), so a token is read from the database once per process and expiry
    rather than once per request. A token the vendor refused is dropped from it too."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
        memo: dict[str, AccessToken] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._memo: dict[str, AccessToken] = {} if memo is None else memo
        self.fetches = 0  # tokens this instance obtained from a vendor

    def __repr__(self) -> str:
        return "DbTokenCache()"

    def _token_of(self, session: AsyncSession, row: OAuthToken | None) -> AccessToken | None:
        if row is None or row.token_encrypted is None or row.expires_at is None or row.obtained_at is None:
            return None
        try:
            value = secret_box(session, Purpose.oauth_token).decrypt(row.token_encrypted)
        except SecretDecryptionError:
            return None  # a key was retired: fetch a new token rather than fail
        return AccessToken(value, row.expires_at, row.obtained_at)

    def _usable(self, token: AccessToken | None) -> bool:
        return token is not None and token.usable_at(self._clock())

    async def get_or_fetch(self, key: str, fetch: Callable[[], Awaitable[AccessToken]]) -> AccessToken:
        token = self._memo.get(key)
        if token is not None and self._usable(token):
            return token
        token = await self._fetched_or_stored(key, fetch)
        self._memo[key] = token
        return token

    async def _fetched_or_stored(self, key: str, fetch: Callable[[], Awaitable[AccessToken]]) -> AccessToken:
        async with self._sessionmaker() as session:
            token = self._token_of(session, await session.get(OAuthToken, key))
        if token is not None and self._usable(token):
            return token
        async with self._sessionmaker() as session:
            await begin_write(session)
            try:
                row = await self._lock(session, key)
                token = self._token_of(session, row)
                if token is not None and self._usable(token):
                    await session.rollback()
                    return token
                token = await fetch()
                self.fetches += 1
                row.token_encrypted = secret_box(session, Purpose.oauth_token).encrypt(token.value)
                row.token_sha256 = _sha256(token.value)
                row.expires_at = token.expires_at
                row.obtained_at = token.obtained_at
                row.updated_at = utcnow()
                await session.commit()
                return token
            except BaseException:
                await session.rollback()
                raise

    async def _lock(self, session: AsyncSession, key: str) -> OAuthToken:
        """The key's row, locked for this transaction (created empty when missing)."""
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        await session.execute(
            insert(OAuthToken).values(key=key, updated_at=utcnow()).on_conflict_do_nothing()
        )
        stmt = (
            select(OAuthToken)
            .where(OAuthToken.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await session.execute(stmt)).scalar_one()

    async def drop(self, key: str, token: AccessToken) -> None:
        memo = self._memo.get(key)
        if memo is not None and memo.value == token.value:
            del self._memo[key]
        async with self._sessionmaker() as session:
            await begin_write(session)
            await session.execute(
                delete(OAuthToken).where(
                    OAuthToken.key == key, OAuthToken.token_sha256 == _sha256(token.value)
                )
            )
            await session.commit()
