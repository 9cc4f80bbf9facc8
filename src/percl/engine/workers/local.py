"""The in-process bus: the Bus port for workers that share one process (one worker, tests).

It keeps the PostgreSQL bus's rules (a message is JSON of at most MAX_PAYLOAD bytes, encoded and
decoded on the way, so no object is shared between sender and receiver; order kept; delivery
later on the loop, never inside `publish`), so code tested on it behaves the same on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json

from percl.domain.json import JsonValue
from percl.engine.ports.bus import BusHandler, check_channel, encode


class LocalBus:
    """`percl.engine.ports.Bus` inside one process (see the module doc)."""

    def __init__(self) -> None:
        self._handlers: dict[str, BusHandler] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def publish(self, channel: str, payload: JsonValue) -> None:
        text = encode(payload)
        check_channel(channel)
        asyncio.get_running_loop().call_soon(self._deliver, channel, text)

    async def subscribe(self, channel: str, handler: BusHandler) -> None:
        self._handlers[check_channel(channel)] = handler

    async def unsubscribe(self, channel: str) -> None:
        self._handlers.pop(channel, None)

    def _deliver(self, channel: str, text: str) -> None:
        handler = self._handlers.get(channel)
        if handler is not None:
            handler(json.loads(text))
