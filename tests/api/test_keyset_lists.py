"""Issue 21 for the lists issue 20 added: Blobs and Exports page by keyset position, so a row
added or removed between two pages neither repeats one nor makes one vanish."""

from __future__ import annotations

from percl.domain.enums import ExportResourceType
from percl.domain.records import Export

from .rest_kit import kit_world


async def test_an_export_made_between_pages_repeats_none() -> None:
    world = kit_world(page_size=2)
    account = world.new_account()

    async def make(n: int) -> str:
        export_id = f"EX{n:040x}"
        await world.store.put_export(Export(export_id, account.account_id, ExportResourceType.CALLS,
                                            ("callId",), "{}", date_created=float(n)))
        return export_id

    made = [await make(n) for n in (1, 2, 3)]
    path = f"/Accounts/{account.account_id}/Exports"
    async with world.client(account) as client:
        first = (await client.get(path)).json()
        assert [e["exportId"] for e in first["exports"]] == [made[2], made[1]]
        await make(4)  # newest first: it would shift the next page by one
        second = (await client.get(first["nextPageUri"])).json()
    assert [e["exportId"] for e in second["exports"]] == [made[0]]


async def test_a_blob_deleted_between_pages_hides_none() -> None:
    world = kit_world(page_size=2)
    account = world.new_account()
    path = f"/Accounts/{account.account_id}/Blobs"
    async with world.client(account) as client:
        made = []
        for n in range(3):
            made.append((await client.post(path, json={"blob": {"n": n}})).json()["blobId"])
            await world.clock.advance(1)
        first = (await client.get(path)).json()
        assert [b["blobId"] for b in first["blobs"]] == made[:2]
        assert (await client.delete(f"{path}/{made[0]}")).status_code == 204
        second = (await client.get(first["nextPageUri"])).json()
    assert [b["blobId"] for b in second["blobs"]] == [made[2]]
