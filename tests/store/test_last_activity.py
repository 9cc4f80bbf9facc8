"""Store.last_activity: the newest call change or log line, what crash recovery takes as the
last moment percl was at work (engine/calls.py)."""

from __future__ import annotations

import dataclasses

from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import Store
from tests.store.samples import ACCOUNT, CALL


async def test_last_activity_is_the_newest_call_change_or_log_line(store: Store) -> None:
    assert await store.last_activity() is None
    await store.put_call(dataclasses.replace(CALL, date_updated=1000.0))
    assert await store.last_activity() == 1000.0
    await store.add_log(LogEntry(timestamp=1_500_250_000, level=LogLevel.INFO,
                                 account_id=ACCOUNT.account_id, message="later"))
    assert await store.last_activity() == 1500.25  # log timestamps are microseconds
    await store.put_call(dataclasses.replace(CALL, call_id="CA" + "9" * 40, date_updated=2000.0))
    assert await store.last_activity() == 2000.0
