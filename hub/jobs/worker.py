"""The worker: claims due jobs, runs them with bounded concurrency, heartbeats their
leases, sweeps stalled ones, offers periodic slots, and shuts down gracefully.

Run alone with `hub worker` (scale-out on PostgreSQL) or embedded in `hub serve` through
`embedded_worker` (the default, and all SQLite needs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import session_scope
from hub.jobs import queue, sqlite_claim
from hub.jobs.context import JobContext, LeaseLost, gated
from hub.jobs.payload import PayloadError, parse_payload
from hub.jobs.registry import Task, get_task, load_tasks
from hub.jobs.schedule import current_slot

if TYPE_CHECKING:
    from hub.runtime import HubRuntime, HubSettings

log = logging.getLogger("hub.jobs.worker")

# Running tasks are cancelled on shutdown: a job's work must not hold the process hostage.
_SHUTDOWN = "worker shutting down"


class Worker:
    def __init__(self, runtime: HubRuntime, *, concurrency: int) -> None:
        self.runtime = runtime
        self.jobs = runtime.settings.jobs
        self.concurrency = max(1, concurrency)
        self.owner = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._inflight: dict[int, tuple[queue.Claimed, asyncio.Task[None]]] = {}
        # Jobs whose task returned without committing its own completion (`ctx.finish()`):
        # their completions ride in the next claim transaction, several at once. Until it
        # commits they are still running (heartbeated); a worker that dies first leaves
        # them to the sweep, and they run again.
        self._done: dict[int, queue.Claimed] = {}
        # PostgreSQL: True while a LISTEN connection tells this worker about new jobs.
        self.listening = False
        # The slot this worker last offered per periodic kind: a slot is offered (one
        # transaction) when it changes, not at every scheduler tick.
        self._offered: dict[str, datetime] = {}
        self._lost: set[tuple[int, int]] = set()
        self._wake = asyncio.Event()
        self._tasks: dict[str, Task] = {}
        self._kinds: list[str] = []
        # SQLite has one writer at a time and its busy handler is a lottery (waiters sleep
        # and retry), so a heartbeat could starve behind completions and lose its lease.
        # Queueing this process's writers FIFO in front of it keeps every wait short.
        self._gate: asyncio.Lock | None = asyncio.Lock() if runtime.settings.core.is_sqlite else None
        # SQLite: the claim transaction (batched completions + claim) runs as one call on a
        # connection of the worker's own (`sqlite_claim.Lane`), not statement by statement
        # through a session: one hand-off to aiosqlite's thread per batch.
        self._lane = (
            sqlite_claim.Lane(runtime.engine) if sqlite_claim.Lane.supported(runtime.engine) else None
        )

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.jobs.lease_seconds)

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.runtime.sessionmaker

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        async with gated(self._gate), session_scope(self.sessionmaker) as session:
            yield session

    # --- lifecycle -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then finish or release in-flight jobs and return."""
        self._tasks = load_tasks(self.jobs.import_list)
        self._kinds = sorted(self._tasks)
        log.info("worker %s: concurrency %d, kinds %s", self.owner, self.concurrency, sorted(self._tasks))
        loops = [
            asyncio.create_task(self._listen(), name="listen"),
            asyncio.create_task(self._every(self.jobs.heartbeat_seconds, self._heartbeat), name="heartbeat"),
            asyncio.create_task(self._every(self.jobs.sweep_seconds, self._sweep), name="sweep"),
            asyncio.create_task(self._every(self.jobs.schedule_seconds, self._offer_slots), name="schedule"),
        ]
        try:
            await self._claim_loop(stop)
        finally:
            await self._drain()
            if self._done:
                try:
                    await self._claim_and_complete(0)
                except Exception:
                    log.exception(
                        "could not record %d completion(s); the sweep will run them again", len(self._done)
                    )
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            if self._lane is not None:
                with contextlib.suppress(Exception):
                    await self._lane.close()
            with contextlib.suppress(Exception):
                async with self._write() as session:
                    await queue.forget_worker(session, self.owner)
            log.info("worker %s stopped", self.owner)

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        stop_wait = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                if self._inflight:
                    # Jobs started by the last batch run one step first: those that finish
                    # at once (no I/O) put their completions in this batch instead of the
                    # next. Without it a worker settled into half batches: the jobs finished
                    # during one transaction while those it had just claimed waited.
                    await asyncio.sleep(0)
                # Cleared before the transaction: a job finishing or a notification arriving
                # while it runs sets it again, and the loop goes round at once.
                self._wake.clear()
                free = self.concurrency - len(self._inflight)
                failed = False
                claimed: list[queue.Claimed] = []
                if free > 0 or self._done:
                    try:
                        claimed = await self._claim_and_complete(free)
                    except Exception:
                        log.exception("claim failed; retrying after the poll interval")
                        failed = True
                for job in claimed:
                    self._start(job)
                if not failed and (self._done or (claimed and len(claimed) == free)):
                    continue  # completions came in meanwhile, or more may be due
                # Idle slots and nothing due: poll again later, or when a job finishes or a
                # notification says a job was added.
                idle = self.concurrency - len(self._inflight) > 0
                timeout = self._poll_seconds() if idle or failed else None
                wake = asyncio.create_task(self._wake.wait())
                await asyncio.wait({wake, stop_wait}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                wake.cancel()
        finally:
            stop_wait.cancel()

    def _poll_seconds(self) -> float:
        if self.listening and self.jobs.listen_poll_seconds is not None:
            return self.jobs.listen_poll_seconds
        return self.jobs.poll_seconds

    async def _claim_and_complete(self, free: int) -> list[queue.Claimed]:
        """One write transaction: record the batched completions, then claim up to `free`
        due jobs. The completions leave `_done` only once it committed."""
        done = list(self._done.values())
        if done:
            # Tests crash the worker here: completions not yet committed must run again.
            await self.runtime.failpoints.hit("jobs.complete_batch")
        claimed: list[queue.Claimed] = []
        pairs = [(j.id, j.attempt) for j in done]
        if self._lane is not None:
            async with gated(self._gate):
                held, claimed = await queue.claim_and_complete_on(
                    self._lane, self.owner, pairs, self._kinds, free, self.lease
                )
        else:
            async with self._write() as session:
                held = await queue.complete_many(session, self.owner, pairs)
                if free > 0:
                    claimed = await queue.claim(session, self.owner, self._kinds, free, self.lease)
        for job in done:
            if self._done.get(job.id) is job:
                del self._done[job.id]
            if job.id not in held:
                log.warning(
                    "job %d (%s) attempt %d: lease lost, result discarded", job.id, job.kind, job.attempt
                )
        return claimed

    async def _listen(self) -> None:
        """PostgreSQL: wake the claim loop whenever a job is added (the `jobs` table's
        insert trigger notifies channel `hub_jobs`). A dropped connection degrades the
        worker to polling every `poll_seconds` until listening works again."""
        if self.runtime.settings.core.is_sqlite or not self.jobs.listen:
            return
        import psycopg

        url = self.runtime.engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    conninfo, autocommit=True, application_name=f"hub-jobs-listen {self.owner}"[:63]
                ) as conn:
                    await conn.execute("LISTEN hub_jobs")
                    self.listening = True
                    # Jobs added while this worker was not listening: look now.
                    self._wake.set()
                    log.info("worker %s: listening for new jobs", self.owner)
                    async for _ in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "worker %s: not notified of new jobs (%s); polling every %.1f s, listening"
                    " again in %.1f s",
                    self.owner,
                    type(exc).__name__,
                    self.jobs.poll_seconds,
                    self.jobs.listen_retry_seconds,
                )
            finally:
                self.listening = False
            self._wake.set()  # the wait in progress may be a long listening one
            await asyncio.sleep(self.jobs.listen_retry_seconds)

    async def _drain(self) -> None:
        """Give in-flight jobs the grace period, then cancel and release the rest."""
        if not self._inflight:
            return
        pending = {t for _, t in self._inflight.values()}
        log.info(
            "worker %s: waiting up to %.1f s for %d job(s)",
            self.owner,
            self.jobs.shutdown_grace_seconds,
            len(pending),
        )
        _, still = await asyncio.wait(pending, timeout=self.jobs.shutdown_grace_seconds)
        leftover = [job for job, t in self._inflight.values() if t in still]
        for t in still:
            t.cancel(_SHUTDOWN)
        await asyncio.gather(*still, return_exceptions=True)
        for job in leftover:
            try:
                async with self._write() as session:
                    released = await queue.release(session, job, self.owner)
                log.info(
                    "released job %d (%s): %s", job.id, job.kind, "ok" if released else "lease already lost"
                )
            except Exception:
                log.exception("could not release job %d; the sweep will take it back", job.id)

    # --- running jobs --------------------------------------------------------------------

    def _start(self, job: queue.Claimed) -> None:
        previous = self._inflight.get(job.id)
        if previous is not None:
            # Our own earlier attempt was swept while still running here: it is fenced out.
            self._lost.add((job.id, previous[0].attempt))
            previous[1].cancel("lease lost")
        task = asyncio.create_task(self._execute(job), name=f"job-{job.id}")
        self._inflight[job.id] = (job, task)

    async def _execute(self, job: queue.Claimed) -> None:
        ctx = JobContext.of(self.runtime, job, self.owner, gate=self._gate)
        try:
            await run_task(ctx)
            if not ctx.finished:
                self._done[job.id] = job
        except LeaseLost:
            log.warning("job %d (%s) attempt %d: lease lost, result discarded", job.id, job.kind, job.attempt)
        except asyncio.CancelledError:
            if (job.id, job.attempt) in self._lost:
                log.warning("job %d (%s) attempt %d: stopped, lease lost", job.id, job.kind, job.attempt)
                return
            raise
        except Exception as exc:
            await self._record_failure(job, exc)
        finally:
            self._lost.discard((job.id, job.attempt))
            current = self._inflight.get(job.id)
            if current is not None and current[0].attempt == job.attempt:
                del self._inflight[job.id]
            self._wake.set()

    async def _record_failure(self, job: queue.Claimed, exc: BaseException) -> None:
        error = "".join(traceback.format_exception_only(exc)).strip()
        if isinstance(exc, TimeoutError):
            error = f"timed out: {error}"
        # A payload that no longer parses will not parse on the next attempt either.
        final = isinstance(exc, PayloadError)
        try:
            async with self._write() as session:
                state = await queue.fail(
                    session,
                    job,
                    self.owner,
                    error,
                    backoff_base=self.jobs.backoff_base_seconds,
                    backoff_max=self.jobs.backoff_max_seconds,
                    final=final,
                )
        except Exception:
            log.exception("could not record the failure of job %d; the sweep will take it back", job.id)
            return
        if state is None:
            log.warning("job %d (%s) failed after losing its lease: %s", job.id, job.kind, error)
        else:
            log.log(
                logging.ERROR if state == "failed" else logging.WARNING,
                "job %d (%s) attempt %d/%d failed (%s): %s",
                job.id,
                job.kind,
                job.attempt,
                job.max_attempts,
                "no attempts left" if state == "failed" else "will retry",
                error,
            )

    # --- periodic duties -----------------------------------------------------------------

    async def _every(self, seconds: float, duty: Callable[[], Awaitable[None]]) -> None:
        while True:
            started = time.monotonic()
            try:
                await duty()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker duty %s failed", getattr(duty, "__name__", duty))
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))

    async def _heartbeat(self) -> None:
        # A job whose completion waits for the next claim transaction is still ours.
        held = [(job.id, job.attempt) for job, _ in self._inflight.values()]
        held += [(job.id, job.attempt) for job in self._done.values() if job.id not in self._inflight]
        async with self._write() as session:
            # The worker's own row first: the job rows stay locked only from their UPDATE
            # to the COMMIT, never across another statement's round trip.
            await queue.beat_worker(
                session,
                self.owner,
                hostname=socket.gethostname()[:200],
                pid=os.getpid(),
                concurrency=self.concurrency,
                running=len(held),
            )
            kept = await queue.heartbeat(session, self.owner, held, self.lease)
        for job_id, attempt in held:
            if job_id not in kept:
                entry = self._inflight.get(job_id)
                if entry is not None and entry[0].attempt == attempt:
                    # Swept or cancelled meanwhile: stop working for nothing.
                    self._lost.add((job_id, attempt))
                    entry[1].cancel("lease lost")

    async def _sweep(self) -> None:
        async with self._write() as session:
            n = await queue.sweep(
                session,
                backoff_base=self.jobs.backoff_base_seconds,
                backoff_max=self.jobs.backoff_max_seconds,
            )
        if n:
            log.warning("took back %d job(s) whose worker stopped heartbeating", n)

    async def _offer_slots(self) -> None:
        now = self.runtime.now()
        for task in self._tasks.values():
            if task.cron is None:
                continue
            slot = current_slot(task.cron, now)
            if self._offered.get(task.kind) == slot:
                continue  # offered already (by this worker or, as it found, another)
            async with self._write() as session:
                added = await queue.offer_slot(
                    session,
                    task.kind,
                    task.kind,
                    slot,
                    task.max_attempts or self.jobs.default_max_attempts,
                )
            self._offered[task.kind] = slot
            if added:
                log.info("scheduled %s for slot %s", task.kind, slot.isoformat())


