"""Tracked: coroutine methods count as busy work, and their wrappers are built once per name."""

from __future__ import annotations

from typing import Any

import pytest

from percl.testing.clock import WorkTracker
from percl.testing.tracked import Tracked


class _Port:
    def __init__(self, tracker: WorkTracker) -> None:
        self.tracker = tracker
        self.limit = 3
        self.busy_seen: list[bool] = []

    async def fetch(self, key: str) -> str:
        self.busy_seen.append(self.tracker.busy)
        return key.upper()

    async def fail(self) -> None:
        raise ValueError("boom")

    def plain(self) -> int:
        return 7


async def test_coroutine_methods_run_as_tracked_work() -> None:
    tracker = WorkTracker()
    port = _Port(tracker)
    proxy: Any = Tracked(port, tracker)
    assert await proxy.fetch("a") == "A" and await proxy.fetch("b") == "B"
    assert port.busy_seen == [True, True] and not tracker.busy
    with pytest.raises(ValueError, match="boom"):
        await proxy.fail()
    assert not tracker.busy  # a failing call still leaves


async def test_wrappers_are_built_once_per_name() -> None:
    tracker = WorkTracker()
    proxy: Any = Tracked(_Port(tracker), tracker)
    first = proxy.fetch
    assert proxy.fetch is first  # cached: later accesses skip __getattr__
    assert proxy.fetch.__name__ == "fetch"


async def test_plain_attributes_read_through_uncached() -> None:
    tracker = WorkTracker()
    port = _Port(tracker)
    proxy: Any = Tracked(port, tracker)
    assert proxy.plain() == 7 and proxy.limit == 3
    port.limit = 4
    assert proxy.limit == 4
    with pytest.raises(AttributeError):
        _ = proxy.missing
