"""Database engine and sessions.

Only the request (through `get_session`), a job, or a CLI command (through
`session_scope`) commits; services flush and never commit.
"""

from __future__ import annotations

import os
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
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
        pool: dict[str, Any] = {}
        if ":memory:" not in url and "mode=memory" not in url:  # one connection, no pool
            pool = {
                # Larger than SQLAlchemy's 5, whose overflow is closed on return: a burst
                # of writes would open and close a connection and its thread each time.
                "pool_size": settings.db_pool_size,
                "max_overflow": settings.db_pool_size,
                # The most recently used connection first: its page cache is the warm one
                # (measured: round-robin over 10 connections cost a cached report ~20%).
                "pool_use_lifo": True,
            }
        engine = create_async_engine(
            url, async_creator=_sqlite_opener(url, settings.sqlite_busy_timeout_ms / 1000), **pool
        )
        configure_sqlite(engine.sync_engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
    )


def _reads_only(sql: str) -> bool:
    """Whether `sql` is a statement that never waits on another connection in WAL mode:
    a SELECT, or a deferred BEGIN (it takes no lock until its first read or write)."""
    head = sql.lstrip()[:7].upper()
    return head.startswith("SELECT") or head.rstrip() == "BEGIN"


class _OneTripCursor:
    """A cursor that costs one trip to aiosqlite's connection thread per statement, and
    none for a read.

    aiosqlite runs every call on the connection's own thread, and SQLAlchemy's adapter
    makes four calls per statement (cursor, execute, fetchall, close): four thread
    wake-ups and GIL hand-overs, ~0.1-0.3 ms each on a busy 2-core machine, which cost
    more than the indexed statements of a request (measured: `SELECT 1` 0.5 ms against
    0.3 ms). Here the statement runs, its rows are read and the sqlite3 cursor closed in
    one call on that thread; the rows are always buffered (SQLite is never streamed here).

    A read runs on the calling (event-loop) thread instead, while its connection has
    written nothing in the current transaction (see `_OneTripConnection`): in WAL mode a
    SELECT and a deferred BEGIN take no lock anyone holds, so they cannot wait on the busy
    timeout, and an indexed read costs a few microseconds of SQLite against 0.1-0.3 ms for
    the hand-over (profiled: the spend report's cache hit spent more time handing its
    reads to the thread and back than running them). sqlite3 releases the GIL while it
    steps, as it does on the thread. Statements that may wait for the write lock (BEGIN
    IMMEDIATE, INSERT, UPDATE, DELETE, COMMIT of a write) still go to the thread, so the
    event loop never sleeps in SQLite's busy handler.
    """

    __slots__ = ("_conn", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, conn: _OneTripConnection) -> None:
        self._conn = conn
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> _OneTripCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _run(self, sql: str, parameters: Any, many: bool) -> tuple[Any, int, int | None, list[Any]]:
        cursor = self._conn._conn.cursor()  # on the connection's thread
        try:
            if many:
                cursor.executemany(sql, parameters)
            elif parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
            rows = cursor.fetchall() if cursor.description else []
            return cursor.description, cursor.rowcount, cursor.lastrowid, rows
        finally:
            cursor.close()

    async def _call(self, sql: str, parameters: Any, many: bool) -> _OneTripCursor:
        conn = self._conn
        if not many and not conn.wrote and _reads_only(sql):
            self.description, self.rowcount, self.lastrowid, rows = self._run(sql, parameters, many)
        else:
            conn.wrote = True
            run = conn._execute(self._run, sql, parameters, many)  # type: ignore[no-untyped-call]
            self.description, self.rowcount, self.lastrowid, rows = await run
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Any = None) -> _OneTripCursor:
        return await self._call(sql, parameters, False)

    async def executemany(self, sql: str, parameters: Any) -> _OneTripCursor:
        return await self._call(sql, parameters, True)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = min(size or self.arraysize, len(self._rows))
        return [self._rows.popleft() for _ in range(n)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


class _OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection (its thread, close) with `_OneTripCursor`. `wrote`: the
    current transaction ran a statement that may have taken the write lock; until then its
    reads, and its end, run on the caller's thread."""

    wrote = False

    def cursor(self) -> _OneTripCursor:  # type: ignore[override]
        return _OneTripCursor(self)

    async def commit(self) -> None:
        if self.wrote:
            await super().commit()
        else:
            self._conn.commit()  # ends a read transaction: nothing to write, no lock to wait for
        self.wrote = False

    async def rollback(self) -> None:
        if self.wrote:
            await super().rollback()
        else:
            self._conn.rollback()
        self.wrote = False


def _sqlite_opener(url: str, timeout: float) -> Callable[[], Awaitable[_OneTripConnection]]:
    """SQLAlchemy's `async_creator` for `url`: sqlite3.connect with the arguments the
    aiosqlite dialect would pass (file name, URI options) and the busy timeout."""
    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    kwargs = {**kwargs, "timeout": timeout}

    async def open_connection() -> _OneTripConnection:
        def connect() -> sqlite3.Connection:
            return sqlite3.connect(*args, **kwargs)  # type: ignore[no-any-return,call-overload]

        connection = _OneTripConnection(connect, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy's dialect does: never hold up exit
        await connection
        return connection

    return open_connection


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
