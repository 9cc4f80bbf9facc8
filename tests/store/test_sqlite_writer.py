"""A file database is written on the loop's thread and checkpointed from another (sqlite_base.py,
checkpoint.py); an in-memory one keeps writing through aiosqlite."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from percl.domain.enums import CallStatus
from percl.store.checkpoint import Checkpointer
from percl.store.sqlite import SqliteStore
from tests.store.samples import ACCOUNT, CALL


async def test_file_store_writes_on_the_loop_thread_and_never_checkpoints_there(tmp_path: Path) -> None:
    store = SqliteStore.for_path(tmp_path / "percl.db")
    await store.open()
    try:
        writer = store._writer  # white-box: nothing public tells which connection writes
        assert writer is not None
        assert writer.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        await store.put_account(ACCOUNT)
        await store.put_call(CALL)
        # Read back through aiosqlite: the two connections see each other's commits.
        assert await store.get_call(CALL.call_id) == CALL
    finally:
        await store.close()
    assert store._writer is None and store._checkpointer is None


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
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT status FROM calls WHERE call_id = ?",
                             (CALL.call_id,)).fetchone() == ("completed",)
    await store.close()


async def test_checkpoints_run_every_so_many_commits(tmp_path: Path) -> None:
    path = tmp_path / "percl.db"
    store = SqliteStore.for_path(path)
    await store.open()
    try:
        await store.close_writer()  # replaced by one that checkpoints every 5 commits
        await store.open_writer(str(path))
        checkpointer = store._checkpointer
        assert isinstance(checkpointer, Checkpointer)
        checkpointer._every = 5
        for n in range(12):
            await store.put_call(dataclasses.replace(CALL, call_id=f"CA{n:040d}"))
            if checkpointer._task is not None:  # one at a time: let it finish before writing on
                await checkpointer._task
        assert checkpointer.checkpoints == 2  # after commits 5 and 10
        busy, wal_frames, copied = checkpointer.last
        assert busy == 0 and wal_frames == copied > 0  # every frame of the WAL was copied back
    finally:
        await store.close()
