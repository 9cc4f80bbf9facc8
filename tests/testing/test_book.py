"""The record book: written calls readable without awaiting, with their status history."""

from __future__ import annotations

import dataclasses
from typing import Any

from percl.domain.enums import CallDirection, CallStatus
from percl.domain.records import Account, Call
from percl.testing.book import ObservedStore, RecordBook
from percl.testing.clock import WorkTracker


class _Store:
    def __init__(self) -> None:
        self.written: list[Any] = []

    async def put_call(self, call: Call) -> None:
        self.written.append(call)

    async def put_account(self, account: Account) -> None:
        self.written.append(account)

    async def get_call(self, call_id: str) -> None:
        return None


async def test_observed_store_copies_writes_into_the_book() -> None:
    book, inner = RecordBook(), _Store()
    store = ObservedStore(inner, WorkTracker(), book)
    call = Call("CA1", "AC1", "+15550100001", "+13125550100", CallDirection.INBOUND,
                status=CallStatus.RINGING)
    await store.put_call(call)
    await store.put_call(dataclasses.replace(call, status=CallStatus.IN_PROGRESS))
    await store.put_call(dataclasses.replace(call, status=CallStatus.IN_PROGRESS, revision=3))
    await store.put_call(dataclasses.replace(call, status=CallStatus.COMPLETED))
    assert len(inner.written) == 4  # every write still reaches the real store
    assert book.statuses("CA1") == [CallStatus.RINGING, CallStatus.IN_PROGRESS,
                                     CallStatus.COMPLETED]
    stored = book.call("CA1")
    assert stored is not None and stored.status is CallStatus.COMPLETED
    assert [c.call_id for c in book.calls()] == ["CA1"]
    assert await store.get_call("CA1") is None  # reads pass through untouched
    await store.put_account(Account("AC1", "key", "sigsec_1"))
    assert book.signing_secret("AC1") == "sigsec_1" and book.signing_secret("AC2") is None
    assert book.call("CA2") is None and book.statuses("CA2") == []
