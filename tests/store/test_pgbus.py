"""The bus (engine/ports/bus.py) on PostgreSQL LISTEN/NOTIFY, between two Bus instances as two
workers would hold them, and the in-process bus keeping the same rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from percl.domain.json import JsonValue
from percl.engine.ports import Bus, MessageTooLarge
from percl.engine.ports.bus import MAX_PAYLOAD
from percl.engine.workers.local import LocalBus
from percl.runtime.clock import SystemClock
from percl.store.pgbus import PostgresBus, dsn_of
from tests import postgres


class Inbox:
    """Collects a channel's messages; `wait(n)` returns once n have come."""

    def __init__(self) -> None:
        self.got: list[JsonValue] = []
        self._more = asyncio.Event()

    def __call__(self, payload: JsonValue) -> None:
        self.got.append(payload)
        self._more.set()

    async def wait(self, n: int) -> list[JsonValue]:
        async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
            while len(self.got) < n:
                self._more.clear()
                await self._more.wait()
        return self.got


@pytest.fixture
async def two_buses() -> AsyncIterator[tuple[PostgresBus, PostgresBus]]:
    url = postgres.server().new_database()
    a, b = PostgresBus(url, SystemClock()), PostgresBus(url, SystemClock())
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def test_two_workers_exchange_messages_in_order(two_buses: tuple[PostgresBus, PostgresBus]) -> None:
    a, b = two_buses
    to_b, to_a = Inbox(), Inbox()
    await b.subscribe("percl_w_b", to_b)
    await a.subscribe("percl_w_a", to_a)
    await asyncio.gather(*(a.publish("percl_w_b", {"n": i, "text": "é\u2028"}) for i in range(200)))
    assert await to_b.wait(200) == [{"n": i, "text": "é\u2028"} for i in range(200)]
    await b.publish("percl_w_a", ["back", 1, None, True, 2.5])
    assert await to_a.wait(1) == [["back", 1, None, True, 2.5]]
    assert to_b.got[200:] == []  # b hears only its own channel


async def test_a_message_over_the_limit_is_refused_and_nothing_is_sent(
        two_buses: tuple[PostgresBus, PostgresBus]) -> None:
    a, b = two_buses
    inbox = Inbox()
    await b.subscribe("big", inbox)
    with pytest.raises(MessageTooLarge):
        await a.publish("big", "x" * (MAX_PAYLOAD + 1))
    await a.publish("big", "x" * (MAX_PAYLOAD - 2))  # the quotes make it exactly the limit
    assert await inbox.wait(1) == ["x" * (MAX_PAYLOAD - 2)]
    with pytest.raises(ValueError, match="channel"):
        await a.publish("Bad-Name", 1)


async def test_a_subscriber_is_back_after_its_connection_is_killed(
        two_buses: tuple[PostgresBus, PostgresBus]) -> None:
    a, b = two_buses
    inbox = Inbox()
    await b.subscribe("percl_w_b", inbox)
    await a.publish("percl_w_b", 1)
    await inbox.wait(1)
    url = postgres.server().url("postgres")
    admin = await asyncpg.connect(dsn_of(url))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'percl-bus' AND pid <> pg_backend_pid() "
            "AND query ILIKE 'LISTEN%'")
        assert killed >= 1
        async with asyncio.timeout(10):
            while b.reconnects == 0:  # the termination listener reconnects and LISTENs again
                await asyncio.sleep(0.01)
    finally:
        await admin.close()
    await a.publish("percl_w_b", 2)
    assert await inbox.wait(2) == [1, 2]


async def test_unsubscribed_channels_are_not_delivered(two_buses: tuple[PostgresBus, PostgresBus]) -> None:
    a, b = two_buses
    first, second = Inbox(), Inbox()
    await b.subscribe("one", first)
    await b.subscribe("two", second)
    await b.unsubscribe("one")
    await a.publish("one", "lost")
    await a.publish("two", "kept")
    assert await second.wait(1) == ["kept"]
    assert first.got == []


async def test_the_local_bus_keeps_the_same_rules() -> None:
    bus: Bus = LocalBus()
    await bus.open()
    inbox = Inbox()
    await bus.subscribe("percl_w_a", inbox)
    payload: dict[str, JsonValue] = {"list": [1, 2]}
    for i in range(3):
        await bus.publish("percl_w_a", {"n": i, **payload})
    assert inbox.got == []  # delivered later on the loop, never inside publish
    assert await inbox.wait(3) == [{"n": i, "list": [1, 2]} for i in range(3)]
    assert inbox.got[0] is not payload
    with pytest.raises(MessageTooLarge):
        await bus.publish("percl_w_a", "x" * MAX_PAYLOAD)
    await bus.close()
