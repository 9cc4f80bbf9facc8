"""Keyset pages of the account log and of messages, the log's PQL filter and retention, on
every Store kind (issue 17, item 5; issue 21).

SqliteStore evaluates a parsed PQL tree in SQL; MemoryStore with `percl.domain.logquery.matches`.
The property test holds the SQL translation to the Python meaning for random queries.
"""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from percl.api.pql import parse_pql
from percl.domain.enums import LogLevel, MessageDirection
from percl.domain.logquery import matches
from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter, MessageFilter, Store
from percl.store.base import PRUNE_BATCH
from tests.store.conftest import KINDS, new_store
from tests.store.samples import AC1, AC2, MESSAGE, call_id

LEVELS = list(LogLevel)


def _entry(n: int, account: str = AC1) -> LogEntry:
    return LogEntry(
        timestamp=10 * (n // 2),  # pairs share a timestamp: ties go by insertion, newest first
        level=LEVELS[n % 3],
        account_id=account,
        message=f"m{n % 4}",
        request_id=None if n % 5 == 0 else f"RQ{n % 2}",
        call_id=None if n % 3 == 0 else call_id(n % 4),
    )


async def _fill(store: Store, count: int) -> list[LogEntry]:
    entries = [_entry(n, AC1 if n % 7 else AC2) for n in range(count)]
    for entry in entries:
        await store.add_log(entry)
    return entries


async def _walk(store: Store, flt: LogFilter, limit: int) -> list[LogEntry]:
    seen: list[LogEntry] = []
    before = None
    while True:
        rows = await store.page_logs(AC1, flt, before=before, limit=limit)
        seen += [entry for _, entry in rows]
        if len(rows) < limit:
            return seen
        before = rows[-1][0]


async def test_pages_walk_list_logs_order_with_and_without_a_query(store: Store) -> None:
    await _fill(store, 40)
    for flt in (LogFilter(), LogFilter(call_id=call_id(1)), LogFilter(query=parse_pql('level >= "warning"'))):
        assert await _walk(store, flt, 3) == list(await store.list_logs(AC1, flt))
        assert await store.count_logs(AC1, flt, cap=1000) == len(await store.list_logs(AC1, flt))


async def test_a_page_after_a_position_ignores_lines_added_later(store: Store) -> None:
    await _fill(store, 10)
    first = await store.page_logs(AC1, LogFilter(), limit=2)
    await store.add_log(LogEntry(10_000, LogLevel.INFO, AC1, "newer"))
    second = await store.page_logs(AC1, LogFilter(), before=first[-1][0], limit=2)
    newest_four = list(await store.list_logs(AC1, LogFilter()))[1:5]
    assert [e for _, e in first + second] == newest_four


async def test_count_stops_at_the_cap(store: Store) -> None:
    await _fill(store, 30)
    assert await store.count_logs(AC1, LogFilter(), cap=5) == 5
    assert await store.count_logs(AC2, LogFilter(), cap=100) == 5  # n = 0, 7, 14, 21, 28


async def test_prune_drops_old_and_surplus_lines_oldest_first(store: Store) -> None:
    entries = await _fill(store, 20)  # timestamps 0, 0, 10, 10, ... 90, 90
    assert await store.prune_logs(older_than=20, keep=10**9) == 4  # timestamps 0 and 10
    assert await store.prune_logs(older_than=20, keep=10**9) == 0
    assert await store.prune_logs(older_than=0, keep=10) == 6  # the oldest beyond the newest 10
    left = [e for e in entries[10:] if e.account_id == AC1]
    assert list(await store.list_logs(AC1, LogFilter())) == sorted(
        left, key=lambda e: (e.timestamp, entries.index(e)), reverse=True)
    await store.add_log(LogEntry(1_000, LogLevel.INFO, AC1, "after"))
    (newest, *_) = await store.list_logs(AC1, LogFilter())
    assert newest.message == "after"


async def test_one_prune_is_bounded() -> None:
    for kind in KINDS:
        store = new_store(kind)
        await store.open()
        try:
            for n in range(PRUNE_BATCH + 10):
                await store.add_log(LogEntry(n, LogLevel.INFO, AC1, "x"))
            assert await store.prune_logs(older_than=10**9, keep=0) == PRUNE_BATCH
            assert await store.prune_logs(older_than=10**9, keep=0) == 10
        finally:
            await store.close()


# --------------------------------------------------------------------------- PQL in SQL

_FIELDS = st.sampled_from(["level", "callId", "requestId", "message", "timestamp", "accountId"])
_VALUES = {
    "level": st.sampled_from(['"info"', '"warning"', '"error"']),
    "callId": st.sampled_from([f'"{call_id(n)}"' for n in range(3)]),
    "requestId": st.sampled_from(['"RQ0"', '"RQ1"', '"rq1"']),
    "message": st.sampled_from(['"m0"', '"m1"', '"M1"', '"m"']),
    "timestamp": st.integers(-5, 100).map(str),
    "accountId": st.sampled_from([f'"{AC1}"', f'"{AC2}"']),
}
_ORDERED = {"level", "timestamp"}


@st.composite
def _comparison(draw: st.DrawFn) -> str:
    field = draw(_FIELDS)
    ops = ["=", "!=", "<", "<=", ">", ">="] if field in _ORDERED else ["=", "!="]
    return f"{field} {draw(st.sampled_from(ops))} {draw(_VALUES[field])}"


_QUERIES = st.recursive(
    _comparison(),
    lambda inner: st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"),
    max_leaves=6,
)

_STORES: dict[str, Store] = {}
_ENTRIES = [_entry(n, AC1 if n % 7 else AC2) for n in range(24)]


async def _filled(kind: str) -> Store:
    if kind not in _STORES:
        store = new_store(kind)
        await store.open()
        for entry in _ENTRIES:
            await store.add_log(entry)
        _STORES[kind] = store
    return _STORES[kind]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pql=_QUERIES)
