"""Time is passed in. The engine never reads the wall clock or calls asyncio.sleep directly.

The real clock is percl.runtime.clock.SystemClock (domain does no I/O); tests use
percl.testing.FakeClock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    """A pending `Clock.call_later`."""

    def cancel(self) -> object:
        """Drop the call if it has not run (nothing happens once it ran). The result means
        nothing (asyncio's TimerHandle gives None, a Future a bool)."""
        ...


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch (float, sub-second precision)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for `seconds` of this clock's time. Cancellable."""
        ...


    def call_later(self, seconds: float, callback: Callable[[], None]) -> Timer:
        """Call `callback()` on the event loop once `seconds` of this clock's time passed: a
        deadline without a task sleeping for it (webhooks/deadline.py, one per request)."""
        ...
