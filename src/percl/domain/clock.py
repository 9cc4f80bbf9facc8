"""Time is passed in. The engine never reads the wall clock or calls asyncio.sleep directly.

The real clock is percl.runtime.clock.SystemClock (domain does no I/O); tests use
percl.testing.FakeClock.
"""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch (float, sub-second precision)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for `seconds` of this clock's time. Cancellable."""
        ...

