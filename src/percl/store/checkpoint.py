"""WAL checkpoints of a file database, off the event loop's thread.

Why: the store writes on the event loop's thread (sqlite_executor.py), and a checkpoint -- copying the
write-ahead log back into the database file, with an fsync -- takes milliseconds; run by the
writing connection (SQLite's automatic checkpoint) it stood the loop still for every call. So the
writing connection never checkpoints, and this class does it from a connection of its own
(aiosqlite: its own worker thread) every `every` commits, in two passes:

1. PASSIVE, concurrently with the writer: copies the bulk of the log; never waits for anyone.
2. PASSIVE again while holding the store's lock, so that no statement runs meanwhile: it copies
   the few frames written during pass 1 and so completes. Only a *complete* checkpoint lets the
   next write start the log over from its beginning; without pass 2 a steadily written database
   never gets one, and the log grew without bound (1.4 GB after 15,000 calls). Writers wait for
   pass 2 asynchronously (it is short: the frames of pass 1's few ms, and an fsync of the log and
   one of the database file).

One fsync stays on the loop's thread: the first write after a complete checkpoint starts the log
over, and SQLite syncs the new log header on the connection that writes it (~0.1-0.2 ms here,
once per `every` commits).
"""

from __future__ import annotations

import asyncio
import logging

import aiosqlite

_log = logging.getLogger(__name__)

#: Commits between checkpoints: a commit of the engine writes ~2-5 pages, SQLite's own automatic
#: checkpoint runs every 1,000 pages.
EVERY = 256


class Checkpointer:
    """Call `open()` inside the running loop, `committed()` after each commit of the writer,
    `close()` before the writer closes."""

    def __init__(self, path: str, lock: asyncio.Lock, *, every: int = EVERY) -> None:
        """`lock`: the store's lock, held by every statement on the database."""
        self._path = path
        self._lock = lock
        self._every = every
        self._commits = 0
        self._conn: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.checkpoints = 0  # completed, for tests and curiosity
        self.last: tuple[int, ...] = ()  # SQLite's answer to the last pass 2: (busy, WAL frames, copied)

    async def open(self) -> None:
        """Connect (idempotent). Raises sqlite3 errors as they come."""
        if self._conn is None:
            self._conn = await aiosqlite.connect(self._path)

    def committed(self) -> None:
        """The writer committed; start a checkpoint when `every` commits have passed and none is
        running. Returns at once."""
        self._commits += 1
        if self._commits >= self._every and self._task is None and self._conn is not None:
            self._commits = 0
            self._task = asyncio.get_running_loop().create_task(self._run(self._conn),
                                                                name="percl-wal-checkpoint")

    async def close(self) -> None:
        """Wait for a running checkpoint, then disconnect. Idempotent."""
        task, conn = self._task, self._conn
        self._conn = None
        if task is not None:
            await asyncio.wait([task])  # (a cancel of our caller still propagates)
        if conn is not None:
            await conn.close()

    async def _run(self, conn: aiosqlite.Connection) -> None:
        try:
            await conn.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            async with self._lock:
                rows = await conn.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            self.last = tuple(next(iter(rows), ()))
            self.checkpoints += 1
        except Exception:  # the WAL only grows until the next one; nothing is lost
            _log.exception("WAL checkpoint failed")
        finally:
            self._task = None
