"""The database token cache: eight adapters needing a token at once, each with its own
database engine (as separate workers would have), make exactly one request to a real
token endpoint on loopback; a refused token is dropped only if it is still the stored one."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from pydantic import SecretStr
from sqlalchemy import delete, select

from hub.connection.tokens import DbTokenCache
from hub.db import create_engine, make_sessionmaker
from hub.kit.crypto import Keyring
from hub.kit.time import utcnow
from hub.models.sync import OAuthToken
from hub.sdk import AccessToken, AdapterContext, ClientCredentials
from hub.sdk.testing import serve_on_loopback
from tests.conftest import TEST_KEY
from tests.sync.testvendor import AcmeSimulator


async def test_eight_workers_needing_a_token_make_one_token_request(settings, sessionmaker):
    sim = AcmeSimulator()
    partner = sim.partner("P1")
    engines = [create_engine(settings) for _ in range(8)]
    try:
        async with serve_on_loopback(sim.app) as base, httpx.AsyncClient(trust_env=False) as http:

            async def one_worker(engine) -> str:  # type: ignore[no-untyped-def]
                cache = DbTokenCache(make_sessionmaker(engine, Keyring([TEST_KEY.encode()])))
                ctx = AdapterContext(http=http, tokens=cache)
                auth = ClientCredentials(
                    ctx,
                    token_url=f"{base}/oauth/token",
                    client_id=partner.client_id,
                    client_secret=SecretStr(partner.client_secret),
                )
                return (await auth.headers())["Authorization"]

            headers = await asyncio.gather(*(one_worker(e) for e in engines))
    finally:
        for e in engines:
            await e.dispose()
    assert sim.token_requests == 1
    assert len(set(headers)) == 1
    async with sessionmaker() as session:
        row = (await session.execute(select(OAuthToken))).scalar_one()
    assert row.token_encrypted and headers[0].removeprefix("Bearer ") not in row.token_encrypted


async def test_drop_removes_only_the_token_the_caller_saw(sessionmaker):
    cache = DbTokenCache(sessionmaker)
    now = utcnow()
    old = AccessToken("old-token", now + timedelta(hours=1), now)
    new = AccessToken("new-token", now + timedelta(hours=1), now)

    async def fetch_old() -> AccessToken:
        return old

    async def fetch_new() -> AccessToken:
        return new

    assert await cache.get_or_fetch("k", fetch_old) == old
    await cache.drop("k", old)
    assert (await cache.get_or_fetch("k", fetch_new)).value == "new-token"
    await cache.drop("k", old)  # a late worker dropping the token it saw: the new one stays
    assert (await cache.get_or_fetch("k", fetch_old)).value == "new-token"
    assert cache.fetches == 2


async def test_a_process_reads_a_usable_token_once_and_forgets_it_when_refused(sessionmaker):
    """The caches of one process (the connection opener's) share what they read: the row
    deleted behind their back, a usable token is still served without a database read or a
    fetch; a cache of another process reads the database. A refused token is forgotten."""
    memo: dict[str, AccessToken] = {}
    now = utcnow()
    first = AccessToken("first-token", now + timedelta(hours=1), now)
    second = AccessToken("second-token", now + timedelta(hours=1), now)

    async def fetch_first() -> AccessToken:
        return first

    async def fetch_second() -> AccessToken:
        return second

    async def must_not_fetch() -> AccessToken:
        raise AssertionError("fetched although the process holds a usable token")

    assert await DbTokenCache(sessionmaker, memo=memo).get_or_fetch("k", fetch_first) == first
    async with sessionmaker() as session:
        await session.execute(delete(OAuthToken))
        await session.commit()
    assert await DbTokenCache(sessionmaker, memo=memo).get_or_fetch("k", must_not_fetch) == first
    other_process = DbTokenCache(sessionmaker)
    assert (await other_process.get_or_fetch("k", fetch_second)).value == "second-token"
    await DbTokenCache(sessionmaker, memo=memo).drop("k", first)  # the vendor refused it
    assert (await DbTokenCache(sessionmaker, memo=memo).get_or_fetch("k", must_not_fetch)).value == (
        "second-token"
    )
