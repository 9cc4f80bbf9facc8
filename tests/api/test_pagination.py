"""The list envelope and its cursor."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from percl.api.pagination import Cursor, CursorCodec, b62decode, b62encode
from percl.errors import BadRequest

from .conftest import World, build_world

CURSOR = Cursor("AC1", "/Accounts/AC1/Calls", (("status", "completed"), ("to", "+1 555")), 100, 3,
                300, 1234, (1.5, "CA9"), 1000.0)


@given(st.binary(max_size=300))
def test_base62_round_trip_uses_only_letters_and_digits(data: bytes) -> None:
    text = b62encode(data)
    assert text == "" or (text.isalnum() and text.isascii())
    assert b62decode(text) == data


def test_cursor_round_trip_is_opaque_alphanumeric() -> None:
    codec = CursorCodec(b"secret")
    text = codec.seal(CURSOR)
    assert text.isalnum() and text.isascii() and "completed" not in text
    assert codec.open(text) == CURSOR


@pytest.mark.parametrize("bad", ["zzz", "%%%", "cGFnZT0tMQ", "aGVsbG8", "0", "_-="])
def test_made_up_cursor_is_400(bad: str) -> None:
    with pytest.raises(BadRequest) as info:
        CursorCodec(b"secret").open(bad)
    assert info.value.details == {"field": "cursor"}


def test_tampered_or_foreign_server_cursor_is_400() -> None:
    text = CursorCodec(b"secret").seal(CURSOR)
    for i in (0, len(text) // 2, len(text) - 1):
        flipped = text[:i] + ("1" if text[i] != "1" else "2") + text[i + 1 :]
        with pytest.raises(BadRequest):
            CursorCodec(b"secret").open(flipped)
    with pytest.raises(BadRequest, match="another server or before a restart"):
        CursorCodec(b"other secret").open(text)


async def _make_apps(world: World, n: int) -> None:
    async with world.client() as c:
        for i in range(n):
            r = await c.post(
                f"/Accounts/{world.account.account_id}/Applications", json={"alias": f"a{i % 2}"}
            )
            assert r.status_code == 201


async def test_pages_walk_the_whole_list_with_filters_kept() -> None:
    world = build_world(page_size=2)
    await _make_apps(world, 5)
    path = f"/Accounts/{world.account.account_id}/Applications"
    seen: list[str] = []
    pages = []
    async with world.client() as c:
        uri: str | None = f"{path}?alias=a0"
        while uri is not None:
            r = await c.get(uri)
            assert r.status_code == 200
            page = r.json()
            pages.append(page)
            seen += [a["applicationId"] for a in page["applications"]]
            uri = page["nextPageUri"]
    assert [p["page"] for p in pages] == [0, 1]
    assert [(p["start"], p["end"]) for p in pages] == [(0, 1), (2, 2)]
    assert all(p["total"] == 3 and p["numPages"] == 2 and p["pageSize"] == 2 for p in pages)
    assert len(set(seen)) == 3
    first_next = urlsplit(pages[0]["nextPageUri"])
    assert first_next.path == path  # relative to /apiserver
    assert parse_qs(first_next.query)["alias"] == ["a0"]


async def test_empty_list_envelope(world: World) -> None:
    async with world.client() as c:
        r = await c.get(f"/Accounts/{world.account.account_id}/Applications")
    assert r.json() == {
        "total": 0,
        "start": 0,
        "end": 0,
        "page": 0,
        "numPages": 0,
        "pageSize": 100,
        "nextPageUri": None,
        "applications": [],
    }


async def test_bad_cursor_on_a_route_is_400(world: World) -> None:
    async with world.client() as c:
        r = await c.get(f"/Accounts/{world.account.account_id}/Calls", params={"cursor": "nope"})
    assert r.status_code == 400
    assert r.json()["details"]["field"] == "cursor"


async def test_max_list_caps_total() -> None:
    world = build_world(page_size=2)
    world.deps = type(world.deps)(**{**world.deps.__dict__, "max_list": 3})
    await _make_apps(world, 5)
    async with world.client() as c:
        r = await c.get(f"/Accounts/{world.account.account_id}/Applications")
        body = r.json()
        last = (await c.get(body["nextPageUri"])).json()
    assert body["total"] == 3 and body["numPages"] == 2
    assert len(last["applications"]) == 1 and last["nextPageUri"] is None
