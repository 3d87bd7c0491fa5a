"""`hub secrets rotate`: every encrypted value re-encrypted under the newest key, in small
batches (each its own transaction, so a large install is not locked for long and an
interrupted run simply runs again)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import secret_box, session_scope
from hub.kit.time import utcnow
from hub.models import Connection, VendorAccount
from hub.models.sync import OAuthToken

BATCH = 200


async def rotate_all(
    sessionmaker: async_sessionmaker[AsyncSession], progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    targets: list[tuple[str, Any, Any, Any, bool]] = [
        # label, model, key column, encrypted column, versioned (bump version + updated_at)
        ("connection configs", Connection, Connection.id, Connection.config_encrypted, True),
        ("OAuth tokens", OAuthToken, OAuthToken.key, OAuthToken.token_encrypted, False),
        ("support PINs", VendorAccount, VendorAccount.id, VendorAccount.support_pin_encrypted, True),
    ]
    async with sessionmaker() as session:
        total = 0
        for target in targets:
            column = target[3]
            total += (await session.execute(select(func.count()).where(column.is_not(None)))).scalar_one()
    done = 0
    counts: dict[str, int] = {}
    for label, model, key, column, versioned in targets:
        counts[label] = 0
        last: Any = None
        while True:
            async with session_scope(sessionmaker) as session:
                stmt = select(key, column).where(column.is_not(None)).order_by(key).limit(BATCH)
                if last is not None:
                    stmt = stmt.where(key > last)
                rows = (await session.execute(stmt)).all()
                box = secret_box(session)
                for row_key, token in rows:
                    values: dict[str, Any] = {column.key: box.rotate(token)}
                    if versioned:
                        # Core UPDATE on a versioned table: bump version and updated_at as
                        # an ORM write would (CONTRIBUTING.md, Caches).
                        values.update(version=model.version + 1, updated_at=utcnow())
                    await session.execute(
                        update(model)
                        .where(key == row_key)
                        .values(**values)
                        .execution_options(synchronize_session=False)
                    )
            if not rows:
                break
            last = rows[-1][0]
            counts[label] += len(rows)
            done += len(rows)
            if progress:
                progress(done, total)
    return counts
