"""runtime/tasks.py: the TaskGroup of a long-lived owner and the `async with` lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from percl.runtime.tasks import OwnedTaskGroup, TaskOwner
from percl.testing.clock import FakeClock


class Owner(TaskOwner):
    def __init__(self) -> None:
        self._group = OwnedTaskGroup("Owner")
        self.closed_with: list[BaseException | None] = []

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self._group.spawn(coro)


async def test_leaving_cancels_what_still_runs() -> None:
    clock, finished, cancelled = FakeClock(), [], []

    async def work(seconds: float) -> None:
        try:
            await clock.sleep(seconds)
            finished.append(seconds)
        except asyncio.CancelledError:
            cancelled.append(seconds)
            raise

    async with Owner() as owner:
        owner.spawn(work(1))
        owner.spawn(work(60))
        await clock.advance(1)
    assert (finished, cancelled) == ([1], [60])


async def test_spawning_while_not_running_raises_and_closes_the_coroutine() -> None:
    owner = Owner()
    ran = []

    async def work() -> None:
        ran.append(1)

    coro = work()
    with pytest.raises(RuntimeError, match="Owner is not running"):
        owner.spawn(coro)
    assert coro.cr_frame is None  # closed: no "never awaited" warning
    async with owner:
        await owner.spawn(work())
    with pytest.raises(RuntimeError):
        owner.spawn(work())
    assert ran == [1]


class Draining(TaskOwner):
    """Like the CallService: leaving lets the tasks end by themselves."""

    def __init__(self, clock: FakeClock) -> None:
        self._group = OwnedTaskGroup("Draining")
        self.clock = clock
        self.done: list[str] = []

    async def _close(self, exc: BaseException | None) -> None:
        await self._group.drain(exc)

    async def step(self, name: str, seconds: float, then: str | None = None) -> None:
        await self.clock.sleep(seconds)
        self.done.append(name)
        if then is not None:  # tasks may still start tasks while the group drains
            self.start(then, 1)

    def start(self, name: str, seconds: float, then: str | None = None) -> None:
        self._group.spawn(self.step(name, seconds, then))


async def test_draining_waits_for_every_task_and_the_tasks_they_start() -> None:
    clock = FakeClock()
    owner = Draining(clock)

    async def run() -> None:
        async with owner:
            owner.start("first", 2, then="second")

    leaving = asyncio.ensure_future(run())
    await clock.advance(1)
    assert not leaving.done()
    await clock.advance(2)
    await leaving
    assert owner.done == ["first", "second"]


async def test_draining_hands_the_body_exception_to_the_group() -> None:
    clock = FakeClock()
    owner = Draining(clock)

    async def run() -> None:
        async with owner:
            owner.start("never", 60)
            raise ValueError("body failed")

    leaving = asyncio.ensure_future(run())
    await clock.settle()
    assert leaving.done()  # the group cancelled the 60 s task instead of waiting for it
    with pytest.raises(ExceptionGroup) as caught:
        await leaving
    assert caught.group_contains(ValueError) and owner.done == []
