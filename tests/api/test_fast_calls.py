"""api/fast_calls.py: the lean make-a-call path answers exactly as the FastAPI route would."""

from __future__ import annotations

from typing import Any
from unittest import mock

import httpx
import pytest
from starlette.types import Message

from percl.api.fast_calls import _read_body, _replay
from percl.errors import BadRequest

from .conftest import World, build_world

A, B = "+13125550101", "+13125550102"
#: FastAPI parses `+json` subtypes as JSON; the fast path leaves them to FastAPI.
SLOW = {"content-type": "application/vnd.percl+json"}
GOOD = {"from": A, "to": B, "applicationId": "AP" + "a" * 40, "sendDigits": "1#", "timeout": 30}


async def post(world: World, body: dict[str, Any], *, slow: bool, **kw: Any) -> httpx.Response:
    account_id = kw.get("account_id", world.account.account_id)
    async with world.client() as client:
        if "auth" in kw:
            client.auth = kw["auth"]
        return await client.post(f"/Accounts/{account_id}/Calls", json=body,
                                 headers=SLOW if slow else None)  # fmt: skip


def seen(r: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    return r.status_code, sorted(r.headers.items()), r.content


def failing_engine(world: World) -> None:
    async def refuse(*args: Any) -> None:
        raise BadRequest("Application AP... not found", code=60, details={"field": "applicationId"})

    world.calls.make_call = refuse  # type: ignore[method-assign, assignment]


@pytest.mark.parametrize(
    ("case", "body", "kw"),
    [
        ("made", GOOD, {}),
        ("only from and to", {"from": A, "to": B}, {}),
        ("wrong key", GOOD, {"auth": ("x", "y")}),
        ("other account's path", GOOD, {"account_id": "AC" + "9" * 40}),
        ("cross-field rule", {**GOOD, "ifMachine": "redirect"}, {}),
        ("engine refuses", GOOD, {}),
    ],
)
async def test_fast_and_route_answers_are_identical(case: str, body: dict[str, Any],
                                                    kw: dict[str, Any]) -> None:
    fast_world, slow_world = build_world(), build_world()
    if case == "engine refuses":
        failing_engine(fast_world)
        failing_engine(slow_world)
    fast = await post(fast_world, body, slow=False, **kw)
    slow = await post(slow_world, body, slow=True, **kw)
    assert seen(fast) == seen(slow)
    assert [r for _, r in fast_world.calls.made] == [r for _, r in slow_world.calls.made]
    assert fast.status_code in (202, 400, 401, 404) and fast.headers["request-id"].startswith("RQ")


async def test_a_well_formed_post_skips_fastapi_dependency_solving() -> None:
    world = build_world()
    with mock.patch("fastapi.routing.solve_dependencies", side_effect=AssertionError("slow path")):
        r = await post(world, GOOD, slow=False)
    assert r.status_code == 202 and len(world.calls.made) == 1


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'{"from": "+1", "to": "x"}', b""],
)
async def test_what_the_fast_path_declines_reaches_the_route_intact(content: bytes) -> None:
    world = build_world()
    async with world.client() as client:
        path = f"/Accounts/{world.account.account_id}/Calls"
        fast = await client.post(path, content=content, headers={"content-type": "application/json"})
        slow = await client.post(path, content=content, headers=SLOW)
    assert fast.status_code in (400, 422) and fast.json() == slow.json()
    assert world.calls.made == []


async def test_a_chunked_body_is_read_whole_and_replayed_in_order() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"a":', "more_body": True},
        {"type": "http.request", "body": b"1}", "more_body": False},
        {"type": "http.disconnect"},
    ]
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0)

    read, body = await _read_body(receive)
    assert body == b'{"a":1}' and read == messages[:2]
    replayed = _replay(read, receive)
    assert [await replayed() for _ in range(3)] == messages
