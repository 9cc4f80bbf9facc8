"""The bus on NATS (`PERCL_BUS=nats://host:4222`): for deployments whose workers would load
PostgreSQL's LISTEN/NOTIFY (every NOTIFY is a transaction, and every listening connection is a
backend).

A channel is a NATS subject of the same name (the port's channel names are valid subjects). One
connection per worker: NATS keeps the order of one connection's messages on a subject, and it
delivers a worker's own messages back to it (no_echo off), as NOTIFY does. `subscribe` returns
once the server has the subscription (a flush round trip). While the client is reconnecting
(the server restarted, a network cut) `publish` raises BusUnavailable (nothing was sent) rather
than buffering; the client resubscribes by itself once it is back, and what was published
meanwhile is gone (NATS core keeps no history), as with NOTIFY: forwarded requests carry a
deadline (engine/workers/forwarding.py).
"""

from __future__ import annotations

import asyncio
import json
import logging

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import ConnectionClosedError, NoServersError, OutboundBufferLimitError
from nats.errors import TimeoutError as NatsTimeout

from percl.domain.json import JsonValue
from percl.engine.ports.bus import BusHandler, BusUnavailable, check_channel, encode

log = logging.getLogger("percl.store.natsbus")

#: Seconds between reconnection attempts; the client tries for as long as percl runs.
RECONNECT_WAIT_S = 0.5
CONNECT_TIMEOUT_S = 5


class NatsBus:
    """`percl.engine.ports.Bus` over NATS (see the module doc)."""

    def __init__(self, url: str, *, connect_timeout_s: int = CONNECT_TIMEOUT_S) -> None:
        self._url = url
        self._timeout = connect_timeout_s
        self._nc: Client | None = None
        self._subs: dict[str, Subscription] = {}
        self._handlers: dict[str, BusHandler] = {}

    async def open(self) -> None:
        if self._nc is not None:
            return
        try:
            # The first connection gets CONNECT_TIMEOUT_S in all: the client's own retries
            # (unbounded, for reconnecting later) would keep a worker's start-up waiting.
            async with asyncio.timeout(self._timeout):
                self._nc = await nats.connect(
                    self._url, name="percl", allow_reconnect=True, max_reconnect_attempts=-1,
                    reconnect_time_wait=RECONNECT_WAIT_S, connect_timeout=self._timeout,
                    error_cb=self._error, disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected)
        except (OSError, NoServersError, NatsTimeout, TimeoutError) as exc:
            raise BusUnavailable(f"cannot reach the NATS server {self._url}: {exc}") from exc

    async def close(self) -> None:
        nc, self._nc = self._nc, None
        self._subs.clear()
        self._handlers.clear()
        if nc is not None and not nc.is_closed:
            await nc.close()

    async def publish(self, channel: str, payload: JsonValue) -> None:
        text = encode(payload)
        check_channel(channel)
        nc = self._require()
        if not nc.is_connected:
            raise BusUnavailable(f"the NATS bus cannot send: not connected to {self._url}")
        try:
            await nc.publish(channel, text.encode())
        except (ConnectionClosedError, OutboundBufferLimitError, OSError) as exc:
            raise BusUnavailable(f"the NATS bus cannot send: {exc}") from exc

    async def subscribe(self, channel: str, handler: BusHandler) -> None:
        check_channel(channel)
        nc = self._require()
        self._handlers[channel] = handler
        if channel not in self._subs:
            self._subs[channel] = await nc.subscribe(channel, cb=self._deliver)
        try:
            async with asyncio.timeout(self._timeout):
                # nats-py writes flush's PING straight to the socket while SUB waits in its
                # buffer for the flusher task, so the PONG can come back before the server
                # has the SUB: wait for the buffer to be written first.
                while nc.pending_data_size and nc.is_connected:
                    await asyncio.sleep(0)
            await nc.flush(timeout=self._timeout)  # the server has it: it is in force
        except (NatsTimeout, ConnectionClosedError, TimeoutError) as exc:
            raise BusUnavailable(f"the NATS bus cannot subscribe: {exc}") from exc

    async def unsubscribe(self, channel: str) -> None:
        self._handlers.pop(channel, None)
        sub = self._subs.pop(channel, None)
        if sub is not None and self._nc is not None and not self._nc.is_closed:
            await sub.unsubscribe()

    # ------------------------------------------------------------------ internals

    def _require(self) -> Client:
        if self._nc is None:
            raise RuntimeError("the bus is not open: call `await bus.open()` first")
        return self._nc

    async def _deliver(self, msg: Msg) -> None:
        handler = self._handlers.get(msg.subject)
        if handler is not None:
            handler(json.loads(msg.data))

    async def _error(self, exc: Exception) -> None:
        log.warning("NATS bus %s: %s", self._url, exc)

    async def _disconnected(self) -> None:
        log.warning("NATS bus: disconnected from %s; reconnecting", self._url)

    async def _reconnected(self) -> None:
        log.warning("NATS bus: reconnected to %s", self._url)
