"""`hub secrets rotate`: every encrypted value re-encrypted under the newest master key's
key of its purpose, in small batches (each its own transaction, so a large install is
not locked for long and an interrupted run simply runs again).

The columns are not listed here: every column made with `hub.models.base.encrypted_column`
carries its purpose, and `encrypted_columns()` finds them all in the models' metadata, so
a new encrypted column is rotated without anyone remembering this file (webhook secrets
were once forgotten: after the old key was dropped every delivery failed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import keyring_of, session_scope
from hub.kit.crypto import Purpose
from hub.kit.time import utcnow
from hub.models.base import Base, secret_purpose

BATCH = 200


@dataclass(frozen=True)
class EncryptedColumn:
    table: Table
    column: Column[Any]
    purpose: Purpose

    @property
    def label(self) -> str:
        return f"{self.table.name}.{self.column.name}"

    @property
    def key(self) -> Column[Any]:
        [pk] = list(self.table.primary_key.columns)
        return pk

    @property
    def versioned(self) -> bool:
        # Core UPDATE on a versioned table must bump version and updated_at as an ORM
        # write would (CONTRIBUTING.md, Caches).
        return "version" in self.table.c and "updated_at" in self.table.c


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted column of the models, with its purpose."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            purpose = secret_purpose(column)
            if purpose is not None:
                found.append(EncryptedColumn(table, column, purpose))
    return found


@dataclass
class RotationCount:
    rotated: int = 0
    legacy: int = 0  # values that were under a bare master key (before per-purpose keys)


async def rotate_all(
    sessionmaker: async_sessionmaker[AsyncSession], progress: Callable[[int, int], None] | None = None
) -> dict[str, RotationCount]:
    targets = encrypted_columns()
    async with sessionmaker() as session:
        total = 0
        for target in targets:
            stmt = select(func.count()).select_from(target.table).where(target.column.is_not(None))
            total += (await session.execute(stmt)).scalar_one()
    done = 0
    counts: dict[str, RotationCount] = {}
    for target in targets:
        count = counts[target.label] = RotationCount()
        last: Any = None
        while True:
            rows = await _rotate_batch(sessionmaker, target, last, count)
            if not rows:
                break
            last = rows[-1]
            done += len(rows)
            if progress:
                progress(done, total)
    return counts


async def _rotate_batch(
    sessionmaker: async_sessionmaker[AsyncSession], target: EncryptedColumn, after: Any, count: RotationCount
) -> list[Any]:
    key, column = target.key, target.column
    async with session_scope(sessionmaker) as session:
        stmt = select(key, column).where(column.is_not(None)).order_by(key).limit(BATCH)
        if after is not None:
            stmt = stmt.where(key > after)
        rows = (await session.execute(stmt)).all()
        box = keyring_of(session).box(target.purpose)
        for row_key, token in rows:
            if not box.is_current(token):
                count.legacy += 1
            values: dict[str, Any] = {column.name: box.rotate(token)}
            if target.versioned:
                values.update(version=target.table.c.version + 1, updated_at=utcnow())
            await session.execute(update(target.table).where(key == row_key).values(**values))
            count.rotated += 1
    return [row_key for row_key, _ in rows]
