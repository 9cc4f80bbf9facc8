"""The network's one media clock: a 20 ms tick at absolute deadlines while any audio leg is live.

Why absolute deadlines: sleeping 20 ms after each tick drifts by the tick's own cost and the
loop's wake-up delay, every frame. Tick n is due at `start + n * 20 ms`; a tick that wakes late
is late by (now - deadline), noted for the bench, and ticks that fell behind run back to back
(frame by frame, yielding to the loop between them) until the clock has caught up. With the
FakeClock the deadlines are timers the test's `advance()` fires, so audio renders as fast as the
CPU allows and never by real sleeping.

The clock runs as one task of the network's TaskGroup; it ends when the tick reports that no
audio leg is live, and `start()` brings it back for the next one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np

from percl.domain.clock import Clock
from percl.telephony.sim.audio.dsp import FRAME_MS

FRAME_S = FRAME_MS / 1000
LATENESS_KEPT = 50_000  # ticks whose lateness the stats remember (1,000 s of audio)


@dataclass(frozen=True, slots=True)
class ClockStats:
    """How punctual the media clock was over its last `LATENESS_KEPT` ticks, in milliseconds."""

    ticks: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class MediaClock:
    """Calls `tick()` every 20 ms of `clock` time; `tick` returns False when nothing is left to
    carry (the clock then stops until `start()`). `spawn` runs the clock's task."""

    def __init__(self, clock: Clock, tick: Callable[[], bool],
                 spawn: Callable[[Coroutine[Any, Any, None]], None]) -> None:
        self._clock = clock
        self._tick = tick
        self._spawn = spawn
        self._running = False
        self._ticks = 0
        self._late: deque[float] = deque(maxlen=LATENESS_KEPT)

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Run the clock if it is not running already (an audio leg became live)."""
        if not self._running:
            self._running = True
            self._spawn(self._run())

    def stats(self) -> ClockStats:
        late = np.array(self._late) * 1000 if self._late else np.zeros(1)
        return ClockStats(self._ticks, float(np.percentile(late, 50)),
                          float(np.percentile(late, 99)), float(late.max()))

    def reset_stats(self) -> None:
        self._late.clear()
        self._ticks = 0

    async def _run(self) -> None:
        try:
            start = self._clock.now()
            n = 0
            while True:
                n += 1
                deadline = start + n * FRAME_S
                delay = deadline - self._clock.now()
                if delay > 0:
                    await self._clock.sleep(delay)
                else:
                    await asyncio.sleep(0)  # catching up: let the loop breathe between frames
                self._late.append(max(0.0, self._clock.now() - deadline))
                self._ticks += 1
                if not self._tick():
                    return
        finally:
            self._running = False
