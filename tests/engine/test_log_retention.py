"""The account log's retention (issue 17, item 5): StoreLogSink prunes by age and by count."""

from __future__ import annotations

from percl.domain.enums import LogLevel
from percl.engine.logs import LogRetention, StoreLogSink
from percl.engine.ports import LogFilter
from percl.store.memory import MemoryStore
from percl.store.sqlite import SqliteStore
from percl.testing import FakeClock

AC = "AC" + "1" * 40


async def _messages(store: MemoryStore) -> list[str]:
    return [e.message for e in await store.list_logs(AC, LogFilter())]


async def test_the_log_keeps_at_most_max_lines() -> None:
    store, clock = MemoryStore(), FakeClock()
    await store.open()
    sink = StoreLogSink(store, clock, retention=LogRetention(max_age_days=0, max_lines=4, every=3))
    for n in range(10):
        await sink.log(LogLevel.INFO, AC, f"line {n}")
    # Pruned after lines 3, 6 and 9 (to the newest 4 each time); line 9 arrived since.
    assert await _messages(store) == [f"line {n}" for n in range(9, 4, -1)]


async def test_lines_older_than_max_age_go() -> None:
    store, clock = MemoryStore(), FakeClock()
    await store.open()
    sink = StoreLogSink(store, clock, retention=LogRetention(max_age_days=1, max_lines=0, every=1))
    await sink.log(LogLevel.INFO, AC, "old")
    await clock.advance(86_400 - 1)
    await sink.log(LogLevel.INFO, AC, "a day old, nearly")
    assert await _messages(store) == ["a day old, nearly", "old"]
    await clock.advance(2)
    await sink.log(LogLevel.INFO, AC, "new")
    assert await _messages(store) == ["new", "a day old, nearly"]


async def test_zero_limits_keep_everything() -> None:
    store, clock = MemoryStore(), FakeClock()
    await store.open()
    sink = StoreLogSink(store, clock, retention=LogRetention(max_age_days=0, max_lines=0, every=1))
    for n in range(5):
        await sink.log(LogLevel.INFO, AC, f"line {n}")
        await clock.advance(10**9)
    assert len(await _messages(store)) == 5


async def test_an_age_limit_too_large_to_reach_keeps_everything_and_never_raises() -> None:
    # PERCL_LOG_MAX_AGE_DAYS accepts any number >= 0: "inf" or 1e12 days mean "keep them all",
    # not an OverflowError out of the log line that happened to trigger a prune (which ended the
    # call writing it).
    for days in (float("inf"), 1e12):
        store = SqliteStore("sqlite+aiosqlite:///:memory:")
        await store.open()
        try:
            sink = StoreLogSink(store, FakeClock(),
                                retention=LogRetention(max_age_days=days, max_lines=0, every=1))
            for n in range(3):
                await sink.log(LogLevel.INFO, AC, f"line {n}")
            assert len(await store.list_logs(AC, LogFilter())) == 3
        finally:
            await store.close()
