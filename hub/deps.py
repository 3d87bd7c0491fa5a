"""FastAPI dependencies: the process's runtime, the request's principal and its database
session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from hub.auth.principal import Principal
from hub.auth.tokens import authenticate, touch_token
from hub.db import begin_write
from hub.errors import StaleVersion, Unauthorized
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
    """Authenticate in a short session of its own, before the request's unit of work
    starts: on SQLite a writer holds the lock from its first statement, and recording
    the token's use must not wait behind it."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("an API token is required (Authorization: Bearer hub_...)")
    sessionmaker = get_runtime(request).sessionmaker
    async with sessionmaker() as session:
        principal, stale = await authenticate(session, credentials.credentials)
    if stale and principal.token_id is not None:
        await touch_token(sessionmaker, principal.token_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_session(request: Request, _principal: PrincipalDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the endpoint returns without error.

    Depends on the principal so that authentication always runs first; writes take
    the write lock up front (BEGIN IMMEDIATE on SQLite) so that concurrent writers
    queue instead of failing.
    """
    async with get_runtime(request).sessionmaker() as session:
        if request.method not in _READ_METHODS:
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


# scope="function": commit runs when the endpoint returns, BEFORE the response is sent,
# so a failed commit becomes an error response instead of a success that was not stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
