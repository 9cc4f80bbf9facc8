"""The in-process bus: the Bus port for workers that share one process (one worker, tests).

It keeps the PostgreSQL bus's rules (a message is JSON of at most MAX_PAYLOAD bytes, encoded and
decoded on the way, so no object is shared between sender and receiver; order kept; delivery
later on the loop, never inside `publish`), so code tested on it behaves the same on PostgreSQL.
Workers in one process that each need their own subscriptions (two Platforms in a test) give
their buses one `peers` list: a message then reaches every bus on it, as NOTIFY reaches every
listening connection.
"""

from __future__ import annotations

import asyncio
import json

from percl.domain.json import JsonValue
from percl.engine.ports.bus import BusHandler, check_channel, encode


class LocalBus:
    """`percl.engine.ports.Bus` inside one process (see the module doc)."""

    def __init__(self, peers: list[LocalBus] | None = None) -> None:
        self._handlers: dict[str, BusHandler] = {}
        self._peers = peers if peers is not None else []
        self._peers.append(self)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def publish(self, channel: str, payload: JsonValue) -> None:
        text = encode(payload)
        check_channel(channel)
        loop = asyncio.get_running_loop()
        for bus in self._peers:
            loop.call_soon(bus._deliver, channel, text)

    async def subscribe(self, channel: str, handler: BusHandler) -> None:
        self._handlers[check_channel(channel)] = handler

    async def unsubscribe(self, channel: str) -> None:
        self._handlers.pop(channel, None)

    def _deliver(self, channel: str, text: str) -> None:
        handler = self._handlers.get(channel)
        if handler is not None:
            handler(json.loads(text))
