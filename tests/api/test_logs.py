"""Account and call logs over httpx: listing, PQL filtering on POST and GET, errors, pagination."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from percl.domain.enums import CallDirection, LogLevel
from percl.domain.records import Call, LogEntry

from .conftest import BASE, World, build_world, mounted

INBOUND = CallDirection.INBOUND
CALL_1, CALL_2 = "CA" + "1" * 40, "CA" + "2" * 40
RQ = "RQ" + "a" * 40


async def _seed(world: World) -> None:
    acc = world.account.account_id
    entries = [
        LogEntry(1_000_000, LogLevel.INFO, acc, "call 1 started", RQ, CALL_1),
        LogEntry(2_000_000, LogLevel.ERROR, acc, "webhook failed", None, CALL_1, {"status": 500}),
        LogEntry(3_000_000, LogLevel.INFO, acc, "call 2 started", None, CALL_2),
        LogEntry(3_500_000, LogLevel.WARNING, acc, 'said "hi"'),
        LogEntry(4_000_000, LogLevel.WARNING, world.other.account_id, "not yours"),
    ]
    for e in entries:
        await world.store.add_log(e)


def logs_path(world: World) -> str:
    return f"/Accounts/{world.account.account_id}/Logs"


async def test_account_logs_newest_first(client: httpx.AsyncClient, world: World) -> None:
    await _seed(world)
    r = await client.get(logs_path(world))
    logs = r.json()["logs"]
    assert [entry["timestamp"] for entry in logs] == [3_500_000, 3_000_000, 2_000_000, 1_000_000]
    assert logs[2] == {
        "timestamp": 2_000_000,
        "level": "error",
        "requestId": None,
        "accountId": world.account.account_id,
        "callId": CALL_1,
        "message": "webhook failed",
        "metadata": {"status": 500},
    }


async def test_call_logs(client: httpx.AsyncClient, world: World) -> None:
    await _seed(world)
    acc = world.account.account_id
    await world.store.put_call(Call(CALL_1, acc, "+13125550101", "+13125550102", INBOUND))
    r = await client.get(f"/Accounts/{world.account.account_id}/Calls/{CALL_1}/Logs")
    assert r.status_code == 200
    assert [e["message"] for e in r.json()["logs"]] == ["webhook failed", "call 1 started"]


FILTERS = [
    ('level = "ERROR"', ["webhook failed"]),
    (f'callId = "{CALL_1}" AND level = "info"', ["call 1 started"]),
    (f'callId="{CALL_2}"', ["call 2 started"]),
    ("timestamp = 3000000", ["call 2 started"]),
    ("timestamp >= 2000000 AND timestamp < 3500000", ["call 2 started", "webhook failed"]),
    ('message = "nothing"', []),
    ('message = "said \\"hi\\""', ['said "hi"']),
    ('level >= "warning"', ['said "hi"', "webhook failed"]),
    (f'level = "error" OR callId = "{CALL_2}"', ["call 2 started", "webhook failed"]),
    (
        f'(callId = "{CALL_1}" OR callId = "{CALL_2}") and level != "error"',
        ["call 2 started", "call 1 started"],
    ),
    (f'callId = "{CALL_2}" OR callId = "{CALL_1}" AND level = "error"', ["call 2 started", "webhook failed"]),
    (f'callId != "{CALL_1}"', ['said "hi"', "call 2 started"]),
    (f'requestId = "{RQ}"', ["call 1 started"]),
    # The other account's entries stay invisible even when asked for by name.
    (
        'level = "warning" OR accountId != "x"',
        ['said "hi"', "call 2 started", "webhook failed", "call 1 started"],
    ),
]


@pytest.mark.parametrize(("pql", "messages"), FILTERS)
async def test_filter_logs(client: httpx.AsyncClient, world: World, pql: str, messages: list[str]) -> None:
    await _seed(world)
    posted = await client.post(logs_path(world), json={"pql": pql})
    got = await client.get(logs_path(world), params={"pql": pql})
    assert posted.status_code == got.status_code == 200
    assert [e["message"] for e in posted.json()["logs"]] == messages
    assert got.json()["logs"] == posted.json()["logs"]


@pytest.mark.parametrize(
    ("pql", "offset", "says"),
    [
        ("level = 'error'", 8, "use double quotes"),
        ("level", 5, "expected an operator"),
        ('level = "info" AND', 18, "found the end of the query"),
        ('colour = "red"', 0, "unknown field 'colour'"),
        ('metadata = "x"', 0, "metadata is not searchable"),
        ('timestamp = "abc"', 12, "timestamp is an integer"),
        ("", 0, "expected a comparison"),
    ],
)
async def test_bad_pql_is_400_code_5(
    client: httpx.AsyncClient, world: World, pql: str, offset: int, says: str
) -> None:
    for r in (
        await client.post(logs_path(world), json={"pql": pql}),
        await client.get(logs_path(world), params={"pql": pql}),
    ):
        body = r.json()
        assert r.status_code == 400 and body["code"] == 5
        assert body["url"].endswith("#5") and body["details"] == {"field": "pql", "offset": offset}
        assert f"offset {offset}" in body["message"] and says in body["message"]


async def test_missing_or_mistyped_pql_is_not_a_pql_error(client: httpx.AsyncClient, world: World) -> None:
    missing = await client.post(logs_path(world), json={})
    assert (missing.status_code, missing.json()["code"]) == (400, 80)
    mistyped = await client.post(logs_path(world), json={"pql": 5})
    assert (mistyped.status_code, mistyped.json()["code"]) == (400, 3)


async def test_filtered_pages_keep_the_filter() -> None:
    world = build_world(page_size=1)
    await _seed(world)
    async with world.client() as c:
        # A stray ?pql= on the POST must not shadow the body's filter on the next pages.
        first = (await c.post(logs_path(world) + "?pql=junk", json={"pql": 'level = "info"'})).json()
        second = (await c.get(first["nextPageUri"])).json()
    assert first["total"] == 2 and second["nextPageUri"] is None
    assert "pql=" not in first["nextPageUri"]  # the cursor carries the body's PQL
    assert [first["logs"][0]["message"], second["logs"][0]["message"]] == [
        "call 2 started",
        "call 1 started",
    ]


# --------------------------------------------------------------------------- never a 500

WORDS = st.sampled_from(
    ["level", "callId", "timestamp", "metadata", "AND", "OR", "(", ")", "=", "!=", ">=", '"info"',
     '"x\\"', "'x'", "-1", "1e5", "99999999999999999999", "\\", "&", " "]
)  # fmt: skip


SOUP_WORLD = build_world()
SOUP_APP = mounted(SOUP_WORLD.deps)  # built once: building the API is most of a request's cost


async def _post_pql(pql: str) -> httpx.Response:
    who = SOUP_WORLD.account
    transport = httpx.ASGITransport(app=SOUP_APP, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, auth=(who.account_id, who.api_key)) as c:
        return await c.post(logs_path(SOUP_WORLD), json={"pql": pql})


@settings(max_examples=120, deadline=None)
@given(st.lists(WORDS, max_size=10).map(" ".join))
def test_token_soup_over_http_is_200_or_400_code_5(pql: str) -> None:
    # A sync test driving its own loop: hypothesis calls it once per example.
    r = asyncio.run(_post_pql(pql))
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert r.json()["code"] == 5
    else:
        assert r.json()["logs"] == []
