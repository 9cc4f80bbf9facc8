"""POST /Logs through the official SDK (freeclimb 5.4.1) against a real uvicorn, over 2,500 entries.

Every page must deserialize as a LogList, the pages must concatenate to exactly the filtered list
(newest first, ties in timestamp kept in a stable order), and a bad query must reach the SDK as a
BadRequestException carrying code 5.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator

import freeclimb
import pytest
import uvicorn
from freeclimb.exceptions import BadRequestException

from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry

from .conftest import SdkServer, build_world, mounted

PAGE_SIZE = 100
COUNT = 2_500
CALLS = ["CA" + str(n) * 40 for n in range(5)]
T0 = 1_700_000_000_000_000
LEVELS = [LogLevel.INFO, LogLevel.INFO, LogLevel.WARNING, LogLevel.ERROR]


def _entries(account_id: str) -> list[LogEntry]:
    """A deterministic mix: 4 levels cycle, 5 calls plus call-less lines, three entries per µs tick."""
    return [
        LogEntry(
            timestamp=T0 + i // 3,
            level=LEVELS[i % 4],
            account_id=account_id,
            message=f"line {i}",
            request_id=None if i % 7 else "RQ" + f"{i:040d}",
            call_id=None if i % 6 == 5 else CALLS[i % 5],
        )
        for i in range(COUNT)
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[SdkServer, list[LogEntry]]]:
    world = build_world(page_size=PAGE_SIZE)
    for seq, e in enumerate(_entries(world.account.account_id)):
        world.store.logs.append((seq, e))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(mounted(world.deps), log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        newest_first = [
            e for _, e in sorted(world.store.logs, key=lambda p: (p[1].timestamp, p[0]), reverse=True)
        ]
        yield SdkServer(world, sock.getsockname()[1]), newest_first
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _all_pages(api: freeclimb.DefaultApi, first: freeclimb.LogList) -> list[freeclimb.LogResult]:
    page, seen, pages = first, list(first.logs), [first.page]
    while page.next_page_uri:
        page = api.get_next_page(page)
        assert isinstance(page, freeclimb.LogList)  # the SDK parsed it
        assert len(page.logs) <= PAGE_SIZE
        pages.append(page.page)
        seen += page.logs
    assert pages == list(range(first.num_pages))
    return seen


def _key(entry: LogEntry | freeclimb.LogResult) -> tuple[int, str]:
    return entry.timestamp, entry.message


CASES: list[tuple[str, Callable[[LogEntry], bool]]] = [
    ('level = "ERROR"', lambda e: e.level is LogLevel.ERROR),
    (
        f'level >= "warning" AND (callId = "{CALLS[1]}" OR callId = "{CALLS[3]}") OR timestamp < {T0 + 40}',
        lambda e: (e.level is not LogLevel.INFO and e.call_id in CALLS[1:4:2]) or e.timestamp < T0 + 40,
    ),
    (f'callId != "{CALLS[0]}" and requestId != ""', lambda e: e.call_id != CALLS[0]),
    (f"timestamp >= {T0}", lambda e: True),
]


@pytest.mark.parametrize(("pql", "keep"), CASES, ids=["level", "mixed", "not-equal", "everything"])
def test_filtered_pages_concatenate_to_the_filtered_list(
    server: tuple[SdkServer, list[LogEntry]], pql: str, keep: Callable[[LogEntry], bool]
) -> None:
    srv, newest_first = server
    api = srv.api(srv.world.account)
    expected = [_key(e) for e in newest_first if keep(e)]
    first = api.filter_logs(freeclimb.FilterLogsRequest(pql=pql))
    assert isinstance(first, freeclimb.LogList)
    assert first.total == len(expected) and first.page_size == PAGE_SIZE
    assert first.num_pages == -(-len(expected) // PAGE_SIZE)
    seen = [_key(e) for e in _all_pages(api, first)]
    assert seen == expected and len(set(seen)) == len(seen)


def test_unfiltered_list_pages_through_the_sdk(server: tuple[SdkServer, list[LogEntry]]) -> None:
    srv, newest_first = server
    api = srv.api(srv.world.account)
    first = api.list_all_account_logs()
    assert first.total == COUNT and first.num_pages == COUNT // PAGE_SIZE
    assert [_key(e) for e in _all_pages(api, first)] == [_key(e) for e in newest_first]


def test_log_results_parse_with_null_fields(server: tuple[SdkServer, list[LogEntry]]) -> None:
    srv, _ = server
    api = srv.api(srv.world.account)
    page = api.filter_logs(freeclimb.FilterLogsRequest(pql='message = "line 5"'))
    (only,) = page.logs
    assert (only.call_id, only.request_id, only.level) == (None, None, freeclimb.LogLevel.INFO)
    assert page.next_page_uri is None


def test_bad_pql_reaches_the_sdk_as_code_5(server: tuple[SdkServer, list[LogEntry]]) -> None:
    srv, _ = server
    api = srv.api(srv.world.account)
    with pytest.raises(BadRequestException) as info:
        api.filter_logs(freeclimb.FilterLogsRequest(pql="level = 'error'"))
    body = json.loads(info.value.body)
    assert info.value.status == 400 and body["code"] == 5
    assert "offset 8" in body["message"] and "double quotes" in body["message"]
