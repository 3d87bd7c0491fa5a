"""FastAPI dependencies: the request's database session and its principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from hub.auth.principal import Principal
from hub.auth.tokens import authenticate
from hub.errors import StaleVersion, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="API token from `hub tokens create`")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the endpoint returns without error.

    The commit happens here, before the response is sent, so a client never sees a
    success for a write that was not stored.
    """
    async with request.app.state.sessionmaker() as session:
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


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("an API token is required (Authorization: Bearer hub_...)")
    return await authenticate(session, credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
