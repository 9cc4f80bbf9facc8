"""Wrap a port so that every awaited call counts as tracked work for FakeClock.settle()."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from percl.testing.clock import WorkTracker


class Tracked:
    """A transparent proxy: coroutine methods of `target` run inside `tracker.working()`.

    Why the cache: the kit's store sees tens of calls per flow, and building a new wrapper closure
    on every attribute access was a tenth of a flow's cost. A coroutine method's wrapper is built
    once, on first access, and stored on the proxy itself, so later accesses never reach
    `__getattr__`. This assumes the target does not swap its methods after the first access (no
    port does); plain attributes are never cached and always read through.
    """

    def __init__(self, target: Any, tracker: WorkTracker) -> None:
        self._target = target
        self._tracker = tracker

    def __getattr__(self, name: str) -> Any:
        if name in ("_target", "_tracker"):
            raise AttributeError(name)  # not set yet (e.g. on a copy): don't recurse
        attr = getattr(self._target, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        wrapper = self._wrap(name, _tracking(attr, self._tracker))
        self.__dict__[name] = wrapper
        return wrapper

    def _wrap(self, name: str, tracked: Any) -> Any:
        """Hook for subclasses: add behaviour around the tracked coroutine method `name`."""
        return tracked


def _tracking(method: Any, tracker: WorkTracker) -> Any:
    """`method` wrapped so that each call counts as busy work on `tracker` while it runs."""
    enter = tracker.enter
    leave = tracker.leave

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        enter()
        try:
            return await method(*args, **kwargs)
        finally:
            leave()

    return wrapper
