"""The `store` fixture: every test that takes it runs once per Store implementation.

SqliteStore (production) and MemoryStore (tests and the test kit) must be indistinguishable to
their callers, so the behaviour tests are written once against the Store protocol.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from percl.engine.ports import Store
from percl.store.memory import MemoryStore
from percl.store.sqlite import SqliteStore

KINDS = ("sqlite", "sqlite-file", "memory")


def new_store(kind: str, folder: Path | None = None) -> Store:
    """A fresh, unopened store of `kind`: "sqlite" is an in-memory SQLite database (writes go
    through aiosqlite), "sqlite-file" a database file in `folder` (writes on the loop's thread,
    checkpoints on their own: sqlite_base.py); a temporary folder when none is given."""
    if kind == "sqlite":
        return SqliteStore.for_path(":memory:")
    if kind == "sqlite-file":
        return SqliteStore.for_path((folder or Path(tempfile.mkdtemp(prefix="percl-store-"))) / "percl.db")
    if kind == "memory":
        return MemoryStore()
    raise ValueError(f"unknown store kind {kind!r}")


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    folder = request.getfixturevalue("tmp_path") if request.param == "sqlite-file" else None
    s = new_store(request.param, folder)
    await s.open()
    yield s
    await s.close()
