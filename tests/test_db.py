"""The SQLite engine the hub runs on: what a statement returns, and what it costs in trips
to aiosqlite's connection thread (each a thread wake-up: on a busy small machine a trip
costs more than an indexed statement), and that a write waiting for the lock never
stalls the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hub.db import WRITE_OPTIONS, create_engine
from hub.settings import Settings


@pytest.fixture
async def engine(tmp_path: Path):
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"))
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield engine
    await engine.dispose()


async def test_rows_counts_and_returning_are_what_the_driver_gives(engine) -> None:
    async with engine.begin() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "a"}, {"n": "b"}])
        returned = await conn.execute(text("INSERT INTO t (name) VALUES ('c') RETURNING id, name"))
        assert returned.all() == [(3, "c")]
        updated = await conn.execute(text("UPDATE t SET name = name || '!' WHERE id < 3"))
    assert inserted.rowcount == 2 and updated.rowcount == 2
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, name FROM t ORDER BY id"))
        assert rows.all() == [(1, "a!"), (2, "b!"), (3, "c")]
        assert (await conn.execute(text("SELECT name FROM t WHERE id = 2"))).scalar_one() == "b!"
        assert (await conn.execute(text("SELECT name FROM t WHERE id = 9"))).first() is None
        streamed = await conn.stream(text("SELECT id FROM t ORDER BY id"))
        assert [row.id async for row in streamed] == [1, 2, 3]


async def test_a_failed_statement_raises_and_the_connection_carries_on(engine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        await conn.commit()
        with pytest.raises(IntegrityError):
            await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        await conn.rollback()
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    # Writers still open with BEGIN IMMEDIATE (hub.db.begin_write).
    async with engine.connect() as conn:
        conn = await conn.execution_options(**WRITE_OPTIONS)
        async with conn.begin():
            await conn.execute(text("INSERT INTO t (name) VALUES ('b')"))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 2


def _count_trips(driver) -> list:
    trips = []
    run = driver._execute  # aiosqlite's one way to its thread

    async def counting(fn, *args, **kwargs):
        trips.append(fn)
        return await run(fn, *args, **kwargs)

    driver._execute = counting
    return trips


async def test_reads_cost_no_trip_and_a_write_one_per_statement(engine) -> None:
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        trips = _count_trips(driver)
        try:
            await conn.execute(text("SELECT id, name FROM t"))
            await conn.execute(text("SELECT count(*) FROM t"))
            await conn.commit()
            assert trips == []  # BEGIN, both reads and the read's COMMIT ran on this thread
            await conn.execute(text("SELECT count(*) FROM t"))
            await conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
            # After a write, a read may no longer skip the thread (the write holds the lock,
            # but the rule stays simple: nothing of a writing transaction runs here).
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
            await conn.commit()
        finally:
            del driver._execute
    assert len(trips) == 3  # the INSERT, the read after it, the COMMIT


async def test_a_writer_waiting_for_the_lock_never_stalls_the_event_loop(engine) -> None:
    """A read runs on the event loop's thread; a statement that may wait on SQLite's busy
    timeout must not: while one connection holds the write lock, another's INSERT waits
    for it on its own thread, reads still answer at once, and the loop keeps turning."""
    holder = await engine.connect()
    await (await holder.execution_options(**WRITE_OPTIONS)).begin()
    await holder.execute(text("INSERT INTO t (name) VALUES ('held')"))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def waiting_writer() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (name) VALUES ('waited')"))

    tick_task = asyncio.create_task(ticker())
    writer = asyncio.create_task(waiting_writer())
    try:
        await asyncio.sleep(0.3)
        assert not writer.done()  # it is waiting for the lock...
        assert ticks >= 10  # ...and the loop ran meanwhile
        async with engine.connect() as reader:  # WAL: a read does not wait for a writer
            assert (await reader.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
        await holder.commit()
        await asyncio.wait_for(writer, 5)
    finally:
        tick_task.cancel()
        await holder.close()
    async with engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
    assert names == ["held", "waited"]
