"""The `store` fixture: every test that takes it runs once per Store implementation.

SqliteStore (production) and MemoryStore (tests and the test kit) must be indistinguishable to
their callers, so the behaviour tests are written once against the Store protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from percl.engine.ports import Store
from percl.store.memory import MemoryStore
from percl.store.sqlite import SqliteStore

KINDS = ("sqlite", "memory")


def new_store(kind: str) -> Store:
    """A fresh, unopened store of `kind` ("sqlite": an in-memory SQLite database)."""
    if kind == "sqlite":
        return SqliteStore.for_path(":memory:")
    if kind == "memory":
        return MemoryStore()
    raise ValueError(f"unknown store kind {kind!r}")


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    s = new_store(request.param)
    await s.open()
    yield s
    await s.close()
