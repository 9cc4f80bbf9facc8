"""Call admission: how many calls an account may have live, and how fast REST calls start dialing.

Two limits, both per account and both off when set to 0:

- **live calls** (`LiveCallLimit`): legs that are queued, ringing or inProgress. A REST call past it is
  refused with HTTP 429 / code 16 (`too_many_live_calls`); the CallService rejects inbound calls and
  fails OutDial children past it.
- **calls per second** (`DialAdmission`): REST-originated legs past the rate stay `queued` and start
  dialing in FIFO order when a token frees up, as a carrier paces a trunk. Admission is a step the
  session takes before dialing (CallSession._dial): `admit_now` says whether the leg may dial at
  once; if not, the session awaits `dial_in_turn` in a task of its own, so its loop goes on (a queued
  leg can be cancelled: ending it `withdraw`s the dial), and the ring timeout starts only when the
  phone really rings. The Telephony port is the network's, unwrapped.

Why a token bucket for both this and the REST rate limit: it is the standard carrier and API model,
it needs no timers while under the limit, and "when is the next token" is one division, so a waiting
queue sleeps exactly once per call on the injected clock (no polling).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from percl.domain.clock import Clock
from percl.engine.ports import DialResult, SignallingListener
from percl.errors import ApiError

log = logging.getLogger("percl.engine.admission")

_EPSILON = 1e-9  # float refills land a hair short of a whole token


class TokenBucket:
    """`rate` tokens per second, at most `burst`; starts full. Pure: the caller passes `now`."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = now

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one; False (nothing spent) otherwise."""
        self._refill(now)
        if self._tokens + _EPSILON < 1:
            return False
        self._tokens = max(0.0, self._tokens - 1)
        return True

    def refund(self, now: float) -> None:
        """Give back one token `take` spent (never past `burst`)."""
        self._refill(now)
        self._tokens = min(self.burst, self._tokens + 1)

    def wait_s(self, now: float) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill(now)
        missing = 1 - self._tokens
        return 0.0 if missing <= _EPSILON else missing / self.rate

    def is_full(self, now: float) -> bool:
        """True when the bucket is back at `burst` (it then equals a fresh one and can be dropped)."""
        self._refill(now)
        return self._tokens + _EPSILON >= self.burst


# --------------------------------------------------------------------------- live calls


def too_many_live_calls(account_id: str, limit: int) -> ApiError:
    """The REST error for a call past the live-call limit: 429, code 16 (call creation failed)."""
    return ApiError(
        f"Call creation failed: account {account_id} already has {limit} live calls (queued, "
        f"ringing or inProgress), the most PERCL_MAX_LIVE_CALLS allows; retry when one has ended",
        code=16,
        status=429,
        details={"limit": limit},
    )


class LiveCallLimit:
    """Counts each account's running sessions against `limit` (0 = no limit).

    `started`/`ended` follow the service's session registry, so checking is O(1). A session whose
    call already ended may still be sending its last webhooks; when the quick count says "full",
    `has_room` asks `count_live` for the exact number before refusing. `reserve` holds a slot
    across the awaits between the check and the session start, so concurrent requests cannot
    overshoot.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running: Counter[str] = Counter()
        self._reserved: Counter[str] = Counter()

    def started(self, account_id: str) -> None:
        self._running[account_id] += 1

    def ended(self, account_id: str) -> None:
        self._running[account_id] -= 1
        if self._running[account_id] <= 0:
            del self._running[account_id]

    def has_room(self, account_id: str, count_live: Callable[[str], int]) -> bool:
        """True when one more live call fits (always, without a limit)."""
        if self.limit <= 0:
            return True
        held = self._reserved[account_id]
        if self._running[account_id] + held < self.limit:
            return True
        return count_live(account_id) + held < self.limit

    def reserve(self, account_id: str, count_live: Callable[[str], int]) -> bool:
        """Hold one slot (True) or refuse (False). Pair every True with `release`."""
        if not self.has_room(account_id, count_live):
            return False
        self._reserved[account_id] += 1
        return True

    def release(self, account_id: str) -> None:
        self._reserved[account_id] -= 1
        if self._reserved[account_id] <= 0:
            del self._reserved[account_id]


# --------------------------------------------------------------------------- calls per second

Spawn = Callable[[Coroutine[Any, Any, None]], Any]
#: Books an account's next dial turn for every worker sharing the database and returns the
#: seconds until it (engine/ports/limits.py `reserve`; CallService._paced).
SharedPacer = Callable[[str], Awaitable[float]]


@dataclass(slots=True)
class _Pending:
    call_id: str
    turn: asyncio.Future[None]  # resolved when the leg may dial; cancelled when withdrawn


@dataclass(slots=True)
class _Lane:
    """One account's waiting dials and the bucket that paces them."""

    account_id: str
    bucket: TokenBucket
    waiting: deque[_Pending] = field(default_factory=deque)
    driver: asyncio.Task[None] | None = None
    sleeping: bool = False


