"""PQL over the real SqliteStore: the parts pushed down to SQL must agree with the Python filter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from percl.api import ApiDeps
from percl.api.pql import predicate
from percl.domain.enums import LogLevel
from percl.domain.ids import SequentialIds
from percl.domain.records import LogEntry
from percl.store.sqlite import SqliteStore
from percl.testing import FakeClock

from .conftest import BASE, INVENTORY, FakeCallControl, make_account, mounted

CALLS = ["CA" + "1" * 40, "CA" + "2" * 40]
LEVELS = list(LogLevel)
CALL_CYCLE = [CALLS[0], CALLS[1], None, CALLS[0]]  # 4 against the 3 levels: every pairing occurs


@pytest.fixture
async def sqlite_logs() -> AsyncIterator[tuple[httpx.AsyncClient, str, list[LogEntry]]]:
    store = SqliteStore("sqlite+aiosqlite:///:memory:")
    await store.open()
    clock, ids = FakeClock(), SequentialIds("sqlite-pql")
    deps = ApiDeps(
        store=store, clock=clock, ids=ids, calls=FakeCallControl(store, clock, ids), inventory=INVENTORY,
        page_size=4,
    )  # fmt: skip
    account = make_account(ids, clock.now())
    await store.put_account(account)
    entries = [
        LogEntry(1_000 + i, LEVELS[i % 3], account.account_id, f"m{i}", None, CALL_CYCLE[i % 4])
        for i in range(30)
    ]
    for e in entries:
        await store.add_log(e)
    transport = httpx.ASGITransport(app=mounted(deps), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE, auth=(account.account_id, account.api_key)
        ) as client:
            yield client, f"/Accounts/{account.account_id}/Logs", entries
    finally:
        await store.close()


@pytest.mark.parametrize(
    "pql",
    [
        f'callId = "{CALLS[0]}" AND level = "WARNING"',
        f'level = "error" AND callId = "{CALLS[1]}" AND timestamp >= 1010',
        f'level = "error" OR callId = "{CALLS[1]}"',
        f'callId != "{CALLS[0]}" AND level <= "warning"',
    ],
)
async def test_pushed_down_and_python_filters_agree(
    sqlite_logs: tuple[httpx.AsyncClient, str, list[LogEntry]], pql: str
) -> None:
    client, path, entries = sqlite_logs
    keep = predicate(pql)
    expected = [e.message for e in sorted(entries, key=lambda e: e.timestamp, reverse=True) if keep(e)]
    assert expected  # every case selects something, so an over-eager pushdown would show
    page = (await client.post(path, json={"pql": pql})).json()
    got = [e["message"] for e in page["logs"]]
    while page["nextPageUri"]:
        page = (await client.get(page["nextPageUri"])).json()
        got += [e["message"] for e in page["logs"]]
    assert got == expected
