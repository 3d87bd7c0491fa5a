"""How the renewal executor reaches a vendor: an opener turns a connection id into a
ready `Renewer` adapter for the duration of one step (no transaction held meanwhile)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.sdk.capabilities import Renewer

RenewerOpener = Callable[[async_sessionmaker[AsyncSession], uuid.UUID], AbstractAsyncContextManager[Renewer]]

_opener: RenewerOpener | None = None


def set_opener(opener: RenewerOpener | None) -> None:
    """Install how connections become adapters (the connection runtime at start-up;
    tests install one pointing at a simulator)."""
    global _opener
    _opener = opener


def opener() -> RenewerOpener:
    if _opener is None:
        from hub.connection.runtime import open_renewer  # production path

        production: RenewerOpener = open_renewer
        return production
    return _opener
