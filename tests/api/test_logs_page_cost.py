"""Issue 17, item 5: a page of GET/POST /Logs costs the same however long the log is.

Measured in SQLite virtual-machine steps (a progress handler on the store's read connection
counts them), not in time: deterministic, and it shows what the 411k-line log showed in seconds.
A page after the first is one keyset index walk of `pageSize + 1` rows; the first page also
counts the matches, but never past the list cap (max_list).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from percl.api import ApiDeps
from percl.domain.enums import CallDirection, LogLevel
from percl.domain.ids import SequentialIds
from percl.domain.records import Call, LogEntry
from percl.store.sqlite import SqliteStore
from percl.testing import FakeClock

from .conftest import BASE, INVENTORY, FakeCallControl, make_account, mounted

CALL = "CA" + "7" * 40
ERROR_PQL = 'level = "error" AND callId != "CA0"'


async def _steps_per_page(lines: int) -> dict[str, int]:
    """VM steps of each kind of page, over a log of `lines` lines (a third of them errors)."""
    store = SqliteStore("sqlite+aiosqlite:///:memory:")
    await store.open()
    clock, ids = FakeClock(), SequentialIds("page-cost")
    deps = ApiDeps(store=store, clock=clock, ids=ids, calls=FakeCallControl(store, clock, ids),
                   inventory=INVENTORY, page_size=20, max_list=200)
    account = make_account(ids, clock.now())
    await store.put_account(account)
    levels = list(LogLevel)
    for n in range(lines):
        await store.add_log(LogEntry(n, levels[n % 3], account.account_id, f"line {n}", None, CALL))
    await store.flush_logs()
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    driver = store._driver_conn()
    path = f"/Accounts/{account.account_id}/Logs"
    transport = httpx.ASGITransport(app=mounted(deps), raise_app_exceptions=False)
    measured: dict[str, int] = {}
    try:
        async with httpx.AsyncClient(transport=transport, base_url=BASE,
                                     auth=(account.account_id, account.api_key)) as c:

            async def cost(name: str, ask: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
                nonlocal steps
                steps = 0
                await driver.set_progress_handler(count, 10)
                r = await ask()
                await driver.set_progress_handler(None, 10)
                assert r.status_code == 200, r.text
                measured[name] = steps
                return r

            first = await cost("first page", lambda: c.get(path))
            await cost("second page", lambda: c.get(first.json()["nextPageUri"]))
            filtered = await cost("first PQL page", lambda: c.post(path, json={"pql": ERROR_PQL}))
            await cost("second PQL page", lambda: c.get(filtered.json()["nextPageUri"]))
            calls = f"/Accounts/{account.account_id}/Calls/{CALL}/Logs"
            await store.put_call(Call(CALL, account.account_id, "+15550000001", "+15550000002",
                                      CallDirection.INBOUND))
            await cost("call log page", lambda: c.get(calls))
    finally:
        await store.close()
    return measured



async def test_page_cost_does_not_grow_with_the_log() -> None:
    small, large = await _steps_per_page(1_000), await _steps_per_page(20_000)
    for name, steps in small.items():
        # The same work within a few steps (B-tree depth may add a level), not 20 times more.
        assert large[name] <= steps * 1.25 + 20, (name, small, large)
