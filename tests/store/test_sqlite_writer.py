"""A file database is written on the loop's thread and checkpointed from another (sqlite_executor.py,
checkpoint.py); an in-memory one keeps writing through aiosqlite."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from percl.domain.enums import CallStatus, LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter
from percl.errors import DatabaseUnusable, StoreBusy
from percl.store.checkpoint import Checkpointer
from percl.store.sqlite import SqliteStore
from tests.store.samples import ACCOUNT, CALL


async def test_file_store_writes_on_the_loop_thread_and_never_checkpoints_there(tmp_path: Path) -> None:
    store = SqliteStore.for_path(tmp_path / "percl.db")
    await store.open()
    try:
        writer = store._writer  # white-box: nothing public tells which connection writes
        assert writer is not None
        # The checkpointer's second pass must take the store's own lock (test below).
        checkpointer = store.executor.checkpointer
        assert checkpointer is not None and checkpointer._lock is store.executor.lock
        assert writer.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        await store.put_account(ACCOUNT)
        await store.put_call(CALL)
        # Read back through aiosqlite: the two connections see each other's commits.
        assert await store.get_call(CALL.call_id) == CALL
    finally:
        await store.close()
    assert store._writer is None and store.executor.checkpointer is None


async def test_memory_store_has_no_second_connection() -> None:
    store = SqliteStore.for_path(":memory:")
    await store.open()
    try:
        assert store._writer is None
        await store.put_call(CALL)
        assert await store.get_call(CALL.call_id) == CALL
    finally:
        await store.close()


async def test_a_committed_call_is_in_the_file_without_a_clean_close(tmp_path: Path) -> None:
    # put_call returns once the row is committed to the WAL: another connection (a restarted
    # percl) reads it even though this store was never closed.
    path = tmp_path / "percl.db"
    store = SqliteStore.for_path(path)
    await store.open()
    ended = dataclasses.replace(CALL, status=CallStatus.COMPLETED)
    await store.put_call(ended)
    other = sqlite3.connect(path)
    try:
        assert other.execute("SELECT status FROM calls WHERE call_id = ?",
                             (CALL.call_id,)).fetchone() == ("completed",)
    finally:
        other.close()
        await store.close()


async def test_checkpoints_run_every_so_many_commits(tmp_path: Path) -> None:
    path = tmp_path / "percl.db"
    store = SqliteStore.for_path(path)
    await store.open()
    try:
        checkpointer = store.executor.checkpointer
        assert isinstance(checkpointer, Checkpointer)
        checkpointer._every = 5  # (256 by default)
        frames = []
        for n in range(40):
            await store.put_call(dataclasses.replace(CALL, call_id=f"CA{n:040d}"))
            if checkpointer._task is not None:  # one at a time: let it finish before writing on
                await checkpointer._task
                busy, wal_frames, copied = checkpointer.last
                assert busy == 0 and wal_frames == copied > 0  # complete: every frame copied back
                frames.append(wal_frames)
        assert checkpointer.checkpoints == 8  # after commits 5, 10, ... 40
        # Complete checkpoints let the log start over: it holds ~5 commits, not all 40.
        assert max(frames) <= 2 * frames[0]
    finally:
        await store.close()


async def test_the_second_pass_holds_the_store_lock(tmp_path: Path) -> None:
    # Pass 2 must run with no statement in between, or a steadily written log never completes a
    # checkpoint and never starts over (it grew to 1.4 GB in a benchmark).
    path = tmp_path / "percl.db"
    store = SqliteStore.for_path(path)
    await store.open()
    lock = asyncio.Lock()
    checkpointer = Checkpointer(str(path), lock, every=1)
    await checkpointer.open()
    conn = checkpointer._conn
    assert conn is not None
    seen: list[bool] = []
    real = conn.execute_fetchall

    async def spy(sql: str, *args: object) -> Any:
        seen.append(lock.locked())
        return await real(sql, *args)

    conn.execute_fetchall = spy  # type: ignore[method-assign]
    try:
        await store.put_call(CALL)
        checkpointer.committed()
        assert checkpointer._task is not None
        await checkpointer._task
        assert seen == [False, True]
    finally:
        await checkpointer.close()
        await store.close()


async def test_closing_while_a_checkpoint_runs_waits_for_it(tmp_path: Path) -> None:
    # The checkpoint's second pass takes the store's lock: close() must not hold it meanwhile.
    store = SqliteStore.for_path(tmp_path / "percl.db")
    await store.open()
    checkpointer = store.executor.checkpointer
    assert checkpointer is not None
    checkpointer._every = 1
    await store.put_call(CALL)  # starts a checkpoint task
    assert checkpointer._task is not None
    await asyncio.wait_for(store.close(), 10)  # a deadlock would time out here
    assert checkpointer.checkpoints == 1


async def test_a_writer_that_cannot_open_leaves_the_store_closed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(self: Checkpointer) -> None:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(Checkpointer, "open", refuse)
    store = SqliteStore.for_path(tmp_path / "percl.db")
    with pytest.raises(DatabaseUnusable, match="unable to open database file"):
        await store.open()
    assert store.executor.conn is None and store._writer is None  # not half open
    monkeypatch.undo()
    await store.open()  # and it can still be opened properly
    await store.put_call(CALL)
    assert await store.get_call(CALL.call_id) == CALL
    await store.close()


async def test_a_line_logged_while_the_store_closes_is_written_at_once(tmp_path: Path) -> None:
    # close() stops the log writer first; a line logged after that (a call ending meanwhile)
    # would otherwise sit in the queue for ever.
    path = tmp_path / "percl.db"
    store = SqliteStore.for_path(path)
    await store.open()
    await store._logs.stop()  # as close() does first; the connection is still open
    entry = LogEntry(timestamp=1, level=LogLevel.INFO, account_id=ACCOUNT.account_id,
                     message="late line")
    await store.add_log(entry)
    other = sqlite3.connect(path)  # no flush, no list_logs: is it in the file already?
    try:
        assert other.execute("SELECT message FROM logs").fetchall() == [("late line",)]
    finally:
        other.close()
        await store.close()


async def test_a_batch_that_finds_the_file_locked_writes_nothing_and_is_written_later(
        tmp_path: Path) -> None:
    # A batch is one transaction (BEGIN IMMEDIATE on the loop thread's writer): a locked file
    # is StoreBusy at once with none of its rows written, and the rows stay queued.
    from tests.security.test_db_locked import write_locked

    path = tmp_path / "percl.db"
    store = SqliteStore.for_path(path)
    await store.open()
    try:
        lines = [LogEntry(timestamp=n, level=LogLevel.INFO, account_id=ACCOUNT.account_id,
                          message=f"line {n}") for n in range(3)]
        with write_locked(path):
            for entry in lines:
                await store.add_log(entry)
            with pytest.raises(StoreBusy):
                await store.flush_logs()
            other = sqlite3.connect(path)
            try:
                assert other.execute("SELECT count(*) FROM logs").fetchone() == (0,)
            finally:
                other.close()
        await store.flush_logs()
        found = await store.list_logs(ACCOUNT.account_id, LogFilter())
        assert [e.message for e in found] == ["line 2", "line 1", "line 0"]
    finally:
        await store.close()
