"""FakeClock.settle: runs the loop until quiet, and returns at once when it already is."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from percl.testing import clock as clock_module
from percl.testing.clock import FakeClock, WorkTracker


def _count_laps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the running loop's iterations from now on."""
    loop: asyncio.BaseEventLoop = asyncio.get_running_loop()  # type: ignore[assignment]
    laps = [0]
    run_once = loop._run_once  # type: ignore[attr-defined]

    def counted() -> None:
        laps[0] += 1
        run_once()

    monkeypatch.setattr(loop, "_run_once", counted, raising=False)
    return laps


async def test_settle_runs_chains_of_ready_work_to_the_end() -> None:
    done: list[int] = []

    async def chain() -> None:
        for i in range(50):
            await asyncio.sleep(0)
            done.append(i)

    task = asyncio.create_task(chain())
    await FakeClock().settle()
    assert task.done() and len(done) == 50


async def test_settle_on_a_quiet_loop_does_not_spin(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeClock()
    await fake.settle()
    laps = _count_laps(monkeypatch)
    for _ in range(10):
        await fake.settle()
    assert laps[0] == 0


async def test_settle_runs_a_loop_timer_that_is_due() -> None:
    fired: list[bool] = []
    asyncio.get_running_loop().call_later(0, fired.append, True)
    await FakeClock().settle()
    assert fired == [True]


async def test_settle_delivers_pending_io() -> None:
    loop = asyncio.get_running_loop()
    left, right = socket.socketpair()
    got: list[bytes] = []
    loop.add_reader(left.fileno(), lambda: got.append(left.recv(16)))
    try:
        right.send(b"x")
        await FakeClock().settle()
        assert got == [b"x"]
    finally:
        loop.remove_reader(left.fileno())
        left.close()
        right.close()


async def test_settle_waits_for_tracked_work_in_a_thread() -> None:
    fake = FakeClock()
    release = threading.Event()
    finished: list[bool] = []

    async def in_thread() -> None:
        with fake.tracker.working():
            await asyncio.to_thread(release.wait)
            finished.append(True)

    task = asyncio.create_task(in_thread())
    await asyncio.sleep(0)
    assert fake.tracker.busy
    release.set()
    await fake.settle()
    assert task.done() and finished == [True] and not fake.tracker.busy


async def test_settle_without_loop_internals_still_spins_to_quiet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock_module, "_quiet", lambda loop: None)
    flags: list[int] = []
    asyncio.get_running_loop().call_soon(flags.append, 1)
    await FakeClock().settle()
    assert flags == [1]


async def test_settle_gives_up_on_a_busy_loop() -> None:
    async def forever() -> None:
        while True:
            await asyncio.sleep(0)

    task = asyncio.create_task(forever())
    with pytest.raises(RuntimeError, match="never went quiet"):
        await FakeClock().settle(max_steps=20)
    task.cancel()


def test_tracker_counts_nested_work() -> None:
    tracker = WorkTracker()
    tracker.enter()
    tracker.enter()
    tracker.leave()
    assert tracker.busy
    tracker.leave()
    assert not tracker.busy


async def test_advance_wakes_sleepers_in_order() -> None:
    fake = FakeClock(start=0.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await fake.sleep(seconds)
        woke.append((name, fake.now()))

    tasks = [asyncio.create_task(sleeper(name, seconds))
             for name, seconds in (("b", 2.0), ("a", 1.0), ("c", 5.0))]
    await fake.advance(3.0)
    assert woke == [("a", 1.0), ("b", 2.0)] and fake.now() == 3.0
    tasks[2].cancel()


async def test_two_tasks_settling_at_once_both_return() -> None:
    # Each settler's `sleep(0)` lap is runnable work to the other: they used to spin for ever.
    clock = FakeClock()
    ran: list[int] = []

    async def chain(n: int) -> None:
        for _ in range(n):
            await asyncio.sleep(0)
        ran.append(n)

    work = [asyncio.ensure_future(chain(50)), asyncio.ensure_future(chain(80))]
    await asyncio.wait_for(asyncio.gather(clock.settle(), clock.settle(), clock.settle()), 5)
    assert sorted(ran) == [50, 80] and all(t.done() for t in work)


async def test_call_later_runs_when_time_passes_its_deadline_unless_cancelled() -> None:
    clock, fired = FakeClock(), []
    clock.call_later(2.0, lambda: fired.append("two"))
    dropped = clock.call_later(1.0, lambda: fired.append("dropped"))
    clock.call_later(0, lambda: fired.append("now"))
    assert clock.next_deadline() == clock.now() + 1.0
    dropped.cancel()
    await clock.settle()
    assert fired == ["now"]
    await clock.advance(1.5)
    assert fired == ["now"]
    await clock.advance(0.5)
    assert fired == ["now", "two"] and clock.next_deadline() is None


async def test_the_system_clock_calls_later_on_the_loop() -> None:
    from percl.runtime.clock import SystemClock

    fired = asyncio.Event()
    SystemClock().call_later(0, fired.set)
    dropped = SystemClock().call_later(3600, fired.clear)
    dropped.cancel()
    await asyncio.wait_for(fired.wait(), 5)
    assert dropped.cancelled()