async def test_every_store_answers_a_query_as_its_python_meaning(pql: str) -> None:
    node = parse_pql(pql)
    expected = [e for e in _ENTRIES if e.account_id == AC1 and matches(node, e)]
    for kind in ("sqlite", "memory"):
        got = await (await _filled(kind)).list_logs(AC1, LogFilter(query=node))
        assert sorted(got, key=repr) == sorted(expected, key=repr), (kind, pql)


def _random_queries(count: int) -> list[str]:
    """`count` queries of the strategy above, the same every run (drawn without a database)."""
    drawn: list[str] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None)
    @given(pql=_QUERIES)
    def draw(pql: str) -> None:
        drawn.append(pql)

    draw()
    return drawn


async def test_postgresql_answers_a_query_as_its_python_meaning() -> None:
    # Its own test: a PostgreSQL store's connections belong to one event loop, so it cannot be
    # kept across examples as the stores above are.
    store = new_store("postgresql")
    await store.open()
    try:
        for entry in _ENTRIES:
            await store.add_log(entry)
        for pql in _random_queries(150):
            node = parse_pql(pql)
            expected = [e for e in _ENTRIES if e.account_id == AC1 and matches(node, e)]
            got = await store.list_logs(AC1, LogFilter(query=node))
            assert sorted(got, key=repr) == sorted(expected, key=repr), pql
    finally:
        await store.close()


# --------------------------------------------------------------------------- message pages


async def test_message_pages_walk_list_messages_after_a_position(store: Store) -> None:
    for n in range(9):
        direction = MessageDirection.OUTBOUND if n % 3 else MessageDirection.INBOUND
        await store.put_message(dataclasses.replace(
            MESSAGE, message_id=f"SM{n:040x}", direction=direction, date_created=float(n // 2)))
    flt = MessageFilter(direction=MessageDirection.OUTBOUND)
    everything = list(await store.list_messages(AC1, flt))
    walked, before = [], None
    while True:
        page = await store.list_messages(AC1, flt, before=before, limit=2)
        walked += page
        if len(page) < 2:
            break
        before = (page[-1].date_created, page[-1].message_id)
    assert walked == everything and len(everything) == 6
    assert await store.count_messages(AC1, flt, cap=100) == 6
    assert await store.count_messages(AC1, flt, cap=4) == 4
