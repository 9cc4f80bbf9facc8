"""Live updates for the console's pages: which calls just changed, pushed over a WebSocket.

The feed is a LogObserver (engine/ports/logs.py): every webhook, state change and PerCL script
of a call is an account log line already, so a line is the signal that the call's row and its
timeline have something new. The browser is told only *which* call changed ({"callId": ...});
it then fetches the part of the page it shows again, through the same pages as a reload (so
there is one renderer, and nothing is sent to a browser that its page would not show).

Why a WebSocket rather than SSE: uvicorn closes open WebSockets when it stops (1012), while an
event stream would hold `percl serve`'s shutdown until it ended.

Given the log's LogWatch, the feed observes the log only while a page is open (it joins when
the first opens and leaves when the last closes): with none open, a log line costs it nothing.
A page that opens shows what the store holds, so the feed is only for what comes after.

A subscriber that does not keep up loses notices past `QUEUE_SIZE` (its next one still says
that something changed); an account has at most `MAX_SUBSCRIBERS` open feeds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

from starlette.websockets import WebSocket, WebSocketDisconnect

from percl.domain.records import LogEntry
from percl.engine.ports import LogWatch

QUEUE_SIZE = 256
MAX_SUBSCRIBERS = 64


class CallFeed:
    """Implements engine.ports.LogObserver: fans each log line's call id out to the account's
    open console pages."""

    def __init__(self, logs: LogWatch | None = None) -> None:
        """`logs`: where the feed joins the log's observers while a page is open (None: the
        caller shows it every line itself)."""
        self._subscribers: defaultdict[str, set[asyncio.Queue[str]]] = defaultdict(set)
        self._logs = logs
        self._open = 0  # pages open over all accounts

    def observe(self, entry: LogEntry) -> None:
        for queue in self._subscribers.get(entry.account_id, ()):
            with contextlib.suppress(asyncio.QueueFull):  # see the module's docstring
                queue.put_nowait(entry.call_id or "")

    def subscribers(self, account_id: str) -> int:
        return len(self._subscribers.get(account_id, ()))

    async def serve(self, websocket: WebSocket, account_id: str) -> None:
        """Send `{"callId": ...}` for each line of the account until the browser goes away."""
        subscribers = self._subscribers[account_id]
        if len(subscribers) >= MAX_SUBSCRIBERS:
            await websocket.close(code=1013)  # try again later
            return
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        subscribers.add(queue)
        self._opened()
        try:
            await websocket.accept()
            async with asyncio.TaskGroup() as tasks:
                sender = tasks.create_task(self._send(websocket, queue))
                await _until_closed(websocket)
                sender.cancel()
        except* WebSocketDisconnect:
            pass
        finally:
            subscribers.discard(queue)
            if not subscribers:
                self._subscribers.pop(account_id, None)
            self._closed()

    def _opened(self) -> None:
        self._open += 1
        if self._open == 1 and self._logs is not None:
            self._logs.watch(self)

    def _closed(self) -> None:
        self._open -= 1
        if self._open == 0 and self._logs is not None:
            self._logs.unwatch(self)

    @staticmethod
    async def _send(websocket: WebSocket, queue: asyncio.Queue[str]) -> None:
        while True:
            call_id = await queue.get()
            await websocket.send_json({"callId": call_id})


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the browser sends until it closes."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
