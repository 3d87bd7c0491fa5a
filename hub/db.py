"""Database engine and sessions.

Only the request (through `get_session`), a job, or a CLI command (through
`session_scope`) commits; services flush and never commit.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub.kit.crypto import Keyring, Purpose, SecretBox
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.runtime import HubRuntime


def private_sqlite_file(url: str) -> None:
    """Create the SQLite file of `url` readable by its owner only (0600), or tighten an
    existing one and its WAL files: the database holds encrypted secrets, client data and
    the token hashes, and a umask of 022 would leave it readable by every local user."""
    if not url.startswith("sqlite"):
        return
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for item in (file, file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")):
        if item.exists() and item.stat().st_mode & 0o077:
            item.chmod(0o600)


def create_engine(settings: Settings, *, url: str | None = None) -> AsyncEngine:
    url = url or settings.resolved_database_url
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_async_engine(url, connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000})
        configure_sqlite(engine.sync_engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
    )


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL (readers never block the writer), enforced foreign keys, a busy timeout, and
    transactions that start with BEGIN (pysqlite's own implicit handling is bypassed so
    SQLAlchemy controls transaction boundaries; see the SQLAlchemy SQLite docs)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers start with BEGIN IMMEDIATE: they queue on the busy timeout instead of
        # failing when a read transaction tries to upgrade to a write (SQLITE_BUSY).
        begin = conn.get_execution_options().get(SQLITE_BEGIN, "BEGIN")
        if begin:
            conn.exec_driver_sql(begin)


SQLITE_BEGIN = "hub_sqlite_begin"
WRITE_OPTIONS = {SQLITE_BEGIN: "BEGIN IMMEDIATE"}
# A unit of work of ONE read statement: on SQLite it needs no BEGIN (outside a transaction a
# statement is its own, atomic and reading one snapshot), one round trip fewer.
ONE_READ_OPTIONS = {SQLITE_BEGIN: ""}


async def begin_one_read(session: AsyncSession) -> None:
    """Declare the unit of work a single read statement (see ONE_READ_OPTIONS): a second
    statement in it would not see the first one's snapshot on SQLite."""
    await session.connection(execution_options=ONE_READ_OPTIONS)


async def begin_write(session: AsyncSession) -> None:
    """Declare the unit of work a writer before it touches the database (on SQLite this
    takes the write lock up front; elsewhere it changes nothing)."""
    await session.connection(execution_options=WRITE_OPTIONS)


def make_sessionmaker(
    engine: AsyncEngine, keyring: Keyring | None = None, *, runtime: HubRuntime | None = None
) -> async_sessionmaker[AsyncSession]:
    # The unit of work knows the runtime it belongs to (and its keyring), so a service
    # handed a session reaches the process's registry, settings and clock without a global.
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        autoflush=False,
        info={"keyring": keyring, "runtime": runtime},
    )


def keyring_of(session: AsyncSession) -> Keyring:
    keyring = session.info.get("keyring")
    if keyring is None:
        raise RuntimeError("this session was made without a keyring")
    return keyring  # type: ignore[no-any-return]


def secret_box(session: AsyncSession, purpose: Purpose) -> SecretBox:
    """The box of one purpose (a support PIN never decrypts as a connection config)."""
    return keyring_of(session).box(purpose)


def runtime_of(session: AsyncSession) -> HubRuntime:
    """The runtime whose sessionmaker made this session."""
    runtime = session.info.get("runtime")
    if runtime is None:
        raise RuntimeError("this session was made outside a HubRuntime")
    return runtime  # type: ignore[no-any-return]


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession], *, write: bool = True
) -> AsyncIterator[AsyncSession]:
    """A unit of work for jobs and CLI commands: commit on success, roll back on error."""
    async with sessionmaker() as session:
        if write:
            await begin_write(session)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
