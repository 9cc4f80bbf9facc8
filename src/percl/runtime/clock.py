"""The real clock (domain/clock.py holds the `Clock` protocol the engine is given)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class SystemClock:
    """The real clock, used by `percl serve`."""

    #: time.time itself: the engine reads the clock ~40 times a call, and a method wrapping it
    #: cost a Python call each time.
    now = staticmethod(time.time)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, seconds: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, seconds), callback)
