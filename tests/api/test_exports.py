"""/Exports over the whole platform (Harness, FakeClock), driven by the official SDK: a background
job writes a private CSV file page by page; download streams it; delete removes it and keeps the
record as `deleted`. Bodies are checked against FreeClimb's OpenAPI schemas."""

from __future__ import annotations

import asyncio
import csv
import io
import stat
from collections.abc import AsyncIterator, Sequence
from typing import Any

import freeclimb
import pytest
import pytest_asyncio
from freeclimb.exceptions import ApiException, NotFoundException

from percl.api.export_jobs import PAGE_ROWS, ExportJobs
from percl.domain.enums import (
    CallDirection,
    CallStatus,
    ExportResourceType,
    ExportStatus,
    MessageDirection,
    MessageStatus,
)
from percl.domain.records import Call, Export, Message
from percl.store.export_files import DirectoryExportFiles
from percl.store.memory import MemoryStore
from percl.testing import FakeClock
from percl.testing.harness import Harness
from tests.store.samples import ACCOUNT

from .rest_kit import check_schema

A, B = "+13125550100", "+15550100001"


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


async def _sdk(call: Any, *args: Any, **kwargs: Any) -> Any:
    """The SDK blocks: run it in a thread while the loop serves its requests."""
    return await asyncio.to_thread(call, *args, **kwargs)


def message(h: Harness, n: int, direction: MessageDirection, created: float) -> Message:
    return Message(f"SM{n:040x}", h.account.account_id, A if direction.value == "outbound" else B,
                   B if direction.value == "outbound" else A, f"text, {n}", direction,
                   status=MessageStatus.SENT, date_created=created, date_updated=created)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def finished(h: Harness, export_id: str) -> Export:
    await h.clock.settle()
    export = await h.store.get_export(export_id)
    assert export is not None and export.status is not ExportStatus.IN_PROGRESS
    return export


async def test_messages_export_lifecycle_through_the_sdk(h: Harness) -> None:
    now = h.now
    for n in range(5):
        direction = MessageDirection.INBOUND if n % 2 else MessageDirection.OUTBOUND
        await h.store.put_message(message(h, n, direction, now - 100 + n))
    api = h.freeclimb_api()
    created = await _sdk(api.create_export, freeclimb.ExportRequest(
        resource_type=freeclimb.ExportResourceType.MESSAGES, format=["messageId", "direction", "text"],
        output=freeclimb.ExportRequestOutput(type=freeclimb.ExportOutputType.CSV),
        query={"direction": "inbound"}))
    assert isinstance(created, freeclimb.ExportResult)
    assert created.status == freeclimb.ExportStatus.QUEUED and created.query == {"direction": "inbound"}
    assert created.format == ["messageId", "direction", "text"] and created.size == 0
    done = await finished(h, created.export_id)
    assert done.status is ExportStatus.COMPLETED
    got = await _sdk(api.get_an_export, created.export_id)
    assert got.status == freeclimb.ExportStatus.COMPLETED and got.revision == 3
    text = await _sdk(api.download_an_export, created.export_id)
    assert rows(text) == [["messageId", "direction", "text"],
                          [f"SM{3:040x}", "inbound", "text, 3"], [f"SM{1:040x}", "inbound", "text, 1"]]
    assert got.size == len(text.encode())
    file = h.platform.export_files.root / f"{created.export_id}.csv"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    assert await _sdk(api.delete_an_export, created.export_id) is None
    assert not file.exists()
    assert (await _sdk(api.get_an_export, created.export_id)).status == freeclimb.ExportStatus.DELETED
    with pytest.raises(NotFoundException):
        await _sdk(api.download_an_export, created.export_id)
    assert await _sdk(api.delete_an_export, created.export_id) is None  # again: still 204


async def test_calls_export_has_every_column_newest_first_in_pages(h: Harness) -> None:
    count = PAGE_ROWS * 2 + 7
    for n in range(count):
        await h.store.put_call(Call(f"CA{n:040x}", h.account.account_id, A, B, CallDirection.INBOUND,
                                    status=CallStatus.COMPLETED, date_created=h.now - count + n,
                                    date_updated=h.now))
    answer = await h.rest.post(f"/Accounts/{h.account.account_id}/Exports",
                               json={"resourceType": "Calls", "output": {"type": "csv"},
                                     "query": {"status": "completed"}})
    assert answer.status_code == 200
    check_schema(answer.json(), "ExportResult")
    export_id = answer.json()["exportId"]
    await h.advance(1)  # a call made after the export was asked for is not in it
    await h.store.put_call(Call(f"CA{'f' * 40}", h.account.account_id, A, B, CallDirection.INBOUND,
                                status=CallStatus.COMPLETED, date_created=h.now, date_updated=h.now))
    assert (await finished(h, export_id)).status is ExportStatus.COMPLETED
    download = await h.rest.get(f"/Accounts/{h.account.account_id}/Exports/{export_id}/Download")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    table = rows(download.text)
    assert table[0][:3] == ["uri", "dateCreated", "dateUpdated"] and "callId" in table[0]
    ids = [row[table[0].index("callId")] for row in table[1:]]
    assert ids == [f"CA{n:040x}" for n in reversed(range(count))]


