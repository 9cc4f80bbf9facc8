"""Batched writes for the SQL store: write-behind (BatchWriter) and group commit (GroupCommit).

Why: every store write is a commit (and, for an in-memory database, a trip to aiosqlite's worker
thread). The account log is written 8 times per three-webhook call and nobody reads a line back
until someone lists the logs, so `SqliteStore.add_log` hands its row to a `BatchWriter` and returns
at once; the writer's task writes whatever has queued in one transaction.
`flush()` is the barrier that reads take: every row submitted before it is written when it returns.

The price, documented in docs/DECISIONS.md: a crash (not a clean `close()`) loses the rows still
queued, i.e. the last few milliseconds of log lines (the linger, 10 ms on a file database, plus
any write in progress). Call records never go through here.

A batch whose write finds the database busy (`StoreBusy`: another process holds its lock) stays
queued and the task tries again with backoff (RETRY_FIRST_S doubling up to RETRY_MAX_S), so a
locked database delays log lines instead of losing them; `flush()` raises StoreBusy meanwhile
(a GET /Logs answers 503), and `stop()` gives up after STOP_RETRY_S, logging what it lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from percl.errors import StoreBusy

_log = logging.getLogger(__name__)

#: Backoff of a batch that found the database busy (event-loop time, seconds).
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 1.0
#: How long `stop()` keeps retrying a busy database before it drops the queued rows.
STOP_RETRY_S = 10.0

#: One row to write: its statement's parameters.
Row = Mapping[str, Any]


class BatchWriter:
    """Queues rows and writes them in batches of at most `max_batch` from one background task.

    `write(rows)` must write every row of the batch atomically (one transaction); it is
    never called concurrently with itself. Call `start()` inside the running loop before `add`,
    and `stop()` before the connection closes.
    """

    def __init__(self, write: Callable[[Sequence[Row]], Awaitable[None]], *, max_batch: int,
                 linger_s: float = 0.0) -> None:
        """`linger_s`: how long (event-loop time) a batch waits for more rows before it is written,
        unless `max_batch` rows are already queued. Fewer, larger writes cost less per row (each
        write is a commit); `flush()` never waits for it."""
        self._write = write
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._pending: list[Row] = []
        self._wake = asyncio.Event()
        # Held while a batch is taken from the queue and written, so that `flush` can wait for a
        # batch the task has already taken but not yet written.
        self._writing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._in_flight = 0  # rows at the head of `_pending` being written now

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def pending(self) -> int:
        """Rows queued and not yet taken by a write."""
        return len(self._pending) - self._in_flight

    def start(self) -> None:
        """Start the background task (idempotent). Call from inside the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="percl-log-writer")

    def add(self, row: Row) -> None:
        """Queue `row` for the next batch; returns at once."""
        self._pending.append(row)
        self._wake.set()

    async def flush(self) -> None:
        """Return once every row added before this call is written (or its batch failed and was
        logged: a failing batch is dropped so that one bad write cannot wedge the queue).

        Raises StoreBusy when the database is busy; the rows stay queued for the task's retry."""
        async with self._writing:
            await self._drain()

    async def stop(self) -> None:
        """Flush, then end the background task. Idempotent; `start()` may be called again.
        A busy database is retried for STOP_RETRY_S of loop time; then the rows are dropped."""
        delay, waited = RETRY_FIRST_S, 0.0
        while True:
            try:
                await self.flush()
                break
            except StoreBusy:
                if waited >= STOP_RETRY_S:
                    async with self._writing:
                        _log.error("lost %d queued store rows: the database stayed busy",
                                   len(self._pending))
                        self._pending.clear()
                    break
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, RETRY_MAX_S)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        retry_in = 0.0  # > 0: the database was busy; try again after this long
        while True:
            if retry_in > 0:
                await asyncio.sleep(retry_in)
            else:
                await self._wake.wait()
                self._wake.clear()
                if self._linger_s > 0 and len(self._pending) < self._max_batch:
                    await asyncio.sleep(self._linger_s)
            async with self._writing:
                try:
                    await self._drain()
                    retry_in = 0.0
                except StoreBusy:
                    retry_in = min(max(retry_in * 2, RETRY_FIRST_S), RETRY_MAX_S)

    async def _drain(self) -> None:
        # Called with self._writing held. Rows added while a batch is written join the next one
        # (`add` only appends, so the batch is still the head of the queue after its write).
        while self._pending:
            batch = self._pending[: self._max_batch]
            self._in_flight = len(batch)
            busy = False
            try:
                await self._write(batch)
            except StoreBusy:
                busy = True
                raise  # the batch stays queued: nothing was written
            except Exception:
                # Log lines are best effort by design; the error goes to percl's own log.
                _log.exception("lost %d queued store rows: their batch write failed", len(batch))
            finally:  # (a cancelled write may have been made: its batch is not written twice)
                self._in_flight = 0
                if not busy:
                    del self._pending[: len(batch)]


class GroupCommit:
    """Concurrent durable writes share one statement: each `submit` returns once its own row is
    committed, but rows submitted while a write is in flight are written together next.

    Why: under load (64 calls in progress) call records queue behind each other on the store's one
    connection, one worker-thread trip and one commit each. With no write in flight a row is
    written at once (no extra hop); otherwise it waits for the next batch, which a task writes so
    that a cancelled submitter cannot strand the rows queued behind it.
    """

    def __init__(self, write: Callable[[Sequence[Row]], Awaitable[None]], *, max_batch: int) -> None:
        self._write = write
        self._max_batch = max_batch
        self._pending: list[tuple[Row, asyncio.Future[None]]] = []
        self._busy = False
        self._task: asyncio.Task[None] | None = None

    async def submit(self, row: Row) -> None:
        """Write `row` (with the rows queued alongside it); return once it is committed.

        Raises what the write raised for its batch (every row of a failed batch gets the error).
        """
        if self._busy:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._pending.append((row, done))
            await done
            return
        self._busy = True
        try:
            await self._write([row])
        finally:
            self._hand_over()

    async def idle(self) -> None:
        """Return once every submitted row is written (before the connection closes)."""
        while self._task is not None:
            await asyncio.shield(self._task)

    def _hand_over(self) -> None:
        # Rows queued behind the write that just ended are written by a task of their own.
        if self._pending:
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="percl-group-commit")
        else:
            self._busy = False

    async def _drain(self) -> None:
        batch: list[tuple[Row, asyncio.Future[None]]] = []
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                try:
                    await self._write([row for row, _ in batch])
                except Exception as exc:
                    _settle(batch, exc)
                else:
                    _settle(batch, None)
        finally:
            # Only reached with rows left when this task is cancelled (the loop is closing):
            # their submitters must not wait for ever.
            for _, done in [*batch, *self._pending]:
                done.cancel()
            self._pending.clear()
            self._busy = False
            self._task = None


def _settle(batch: Sequence[tuple[Row, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, done in batch:
        if done.done():
            continue  # its submitter was cancelled meanwhile
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
