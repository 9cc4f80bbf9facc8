"""The TaskGroup of a long-lived object: an engine service (calls, messaging, conferences) or a
phone network.

Each of those is an async context manager owning one TaskGroup for the work that outlives whoever
started it: a leg (it outlives the REST request that made it), a message being carried (it outlives
the `Sms` command's leg), a room's outbox, a virtual phone's timers. `OwnedTaskGroup` is that group
and the set of tasks it runs; `TaskOwner` is the lifecycle every owner shares: entering it opens the
group, leaving it runs the owner's `_close`, which either `close`s the group (cancel what still
runs: messages, rooms, phones; the default) or `drain`s it (let the tasks end by themselves: legs
that were told to end and still send their final webhooks). No fire-and-forget
tasks and no module-level loops: this is the only way percl's long-lived objects run tasks.

It lives in `runtime`, outside `domain` (which does no I/O), so that every layer owning tasks
(engine, telephony, api) may import it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self


class OwnedTaskGroup:
    """One owner's TaskGroup. `owner` names it in the error of a spawn while it is not running."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        """True between `open` and `close` (or the end of `drain`)."""
        return self._tg is not None

    async def open(self) -> None:
        """Enter a new TaskGroup: call from the service's `__aenter__`."""
        tg = asyncio.TaskGroup()
        await tg.__aenter__()
        self._tg = tg

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `coro` as a task of the owner. Raises RuntimeError (and closes `coro`, so it is not
        reported as never awaited) when the group is not running."""
        if self._tg is None:
            coro.close()
            raise RuntimeError(f"{self._owner} is not running: use it inside `async with`")
        task = self._tg.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Refuse new tasks, cancel every running one and wait for them all.

        The owner's own exception is not handed to the group, which keeps it unwrapped (no
        ExceptionGroup); so every task must guard itself against its own exceptions."""
        tg, self._tg = self._tg, None
        for task in list(self._tasks):
            task.cancel()
        if tg is not None:
            await tg.__aexit__(None, None, None)

    async def drain(self, exc: BaseException | None) -> None:
        """Wait until every task has ended by itself (they may start new ones meanwhile), then
        refuse new tasks. The owner's exception goes to the group as `async with` would hand it
        (the group then cancels its tasks and raises an ExceptionGroup)."""
        assert self._tg is not None, f"{self._owner} left without being entered"
        exc_type = type(exc) if exc is not None else None
        await self._tg.__aexit__(exc_type, exc, exc.__traceback__ if exc is not None else None)
        self._tg = None


class TaskOwner:
    """Base of a long-lived object owning an OwnedTaskGroup as `self._group` (set it in
    `__init__`). Use the object as `async with owner:`; leaving runs `_close`."""

    _group: OwnedTaskGroup

    async def __aenter__(self) -> Self:
        await self._group.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close(exc)

    async def _close(self, exc: BaseException | None) -> None:
        """Stop the owner's work; `exc` is what ended its `async with` body, if anything. The
        default cancels every task (OwnedTaskGroup.close); override to do more."""
        await self._group.close()
