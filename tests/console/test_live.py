"""console/live.py: the live feed tells each open page of an account which call changed, and
only that account's pages."""

from __future__ import annotations

import asyncio
from typing import Any

from percl.console.live import MAX_SUBSCRIBERS, CallFeed
from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry


class FakeSocket:
    """What CallFeed uses of a Starlette WebSocket; `leave()` plays the browser going away."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.accepted = False
        self.closed: int | None = None
        self._gone = asyncio.Event()

    async def accept(self) -> None:
        self.accepted = True

    async def close(self, code: int = 1000) -> None:
        self.closed = code

    async def send_json(self, data: Any) -> None:
        self.sent.append(data)

    async def receive(self) -> dict[str, Any]:
        await self._gone.wait()
        return {"type": "websocket.disconnect", "code": 1001}

    def leave(self) -> None:
        self._gone.set()


def line(account_id: str, call_id: str | None) -> LogEntry:
    return LogEntry(timestamp=1, level=LogLevel.INFO, account_id=account_id, message="x",
                    call_id=call_id)


async def test_a_page_hears_of_its_own_accounts_calls_until_it_goes_away() -> None:
    feed = CallFeed()
    socket = FakeSocket()
    task = asyncio.create_task(feed.serve(socket, "AC1"))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert socket.accepted and feed.subscribers("AC1") == 1
    feed.observe(line("AC1", "CAa"))
    feed.observe(line("AC2", "CAother"))
    feed.observe(line("AC1", None))
    for _ in range(5):
        await asyncio.sleep(0)
    assert socket.sent == [{"callId": "CAa"}, {"callId": ""}]
    socket.leave()
    await asyncio.wait_for(task, 1)
    assert feed.subscribers("AC1") == 0
    feed.observe(line("AC1", "CAb"))  # nobody listening: nothing to do
    assert len(socket.sent) == 2


async def test_an_account_has_at_most_max_subscribers_feeds() -> None:
    feed = CallFeed()
    sockets = [FakeSocket() for _ in range(MAX_SUBSCRIBERS + 1)]
    tasks = [asyncio.create_task(feed.serve(s, "AC1")) for s in sockets]  # type: ignore[arg-type]
    for _ in range(3):
        await asyncio.sleep(0)
    assert feed.subscribers("AC1") == MAX_SUBSCRIBERS
    assert sockets[-1].closed == 1013 and not sockets[-1].accepted
    for s in sockets:
        s.leave()
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert feed.subscribers("AC1") == 0


class CountingFeed(CallFeed):
    """A CallFeed that counts the lines it is shown."""

    seen = 0

    def observe(self, entry: LogEntry) -> None:
        self.seen += 1
        super().observe(entry)


async def test_the_feed_observes_the_log_only_while_a_page_is_open() -> None:
    """With no console page open a log line costs the feed nothing; a page that opens hears of
    every line after it, through the sink, and the feed leaves when the last page closes."""
    from percl.engine.logs import StoreLogSink
    from percl.store.memory import MemoryStore
    from percl.testing import FakeClock

    store = MemoryStore()
    await store.open()
    sink = StoreLogSink(store, FakeClock())
    feed = CountingFeed(sink)
    await sink.log(LogLevel.INFO, "AC1", "before", call_id="CAa")
    assert feed.seen == 0
    sockets = [FakeSocket(), FakeSocket()]
    tasks = [asyncio.create_task(feed.serve(s, "AC1")) for s in sockets]  # type: ignore[arg-type]
    await asyncio.sleep(0)
    await sink.log(LogLevel.INFO, "AC1", "while open", call_id="CAb")
    for _ in range(5):
        await asyncio.sleep(0)
    assert feed.seen == 1 and all(s.sent == [{"callId": "CAb"}] for s in sockets)
    sockets[0].leave()
    await asyncio.wait_for(tasks[0], 1)
    await sink.log(LogLevel.INFO, "AC1", "one still open", call_id="CAc")
    for _ in range(5):
        await asyncio.sleep(0)
    assert feed.seen == 2 and sockets[1].sent[-1] == {"callId": "CAc"}
    sockets[1].leave()
    await asyncio.wait_for(tasks[1], 1)
    await sink.log(LogLevel.INFO, "AC1", "after", call_id="CAd")
    assert feed.seen == 2
    await store.close()
