"""Wrap a port so that every awaited call counts as tracked work for FakeClock.settle()."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from percl.testing.clock import WorkTracker


class Tracked:
    """A transparent proxy: coroutine methods of `target` run inside `tracker.working()`."""

    def __init__(self, target: Any, tracker: WorkTracker) -> None:
        self._target = target
        self._tracker = tracker

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._tracker.working():
                return await attr(*args, **kwargs)

        return wrapper
