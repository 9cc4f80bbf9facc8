"""Issue 17.16: a database PERCL_DB names that cannot be used stops start-up with one line that
names PERCL_DB and what is wrong (no SQLAlchemy traceback); a damaged file is found by an
integrity check before it serves; an empty file never silently becomes a new database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from percl.errors import ConfigError, DatabaseUnusable
from percl.store.sqlite import SqliteStore

PAGE = 4096


def damaged_database(path: Path, *, pages: int = 20) -> Path:
    """A real database of ~60 pages with `pages` of them overwritten with garbage (its header,
    page 1, intact: SQLite opens it and reads it happily until a query meets a bad page)."""
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA page_size={PAGE}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
    conn.executemany("INSERT INTO t (body) VALUES (randomblob(200))", [()] * 1000)
    conn.commit()
    conn.close()
    assert path.stat().st_size >= (pages + 20) * PAGE
    with path.open("r+b") as f:
        for page in range(10, 10 + pages):
            f.seek(page * PAGE)
            f.write(bytes([0xA5]) * PAGE)
    return path


async def refused(path: Path) -> str:
    store = SqliteStore.for_path(path)
    with pytest.raises(DatabaseUnusable) as info:
        await store.open()
    await store.close()
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"PERCL_DB={path}: ")
    return message


async def test_damaged_pages_are_found_at_open(tmp_path: Path) -> None:
    message = await refused(damaged_database(tmp_path / "percl.db"))
    assert "quick_check" in message and "damaged" in message


async def test_a_file_that_is_no_database_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "percl.db"
    path.write_bytes(b"this is a text file, not SQLite\n" * 200)
    assert "not a usable SQLite database" in await refused(path)


async def test_an_empty_file_is_not_silently_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "percl.db"
    path.touch()
    assert "empty" in await refused(path)
    assert path.stat().st_size == 0  # left as it was


async def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert "directory" in await refused(tmp_path)


async def test_a_missing_file_is_created_and_says_so(tmp_path: Path) -> None:
    store = SqliteStore.for_path(tmp_path / "new" / "percl.db")
    await store.open()
    try:
        assert store.created
    finally:
        await store.close()
    again = SqliteStore.for_path(tmp_path / "new" / "percl.db")
    await again.open()
    try:
        assert not again.created  # an existing database passed its check
    finally:
        await again.close()


async def test_a_newer_schema_is_one_line_too(tmp_path: Path) -> None:
    path = tmp_path / "percl.db"
    store = SqliteStore.for_path(path)
    await store.open()
    await store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    message = await refused(path)
    assert "schema version 99" in message
    assert issubclass(DatabaseUnusable, ConfigError)


def test_percl_serve_on_a_damaged_database_prints_one_line_and_fails(tmp_path: Path) -> None:
    path = damaged_database(tmp_path / "percl.db")
    env = {**os.environ, "PERCL_DB": str(path), "PERCL_PORT": "0", "PERCL_HOST": "127.0.0.1"}
    # A subprocess, not CliRunner: on a failure to refuse, the server would start and serve; the
    # timeout then fails the test instead of hanging it.
    try:
        done = subprocess.run([sys.executable, "-c", "from percl.cli.main import main; main()",
                               "serve"], env=env, capture_output=True, text=True, timeout=60,
                              cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("percl serve started on a damaged database")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and lines[0].startswith(f"percl: PERCL_DB={path}: "), done.stderr
    assert "quick_check" in lines[0] and "Traceback" not in done.stderr
