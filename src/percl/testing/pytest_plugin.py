"""The percl pytest plugin (registered through the `pytest11` entry point): fixtures only.

- `percl`: a `percl.testing.Percl` (sync kit: platform on a FakeClock, in-memory store, your app
  called in-process), closed after the test;
- `freeclimb_api`: a `freeclimb.DefaultApi` of that percl's seed account, served in-process;
- `percl_harness`: the async `Harness`, for async tests (needs pytest-asyncio).

The kit is imported inside the fixtures: pytest loads this module in every session of every
project that has percl installed, and most of those sessions never ask for a fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from percl.testing.harness import Harness
    from percl.testing.sync import Percl


@pytest.fixture
def percl() -> Iterator[Percl]:
    """A whole percl for one test, driven synchronously on a FakeClock."""
    from percl.testing.sync import Percl

    with Percl() as kit:
        yield kit


@pytest.fixture
def freeclimb_api(percl: Percl) -> Any:
    """The official FreeClimb SDK (`freeclimb.DefaultApi`) authenticated as the `percl`
    fixture's account; its requests reach that platform in-process."""
    pytest.importorskip("freeclimb", reason="the freeclimb package (the official SDK) is needed")
    return percl.freeclimb_api()


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - pytest-asyncio is optional for app developers
    pass
else:

    @pytest_asyncio.fixture
    async def percl_harness() -> AsyncIterator[Harness]:
        """A whole percl in-process on a FakeClock, for async tests."""
        from percl.testing.harness import Harness

        async with Harness() as harness:
            yield harness
