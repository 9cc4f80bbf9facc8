"""Call admission: the token bucket, the live-call limit and the calls-per-second dial queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from percl.engine.admission import (
    DialAdmission,
    LiveCallLimit,
    TokenBucket,
    too_many_live_calls,
)
from percl.engine.ports import DialResult, LegListener
from percl.testing.clock import FakeClock

ACCOUNT = "AC" + "1" * 40
OTHER = "AC" + "2" * 40

# --------------------------------------------------------------------------- TokenBucket


def test_bucket_starts_full_and_refills_at_the_rate() -> None:
    bucket = TokenBucket(rate=2, burst=3, now=0)
    assert [bucket.take(0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_s(0) == pytest.approx(0.5)
    assert not bucket.take(0.49)
    assert bucket.take(0.5)
    assert not bucket.is_full(0.5)
    assert bucket.is_full(100) and bucket.take(100)


def test_bucket_never_holds_more_than_burst() -> None:
    bucket = TokenBucket(rate=10, burst=2, now=0)
    assert [bucket.take(1000) for _ in range(3)] == [True, True, False]


def test_bucket_waits_are_exact_on_repeated_fractions() -> None:
    bucket = TokenBucket(rate=3, burst=1, now=0)
    now = 0.0
    for _ in range(30):  # 1/3 s steps add up with float error; each must still admit one
        assert bucket.take(now)
        now += bucket.wait_s(now)
    assert now == pytest.approx(10, abs=1e-6)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0.5)])
def test_bucket_needs_a_positive_rate_and_a_whole_burst(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst, 0)


# --------------------------------------------------------------------------- LiveCallLimit


def test_live_limit_counts_started_and_ended_per_account() -> None:
    limit = LiveCallLimit(2)
    exact = {ACCOUNT: 2, OTHER: 0}
    for _ in range(2):
        assert limit.has_room(ACCOUNT, exact.__getitem__)
        limit.started(ACCOUNT)
    assert not limit.has_room(ACCOUNT, exact.__getitem__)
    assert limit.has_room(OTHER, exact.__getitem__)
    limit.ended(ACCOUNT)
    assert limit.has_room(ACCOUNT, exact.__getitem__)


def test_live_limit_asks_the_exact_count_before_refusing() -> None:
    """A session still sending its last webhooks is running but no longer live."""
    limit = LiveCallLimit(1)
    limit.started(ACCOUNT)
    asked: list[str] = []

    def exact(account_id: str) -> int:
        asked.append(account_id)
        return 0

    assert limit.has_room(ACCOUNT, exact) and asked == [ACCOUNT]


def test_reservations_hold_slots_until_released() -> None:
    limit = LiveCallLimit(2)
    none = lambda _: 0  # noqa: E731
    assert limit.reserve(ACCOUNT, none) and limit.reserve(ACCOUNT, none)
    assert not limit.reserve(ACCOUNT, none)
    limit.release(ACCOUNT)
    assert limit.reserve(ACCOUNT, none)


def test_zero_means_no_limit() -> None:
    limit = LiveCallLimit(0)
    for _ in range(100):
        limit.started(ACCOUNT)
    assert limit.has_room(ACCOUNT, lambda _: 100)


def test_the_rest_error_is_429_code_16() -> None:
    error = too_many_live_calls(ACCOUNT, 5)
    assert (error.status, error.code) == (429, 16)
    assert "5 live calls" in error.message and "PERCL_MAX_LIVE_CALLS" in error.message
    assert error.body()["details"] == {"limit": 5}


# --------------------------------------------------------------------------- DialAdmission


@dataclass
class Network:
    """A Telephony that records dials and hangups with the clock time."""

    clock: FakeClock
    dials: list[tuple[str, float]] = field(default_factory=list)
    hangups: list[str] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)

    def is_reachable(self, number: str) -> bool:
        return True

    async def dial(self, call_id: str, from_: str, to: str, listener: LegListener, *,
                   detect_machine: bool) -> None:
        if call_id in self.fail:
            raise ValueError("no such number")
        self.dials.append((call_id, self.clock.now()))

    async def hangup(self, call_id: str) -> None:
        self.hangups.append(call_id)

    def attach(self, call_id: str, listener: LegListener) -> None:
        self.attached = call_id


class Leg:
    """A LegListener that records dial failures."""

    def __init__(self) -> None:
        self.failed: list[DialResult] = []

    def on_dial_failed(self, result: DialResult) -> None:
        self.failed.append(result)

    def __getattr__(self, name: str) -> Any:
        return lambda *args: None


@dataclass
class Rig:
    """Dials and hangs up as a CallSession does (CallSession._dial and finish)."""

    clock: FakeClock
    network: Network
    admission: DialAdmission
    tg: asyncio.TaskGroup

    async def dial(self, call_id: str, account_id: str = ACCOUNT, leg: Leg | None = None) -> None:
        listener: Any = leg or Leg()

        async def start() -> None:
            await self.network.dial(call_id, "+1", "+2", listener, detect_machine=False)

        if self.admission.admit_now(account_id):
            await start()
        else:
            self.tg.create_task(self.admission.dial_in_turn(account_id, call_id, start, listener))
            await asyncio.sleep(0)  # the task queues its dial

    async def hangup(self, call_id: str) -> None:
        if not self.admission.withdraw(call_id):
            await self.network.hangup(call_id)


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = FakeClock(start=0)
    async with asyncio.TaskGroup() as tg:
        admission = DialAdmission(clock, 2, tg.create_task)
        yield Rig(clock, Network(clock), admission, tg)
        admission.close()  # a driver still waiting for a token must not keep the group open


def test_pacing_off_admits_every_dial_at_once() -> None:
    admission = DialAdmission(FakeClock(), 0, lambda coro: None)
    assert not admission.enabled
    assert all(admission.admit_now(ACCOUNT) for _ in range(100))


async def test_dials_within_the_rate_start_at_once(rig: Rig) -> None:
    await rig.dial("CA1")
    await rig.dial("CA2")
    assert rig.network.dials == [("CA1", 0), ("CA2", 0)]
    assert rig.admission.waiting(ACCOUNT) == []


async def test_dials_past_the_rate_wait_their_turn_in_order(rig: Rig) -> None:
    for n in range(1, 6):
        await rig.dial(f"CA{n}")
    assert rig.admission.waiting(ACCOUNT) == ["CA3", "CA4", "CA5"]
    await rig.clock.advance(0.49)
    assert len(rig.network.dials) == 2
    await rig.clock.advance(2)
    assert rig.network.dials == [("CA1", 0), ("CA2", 0), ("CA3", 0.5), ("CA4", 1.0), ("CA5", 1.5)]
    assert rig.admission.waiting(ACCOUNT) == []


async def test_accounts_are_paced_separately(rig: Rig) -> None:
    for n in range(3):
        await rig.dial(f"CA{n}")
    await rig.dial("CB0", OTHER)
    assert ("CB0", 0) in rig.network.dials and rig.admission.waiting(ACCOUNT) == ["CA2"]


async def test_hangup_withdraws_a_waiting_dial(rig: Rig) -> None:
    for n in range(1, 5):
        await rig.dial(f"CA{n}")
    await rig.hangup("CA3")
    assert rig.admission.waiting(ACCOUNT) == ["CA4"] and rig.network.hangups == []
    await rig.clock.advance(1)
    assert [c for c, _ in rig.network.dials] == ["CA1", "CA2", "CA4"]
    await rig.hangup("CA1")  # already dialed: the network hangs it up
    assert rig.network.hangups == ["CA1"]


async def test_withdrawing_the_last_waiting_dial_stops_the_driver(rig: Rig) -> None:
    for n in range(1, 4):
        await rig.dial(f"CA{n}")
    await rig.hangup("CA3")
    assert rig.clock.next_deadline() is None  # nobody sleeps: shutdown cannot hang on it
    await rig.dial("CA4")  # the next one still waits for its token
    assert rig.admission.waiting(ACCOUNT) == ["CA4"]
    await rig.clock.advance(0.5)
    assert rig.network.dials[-1] == ("CA4", 0.5)


async def test_close_drops_waiting_dials(rig: Rig) -> None:
    for n in range(1, 5):
        await rig.dial(f"CA{n}")
    rig.admission.close()
    await rig.clock.advance(10)
    assert [c for c, _ in rig.network.dials] == ["CA1", "CA2"]
    assert rig.admission.waiting(ACCOUNT) == []


async def test_a_queued_dial_that_fails_fails_its_leg_only(rig: Rig) -> None:
    rig.network.fail.add("CA3")
    leg = Leg()
    for n in (1, 2):
        await rig.dial(f"CA{n}")
    await rig.dial("CA3", leg=leg)
    await rig.dial("CA4")
    await rig.clock.advance(1)
    assert leg.failed == [DialResult.FAILED]
    assert [c for c, _ in rig.network.dials] == ["CA1", "CA2", "CA4"]


async def test_a_cancelled_wait_withdraws_its_dial(rig: Rig) -> None:
    for n in (1, 2):
        await rig.dial(f"CA{n}")
    waiter = asyncio.ensure_future(rig.admission.dial_in_turn(ACCOUNT, "CA3", rig.network.hangup,
                                                              Leg()))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert rig.admission.waiting(ACCOUNT) == ["CA3"]
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert rig.admission.waiting(ACCOUNT) == [] and rig.clock.next_deadline() is None


# --------------------------------------------------------------------------- shared pacing


class _Booked:
    """A shared pacer as the database gives turns (one every `interval` seconds, the first at
    once), or one that cannot reach its database."""

    def __init__(self, clock: FakeClock, interval: float, *, down: bool = False) -> None:
        self.clock, self.interval, self.down = clock, interval, down
        self.next = 0.0
        self.asked: list[str] = []

    async def __call__(self, account_id: str) -> float:
        self.asked.append(account_id)
        if self.down:
            raise ConnectionError("database away")
        turn = max(self.next, self.clock.now())
        self.next = turn + self.interval
        return turn - self.clock.now()


@pytest_asyncio.fixture
async def shared_rig() -> AsyncIterator[tuple[Rig, _Booked]]:
    clock = FakeClock(start=0)
    booked = _Booked(clock, 0.5)
    async with asyncio.TaskGroup() as tg:
        admission = DialAdmission(clock, 2, tg.create_task, shared=booked)
        yield Rig(clock, Network(clock), admission, tg), booked
        admission.close()


async def test_with_a_shared_pacer_every_dial_takes_a_booked_turn(
        shared_rig: tuple[Rig, _Booked]) -> None:
    rig, booked = shared_rig
    for n in range(1, 4):
        await rig.dial(f"CA{n}")
    await rig.clock.advance(0)
    assert rig.network.dials == [("CA1", 0)]  # the database's first turn: now
    await rig.clock.advance(2)
    assert rig.network.dials == [("CA1", 0), ("CA2", 0.5), ("CA3", 1.0)]
    assert booked.asked == [ACCOUNT] * 3


async def test_a_dial_withdrawn_before_its_turn_hands_the_turn_to_the_next(
        shared_rig: tuple[Rig, _Booked]) -> None:
    rig, _ = shared_rig
    for n in range(1, 4):
        await rig.dial(f"CA{n}")
    await rig.clock.advance(0.1)
    await rig.hangup("CA2")  # waiting for the turn at 0.5
    await rig.clock.advance(2)
    assert rig.network.dials == [("CA1", 0), ("CA3", 0.5)]


async def test_a_shared_pacer_that_fails_paces_at_the_rate_here() -> None:
    clock = FakeClock(start=0)
    async with asyncio.TaskGroup() as tg:
        admission = DialAdmission(clock, 2, tg.create_task,
                                  shared=_Booked(clock, 0.5, down=True))
        rig = Rig(clock, Network(clock), admission, tg)
        for n in range(1, 3):
            await rig.dial(f"CA{n}")
        await clock.advance(2)
        assert rig.network.dials == [("CA1", 0.5), ("CA2", 1.0)]
        admission.close()
