"""Account and call logs, and the minimal PQL filter."""

from __future__ import annotations

import httpx
import pytest

from percl.api.logs import parse_pql
from percl.domain.enums import CallDirection, LogLevel
from percl.domain.records import Call, LogEntry
from percl.errors import BadRequest

from .conftest import World, build_world

INBOUND = CallDirection.INBOUND
CALL_1, CALL_2 = "CA" + "1" * 40, "CA" + "2" * 40


async def _seed(world: World) -> None:
    acc = world.account.account_id
    entries = [
        LogEntry(1_000_000, LogLevel.INFO, acc, "call 1 started", "RQ" + "a" * 40, CALL_1),
        LogEntry(2_000_000, LogLevel.ERROR, acc, "webhook failed", None, CALL_1, {"status": 500}),
        LogEntry(3_000_000, LogLevel.INFO, acc, "call 2 started", None, CALL_2),
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
    assert [entry["timestamp"] for entry in logs] == [3_000_000, 2_000_000, 1_000_000]
    assert logs[1] == {
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


@pytest.mark.parametrize(
    ("pql", "messages"),
    [
        ('level = "ERROR"', ["webhook failed"]),
        (f'callId = "{CALL_1}" AND level = "info"', ["call 1 started"]),
        (f'callId="{CALL_2}"', ["call 2 started"]),
        ("timestamp = 3000000", ["call 2 started"]),
        ('message = "nothing"', []),
    ],
)
async def test_filter_logs(
    client: httpx.AsyncClient, world: World, pql: str, messages: list[str]
) -> None:
    await _seed(world)
    r = await client.post(logs_path(world), json={"pql": pql})
    assert r.status_code == 200
    assert [e["message"] for e in r.json()["logs"]] == messages


@pytest.mark.parametrize(
    "pql",
    [
        "level = 'error'",
        "level",
        'level = "x" OR callId = "y"',
        'colour = "red"',
        'level = "a" AND',
    ],
)
def test_unsupported_pql_is_400_code_5(pql: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_pql(pql)
    assert info.value.code == 5 and info.value.details == {"field": "pql"}


async def test_filtered_pages_keep_the_filter() -> None:
    world = build_world(page_size=1)
    await _seed(world)
    async with world.client() as c:
        first = (await c.post(logs_path(world), json={"pql": 'level = "info"'})).json()
        second = (await c.get(first["nextPageUri"])).json()
    assert first["total"] == 2 and second["nextPageUri"] is None
    assert [first["logs"][0]["message"], second["logs"][0]["message"]] == [
        "call 2 started",
        "call 1 started",
    ]
