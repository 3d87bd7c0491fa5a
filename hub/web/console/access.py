"""Who may see the console: staff. Anyone else signed in gets the same 404 page as for
a page that does not exist (the console is no client's business, not even its URLs)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.errors import Forbidden, NotFound
from hub.models import Client, Vendor
from hub.models.enums import Role
from hub.web.security import PageContext


def staff(ctx: PageContext) -> Principal:
    principal = ctx.require_user()
    if not principal.is_staff:
        raise NotFound("no such page")
    return principal


def admin(ctx: PageContext) -> Principal:
    principal = staff(ctx)
    if principal.role is not Role.admin:
        raise Forbidden("this page is for admins")
    return principal


async def names(session: AsyncSession, model: Any, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Display names of the clients or vendors rows already fetched (through their
    service, under the principal) point at."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(model.id, model.name).where(model.id.in_(wanted)))
    return {row.id: row.name for row in rows}


async def client_names(session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    return await names(session, Client, ids)


async def vendor_names(session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    return await names(session, Vendor, ids)
