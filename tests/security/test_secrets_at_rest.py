"""Issue 17.9 (at rest): the database holds every account's API key and signing secret, so the
database file, its -wal and -shm files are 0600 and a directory percl makes for them 0700, from
their creation on (SQLite itself would create them 0644)."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from percl.store.sqlite import SqliteStore
from tests.store.samples import ACCOUNT


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_and_its_wal_are_private(tmp_path: Path) -> None:
    db = tmp_path / "data" / "percl" / "percl.db"
    store = SqliteStore.for_path(db)
    await store.open()
    try:
        await store.put_account(ACCOUNT)
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            assert path.exists() and mode(path) == 0o600, f"{path.name}: {oct(mode(path))}"
        assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700
    finally:
        await store.close()


async def test_files_an_older_percl_left_readable_are_made_private(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    conn = sqlite3.connect(db)  # as SQLite (and percl before this fix) creates it: 0644
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    db.chmod(0o644)
    store = SqliteStore.for_path(db)
    await store.open()
    try:
        await store.put_account(ACCOUNT)
        assert mode(db) == 0o600 and mode(Path(f"{db}-wal")) == 0o600
    finally:
        await store.close()


async def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    # The directory may be shared (PERCL_DB=/tmp/percl.db): percl only makes its files private.
    tmp_path.chmod(0o755)
    store = SqliteStore.for_path(tmp_path / "percl.db")
    await store.open()
    await store.close()
    assert mode(tmp_path) == 0o755 and mode(tmp_path / "percl.db") == 0o600
