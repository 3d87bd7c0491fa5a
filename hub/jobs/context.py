"""What a running task gets: who it is (job id, attempt) and how to commit its effect.

A task that changes the database should do it inside `ctx.finish()`: the effect and the
fenced completion commit in one transaction, so a worker that lost its lease (it was
paused, or presumed dead and its job handed to another worker) commits nothing. That is
what makes "exactly once" hold for database effects. Effects outside the database (a
vendor order) need an idempotency key persisted first; see the renewal executor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import ColumnElement, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import begin_write, session_scope
from hub.jobs import queue
from hub.kit.time import utcnow
from hub.models.job import Job, JobState

if TYPE_CHECKING:
    from hub.runtime import HubRuntime


class LeaseLost(Exception):
    """The job is no longer this worker's: its result must not be recorded."""


@dataclass
class JobContext:
    job_id: int
    kind: str
    attempt: int
    max_attempts: int
    owner: str
    payload: dict[str, Any]
    # The process's composition root: settings, clock, connections, failpoints.
    runtime: HubRuntime = field(repr=False)
    # The worker's in-process queue for SQLite's single writer (None on PostgreSQL).
    gate: asyncio.Lock | None = field(default=None, repr=False)
    finished: bool = False

    @classmethod
    def of(
        cls, runtime: HubRuntime, job: queue.Claimed, owner: str, *, gate: asyncio.Lock | None = None
    ) -> JobContext:
        """The context of a job this worker (`owner`) has just claimed."""
        return cls(
            job_id=job.id,
            kind=job.kind,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            owner=owner,
            payload=job.payload,
            runtime=runtime,
            gate=gate,
        )

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.runtime.sessionmaker

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    @asynccontextmanager
    async def session(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """A unit of work of its own (committed on exit), for reads or for writes that
        should stand even if the job later fails."""
        async with (
            gated(self.gate if write else None),
            session_scope(self.sessionmaker, write=write) as session,
        ):
            yield session

    @asynccontextmanager
    async def fenced(self) -> AsyncIterator[tuple[AsyncSession, datetime]]:
        """A write that commits only while the job is still this worker's: the job row is
        locked for the transaction. Yields the session and the lease's end; raises
        LeaseLost (writing nothing) when the lease is gone. (`fenced_in_statement`: the
        same, with the lease checked by the caller's own statement.)"""
        async with gated(self.gate), self.sessionmaker() as session:
            await begin_write(session)
            try:
                lease_end = await queue.hold_lease(session, self.job_id, self.attempt, self.owner)
                if lease_end is None:
                    raise LeaseLost(f"job {self.job_id} attempt {self.attempt} is no longer leased to us")
                yield session, lease_end
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def fenced_in_statement(self) -> AsyncIterator[tuple[AsyncSession, Fence]]:
        """`fenced`, with the lease checked inside the caller's own statement instead of by a
        statement of its own (one round trip fewer per write): the same gate and write
        transaction, the same job row lock. The caller puts `Fence.HELD` in the WHERE of its
        write (binding `fence.params()`) and reports the outcome: `fence.matched()` when the
        write matched, `await fence.check(session)` when it matched nothing (LeaseLost if the
        lease is gone; otherwise the write was merely stale). Or it reads `Fence.LEASE_END`
        among its columns and hands the value to `fence.read(value)`. Commits only once the
        lease was seen held in this transaction; rolls back otherwise."""
        async with gated(self.gate), self.sessionmaker() as session:
            await begin_write(session)
            fence = Fence(self.job_id, self.attempt, self.owner)
            try:
                yield session, fence
                if not fence.seen:
                    raise RuntimeError(f"job {self.job_id}: a fenced write ended without checking its lease")
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def finish(
        self, *, then: Callable[[AsyncSession], Awaitable[None]] | None = None
    ) -> AsyncIterator[AsyncSession]:
        """Write the job's effect and mark it succeeded in the same transaction; raises
        LeaseLost (and rolls the effect back) when the lease was taken over. `then` runs
        after the completion, in the same transaction: it may enqueue this job's follow-up
        under the same dedupe key (the finished job no longer holds it)."""
        async with gated(self.gate), self.sessionmaker() as session:
            await begin_write(session)
            try:
                yield session
                await session.flush()
                if not await queue.complete(session, self.job_id, self.attempt, self.owner):
                    raise LeaseLost(f"job {self.job_id} attempt {self.attempt} is no longer leased to us")
                if then is not None:
                    await then(session)
                await session.commit()
                self.finished = True
            except BaseException:
                await session.rollback()
                raise


# The lease condition of `queue.hold_lease` (the job still running under this worker's
# attempt, its lease unexpired) as a subquery another statement can carry, built once.
# `FOR NO KEY UPDATE` locks the job row for the transaction as hold_lease's UPDATE does (the
# sweeper skips a locked row, so it cannot hand the job to another worker before this
# commits); SQLite has no row locks and needs none: the writer holds the database's write
# lock from `BEGIN IMMEDIATE` to its commit.
_LEASE = (
    select(Job.lease_expires_at)
    .where(
        Job.id == bindparam("f_job"),
        Job.attempt == bindparam("f_attempt"),
        Job.lease_owner == bindparam("f_owner"),
        Job.state == JobState.running,
        Job.lease_expires_at > bindparam("f_now", type_=Job.lease_expires_at.type),
    )
    .with_for_update(key_share=True)
)


@dataclass
class Fence:
    """The lease of one `JobContext.fenced_in_statement` write: what its statement binds,
    and whether it saw the lease held."""

    job_id: int
    attempt: int
    owner: str
    seen: bool = False
    # The lease's end, when the caller read it (`LEASE_END`) or checked it (`check`).
    lease_end: datetime | None = None

    # `EXISTS (the lease)`: for the WHERE of the caller's write.
    HELD: ClassVar[ColumnElement[bool]] = exists(_LEASE)
    # The lease's end (NULL when it is gone): a column for the caller's read.
    LEASE_END: ClassVar[Any] = _LEASE.scalar_subquery()

    def params(self) -> dict[str, Any]:
        return {"f_job": self.job_id, "f_attempt": self.attempt, "f_owner": self.owner, "f_now": utcnow()}

    def matched(self) -> None:
        """A write guarded by `HELD` matched a row: the lease was held when it ran."""
        self.seen = True

    def read(self, lease_end: datetime | None) -> datetime:
        """The value a `LEASE_END` column read: the lease's end; None (gone): LeaseLost."""
        if lease_end is None:
            raise LeaseLost(f"job {self.job_id} attempt {self.attempt} is no longer leased to us")
        self.seen, self.lease_end = True, lease_end
        return lease_end

    async def check(self, session: AsyncSession) -> datetime:
        """After a guarded write that matched nothing: LeaseLost if the lease is gone
        (otherwise the write was stale, and the lease is now held for the transaction)."""
        return self.read(await queue.hold_lease(session, self.job_id, self.attempt, self.owner))


@asynccontextmanager
async def gated(gate: asyncio.Lock | None) -> AsyncIterator[None]:
    """Hold `gate` (when there is one) for the block."""
    if gate is None:
        yield
    else:
        async with gate:
            yield
