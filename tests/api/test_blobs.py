"""/Blobs through the official SDK and raw HTTP: aliases, expiry on the FakeClock, size, pages;
every body checked against FreeClimb's OpenAPI schema."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import freeclimb
import pytest
from freeclimb.exceptions import ApiException, NotFoundException

from percl.api.render import iso
from percl.domain.records import Blob

from .rest_kit import KitServer, KitWorld, check_schema, kit_world, run_sync, serve

PAGE = 3


@pytest.fixture(scope="module")
def server() -> Iterator[KitServer]:
    yield from serve(kit_world(page_size=PAGE, blob_max_bytes=200))


def at(world: KitWorld, hours: float) -> str:
    moment = datetime.fromtimestamp(world.clock.now(), UTC) + timedelta(hours=hours)
    return iso(moment.timestamp()) or ""


def test_create_read_modify_replace_delete_through_the_sdk(server: KitServer) -> None:
    world = server.world
    account = world.new_account()
    api = server.api(account)
    created = api.create_blob(freeclimb.CreateBlobRequest(alias="cart", blob={"items": [1, 2], "n": 1}))
    assert isinstance(created, freeclimb.BlobResult)
    assert (created.alias, created.revision, created.blob) == ("cart", 1, {"items": [1, 2], "n": 1})
    assert created.account_id == account.account_id and created.blob_id.startswith("BL")
    # Default expiry: 9 hours after creation.
    assert (created.expires_at - created.date_created) == timedelta(hours=9)
    got = api.get_blob(created.blob_id)
    assert got.blob == created.blob
    modified = api.modify_blob(created.blob_id,
                               freeclimb.ModifyBlobRequest(blob={"n": 2, "note": "x"}, alias="basket"))
    assert (modified.alias, modified.revision) == ("basket", 2)
    assert modified.blob == {"items": [1, 2], "n": 2, "note": "x"}
    replaced = api.replace_blob(created.blob_id, freeclimb.ReplaceBlobRequest(blob={"only": True}))
    assert (replaced.blob, replaced.revision, replaced.alias) == ({"only": True}, 3, "basket")
    assert api.delete_blob(created.blob_id) is None
    with pytest.raises(NotFoundException):
        api.get_blob(created.blob_id)


def test_alias_defaults_to_the_id_and_clashes_are_409(server: KitServer) -> None:
    world = server.world
    account, other = world.new_account(), world.new_account()
    api = server.api(account)
    plain = api.create_blob(freeclimb.CreateBlobRequest(blob={}))
    assert plain.alias == plain.blob_id
    api.create_blob(freeclimb.CreateBlobRequest(alias="taken", blob={}))
    for attempt in (lambda: api.create_blob(freeclimb.CreateBlobRequest(alias="taken", blob={})),
                    lambda: api.modify_blob(plain.blob_id,
                                            freeclimb.ModifyBlobRequest(blob={}, alias="taken"))):
        with pytest.raises(ApiException) as err:
            attempt()
        assert err.value.status == 409 and '"code":108' in (err.value.body or "")
    # Another account may use the same alias.
    assert server.api(other).create_blob(freeclimb.CreateBlobRequest(alias="taken", blob={})).alias == "taken"
    assert api.get_blob(plain.blob_id).alias == plain.blob_id


def test_blobs_expire_on_the_clock_without_a_restart(server: KitServer) -> None:
    world = server.world
    account = world.new_account()
    api = server.api(account)
    soon = api.create_blob(freeclimb.CreateBlobRequest(alias="soon", expires_at=at(world, 1), blob={}))
    later = api.create_blob(freeclimb.CreateBlobRequest(blob={}))  # 9 hours
    assert soon.expires_at - soon.date_created == timedelta(hours=1)
    world.advance(3600)
    with pytest.raises(NotFoundException):
        api.get_blob(soon.blob_id)
    assert [b.blob_id for b in api.list_blobs().blobs] == [later.blob_id]
    # Its alias is free again.
    assert api.create_blob(freeclimb.CreateBlobRequest(alias="soon", blob={})).alias == "soon"
    world.advance(8 * 3600)
    assert later.blob_id not in [b.blob_id for b in api.list_blobs().blobs]


def test_list_pages_by_cursor_oldest_first(server: KitServer) -> None:
    world = server.world
    api = server.api(world.new_account())
    made = []
    for i in range(7):
        made.append(api.create_blob(freeclimb.CreateBlobRequest(alias=f"b{i}", blob={"i": i})).blob_id)
        world.advance(1)
    first = api.list_blobs()
    assert (first.total, first.num_pages, first.page_size) == (7, 3, PAGE)
    seen = [b.blob_id for b in first.blobs]
    page = first
    while page.next_page_uri:
        page = api.get_next_page(page)
        seen += [b.blob_id for b in page.blobs]
    assert seen == made


def test_too_large_is_413_and_nothing_changes(server: KitServer) -> None:
    api = server.api(server.world.new_account())
    big = {"text": "x" * 300}
    with pytest.raises(ApiException) as err:
        api.create_blob(freeclimb.CreateBlobRequest(alias="big", blob=big))
    assert err.value.status == 413
    small = api.create_blob(freeclimb.CreateBlobRequest(blob={"a": 1}))
    for attempt in (lambda: api.replace_blob(small.blob_id, freeclimb.ReplaceBlobRequest(blob=big)),
                    lambda: api.modify_blob(small.blob_id, freeclimb.ModifyBlobRequest(blob=big))):
        with pytest.raises(ApiException) as err:
            attempt()
        assert err.value.status == 413
    assert api.get_blob(small.blob_id).revision == 1
    assert api.list_blobs().total == 1


async def test_bad_requests_are_400_and_bodies_match_the_openapi_schemas() -> None:
    world = kit_world(page_size=2)
    account, other = world.new_account(), world.new_account()
    async with world.client(account) as client:
        url = f"/Accounts/{account.account_id}/Blobs"
        for body, field in (({"blob": {}, "expiresAt": at(world, 49)}, "expiresAt"),
                            ({"blob": {}, "expiresAt": at(world, -1)}, "expiresAt"),
                            ({"blob": {}, "expiresAt": "tomorrow"}, "expiresAt"),
                            ({"blob": {}, "expiresAt": "2026-01-01T00:00:00"}, "expiresAt"),
                            ({"blob": {}, "alias": "a" * 65}, "alias"),
                            ({"blob": []}, "blob"),
                            ({"alias": "x"}, "blob")):
            answer = await client.post(url, json=body)
            assert answer.status_code == 400, body
            assert answer.json()["details"]["field"] == field
            check_schema(answer.json(), "PlatformError")
        answer = await client.post(url, json={"blob": {"k": None}, "expiresAt": at(world, 48)})
        assert answer.status_code == 201
        check_schema(answer.json(), "BlobResult")
        blob_id = answer.json()["blobId"]
        for _ in range(2):
            await client.post(url, json={"blob": {}})
        listed = (await client.get(url)).json()
        check_schema(listed, "BlobListResponse")
        assert listed["nextPageUri"] and "cursor=" in listed["nextPageUri"]
        # `alias` filters exactly (the SDK 5.4.1 has no parameter for it).
        await client.post(url, json={"alias": "named", "blob": {}})
        named = (await client.get(url, params={"alias": "named"})).json()
        assert [b["alias"] for b in named["blobs"]] == ["named"]
        check_schema((await client.patch(f"{url}/{blob_id}", json={"blob": {"z": 1}})).json(),
                     "BlobResult")
        check_schema((await client.put(f"{url}/{blob_id}", json={"blob": {"z": 2}})).json(),
                     "BlobResult")
        missing = await client.get(f"{url}/BL{'0' * 40}")
        assert missing.status_code == 404
        check_schema(missing.json(), "PlatformError")
    async with world.client(other) as client:  # another account's blob is as unknown as none
        assert (await client.get(f"/Accounts/{other.account_id}/Blobs/{blob_id}")).status_code == 404
        assert (await client.delete(f"/Accounts/{other.account_id}/Blobs/{blob_id}")).status_code == 404


# --------------------------------------------------------------------------- racing writes


def _interleave(world: KitWorld, monkeypatch: pytest.MonkeyPatch,
                between: Callable[[], Awaitable[object]]) -> None:
    """Run `between` once, just before the next blob write reaches the store: another request
    getting in between a PUT or PATCH's read and its write."""
    real = world.store.put_blob
    pending = [between]

    async def put_blob(blob: Blob, **kwargs: Any) -> bool:
        if pending:
            await pending.pop()()
        written: bool = await real(blob, **kwargs)
        return written

    monkeypatch.setattr(world.store, "put_blob", put_blob)


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_a_write_racing_a_delete_does_not_bring_the_blob_back(
        method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    world = kit_world()
    account = world.new_account()

    async def scenario() -> None:
        async with world.client(account) as client:
            created = (await client.post(f"/Accounts/{account.account_id}/Blobs",
                                         json={"blob": {"a": 1}})).json()
            url = f"/Accounts/{account.account_id}/Blobs/{created['blobId']}"
            _interleave(world, monkeypatch, lambda: client.delete(url))
            written = await client.request(method, url, json={"blob": {"b": 2}})
            assert written.status_code == 404, written.text
            assert (await client.get(url)).status_code == 404

    asyncio.run(scenario())


def test_racing_patches_keep_each_others_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    world = kit_world()
    account = world.new_account()

    async def scenario() -> None:
        async with world.client(account) as client:
            created = (await client.post(f"/Accounts/{account.account_id}/Blobs",
                                         json={"blob": {"a": 1}})).json()
            url = f"/Accounts/{account.account_id}/Blobs/{created['blobId']}"
            _interleave(world, monkeypatch, lambda: client.patch(url, json={"blob": {"b": 2}}))
            patched = await client.patch(url, json={"blob": {"c": 3}})
            assert patched.status_code == 200, patched.text
            assert patched.json()["blob"] == {"a": 1, "b": 2, "c": 3}
            assert patched.json()["revision"] == 3
            assert (await client.get(url)).json()["blob"] == {"a": 1, "b": 2, "c": 3}

    asyncio.run(scenario())


def test_a_write_that_keeps_losing_races_is_409(monkeypatch: pytest.MonkeyPatch) -> None:
    world = kit_world()
    account = world.new_account()
    run_sync(world.store.put_blob(Blob(
        blob_id="BL" + "1" * 40, account_id=account.account_id, alias="x", content="{}",
        expires_at=world.clock.now() + 60, date_created=world.clock.now(),
        date_updated=world.clock.now())))
    monkeypatch.setattr(world.store, "put_blob", _always_stale)

    async def scenario() -> None:
        async with world.client(account) as client:
            answer = await client.patch(f"/Accounts/{account.account_id}/Blobs/{'BL' + '1' * 40}",
                                        json={"blob": {"b": 2}})
            assert answer.status_code == 409 and answer.json()["code"] == 108

    asyncio.run(scenario())


async def _always_stale(blob: Blob, **kwargs: Any) -> bool:
    return False
