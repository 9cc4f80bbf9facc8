"""A clock that only moves when the test says so, and knows when the event loop has gone quiet.

Why "settle": after time moves, the engine reacts through many small asyncio steps (a timer fires,
a session handles it, a webhook is called in-process, the store writes). `settle()` runs the loop
until nothing is runnable and no tracked work (e.g. a store call running in aiosqlite's thread) is
pending, so a test can assert right after `advance()` without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

DEFAULT_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class WorkTracker:
    """Counts work in flight outside the event loop's ready queue (threads, subprocesses)."""

    def __init__(self) -> None:
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def busy(self) -> bool:
        return self._busy > 0

    def enter(self) -> None:
        """One more piece of work is in flight; pair with `leave()` (in a `finally`)."""
        if self._busy == 0:
            self._idle.clear()
        self._busy += 1

    def leave(self) -> None:
        """A piece of work counted by `enter()` has finished."""
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    @contextmanager
    def working(self) -> Iterator[None]:
        self.enter()
        try:
            yield
        finally:
            self.leave()

    async def wait_idle(self) -> None:
        await self._idle.wait()


class FakeClock:
    """A Clock for tests: `sleep` parks the caller until `advance` moves time past its deadline."""

    def __init__(self, start: float = DEFAULT_START, tracker: WorkTracker | None = None) -> None:
        self._now = start
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._settling: asyncio.Future[None] | None = None  # resolved when the running settle ends
        self.tracker = tracker or WorkTracker()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._now + seconds, next(self._seq), fut))
        await fut  # cancelling the sleeper cancels fut; advance() skips done futures

    def call_later(self, seconds: float, callback: Callable[[], None]) -> asyncio.Future[None]:
        """`callback()` once `advance` moves time past `seconds` from now (at once, on the next
        loop step, for seconds <= 0); cancelling the returned future drops it, as for `sleep`."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(lambda done: None if done.cancelled() else callback())
        if seconds <= 0:
            fut.set_result(None)
        else:
            heapq.heappush(self._timers, (self._now + seconds, next(self._seq), fut))
        return fut

    def next_deadline(self) -> float | None:
        """When the earliest pending sleeper wakes, or None if nobody sleeps."""
        self._drop_cancelled()
        return self._timers[0][0] if self._timers else None

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0][2].done():
            heapq.heappop(self._timers)

    async def settle(self, max_steps: int = 100_000) -> None:
        """Run the loop until nothing is runnable and no tracked work is pending.

        Returns at once (without a loop iteration) when the loop is already quiet: that is most
        calls in a flow, and each iteration costs a full `_run_once`. Raises RuntimeError when the
        loop is still busy after `max_steps` iterations.
        """
        loop = asyncio.get_running_loop()
        # One settler at a time: two tasks spinning `sleep(0)` laps would each see the other's lap
        # as runnable work and never find the loop quiet. The others wait for it, then check.
        while self._settling is not None:
            await asyncio.shield(self._settling)
        if _quiet(loop) and not self.tracker.busy:
            return
        done = self._settling = loop.create_future()
        try:
            await self._spin(loop, max_steps)
        finally:
            self._settling = None
            done.set_result(None)

    async def _spin(self, loop: asyncio.AbstractEventLoop, max_steps: int) -> None:
        """Loop laps until the loop is quiet and no tracked work is pending (settle's body)."""
        for _ in range(max_steps):
            await asyncio.sleep(0)
            if self.tracker.busy:
                await self.tracker.wait_idle()
                continue
            quiet = _quiet(loop)
            if quiet is None:  # a loop we cannot peek into: one more lap, then trust the tracker
                await asyncio.sleep(0)
                quiet = not self.tracker.busy
            if quiet:
                return
        raise RuntimeError("FakeClock.settle: the event loop never went quiet (a busy loop?)")

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, waking every sleeper due on the way, in order."""
        target = self._now + seconds
        await self.settle()
        while True:
            self._drop_cancelled()
            if not self._timers or self._timers[0][0] > target:
                break
            deadline, _, fut = heapq.heappop(self._timers)
            self._now = max(self._now, deadline)
            fut.set_result(None)
            await self.settle()
        self._now = max(self._now, target)
        await self.settle()

    async def run_until(
        self, condition: Callable[[], bool], *, limit_s: float = 3600.0
    ) -> bool:
        """Advance from timer to timer until `condition()` holds; False if `limit_s` passes first."""
        end = self._now + limit_s
        await self.settle()
        while not condition():
            nxt = self.next_deadline()
            if nxt is None or nxt > end:
                return False
            await self.advance(nxt - self._now)
        return True


def _quiet(loop: asyncio.AbstractEventLoop) -> bool | None:
    """True when the next loop iteration would run nothing: no ready callback, no due loop timer,
    no pending I/O event (sockets or the loop's wake-up pipe).

    Why peek instead of spinning: an idle `await asyncio.sleep(0)` lap costs a full loop iteration;
    these checks cost a `select(0)`. The peek is harmless: epoll/poll/select report level-triggered,
    so the loop still sees the same events on its next iteration. Loops without these internals
    (not asyncio's selector loop) give None: settle then spins laps as it always did.
    """
    ready: Any = getattr(loop, "_ready", None)
    selector: Any = getattr(loop, "_selector", None)
    scheduled: Any = getattr(loop, "_scheduled", None)
    if ready is None or selector is None or scheduled is None:
        return None
    if ready:
        return False
    if scheduled and scheduled[0].when() <= loop.time():
        return False
    return not selector.select(0)