class DialAdmission:
    """Paces dials per account at `calls_per_second` (bucket size: one second's worth, at least 1).

    `spawn` runs a coroutine as an owned task (the CallService's TaskGroup); one driver task per
    account exists only while that account has dials waiting.

    With `shared` (several workers on one database) the turns come from the database instead
    of this worker's bucket: every dial waits in the lane, whose driver books the next turn for
    its first leg (one statement) and sleeps until it, so the account's rate holds across
    workers; turns are booked one leg at a time, so a leg withdrawn while its turn nears hands
    the turn to the next. A booking that fails (the database is away) waits one interval of the
    rate instead: this worker alone then keeps to the account's rate.
    """

    def __init__(self, clock: Clock, calls_per_second: float, spawn: Spawn, *,
                 shared: SharedPacer | None = None) -> None:
        self._clock = clock
        self._rate = calls_per_second
        self._spawn = spawn
        self._shared = shared
        self._lanes: dict[str, _Lane] = {}
        self._lane_of: dict[str, _Lane] = {}  # call id -> lane, while waiting

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def waiting(self, account_id: str) -> list[str]:
        """Call ids of the account's dials still waiting for their turn, first first."""
        lane = self._lanes.get(account_id)
        return [p.call_id for p in lane.waiting] if lane else []

    def admit_now(self, account_id: str) -> bool:
        """True (a token is spent) when the account may dial now: pacing is off, or nobody waits
        and a token is free. False: await `dial_in_turn`."""
        if not self.enabled:
            return True
        if self._shared is not None:
            return False  # the turn is the database's to give (an await): `dial_in_turn`
        lane = self._lane(account_id)
        return not lane.waiting and lane.bucket.take(self._clock.now())

    async def dial_in_turn(
        self, account_id: str, call_id: str, dial: Callable[[], Awaitable[None]],
        listener: SignallingListener,
    ) -> None:
        """Wait for the account's turn (FIFO), then `dial`. A dial that raises fails its leg
        through `listener.on_dial_failed`. Cancelling the caller, `withdraw` or `close` before
        the turn comes drops the dial (it never runs)."""
        await self._turn(account_id, call_id)
        try:
            await dial()
        except Exception:  # a failed dial must fail its leg, never the task group it runs in
            log.exception("queued dial of %s failed", call_id)
            listener.on_dial_failed(DialResult.FAILED)

    async def _turn(self, account_id: str, call_id: str) -> None:
        lane = self._lane(account_id)
        pending = _Pending(call_id, asyncio.get_running_loop().create_future())
        lane.waiting.append(pending)
        self._lane_of[call_id] = lane
        if lane.driver is None:
            lane.driver = self._spawn(self._drive(lane))
        try:
            await pending.turn
        except asyncio.CancelledError:
            self.withdraw(call_id)
            raise

    def _lane(self, account_id: str) -> _Lane:
        lane = self._lanes.get(account_id)
        if lane is None:
            lane = _Lane(account_id,
                         TokenBucket(self._rate, max(1.0, self._rate), self._clock.now()))
            self._lanes[account_id] = lane
        return lane

    def withdraw(self, call_id: str) -> bool:
        """Drop a dial that has not started (the leg was cancelled). False if it is not waiting."""
        lane = self._lane_of.pop(call_id, None)
        if lane is None:
            return False
        for pending in lane.waiting:
            if pending.call_id == call_id:
                pending.turn.cancel()
        lane.waiting = deque(p for p in lane.waiting if p.call_id != call_id)
        if not lane.waiting and lane.sleeping and lane.driver is not None:
            lane.driver.cancel()  # nothing left to wait for (and shutdown must not hang on it)
            lane.driver = None
        return True

    def close(self) -> None:
        """Forget every waiting dial and stop the drivers (the service is shutting down)."""
        for lane in self._lanes.values():
            for pending in lane.waiting:
                pending.turn.cancel()
            lane.waiting.clear()
            if lane.driver is not None:
                lane.driver.cancel()
                lane.driver = None
        self._lane_of.clear()

    async def _drive(self, lane: _Lane) -> None:
        me = asyncio.current_task()
        try:
            while lane.waiting:
                if self._shared is not None:
                    await self._sleep(lane, await self._booked(lane, self._shared))
                else:
                    wait = lane.bucket.wait_s(self._clock.now())
                    if wait > 0:
                        await self._sleep(lane, wait)
                        continue
                    lane.bucket.take(self._clock.now())
                if not lane.waiting:  # withdrawn while its turn came
                    break
                pending = lane.waiting.popleft()
                self._lane_of.pop(pending.call_id, None)
                if not pending.turn.done():
                    pending.turn.set_result(None)
        finally:
            if lane.driver is me:
                lane.driver = None

    async def _sleep(self, lane: _Lane, seconds: float) -> None:
        if seconds <= 0:
            return
        lane.sleeping = True
        try:
            await self._clock.sleep(seconds)
        finally:
            lane.sleeping = False

    async def _booked(self, lane: _Lane, shared: SharedPacer) -> float:
        try:
            return await shared(lane.account_id)
        except Exception:  # the database is away: pace on this worker alone (see the class doc)
            log.warning("dial pacing of %s: no turn from the database; one interval here",
                        lane.account_id, exc_info=True)
            return 1.0 / self._rate
