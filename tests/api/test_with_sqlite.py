"""The same API over the real SqliteStore (in memory), so the fakes cannot hide a mismatch."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from percl.api import ApiDeps
from percl.domain.enums import LogLevel
from percl.domain.ids import SequentialIds
from percl.domain.records import LogEntry
from percl.store.sqlite import SqliteStore
from percl.testing import FakeClock

from .conftest import BASE, INVENTORY, FakeCallControl, make_account, mounted


@pytest.fixture
async def sqlite_client() -> AsyncIterator[tuple[httpx.AsyncClient, SqliteStore, str]]:
    store = SqliteStore("sqlite+aiosqlite:///:memory:")
    await store.open()
    clock, ids = FakeClock(), SequentialIds("sqlite-api")
    deps = ApiDeps(
        store=store,
        clock=clock,
        ids=ids,
        calls=FakeCallControl(store, clock, ids),
        inventory=INVENTORY,
        page_size=2,
    )
    account = make_account(ids, clock.now())
    await store.put_account(account)
    transport = httpx.ASGITransport(app=mounted(deps), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE, auth=(account.account_id, account.api_key)
        ) as client:
            yield client, store, account.account_id
    finally:
        await store.close()


async def test_resources_round_trip(
    sqlite_client: tuple[httpx.AsyncClient, SqliteStore, str],
) -> None:
    client, store, acc = sqlite_client
    base = f"/Accounts/{acc}"
    assert (await client.post(base, json={"alias": "sq"})).status_code == 204
    assert (await client.get(base)).json()["alias"] == "sq"

    app = (await client.post(f"{base}/Applications", json={"alias": "x"})).json()
    r = await client.post(f"{base}/Applications/{app['applicationId']}", json={"smsUrl": None})
    assert r.status_code == 200 and r.json()["revision"] == 2

    bought = await client.post(
        f"{base}/IncomingPhoneNumbers",
        json={"phoneNumber": "+13125550101", "applicationId": app["applicationId"]},
    )
    assert bought.status_code == 200
    avail = (await client.get("/AvailablePhoneNumbers", params={"region": "IL"})).json()
    assert "+13125550101" not in [n["phoneNumber"] for n in avail["availablePhoneNumbers"]]
    again = await client.post(f"{base}/IncomingPhoneNumbers", json={"phoneNumber": "+13125550101"})
    assert again.status_code == 409

    ids = []
    for to in ("+13125550102", "+12125550103", "+13125550102"):
        r = await client.post(f"{base}/Calls", json={"from": "+13125550101", "to": to})
        assert r.status_code == 202
        ids.append(r.json()["callId"])
    page = (await client.get(f"{base}/Calls", params={"to": "+13125550102"})).json()
    assert page["total"] == 2 and page["nextPageUri"] is None
    page = (await client.get(f"{base}/Calls")).json()
    rest = (await client.get(page["nextPageUri"])).json()
    # same dateCreated (the clock did not move): ties go to callId descending
    assert [c["callId"] for c in page["calls"] + rest["calls"]] == sorted(ids, reverse=True)

    await store.add_log(LogEntry(5, LogLevel.ERROR, acc, "boom", call_id=ids[0]))
    logs = (await client.get(f"{base}/Calls/{ids[0]}/Logs")).json()["logs"]
    assert [entry["message"] for entry in logs] == ["boom"]
    filtered = await client.post(f"{base}/Logs", json={"pql": 'level = "error"'})
    assert [entry["message"] for entry in filtered.json()["logs"]] == ["boom"]
