"""The Store contract for blobs and exports, run against SqliteStore and MemoryStore (see
conftest.py)."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from percl.domain.enums import ExportResourceType, ExportStatus
from percl.domain.records import Blob, Export
from percl.engine.ports import CallFilter, Store
from percl.errors import Conflict
from percl.store import schema
from percl.store.sqlite import SqliteStore
from tests.store.samples import AC1, AC2, ACCOUNT, call_id, mk_call

BL1, BL2, BL3 = ("BL" + d * 40 for d in "123")
EX1, EX2, EX3 = ("EX" + d * 40 for d in "123")

BLOB = Blob(blob_id=BL1, account_id=AC1, alias="profile", content='{"name":"Ada","n":[1,2]}',
            expires_at=500.5, date_created=100.25, date_updated=150.5, revision=3)
EXPORT = Export(export_id=EX1, account_id=AC1, resource_type=ExportResourceType.MESSAGES,
                fields=("messageId", "status"), query='{"direction":"inbound"}',
                status=ExportStatus.COMPLETED, size=1234, date_created=100.0, date_updated=120.0,
                revision=4)


async def test_blobs_round_trip_list_oldest_first_and_delete(store: Store) -> None:
    await store.put_blob(BLOB)
    second = dataclasses.replace(BLOB, blob_id=BL2, alias="cart", date_created=90.0)
    await store.put_blob(second)
    await store.put_blob(dataclasses.replace(BLOB, blob_id=BL3, account_id=AC2))  # same alias, other account
    assert await store.get_blob(BL1) == BLOB
    assert [b.blob_id for b in await store.list_blobs(AC1)] == [BL2, BL1]
    assert [b.blob_id for b in await store.list_blobs(AC1, "profile")] == [BL1]
    assert await store.list_blobs(AC1, "nothing") == []
    await store.delete_blob(BL2)
    await store.delete_blob(BL2)  # absent: nothing happens
    assert await store.get_blob(BL2) is None
    assert [b.blob_id for b in await store.list_blobs(AC1)] == [BL1]


async def test_a_blob_alias_is_unique_within_its_account(store: Store) -> None:
    await store.put_blob(BLOB)
    with pytest.raises(Conflict) as err:
        await store.put_blob(dataclasses.replace(BLOB, blob_id=BL2))
    assert err.value.status == 409 and err.value.code == 108
    assert await store.get_blob(BL2) is None
    # Replacing the blob itself (same id, same alias) is no clash; renaming frees the old alias.
    await store.put_blob(dataclasses.replace(BLOB, alias="renamed", revision=4))
    await store.put_blob(dataclasses.replace(BLOB, blob_id=BL2))
    assert {b.alias for b in await store.list_blobs(AC1)} == {"renamed", "profile"}


async def test_a_conditional_blob_write_needs_the_revision_it_read(store: Store) -> None:
    """Compare-and-set: a writer holding an old revision, or writing a blob deleted meanwhile,
    writes nothing (so a racing DELETE stays done and no concurrent update is lost)."""
    read = BLOB.revision
    await store.put_blob(BLOB)
    first = dataclasses.replace(BLOB, content='{"a":1}', revision=read + 1)
    assert await store.put_blob(first, expect_revision=read) is True
    stale = dataclasses.replace(BLOB, content='{"b":2}', revision=read + 1)
    assert await store.put_blob(stale, expect_revision=read) is False
    assert await store.get_blob(BL1) == first
    await store.delete_blob(BL1)
    gone = dataclasses.replace(first, revision=read + 2)
    assert await store.put_blob(gone, expect_revision=read + 1) is False
    assert await store.get_blob(BL1) is None
    # A conditional rename into a taken alias is still the alias clash.
    await store.put_blob(BLOB)
    await store.put_blob(dataclasses.replace(BLOB, blob_id=BL2, alias="cart"))
    with pytest.raises(Conflict):
        await store.put_blob(dataclasses.replace(BLOB, alias="cart", revision=read + 1),
                             expect_revision=read)
    assert await store.get_blob(BL1) == BLOB


async def test_expired_blobs_are_deleted_at_or_after_their_time(store: Store) -> None:
    await store.put_blob(BLOB)  # expires at 500.5
    await store.put_blob(dataclasses.replace(BLOB, blob_id=BL2, alias="later", expires_at=900.0))
    await store.put_blob(dataclasses.replace(BLOB, blob_id=BL3, account_id=AC2, expires_at=200.0))
    assert await store.delete_expired_blobs(200.0) == 1
    assert await store.get_blob(BL3) is None
    assert await store.delete_expired_blobs(500.0) == 0
    assert await store.delete_expired_blobs(500.5) == 1
    assert [b.blob_id for b in await store.list_blobs(AC1)] == [BL2]


async def test_exports_round_trip_and_list_newest_first_by_status(store: Store) -> None:
    await store.put_export(EXPORT)
    queued = dataclasses.replace(EXPORT, export_id=EX2, status=ExportStatus.QUEUED, date_created=200.0,
                                 resource_type=ExportResourceType.CALLS, fields=())
    await store.put_export(queued)
    await store.put_export(dataclasses.replace(EXPORT, export_id=EX3, account_id=AC2))
    assert await store.get_export(EX1) == EXPORT
    assert await store.get_export(EX2) == queued
    assert [e.export_id for e in await store.list_exports(AC1)] == [EX2, EX1]
    assert [e.export_id for e in await store.list_exports(AC1, ExportStatus.COMPLETED)] == [EX1]
    await store.put_export(dataclasses.replace(queued, status=ExportStatus.DELETED, revision=2))
    assert [e.export_id for e in await store.list_exports(AC1, ExportStatus.DELETED)] == [EX2]


async def test_a_version_2_file_gains_the_blob_and_export_tables(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    store = SqliteStore.for_path(path)
    await store.open()
    await store.put_account(ACCOUNT)
    await store.close()
    with sqlite3.connect(path) as raw:  # what a version-2 percl left: no blobs, no exports
        raw.execute("DROP TABLE blobs")
        raw.execute("DROP TABLE exports")
        raw.execute("UPDATE schema_version SET version = 2")
    await store.open()
    try:
        await store.put_blob(BLOB)
        await store.put_export(EXPORT)
        assert await store.get_blob(BL1) == BLOB and await store.get_export(EX1) == EXPORT
        assert await store.get_account(ACCOUNT.account_id) == ACCOUNT
    finally:
        await store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(schema.SCHEMA_VERSION,)]


async def test_calls_created_to_bounds_date_created(store: Store) -> None:
    for n in (1, 2, 3):
        await store.put_call(mk_call(n))
    kept = await store.list_calls(AC1, CallFilter(created_to=2.0))
    assert [c.call_id for c in kept] == [call_id(2), call_id(1)]
    assert await store.count_calls(AC1, CallFilter(created_to=2.0)) == 2