async def run_task(ctx: JobContext) -> None:
    """Run the task of `ctx.kind` on its payload as a worker does: the payload parsed into
    the kind's model (`PayloadError` when it no longer fits), the kind's timeout applied.
    The task itself commits its effect with `ctx.finish()`; a worker completes the job
    afterwards when the task did not."""
    # Outside a worker (the demo, a test) the hub's task modules may not be imported yet.
    task = get_task(ctx.kind) or load_tasks().get(ctx.kind)
    if task is None:
        raise LookupError(f"no task registered for kind {ctx.kind!r}")
    payload = parse_payload(task.payload, ctx.payload)
    if task.timeout_seconds:
        await asyncio.wait_for(task.fn(ctx, payload), task.timeout_seconds)
    else:
        await task.fn(ctx, payload)


@asynccontextmanager
async def embedded_worker(
    runtime: HubRuntime, *, concurrency: int | None = None
) -> AsyncIterator[Worker | None]:
    """Run a worker alongside the API for the lifetime of the block (the app lifespan).
    Concurrency 0 runs none (`hub serve --no-worker`)."""
    n = runtime.settings.jobs.embedded_concurrency if concurrency is None else concurrency
    if n <= 0:
        yield None
        return
    check_settings(runtime.settings)
    worker = Worker(runtime, concurrency=n)
    stop = asyncio.Event()
    runner = asyncio.create_task(worker.run(stop), name="embedded-worker")
    try:
        yield worker
    finally:
        stop.set()
        await runner


class UnsafeSettings(Exception):
    """Settings that could make a worker order twice (`HubSettings.problems`)."""


def check_settings(settings: HubSettings) -> None:
    problems = settings.problems()
    if problems:
        raise UnsafeSettings("refusing to run jobs with these settings:\n- " + "\n- ".join(problems))


def run_worker(settings: HubSettings, *, concurrency: int) -> None:
    """`hub worker`: run until SIGTERM or SIGINT, then shut down gracefully."""
    from hub.runtime import HubRuntime

    check_settings(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with HubRuntime.open(settings) as runtime:
            await Worker(runtime, concurrency=concurrency).run(stop)

    asyncio.run(main())


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


__all__ = ["Worker", "embedded_worker", "run_task", "run_worker"]
