"""The database file of a SqliteStore before SQLite opens it: made private, and checked whole.

Why percl creates the file itself: SQLite creates a missing database file with the process umask
(0644 by default, and the file holds every account's API key and signing secret) and gives the
-wal and -shm files it creates the mode of the database file. So an empty file made here with
mode 0600 (its missing directories 0700) keeps the three files private from their creation on,
with no window before a chmod and no process-wide umask change (aiosqlite runs other threads).

Why the checks: SQLite opens almost anything. An empty file silently becomes a new database, a
file with corrupt pages serves until a query reads one of them, and a file that is not a database
fails on the first statement with a traceback. So an existing file is checked before use
(`PRAGMA quick_check`: every page and record, without cross-checking indexes against tables) and
every way it can be unusable becomes one `DatabaseUnusable` line naming PERCL_DB.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from percl.errors import DatabaseUnusable

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
#: The files SQLite keeps beside the database (WAL mode, and a rollback journal after a crash).
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
SQLITE_BUSY, SQLITE_LOCKED = 5, 6
SQLITE_CORRUPT = 11  # "database disk image is malformed"


def unusable(file: Path | str, problem: str) -> DatabaseUnusable:
    """The one-line error about the database file `file`."""
    return DatabaseUnusable(f"PERCL_DB={file}: {' '.join(problem.split())}")


def prepare(file: Path) -> bool:
    """Make `file` ready for SQLite. Returns True when it did not exist and has been created (an
    empty private file: a new database), False when an existing database passed the checks.

    Raises DatabaseUnusable (what is wrong, in one line) when it cannot be used.
    """
    try:
        if not file.exists():
            _create(file)
            return True
        _check(file)
    except OSError as exc:
        raise unusable(file, f"cannot use the database file: {exc.strerror or exc}") from exc
    return False


def _create(file: Path) -> None:
    missing = [d for d in (file.parent, *file.parent.parents) if not d.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR)  # the umask can only take bits away
    os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def _check(file: Path) -> None:
    if file.is_dir():
        raise unusable(file, "is a directory, not a database file")
    if file.stat().st_size == 0:
        raise unusable(file, "the file is empty (0 bytes), not a percl database; delete it to "
                             "start a new database")
    for path in (file, *(Path(f"{file}{suffix}") for suffix in SIDE_SUFFIXES)):
        _make_private(path)
    _quick_check(file)


def _make_private(path: Path) -> None:
    """Take group and other access away from a file an older percl made (it used 0644)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        path.chmod(mode & ~0o077)


def _quick_check(file: Path) -> None:
    # mode=rw: never creates a file; a crash's WAL is recovered here like on any open.
    conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=rw", uri=True)
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code == SQLITE_CORRUPT:  # too broken to list its problems
            raise _damaged(file, str(exc)) from exc
        if code in (SQLITE_BUSY, SQLITE_LOCKED):
            raise unusable(file, f"another process holds the database locked ({exc})") from exc
        raise unusable(file, f"not a usable SQLite database ({exc})") from exc
    finally:
        conn.close()
    if rows != ["ok"]:
        more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
        raise _damaged(file, f"{rows[0]}{more}")


def _damaged(file: Path, found: str) -> DatabaseUnusable:
    return unusable(file, f"the database is damaged: the integrity check (PRAGMA quick_check) "
                          f"found: {found}; restore a backup, or move the file away to start a "
                          "new database")
