"""Recordings' metadata in every Store, their files in a private folder, and the library that
keeps the two together (save, delete, start-up recovery, retention, a disk that refuses)."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from percl.domain.ids import SequentialIds
from percl.domain.records import Recording
from percl.engine.ports import RecordingQuery, Store
from percl.engine.recordings import RecordingLibrary, RecordingSettings
from percl.store.memory import MemoryStore
from percl.store.recording_files import DirectoryRecordingFiles
from percl.store.sqlite import SqliteStore
from percl.testing import FakeClock

AC1, AC2 = "AC" + "1" * 40, "AC" + "2" * 40
CA1, CF1 = "CA" + "1" * 40, "CF" + "1" * 40


def _rec(n: int, account: str = AC1, *, call: str | None = CA1, conf: str | None = None,
         created: float = 100.0) -> Recording:
    return Recording(f"RE{n:040d}", account, call_id=call, conference_id=conf, duration_sec=3,
                     date_created=created, date_updated=created, duration_ms=2500, size=44)


async def test_the_store_keeps_lists_filters_and_deletes_recordings(store: Store) -> None:
    for r in (_rec(1, created=100), _rec(2, created=200, call=None, conf=CF1),
              _rec(3, AC2, created=300)):
        await store.put_recording(r)
    assert await store.get_recording(_rec(1).recording_id) == _rec(1, created=100)
    mine = await store.list_recordings(RecordingQuery(account_id=AC1))
    assert [r.recording_id for r in mine] == [_rec(2).recording_id, _rec(1).recording_id]
    by_call = await store.list_recordings(RecordingQuery(account_id=AC1, call_id=CA1))
    assert [r.recording_id for r in by_call] == [_rec(1).recording_id]
    by_conf = await store.list_recordings(RecordingQuery(conference_id=CF1))
    assert [r.recording_id for r in by_conf] == [_rec(2).recording_id]
    window = await store.list_recordings(RecordingQuery(created_from=150, created_to=300))
    assert {r.recording_id for r in window} == {_rec(2).recording_id, _rec(3).recording_id}
    await store.delete_recording(_rec(2).recording_id)
    assert await store.get_recording(_rec(2).recording_id) is None
    assert len(await store.list_recordings(RecordingQuery())) == 2


def test_files_are_private_and_whole(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    files = DirectoryRecordingFiles(root)
    assert files.put("RE1", b"RIFFdata") == 8
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "RE1.wav").stat().st_mode) == 0o600
    assert files.size("RE1") == 8 and files.size("RE2") is None
    with files.open("RE1") as f:  # type: ignore[union-attr]
        assert f.read() == b"RIFFdata"
    (root / "RE9.abc.wav.part").write_bytes(b"half")  # a crash mid-write
    assert list(files.ids()) == ["RE1"]
    assert not (root / "RE9.abc.wav.part").exists()
    files.delete("RE1")
    files.delete("RE1")
    assert files.open("RE1") is None and list(files.ids()) == []
    with pytest.raises(ValueError):
        files.put("../etc", b"x")


def _library(tmp_path: Path, store: Store, clock: FakeClock, days: float = 0.0) -> RecordingLibrary:
    return RecordingLibrary(store, DirectoryRecordingFiles(tmp_path / "rec"), clock,
                            SequentialIds(), RecordingSettings(retention_days=days))


async def test_recovery_leaves_neither_a_file_without_a_record_nor_the_reverse(
    tmp_path: Path,
) -> None:
    store, clock = MemoryStore(), FakeClock()
    await store.open()
    lib = _library(tmp_path, store, clock)
    kept = await lib.save("RE" + "1" * 40, AC1, b"RIFF1", 1200, call_id=CA1)
    assert kept is not None and (kept.duration_sec, kept.duration_ms, kept.size) == (2, 1200, 5)
    lib.files.put("RE" + "2" * 40, b"RIFF2")  # a file whose record never came (crash)
    await store.put_recording(_rec(3))  # a record whose file is gone
    assert await lib.recover() == (1, 1)
    assert list(lib.files.ids()) == [kept.recording_id]
    assert [r.recording_id for r in await store.list_recordings(RecordingQuery())] == [
        kept.recording_id]


async def test_retention_deletes_old_recordings_and_their_files(tmp_path: Path) -> None:
    store, clock = MemoryStore(), FakeClock()
    await store.open()
    lib = _library(tmp_path, store, clock, days=1)
    old = await lib.save("RE" + "1" * 40, AC1, b"old", 1000, call_id=CA1)
    await clock.advance(86400 + 1)
    new = await lib.save("RE" + "2" * 40, AC1, b"new", 1000, call_id=CA1)
    assert old is not None and new is not None
    assert await lib.purge() == 1
    assert list(lib.files.ids()) == [new.recording_id]
    assert await store.get_recording(old.recording_id) is None


async def test_an_unwritable_folder_fails_the_recording_with_an_error_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    store = MemoryStore()
    await store.open()
    root = tmp_path / "rec"
    root.mkdir(mode=0o500)
    lib = RecordingLibrary(store, DirectoryRecordingFiles(root), FakeClock(), SequentialIds())
    with caplog.at_level(logging.ERROR):
        assert await lib.save("RE" + "1" * 40, AC1, b"RIFF", 1000, call_id=CA1) is None
    assert "could not be saved" in caplog.text
    assert await store.list_recordings(RecordingQuery()) == []
    assert list(root.iterdir()) == []


async def test_a_version_6_file_gains_the_recordings_table(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    with sqlite3.connect(path) as raw:  # what a version-6 percl left (no recordings table)
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        raw.execute("INSERT INTO schema_version VALUES (6)")
    store = SqliteStore.for_path(path)
    await store.open()
    try:
        await store.put_recording(_rec(1))
        assert await store.get_recording(_rec(1).recording_id) == _rec(1)
    finally:
        await store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(7,)]
