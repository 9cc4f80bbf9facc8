"""The children of one leg: every task a CallSession runs, by token.

The interpreter gives each long action a token (a prompt, a timer, a webhook, a runner) and later
cancels it by that token (barge-in, an Interrupt, hangup). Tasks the interpreter did not ask for --
the ring and maximum-duration timers, a membership's `on_idle` -- get negative tokens of their own,
so they never collide with the interpreter's positive ones and `cancel_all` still reaches them.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Coroutine
from typing import Any


class LegTasks:
    """The leg's tasks in the session's TaskGroup. `bind` it to the group before the first spawn."""

    def __init__(self) -> None:
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._own_tokens = itertools.count(-1, -1)

    def bind(self, tg: asyncio.TaskGroup) -> None:
        """Run the children in `tg`: call when the session's run enters its group."""
        self._tg = tg

    def spawn(self, token: int | None, coro: Coroutine[Any, Any, None]) -> int:
        """Start `coro` as the child `token` (None: a fresh token of the session's own); returns
        the token. Must not be called before `bind` (a session bug: AssertionError)."""
        assert self._tg is not None, "LegTasks.spawn before bind"
        if token is None:
            token = next(self._own_tokens)
        task = self._tg.create_task(coro)
        self._tasks[token] = task
        task.add_done_callback(functools.partial(self._forget, token))
        return token

    def cancel(self, token: int) -> None:
        """Cancel the child `token`; a finished or unknown token is ignored (late news)."""
        task = self._tasks.pop(token, None)
        if task is not None:
            task.cancel()

    def cancel_all(self) -> None:
        """Cancel every child (the leg ends)."""
        for task in list(self._tasks.values()):
            task.cancel()
        self._tasks.clear()

    def _forget(self, token: int, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(token, None)
