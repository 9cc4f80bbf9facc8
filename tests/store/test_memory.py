"""What only MemoryStore does: records come back as the very objects stored, data lives as long as
the object, and log metadata is normalised lazily. Shared behaviour is in test_contract*.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from percl.domain.enums import CallStatus, LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter, Store
from percl.store.memory import MemoryStore
from tests.store.samples import AC1, ACCOUNT, CALL, MEMBER, QU1, call_id, mk_call


async def opened() -> MemoryStore:
    store = MemoryStore()
    await store.open()
    return store


async def test_records_come_back_as_stored_and_listings_are_new_lists() -> None:
    store = await opened()
    await store.put_call(CALL)
    await store.put_member(MEMBER)
    assert await store.get_call(CALL.call_id) is CALL
    assert await store.get_member(MEMBER.call_id) is MEMBER
    first, second = await store.list_members(QU1), await store.list_members(QU1)
    assert first == second == [MEMBER] and first is not second
    first.clear()  # a caller's list is its own
    assert await store.list_members(QU1) == [MEMBER]


async def test_data_outlives_close_and_reopen_of_the_same_object() -> None:
    store = await opened()
    await store.put_account(ACCOUNT)
    await store.put_call(mk_call(1, status=CallStatus.RINGING))
    await store.close()
    await store.open()
    assert await store.get_account(ACCOUNT.account_id) == ACCOUNT
    assert [c.call_id for c in await store.live_calls()] == [call_id(1)]
    fresh: Store = await opened()
    assert await fresh.get_account(ACCOUNT.account_id) is None  # nothing is shared between objects


async def test_metadata_is_normalised_once_on_first_read() -> None:
    store = await opened()
    odd: dict[Any, Any] = {"path": Path("/x"), "pair": (1, 2), 3: "int key"}  # all JSON can't keep
    raw = LogEntry(1, LogLevel.INFO, AC1, "m", call_id=call_id(1), metadata=odd)
    plain = LogEntry(2, LogLevel.INFO, AC1, "no metadata")
    await store.add_log(raw)
    await store.add_log(plain)
    newest, oldest = await store.list_logs(AC1, LogFilter())
    assert newest is plain  # nothing to normalise: the stored object itself
    assert oldest.metadata == {"path": "/x", "pair": [1, 2], "3": "int key"}
    (again,) = await store.list_logs(AC1, LogFilter(call_id=call_id(1)))
    assert again is oldest  # the normalised entry replaced the raw one, in every index

