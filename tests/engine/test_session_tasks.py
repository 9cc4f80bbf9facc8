"""engine/session/tasks.py: a leg's children by token."""

from __future__ import annotations

import asyncio

import pytest

from percl.engine.session.tasks import LegTasks
from percl.testing.clock import FakeClock


async def test_children_run_under_their_tokens_and_cancel_by_token() -> None:
    clock, tasks, fired = FakeClock(), LegTasks(), []

    async def timer(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        fired.append(name)

    async with asyncio.TaskGroup() as tg:
        tasks.bind(tg)
        assert tasks.spawn(5, timer("five", 1)) == 5
        own = tasks.spawn(None, timer("own", 1))
        other = tasks.spawn(None, timer("other", 1))
        assert (own, other) == (-1, -2)  # the session's own tokens never collide with the interpreter's
        tasks.cancel(5)
        tasks.cancel(99)  # unknown: late news, ignored
        await clock.advance(1)
        assert sorted(fired) == ["other", "own"]
        tasks.spawn(6, timer("six", 5))
        tasks.cancel_all()
        await clock.advance(5)
    assert sorted(fired) == ["other", "own"]


def test_spawning_before_bind_is_a_session_bug() -> None:
    async def nothing() -> None:
        pass

    coro = nothing()
    with pytest.raises(AssertionError):
        LegTasks().spawn(1, coro)
    coro.close()
