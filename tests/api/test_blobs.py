"""/Blobs through the official SDK and raw HTTP: aliases, expiry on the FakeClock, size, pages;
every body checked against FreeClimb's OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import freeclimb
import pytest
from freeclimb.exceptions import ApiException, NotFoundException

from percl.api.render import iso

from .rest_kit import KitServer, KitWorld, check_schema, kit_world, serve

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
