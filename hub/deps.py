"""FastAPI dependencies: the process's runtime, the request's principal and its database
session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from hub.auth import bearer
from hub.auth import token_throttle as throttle
from hub.auth.principal import Principal
from hub.auth.tokens import split_token, touch_token, verify
from hub.db import begin_write
from hub.errors import StaleVersion, TooManyRequests, Unauthorized
from hub.runtime import HubRuntime


def get_runtime(request: Request) -> HubRuntime:
    """The runtime the app was built with (`create_app`)."""
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[HubRuntime, Depends(get_runtime)]

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_bearer = HTTPBearer(auto_error=False, description="API token from `hub tokens create`")


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate before the request's unit of work starts, in one read of its own
    (hub.auth.bearer): on SQLite a writer holds the lock from its first statement, and
    neither the check nor recording the token's use may wait behind it."""
    runtime = get_runtime(request)
    settings, now = runtime.settings.auth, runtime.now()
    token = credentials.credentials if credentials is not None else ""
    prefix = split_token(token)
    keys = throttle.limits(
        request.client.host if request.client else None,
        prefix,
        settings.failures_per_address,
        settings.failures_per_token,
    )
    window = settings.failure_window_seconds
    found = await bearer.lookup(runtime.engine, prefix, keys, now, window)
    reached = found.blocked(keys)
    if reached is not None:
        what = "this address" if reached.key.startswith("address:") else "this token"
        raise TooManyRequests(
            f"too many failed authentications from {what}; try again later",
            retry_after=throttle.retry_after(now, window),
        )
    try:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized("an API token is required (Authorization: Bearer hub_...)")
        if prefix is None:
            raise Unauthorized("malformed API token")
        principal, stale = verify(found.token, token, now)
    except Unauthorized:
        await throttle.record_failure(runtime.sessionmaker, keys, now, window)
        raise
    if stale and principal.token_id is not None:
        await touch_token(runtime.sessionmaker, principal.token_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_session(request: Request, _principal: PrincipalDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the endpoint returns without error.

    Depends on the principal so that authentication always runs first; writes take
    the write lock up front (BEGIN IMMEDIATE on SQLite) so that concurrent writers
    queue instead of failing.
    """
    session = get_runtime(request).sessionmaker()
    reading = request.method in _READ_METHODS
    try:
        if not reading:
            await begin_write(session)
        try:
            yield session
            await session.commit()
        except StaleDataError as exc:
            await session.rollback()
            raise StaleVersion(
                "the object was changed by someone else meanwhile; read it again and retry"
            ) from exc
        except BaseException:
            await session.rollback()
            raise
    finally:
        if reading:
            # A read's close gives its connection straight back. The session's `async with`
            # shields the close in a task of its own, which runs only after every other
            # ready request: under load each request then held a pooled connection
            # across a turn of the loop (50 concurrent requests held 20).
            await session.close()
        else:
            async with session:  # a write's close stays shielded from cancellation
                pass


# scope="function": commit runs when the endpoint returns, BEFORE the response is sent,
# so a failed commit becomes an error response instead of a success that was not stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
