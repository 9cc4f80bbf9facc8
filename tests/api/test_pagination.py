"""The list envelope and its cursor."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from percl.api.pagination import decode_cursor, encode_cursor
from percl.errors import BadRequest

from .conftest import World, build_world


@pytest.mark.parametrize("page", [0, 1, 2, 99, 123456])
def test_cursor_round_trip(page: int) -> None:
    cursor = encode_cursor(page)
    assert cursor != str(page)  # opaque, not the bare index
    assert decode_cursor(cursor) == page


@pytest.mark.parametrize("bad", ["zzz", "%%%", "cGFnZT0tMQ", "aGVsbG8", "cGFnZT0wMQ"])
def test_foreign_cursor_is_400(bad: str) -> None:
    with pytest.raises(BadRequest) as info:
        decode_cursor(bad)
    assert info.value.details == {"field": "cursor"}


def test_absent_cursor_is_page_zero() -> None:
    assert decode_cursor(None) == 0 and decode_cursor("") == 0


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


async def test_cursor_past_the_end_is_an_empty_page() -> None:
    world = build_world(page_size=2)
    await _make_apps(world, 3)
    async with world.client() as c:
        r = await c.get(
            f"/Accounts/{world.account.account_id}/Applications",
            params={"cursor": encode_cursor(5)},
        )
    body = r.json()
    assert r.status_code == 200
    assert body["applications"] == [] and body["nextPageUri"] is None and body["total"] == 3


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
