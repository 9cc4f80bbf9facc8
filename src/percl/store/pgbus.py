"""The bus on PostgreSQL: LISTEN/NOTIFY on one asyncpg connection of its own.

Why one connection: NOTIFY is sent from a session and LISTEN delivers to one, and a connection
runs one statement at a time; one lock (asyncio.Lock is FIFO) orders every statement, so messages
one worker publishes on a channel are sent, and so delivered, in the order `publish` was called.
PostgreSQL delivers notifications in commit order, each autocommitted NOTIFY its own transaction.

Losing the connection (the server restarted, a network cut, pg_terminate_backend): the next
statement reconnects and LISTENs again on every subscribed channel; a termination listener starts
that at once, so a subscriber is back without waiting for someone to publish. What was published
while nobody listened is gone (NOTIFY keeps no history): request/response on the bus carries a
deadline for that (engine/workers/cluster.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg

from percl.domain.clock import Clock
from percl.domain.json import JsonValue
from percl.engine.ports.bus import BusHandler, BusUnavailable, check_channel, encode
from percl.runtime.tasks import OwnedTaskGroup

#: Waits between reconnection attempts (seconds), the last one repeated.
RECONNECT_DELAYS = (0.0, 0.1, 0.5, 1.0, 2.0)


def dsn_of(db: str) -> str:
    """PERCL_DB's PostgreSQL URL as asyncpg takes it (no SQLAlchemy driver name)."""
    _scheme, _sep, rest = db.partition("://")
    return f"postgresql://{rest}"


class PostgresBus:
    """`percl.engine.ports.Bus` over LISTEN/NOTIFY (see the module doc)."""

    def __init__(self, db: str, clock: Clock) -> None:
        self._dsn = dsn_of(db)
        self._clock = clock
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._handlers: dict[str, BusHandler] = {}
        self._group = OwnedTaskGroup("PostgresBus")
        self._open = False
        #: How many times the connection was made again after a loss (for tests and the log).
        self.reconnects = 0

    async def open(self) -> None:
        if self._open:
            return
        await self._group.open()
        self._open = True
        try:
            async with self._lock:
                await self._connected()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        self._open = False
        await self._group.close()
        conn, self._conn = self._conn, None
        self._handlers.clear()
        if conn is not None and not conn.is_closed():
            await conn.close()

    async def publish(self, channel: str, payload: JsonValue) -> None:
        text = encode(payload)
        check_channel(channel)
        async with self._lock:
            try:
                conn = await self._connected()
                await conn.execute("SELECT pg_notify($1, $2)", channel, text)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise BusUnavailable(f"the PostgreSQL bus cannot send: {exc}") from exc

    async def subscribe(self, channel: str, handler: BusHandler) -> None:
        check_channel(channel)
        async with self._lock:
            conn = await self._connected()
            if channel not in self._handlers:
                await conn.add_listener(channel, self._deliver)
            self._handlers[channel] = handler

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            if self._handlers.pop(channel, None) is not None and self._live(self._conn):
                assert self._conn is not None
                await self._conn.remove_listener(channel, self._deliver)

    # ------------------------------------------------------------------ connection

    @staticmethod
    def _live(conn: asyncpg.Connection | None) -> bool:
        return conn is not None and not conn.is_closed()

    async def _connected(self) -> asyncpg.Connection:
        """The connection, made (again) when there is none; call with the lock held. Raises
        RuntimeError when the bus is closed, OSError or asyncpg's errors when it cannot connect."""
        if not self._open:
            raise RuntimeError("the bus is not open: call `await bus.open()` first")
        if self._live(self._conn):
            assert self._conn is not None
            return self._conn
        lost = self._conn is not None
        conn = await asyncpg.connect(self._dsn, server_settings={"application_name": "percl-bus"})
        try:
            for channel in self._handlers:
                await conn.add_listener(channel, self._deliver)
        except BaseException:
            await conn.close()
            raise
        conn.add_termination_listener(self._terminated)
        self._conn = conn
        self.reconnects += lost
        return conn

    def _terminated(self, conn: asyncpg.Connection) -> None:
        if self._open and conn is self._conn and self._handlers:
            self._group.spawn(self._reconnect())

    async def _reconnect(self) -> None:
        """Get the subscriptions back after a loss, retrying with RECONNECT_DELAYS."""
        for attempt in range(10_000):
            await self._clock.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            try:
                async with self._lock:
                    await self._connected()
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                continue

    def _deliver(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        handler = self._handlers.get(channel)
        if handler is not None:
            handler(json.loads(payload))
