"""The percl pytest plugin (registered through the `pytest11` entry point): fixtures only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from percl.testing.harness import Harness


@pytest_asyncio.fixture
async def percl_harness() -> AsyncIterator[Harness]:
    """A whole percl in-process on a FakeClock (in-memory SQLite, apps called in-process)."""
    async with Harness() as harness:
        yield harness