async def test_list_pages_and_filters_by_status(h: Harness) -> None:
    path = f"/Accounts/{h.account.account_id}/Exports"
    made = []
    for _ in range(4):
        answer = await h.rest.post(path, json={"resourceType": "Messages", "output": {"type": "csv"}})
        made.append(answer.json()["exportId"])
        await h.advance(1)
    await h.clock.settle()
    await h.rest.delete(f"{path}/{made[0]}")
    api = h.freeclimb_api()
    listed = await _sdk(api.list_exports)
    assert isinstance(listed, freeclimb.ExportList) and listed.total == 4
    check_schema((await h.rest.get(path)).json(), "ExportList")
    deleted = await _sdk(api.list_exports, status=freeclimb.ExportStatus.DELETED)
    assert [e.export_id for e in deleted.exports] == [made[0]]
    completed = (await h.rest.get(path, params={"status": "completed"})).json()
    assert [e["exportId"] for e in completed["exports"]] == list(reversed(made[1:]))


@pytest.mark.parametrize(("body", "field"), [
    ({"resourceType": "Recordings", "output": {"type": "csv"}}, "resourceType"),
    ({"resourceType": "Calls", "output": {"type": "json"}}, "output.type"),
    ({"resourceType": "Calls"}, "output"),
    ({"resourceType": "Calls", "output": {"type": "csv"}, "format": ["callId", "nope"]}, "format"),
    ({"resourceType": "Calls", "output": {"type": "csv"}, "query": {"colour": "red"}}, "query.colour"),
    ({"resourceType": "Calls", "output": {"type": "csv"}, "query": {"startTime": "soon"}}, "startTime"),
    ({"resourceType": "Messages", "output": {"type": "csv"}, "query": {"direction": "up"}},
     "query.direction"),
    ({"resourceType": "Messages", "output": {"type": "csv"}, "query": {"beginTime": "x"}},
     "query.beginTime"),
])
async def test_bad_requests_are_400_naming_the_field(
    h: Harness, body: dict[str, Any], field: str
) -> None:
    answer = await h.rest.post(f"/Accounts/{h.account.account_id}/Exports", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["details"]["field"] == field
    check_schema(answer.json(), "PlatformError")
    assert await h.store.list_exports(h.account.account_id) == []


async def test_unknown_export_and_unfinished_download_are_404(h: Harness) -> None:
    path = f"/Accounts/{h.account.account_id}/Exports"
    for suffix in ("", "/Download"):
        missing = await h.rest.get(f"{path}/EX{'0' * 40}{suffix}")
        assert missing.status_code == 404
    assert (await h.rest.delete(f"{path}/EX{'0' * 40}")).status_code == 404
    answer = await h.rest.post(path, json={"resourceType": "Calls", "output": {"type": "csv"}})
    early = await h.rest.get(f"{path}/{answer.json()['exportId']}/Download")  # still queued
    assert early.status_code == 404 and "queued" in early.json()["message"]


async def _broken_pages() -> AsyncIterator[Sequence[dict[str, Any]]]:
    yield [{"callId": "CA1"}]
    raise OSError("disk on fire")


async def test_a_job_that_raises_fails_and_leaves_no_file(tmp_path: Any) -> None:
    store, clock = MemoryStore(), FakeClock()
    await store.open()
    files = DirectoryExportFiles(tmp_path / "exports")
    export = Export("EX" + "1" * 40, "AC" + "1" * 40, ExportResourceType.CALLS, ("callId",), "{}")
    await store.put_export(export)
    async with ExportJobs(store, clock, files) as jobs:
        jobs.start(export, _broken_pages)
        await clock.settle()
    failed = await store.get_export(export.export_id)
    assert failed is not None and failed.status is ExportStatus.FAILED
    assert list((tmp_path / "exports").iterdir()) == []


async def test_start_up_fails_the_exports_a_stop_interrupted(tmp_path: Any) -> None:
    store, clock = MemoryStore(), FakeClock()
    await store.open()
    await store.put_account(ACCOUNT)
    files = DirectoryExportFiles(tmp_path)
    running = Export("EX" + "1" * 40, ACCOUNT.account_id, ExportResourceType.CALLS, ("callId",), "{}",
                     status=ExportStatus.IN_PROGRESS)
    done = Export("EX" + "2" * 40, ACCOUNT.account_id, ExportResourceType.CALLS, ("callId",), "{}",
                  status=ExportStatus.COMPLETED)
    await store.put_export(running)
    await store.put_export(done)
    assert await ExportJobs(store, clock, files).recover() == 1
    got = await store.get_export(running.export_id)
    assert got is not None and got.status is ExportStatus.FAILED
    kept = await store.get_export(done.export_id)
    assert kept is not None and kept.status is ExportStatus.COMPLETED


async def test_sdk_errors_name_the_status(h: Harness) -> None:
    api = h.freeclimb_api()
    with pytest.raises(ApiException) as err:
        await _sdk(api.get_an_export, "EX" + "0" * 40)
    assert err.value.status == 404


async def test_deleting_a_running_export_stops_it_for_good(h: Harness) -> None:
    for n in range(PAGE_ROWS * 3):
        await h.store.put_message(message(h, n, MessageDirection.OUTBOUND, h.now - n))
    path = f"/Accounts/{h.account.account_id}/Exports"
    export_id = (await h.rest.post(path, json={"resourceType": "Messages",
                                               "output": {"type": "csv"}})).json()["exportId"]
    for _ in range(3):  # let the job start and write a page
        await asyncio.sleep(0)
    running = await h.store.get_export(export_id)
    assert running is not None and running.status is ExportStatus.IN_PROGRESS
    assert (await h.rest.delete(f"{path}/{export_id}")).status_code == 204
    await h.clock.settle()
    export = await h.store.get_export(export_id)
    assert export is not None and export.status is ExportStatus.DELETED
    assert list(h.platform.export_files.root.glob(f"{export_id}*")) == []
