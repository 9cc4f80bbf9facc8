"""Issue 21: a cursor carries its list's whole query, so the next page is `GET <list>?cursor=X`.

FreeClimb's CLI keeps only the cursor of a nextPageUri (its own pattern, below) and sends it
alone; the Python SDK GETs the whole nextPageUri. Every list operation is walked both ways with a
filter (POST /Logs with PQL included) over a MemoryStore with two rows a page, and must give the
filtered rows in order with the filtered total. Then the cursors that must fail: tampered, made
by another server, expired, another account's, another list's, or beside other filters.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import freeclimb
import httpx
import pytest
import uvicorn

from percl.api import ApiDeps
from percl.domain.enums import CallStatus, LogLevel, MessageDirection
from percl.domain.ids import SequentialIds
from percl.domain.records import Account, LogEntry
from percl.engine.ports import (
    AvailableNumber,
    CallFilter,
    ConferenceFilter,
    LogFilter,
    MessageFilter,
    ParticipantFilter,
)
from percl.store.memory import MemoryStore
from percl.testing import FakeClock
from tests.store.samples import (
    APPLICATION,
    CONFERENCE,
    MEMBER,
    MESSAGE,
    NUMBER,
    PARTICIPANT,
    QUEUE,
    call_id,
    mk_call,
)

from .conftest import BASE, FakeCallControl, FixedInventory, make_account, mounted

# The freeclimb-cli's pattern for the cursor of a nextPageUri (src/utils/...: it pages with
# `GET <list>?cursor=<group 1>` and nothing else).
CLI_CURSOR = re.compile(r'"nextPageUri": (?:[\s\S]*cursor=)?([0-9a-zA-Z]+)')
SECRET = b"cursor test secret"
CF = CONFERENCE.conference_id
QU = QUEUE.queue_id
INVENTORY = FixedInventory(
    [AvailableNumber(f"+1312555{n:04d}", "IL", "US", sms_enabled=n % 3 != 0) for n in range(12)]
    + [AvailableNumber(f"+1212555{n:04d}", "NY", "US") for n in range(4)]
)


@dataclass
class Env:
    deps: ApiDeps
    store: MemoryStore
    clock: FakeClock
    account: Account
    other: Account

    def client(self, account: Account | None = None) -> httpx.AsyncClient:
        who = account or self.account
        transport = httpx.ASGITransport(app=mounted(self.deps), raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url=BASE, auth=(who.account_id, who.api_key))

    @property
    def acc(self) -> str:
        return self.account.account_id


async def _seed(store: MemoryStore, acc: str) -> None:
    """Per list, matching rows interleaved with rows the filter leaves out."""
    for n in range(8):
        keep = n % 3 != 1
        await store.put_application(dataclasses.replace(
            APPLICATION, application_id=f"AP{n:040x}", account_id=acc, alias="keep" if keep else "no",
            date_created=float(n // 2)))
        await store.put_number(dataclasses.replace(
            NUMBER, phone_number_id=f"PN{n:040x}", account_id=acc, phone_number=f"+1773555{n:04d}",
            alias="front" if keep else "back", voice_enabled=True, sms_enabled=True,
            date_created=float(n // 2)))
        status = CallStatus.COMPLETED if keep else CallStatus.FAILED
        await store.put_call(dataclasses.replace(mk_call(n + 1, status=status), account_id=acc,
                                                 date_created=float(n // 2)))
        await store.put_conference(dataclasses.replace(
            CONFERENCE, conference_id=f"CF{n:040x}", account_id=acc, alias="room" if keep else "hall",
            date_created=float(n // 2)))
        await store.put_participant(dataclasses.replace(
            PARTICIPANT, conference_id=CF, call_id=call_id(100 + n), account_id=acc, talk=keep,
            date_created=float(n // 2)))
        await store.put_queue(dataclasses.replace(
            QUEUE, queue_id=f"QU{n:040x}", account_id=acc, alias="line" if keep else "desk",
            date_created=float(n // 2)))
        await store.put_member(dataclasses.replace(
            MEMBER, queue_id=QU, call_id=call_id(200 + n), account_id=acc, date_enqueued=float(n // 2),
            seq=n))
        direction = MessageDirection.OUTBOUND if keep else MessageDirection.INBOUND
        await store.put_message(dataclasses.replace(
            MESSAGE, message_id=f"SM{n:040x}", account_id=acc, direction=direction,
            date_created=float(n // 2)))
    await store.put_conference(dataclasses.replace(CONFERENCE, account_id=acc, alias="parent"))
    await store.put_queue(dataclasses.replace(QUEUE, account_id=acc, alias="parent"))
    for n in range(12):
        level = LogLevel.ERROR if n % 3 != 1 else LogLevel.INFO
        await store.add_log(LogEntry(1_000 * (n // 2), level, acc, f"line {n}", call_id=call_id(1)))
    await store.add_log(LogEntry(5, LogLevel.ERROR, acc, "another call's", call_id=call_id(2)))


async def _env() -> Env:
    clock, ids, store = FakeClock(), SequentialIds("cursors"), MemoryStore()
    await store.open()
    deps = ApiDeps(store=store, clock=clock, ids=ids, calls=FakeCallControl(store, clock, ids),
                   inventory=INVENTORY, page_size=2, cursor_secret=SECRET)
    account, other = make_account(ids, clock.now()), make_account(ids, clock.now())
    for a in (account, other):
        await store.put_account(a)
    await _seed(store, account.account_id)
    return Env(deps, store, clock, account, other)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    yield await _env()


@dataclass(frozen=True)
class Case:
    """One list operation with a filter: how to ask for page 0, and what the walk must give."""

    name: str
    path: str  # after /Accounts/{acc}, or absolute when it starts with /AvailablePhoneNumbers
    params: dict[str, str]
    key: str
    id_field: str
    expected: Callable[[MemoryStore, str], Any]  # an awaitable of the ids, in list order
    pql: str | None = None  # POST /Logs


async def _ids_of(listing: Any, attr: str) -> list[str]:
    return [getattr(r, attr) for r in await listing]


def _logs(pql_level: LogLevel | None, call: str | None = None) -> Callable[[MemoryStore, str], Any]:
    async def expected(store: MemoryStore, acc: str) -> list[str]:
        rows = await store.list_logs(acc, LogFilter(call_id=call, level=pql_level))
        return [e.message for e in rows]

    return expected


def _members(store: MemoryStore, acc: str) -> Any:
    return _ids_of(store.list_members(QU), "call_id")


CASES = [
    Case("applications", "/Applications", {"alias": "keep"}, "applications", "applicationId",
         lambda s, a: _ids_of(s.list_applications(a, "keep"), "application_id")),
    Case("incoming numbers", "/IncomingPhoneNumbers", {"alias": "front", "hasApplication": "true"},
         "incomingPhoneNumbers", "phoneNumberId",
         lambda s, a: _ids_of(_front(s, a), "phone_number_id")),
    Case("available numbers", "/AvailablePhoneNumbers", {"region": "IL", "smsEnabled": "true"},
         "availablePhoneNumbers", "phoneNumber", lambda s, a: _available()),
    Case("calls", "/Calls", {"status": "completed"}, "calls", "callId",
         lambda s, a: _ids_of(_completed(s, a), "call_id")),
    Case("conferences", "/Conferences", {"alias": "room"}, "conferences", "conferenceId",
         lambda s, a: _ids_of(_rooms(s, a), "conference_id")),
    Case("participants", f"/Conferences/{CF}/Participants", {"talk": "true"}, "participants",
         "callId", lambda s, a: _ids_of(_talkers(s), "call_id")),
    Case("queues", "/Queues", {"alias": "line"}, "queues", "queueId",
         lambda s, a: _ids_of(s.list_queues(a, "line"), "queue_id")),
    Case("queue members", f"/Queues/{QU}/Members", {}, "queueMembers", "callId", _members),
    Case("messages", "/Messages", {"direction": "outbound"}, "messages", "messageId",
         lambda s, a: _ids_of(_outbound(s, a), "message_id")),
    Case("logs (GET, pql)", "/Logs", {"pql": 'level = "error"'}, "logs", "message",
         _logs(LogLevel.ERROR)),
    Case("logs (POST, pql)", "/Logs", {}, "logs", "message", _logs(LogLevel.ERROR),
         pql='level = "error"'),
    Case("call logs", f"/Calls/{call_id(1)}/Logs", {}, "logs", "message", _logs(None, call_id(1))),
]


async def _front(store: MemoryStore, acc: str) -> list[Any]:
    return [n for n in await store.list_numbers(acc) if n.alias == "front"]


async def _available() -> list[str]:
    return [n.phone_number for n in INVENTORY.numbers
            if n.region == "IL" and n.sms_enabled and n.voice_enabled]


async def _completed(store: MemoryStore, acc: str) -> list[Any]:
    return list(await store.list_calls(acc, CallFilter(status=CallStatus.COMPLETED)))


async def _rooms(store: MemoryStore, acc: str) -> list[Any]:
    return list(await store.list_conferences(acc, ConferenceFilter(alias="room")))


async def _talkers(store: MemoryStore) -> list[Any]:
    return list(await store.list_participants(CF, ParticipantFilter(talk=True)))


async def _outbound(store: MemoryStore, acc: str) -> list[Any]:
    return list(await store.list_messages(acc, MessageFilter(direction=MessageDirection.OUTBOUND)))


def _path(case: Case, acc: str) -> str:
    return case.path if case.path.startswith("/Available") else f"/Accounts/{acc}{case.path}"


async def _first(c: httpx.AsyncClient, case: Case, acc: str) -> httpx.Response:
    if case.pql is not None:
        return await c.post(_path(case, acc), json={"pql": case.pql})
    return await c.get(_path(case, acc), params=case.params)


def _cli_cursor(body: dict[str, Any]) -> str | None:
    """What freeclimb-cli takes from a page: its regex over the pretty JSON, or None at the end."""
    if body["nextPageUri"] is None:
        return None
    match = CLI_CURSOR.search(json.dumps(body, indent=2))
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_cursor_only_gets_walk_the_filtered_list(env: Env, case: Case) -> None:
    expected = await case.expected(env.store, env.acc)
    assert len(expected) >= 5  # three pages at least: the cursor is used twice
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    async with env.client() as c:
        r = await _first(c, case, env.acc)
        while True:
            assert r.status_code == 200, r.text
            body = r.json()
            pages.append(body)
            seen += [row[case.id_field] for row in body[case.key]]
            cursor = _cli_cursor(body)
            if cursor is None:
                break
            assert body["nextPageUri"].endswith(f"cursor={cursor}")  # the cursor comes last, whole
            r = await c.get(_path(case, env.acc), params={"cursor": cursor})
    assert seen == expected
    assert all(p["total"] == len(expected) and p["pageSize"] == 2 for p in pages)
    assert [p["page"] for p in pages] == list(range(len(pages)))
    assert [(p["start"], p["end"]) for p in pages] == [
        (2 * i, min(2 * i + 1, len(expected) - 1)) for i in range(len(pages))]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_the_whole_next_page_uri_walks_the_same_list(env: Env, case: Case) -> None:
    seen: list[str] = []
    async with env.client() as c:
        r = await _first(c, case, env.acc)
        while True:
            body = r.json()
            seen += [row[case.id_field] for row in body[case.key]]
            if body["nextPageUri"] is None:
                break
            r = await c.get(body["nextPageUri"])
            assert r.status_code == 200, r.text
    assert seen == await case.expected(env.store, env.acc)


async def test_rows_added_between_pages_neither_repeat_nor_vanish(env: Env) -> None:
    async with env.client() as c:
        path = f"/Accounts/{env.acc}/Calls"
        first = (await c.get(path, params={"status": "completed"})).json()
        newer = mk_call(900, status=CallStatus.COMPLETED)
        await env.store.put_call(dataclasses.replace(newer, account_id=env.acc, date_created=99.0))
        rest: list[str] = []
        uri = first["nextPageUri"]
        while uri is not None:
            body = (await c.get(uri)).json()
            rest += [row["callId"] for row in body["calls"]]
            uri = body["nextPageUri"]
    before = [row["callId"] for row in first["calls"]]
    listed = await _ids_of(_completed(env.store, env.acc), "call_id")
    assert listed[0] == newer.call_id  # the newest: before the walk's position, so not walked
    assert before + rest == listed[1:]


# --------------------------------------------------------------------------- the SDK


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Env, int]]:
    env = asyncio.run(_env())  # MemoryStore never suspends: safe to serve from another loop
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(mounted(env.deps), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield env, sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _sdk_first(api: freeclimb.DefaultApi, case: Case) -> Any:
    p = case.params
    calls: dict[str, Callable[[], Any]] = {
        "applications": lambda: api.list_applications(alias=p.get("alias")),
        "incoming numbers": lambda: api.list_incoming_numbers(alias=p["alias"], has_application=True),
        "available numbers": lambda: api.list_available_numbers(region="IL", sms_enabled=True),
        "calls": lambda: api.list_calls(status="completed"),
        "conferences": lambda: api.list_conferences(alias="room"),
        "participants": lambda: api.list_participants(CF, talk=True),
        "queues": lambda: api.list_active_queues(alias="line"),
        "queue members": lambda: api.list_members(QU),
        "messages": lambda: api.list_sms_messages(direction="outbound"),
        "logs (POST, pql)": lambda: api.filter_logs(freeclimb.FilterLogsRequest(pql=case.pql)),
        "call logs": lambda: api.list_call_logs(call_id(1)),
    }
    return calls[case.name]()


SDK_CASES = [c for c in CASES if c.name != "logs (GET, pql)"]  # the SDK has no GET /Logs filter


@pytest.mark.parametrize("case", SDK_CASES, ids=[c.name for c in SDK_CASES])
def test_sdk_get_next_page_walks_the_filtered_list(served: tuple[Env, int], case: Case) -> None:
    env, port = served
    cfg = freeclimb.Configuration(host=f"http://127.0.0.1:{port}/apiserver",
                                  username=env.acc, password=env.account.api_key)
    api = freeclimb.DefaultApi(freeclimb.ApiClient(cfg))
    page = _sdk_first(api, case)
    attr = {"applicationId": "application_id", "phoneNumberId": "phone_number_id",
            "phoneNumber": "phone_number", "callId": "call_id", "conferenceId": "conference_id",
            "queueId": "queue_id", "messageId": "message_id", "message": "message"}[case.id_field]
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        rows = getattr(page, {"availablePhoneNumbers": "available_phone_numbers",
                              "incomingPhoneNumbers": "incoming_phone_numbers",
                              "queueMembers": "queue_members"}.get(case.key, case.key))
        seen += [getattr(row, attr) for row in rows]
        if not page.next_page_uri:
            break
        page = api.get_next_page(page)
    expected = asyncio.run(case.expected(env.store, env.acc))
    assert seen == expected and pages == (len(expected) + 1) // 2


# --------------------------------------------------------------------------- cursors that fail


async def _second_page_cursor(c: httpx.AsyncClient, path: str, **params: str) -> str:
    body = (await c.get(path, params=params)).json()
    cursor = _cli_cursor(body)
    assert cursor is not None
    return cursor


def _is_cursor_400(r: httpx.Response, says: str) -> None:
    body = r.json()
    assert (r.status_code, body["code"], body["details"]) == (400, 3, {"field": "cursor"}), r.text
    assert says in body["message"] and set(body) == {"code", "message", "call", "url", "details"}


async def test_a_tampered_cursor_is_400(env: Env) -> None:
    path = f"/Accounts/{env.acc}/Applications"
    async with env.client() as c:
        cursor = await _second_page_cursor(c, path, alias="keep")
        for i in (0, len(cursor) // 2, len(cursor) - 1):
            bad = cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1 :]
            _is_cursor_400(await c.get(path, params={"cursor": bad}), "not valid")
        for junk in ("cGFnZT0x", "x" * 9_000, "abc-def", "%00"):
            _is_cursor_400(await c.get(path, params={"cursor": junk}), "not valid")


async def test_a_cursor_from_another_server_or_before_a_restart_is_400(env: Env) -> None:
    path = f"/Accounts/{env.acc}/Calls"
    async with env.client() as c:
        cursor = await _second_page_cursor(c, path)
    restarted = dataclasses.replace(env, deps=dataclasses.replace(env.deps, cursor_secret=b"new"))
    async with restarted.client() as c:
        _is_cursor_400(await c.get(path, params={"cursor": cursor}), "before a restart")


async def test_a_stale_cursor_is_400(env: Env) -> None:
    path = f"/Accounts/{env.acc}/Messages"
    async with env.client() as c:
        cursor = await _second_page_cursor(c, path, direction="outbound")
        await env.clock.advance(23 * 3600)
        assert (await c.get(path, params={"cursor": cursor})).status_code == 200
        await env.clock.advance(2 * 3600)
        _is_cursor_400(await c.get(path, params={"cursor": cursor}), "expired")


async def test_a_walk_may_last_longer_than_a_cursor_lives(env: Env) -> None:
    # The 24 h count from when each cursor was issued (its page was served), not from the walk's
    # first page: a client that reads a page a day never has a fresh cursor refused.
    path = f"/Accounts/{env.acc}/Calls"
    async with env.client() as c:
        cursor = await _second_page_cursor(c, path)
        for _ in range(2):
            await env.clock.advance(23 * 3600)
            page = await c.get(path, params={"cursor": cursor})
            assert page.status_code == 200, page.text
            cursor = _cli_cursor(page.json()) or ""
            assert cursor


async def test_another_accounts_cursor_is_400_and_reveals_nothing(env: Env) -> None:
    async with env.client() as c:
        cursor = await _second_page_cursor(c, f"/Accounts/{env.acc}/Calls")
    async with env.client(env.other) as c:
        r = await c.get(f"/Accounts/{env.other.account_id}/Calls", params={"cursor": cursor})
        _is_cursor_400(r, "another list")
        assert env.acc not in r.text


async def test_a_cursor_of_another_list_is_400(env: Env) -> None:
    async with env.client() as c:
        cursor = await _second_page_cursor(c, f"/Accounts/{env.acc}/Conferences", alias="room")
        _is_cursor_400(await c.get(f"/Accounts/{env.acc}/Calls", params={"cursor": cursor}),
                       "another list")


async def test_a_cursor_beside_other_filters_is_400_beside_the_same_ones_200(env: Env) -> None:
    path = f"/Accounts/{env.acc}/Applications"
    async with env.client() as c:
        cursor = await _second_page_cursor(c, path, alias="keep")
        _is_cursor_400(await c.get(path, params={"alias": "no", "cursor": cursor}), "other filters")
        _is_cursor_400(await c.get(path, params={"alias": "keep", "x": "1", "cursor": cursor}),
                       "other filters")
        same = await c.get(path, params={"alias": "keep", "cursor": cursor})
        alone = await c.get(path, params={"cursor": cursor})
        assert same.status_code == alone.status_code == 200 and same.json() == alone.json()
        assert alone.json()["page"] == 1
        logs = f"/Accounts/{env.acc}/Logs"
        posted = (await c.post(logs, json={"pql": 'level = "error"'})).json()
        pql_cursor = _cli_cursor(posted)
        assert pql_cursor is not None and "pql" not in posted["nextPageUri"]
        _is_cursor_400(await c.get(logs, params={"pql": 'level = "info"', "cursor": pql_cursor}),
                       "other filters")


async def test_a_bad_cursor_without_credentials_is_still_401(env: Env) -> None:
    transport = httpx.ASGITransport(app=mounted(env.deps), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        r = await c.get(f"/Accounts/{env.acc}/Calls", params={"cursor": "nonsense"})
    assert r.status_code == 401


async def test_the_last_page_has_no_next_page_uri_and_empty_lists_say_start_0(env: Env) -> None:
    for n in (1, 2):  # exactly one full page
        await env.store.put_application(dataclasses.replace(
            APPLICATION, application_id=f"AP{n:040d}", account_id=env.acc, alias="pair"))
    async with env.client() as c:
        one = (await c.get(f"/Accounts/{env.acc}/Applications", params={"alias": "pair"})).json()
        none = (await c.get(f"/Accounts/{env.acc}/Applications", params={"alias": "none"})).json()
    assert one["nextPageUri"] is None and one["total"] == 2 == len(one["applications"])
    assert (none["start"], none["end"], none["page"], none["numPages"], none["nextPageUri"]) == (
        0, 0, 0, 0, None)


async def test_the_longest_pql_fits_in_a_cursor(env: Env) -> None:
    pql = 'message != "' + "\U0001f4de" * 1_980 + '"'  # 4 UTF-8 bytes a character, all distinct
    assert len(pql) <= 2_000
    logs = f"/Accounts/{env.acc}/Logs"
    async with env.client() as c:
        first = (await c.post(logs, json={"pql": pql})).json()
        cursor = _cli_cursor(first)
        assert cursor is not None
        second = await c.get(logs, params={"cursor": cursor})
    assert second.status_code == 200, second.text
    assert second.json()["page"] == 1 and second.json()["total"] == first["total"] == 13
