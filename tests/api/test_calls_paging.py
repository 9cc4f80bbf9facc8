"""GET /Calls paged in the store (issue 6, fix 4): LIMIT/OFFSET + count over the real SqliteStore,
with the same envelope and cursor semantics as every other list."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from percl.api import ApiDeps
from percl.api.pagination import Cursor, CursorCodec
from percl.domain.enums import CallDirection, CallStatus
from percl.domain.ids import SequentialIds
from percl.domain.records import Call
from percl.store.sqlite import SqliteStore
from percl.testing import FakeClock

from .conftest import BASE, INVENTORY, FakeCallControl, make_account, mounted

Client = tuple[httpx.AsyncClient, SqliteStore, str]
SECRET = b"calls paging secret"


def _call(account_id: str, n: int, status: CallStatus) -> Call:
    base = Call(f"CA{n:040x}", account_id, "+15550000001", "+15550000002", CallDirection.INBOUND)
    return dataclasses.replace(base, date_created=float(n), status=status)


async def _client(max_list: int) -> AsyncIterator[Client]:
    store = SqliteStore("sqlite+aiosqlite:///:memory:")
    await store.open()
    clock, ids = FakeClock(), SequentialIds("paging")
    deps = ApiDeps(store=store, clock=clock, ids=ids, calls=FakeCallControl(store, clock, ids),
                   inventory=INVENTORY, page_size=2, max_list=max_list, cursor_secret=SECRET)
    account = make_account(ids, clock.now())
    await store.put_account(account)
    for n in range(1, 8):  # odd calls completed, even ones queued
        status = CallStatus.COMPLETED if n % 2 else CallStatus.QUEUED
        await store.put_call(_call(account.account_id, n, status))
    transport = httpx.ASGITransport(app=mounted(deps), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE, auth=(account.account_id, account.api_key)
        ) as client:
            yield client, store, account.account_id
    finally:
        await store.close()


@pytest.fixture
async def paged() -> AsyncIterator[Client]:
    async for c in _client(max_list=10_000):
        yield c


@pytest.fixture
async def capped() -> AsyncIterator[Client]:
    async for c in _client(max_list=5):
        yield c


async def _walk(client: httpx.AsyncClient, uri: str | None) -> list[dict[str, object]]:
    pages = []
    while uri is not None:
        r = await client.get(uri)
        assert r.status_code == 200
        pages.append(r.json())
        uri = pages[-1]["nextPageUri"]
    return pages


async def test_pages_walk_every_call_newest_first(paged: Client) -> None:
    client, _, acc = paged
    pages = await _walk(client, f"/Accounts/{acc}/Calls")
    assert [p["page"] for p in pages] == [0, 1, 2, 3]
    assert [(p["start"], p["end"]) for p in pages] == [(0, 1), (2, 3), (4, 5), (6, 6)]
    assert all(p["total"] == 7 and p["numPages"] == 4 and p["pageSize"] == 2 for p in pages)
    ids = [c["callId"] for p in pages for c in p["calls"]]  # type: ignore[attr-defined]
    assert ids == [f"CA{n:040x}" for n in range(7, 0, -1)]


async def test_filters_are_kept_and_counted(paged: Client) -> None:
    client, _, acc = paged
    pages = await _walk(client, f"/Accounts/{acc}/Calls?status=completed")
    assert all(p["total"] == 4 and p["numPages"] == 2 for p in pages)
    first_next = urlsplit(str(pages[0]["nextPageUri"]))
    assert parse_qs(first_next.query)["status"] == ["completed"]
    ids = [c["callId"] for p in pages for c in p["calls"]]  # type: ignore[attr-defined]
    assert ids == [f"CA{n:040x}" for n in (7, 5, 3, 1)]


async def test_a_full_last_page_still_reports_the_total(paged: Client) -> None:
    client, _, acc = paged
    pages = await _walk(client, f"/Accounts/{acc}/Calls?active=true")  # calls 6, 4, 2
    assert [len(p["calls"]) for p in pages] == [2, 1]  # type: ignore[arg-type]
    assert all(p["total"] == 3 for p in pages)


async def test_cursor_past_the_end_is_an_empty_page_at_start_0(paged: Client) -> None:
    # Keyset cursors only name rows that existed, so "past the end" means every row after the
    # position went away; the empty page reports start 0 and end 0 like an empty list.
    client, _, acc = paged
    path = f"/Accounts/{acc}/Calls"
    stale = Cursor(acc, path, (), 2, 9, 18, 7, (0.5, "CA0"), FakeClock().now())
    r = await client.get(path, params={"cursor": CursorCodec(SECRET).seal(stale)})
    body = r.json()
    assert r.status_code == 200
    assert body["calls"] == [] and body["total"] == 7 and body["nextPageUri"] is None
    assert (body["start"], body["end"], body["page"]) == (0, 0, 9)


async def test_the_list_is_capped_at_max_list(capped: Client) -> None:
    client, _, acc = capped
    pages = await _walk(client, f"/Accounts/{acc}/Calls")
    assert [len(p["calls"]) for p in pages] == [2, 2, 1]  # type: ignore[arg-type]
    assert all(p["total"] == 5 and p["numPages"] == 3 for p in pages)
