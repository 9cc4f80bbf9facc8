"""The Recordings operations (FreeClimb's OpenAPI), on a whole platform and through the official
SDK (freeclimb 5.4.1): empty lists are well-formed pages, filters are checked, an unknown id is
FreeClimb's 404 (code 68), and saved recordings are listed, paged, fetched, streamed (with
ranges), downloaded and deleted."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import freeclimb
import pytest
import pytest_asyncio
from freeclimb.exceptions import NotFoundException

from percl.api.recordings import recording_filter, render_recording
from percl.domain.records import Recording
from percl.testing.harness import Harness

STATUS_URL = "http://app.test/status"
UNKNOWN = "RE" + "7" * 40


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        app = harness.scripted_app()
        app.on("/status", [])
        app.on("/connect", [{"Pause": {"length": 60000}}])
        yield harness


def _base(h: Harness) -> str:
    return f"/Accounts/{h.account.account_id}"


async def _sdk(call: Any, *args: Any, **kwargs: Any) -> Any:
    """The SDK blocks: run it in a thread while the loop serves its requests."""
    return await asyncio.to_thread(call, *args, **kwargs)


async def _call_and_conference(h: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    call = await h.rest.post(f"{_base(h)}/Calls", json={
        "from": "+13125550100", "to": "+15550100001", "callConnectUrl": "http://app.test/connect"})
    conference = await h.rest.post(f"{_base(h)}/Conferences", json={"statusCallbackUrl": STATUS_URL})
    assert call.status_code == 202 and conference.status_code == 200
    return call.json(), conference.json()


def _assert_empty_page(page: Any) -> None:
    assert isinstance(page, freeclimb.RecordingList)
    assert (page.total, page.start, page.page, page.num_pages) == (0, 0, 0, 0)
    assert page.recordings == [] and page.next_page_uri is None


async def test_the_subresource_uris_of_calls_and_conferences_answer(h: Harness) -> None:
    call, conference = await _call_and_conference(h)
    for uri in (call["subresourceUris"]["recordings"], conference["subresourceUris"]["recordings"]):
        r = await h.rest.get(uri)
        assert r.status_code == 200, (uri, r.text)
        _assert_empty_page(freeclimb.RecordingList.from_dict(r.json()))


async def test_the_sdk_lists_empty_pages(h: Harness) -> None:
    call, conference = await _call_and_conference(h)
    api = h.freeclimb_api()
    _assert_empty_page(await _sdk(api.list_recordings))
    _assert_empty_page(await _sdk(api.list_recordings, call_id=call["callId"],
                                  conference_id=conference["conferenceId"], date_created="2026-01-01",
                                  start_time="2026-01-01 00:00:00", end_time="2026-01-02 00:00:00"))
    _assert_empty_page(await _sdk(api.list_call_recordings, call["callId"], date_created="2026-01-01"))
    _assert_empty_page(await _sdk(api.list_conference_recordings, conference["conferenceId"],
                                  call_id=call["callId"], start_time="2026-01-01 00:00:00"))


async def test_lists_of_unknown_calls_and_conferences_are_404(h: Harness) -> None:
    api = h.freeclimb_api()
    with pytest.raises(NotFoundException):
        await _sdk(api.list_call_recordings, "CA" + "1" * 40)
    with pytest.raises(NotFoundException):
        await _sdk(api.list_conference_recordings, "CF" + "1" * 40)
    r = await h.rest.get(f"{_base(h)}/Conferences/{'CF' + '1' * 40}/Recordings")
    assert (r.status_code, r.json()["code"]) == (404, 66)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"dateCreated": "2026-13-01"}, "dateCreated"), ({"startTime": "2026-01-01"}, "startTime"),
     ({"endTime": "yesterday"}, "endTime")],
)
async def test_bad_filters_are_400_naming_them(h: Harness, params: dict[str, str], field: str) -> None:
    r = await h.rest.get(f"{_base(h)}/Recordings", params=params)
    assert r.status_code == 400
    assert (r.json()["code"], r.json()["details"]["field"]) == (3, field)


@pytest.mark.parametrize("method", ["get_a_recording", "delete_a_recording",
                                    "stream_a_recording_file", "download_a_recording_file"])
async def test_an_unknown_recording_is_404_through_the_sdk(h: Harness, method: str) -> None:
    api = h.freeclimb_api()
    with pytest.raises(NotFoundException) as info:
        await _sdk(getattr(api, method), UNKNOWN)
    assert '"code":68' in info.value.body.replace(" ", "")


@pytest.mark.parametrize(("method", "suffix"), [
    ("GET", ""), ("DELETE", ""), ("GET", "/Stream"), ("GET", "/Download")])
async def test_an_unknown_recording_gets_freeclimbs_error_body(
    h: Harness, method: str, suffix: str
) -> None:
    r = await h.rest.request(method, f"{_base(h)}/Recordings/{UNKNOWN}{suffix}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["code"] == 68 and UNKNOWN in body["message"] and body["url"].endswith("#68")


def test_a_recording_renders_as_the_sdk_parses_it() -> None:
    rec = Recording("RE" + "1" * 40, "AC" + "2" * 40, call_id="CA" + "3" * 40, duration_sec=12,
                    date_created=1_767_225_600.0, date_updated=1_767_225_600.0)
    body = render_recording(rec)
    parsed = freeclimb.RecordingResult.from_dict(body)
    assert parsed is not None and parsed.duration_sec == 12 and parsed.conference_id is None
    assert parsed.uri == f"/Accounts/{rec.account_id}/Recordings/{rec.recording_id}"
    assert parsed.date_created == "Thu, 01 Jan 2026 00:00:00 GMT"


def test_the_filter_bounds_are_inclusive_and_combine() -> None:
    day = recording_filter(date_created="2026-01-01")
    assert (day.created_from, day.created_to) == (1_767_225_600.0, pytest.approx(1_767_311_999.999999))
    both = recording_filter(date_created="2026-01-01", start_time="2026-01-01 12:00:00",
                            end_time="2026-01-03 00:00:00", call_id="", conference_id="CF1")
    assert both.created_from == 1_767_268_800.0 and both.created_to == pytest.approx(1_767_311_999.999999)
    assert (both.call_id, both.conference_id) == (None, "CF1")


# --------------------------------------------------------------------------- saved recordings

WAV = b"RIFF" + bytes(range(256)) * 40  # what the library stores is opaque to the API


async def _saved(h: Harness, call_id: str | None = None, conference_id: str | None = None,
                 data: bytes = WAV) -> Recording:
    lib = h.platform.recordings
    recording = await lib.save(lib.new_id(), h.account.account_id, data, 2300,
                               call_id=call_id, conference_id=conference_id)
    assert recording is not None
    return recording


async def test_the_sdk_lists_filters_and_pages_saved_recordings(h: Harness) -> None:
    call, conference = await _call_and_conference(h)
    by_call = [await _saved(h, call_id=call["callId"]) for _ in range(3)]
    await h.clock.advance(1)
    by_conf = await _saved(h, conference_id=conference["conferenceId"])
    api = h.freeclimb_api()
    every = await _sdk(api.list_recordings)
    assert every.total == 4 and [r.recording_id for r in every.recordings][0] == by_conf.recording_id
    assert all(r.duration_sec == 3 for r in every.recordings)  # 2.3 s, rounded up
    mine = await _sdk(api.list_recordings, call_id=call["callId"])
    assert {r.recording_id for r in mine.recordings} == {r.recording_id for r in by_call}
    page = await _sdk(api.list_call_recordings, call["callId"])
    assert page.total == 3 and page.recordings[0].call_id == call["callId"]
    confs = await _sdk(api.list_conference_recordings, conference["conferenceId"])
    assert [r.recording_id for r in confs.recordings] == [by_conf.recording_id]
    assert confs.recordings[0].call_id is None
    other_day = await _sdk(api.list_recordings, date_created="2001-01-01")
    assert other_day.total == 0
    for uri in (call["subresourceUris"]["recordings"], conference["subresourceUris"]["recordings"]):
        r = await h.rest.get(uri)
        assert r.status_code == 200 and r.json()["total"] in (1, 3)


async def test_lists_page_by_keyset(h: Harness) -> None:
    call, _ = await _call_and_conference(h)
    made = [await _saved(h, call_id=call["callId"]) for _ in range(5)]
    h.platform.api.state.deps = dataclasses.replace(h.platform.api.state.deps, page_size=2)
    seen: list[str] = []
    r = await h.rest.get(f"{_base(h)}/Recordings")
    while True:
        body = r.json()
        seen += [item["recordingId"] for item in body["recordings"]]
        if body["nextPageUri"] is None:
            break
        r = await h.rest.get(body["nextPageUri"])
    assert sorted(seen) == sorted(m.recording_id for m in made) and len(seen) == 5


async def test_the_sdk_gets_streams_downloads_and_deletes_a_recording(h: Harness) -> None:
    call, _ = await _call_and_conference(h)
    recording = await _saved(h, call_id=call["callId"])
    rid = recording.recording_id
    api = h.freeclimb_api()
    got = await _sdk(api.get_a_recording, rid)
    assert isinstance(got, freeclimb.RecordingResult)
    assert (got.recording_id, got.call_id, got.duration_sec) == (rid, call["callId"], 3)
    assert bytes(await _sdk(api.stream_a_recording_file, rid)) == WAV
    assert bytes(await _sdk(api.download_a_recording_file, rid)) == WAV
    r = await h.rest.get(f"{_base(h)}/Recordings/{rid}/Download")
    assert r.headers["content-type"] == "audio/wav"
    assert r.headers["content-disposition"] == f'attachment; filename="{rid}.wav"'
    await _sdk(api.delete_a_recording, rid)
    assert h.platform.recording_files.size(rid) is None
    with pytest.raises(NotFoundException):
        await _sdk(api.get_a_recording, rid)
    assert (await _sdk(api.list_recordings)).total == 0


@pytest.mark.parametrize(("header", "status", "expected"), [
    ("bytes=0-9", 206, (0, 9)), ("bytes=100-", 206, (100, len(WAV) - 1)),
    ("bytes=-20", 206, (len(WAV) - 20, len(WAV) - 1)),
    (f"bytes=10-{len(WAV) + 50}", 206, (10, len(WAV) - 1)),
    ("bytes=0-1,5-6", 200, None), ("items=0-1", 200, None)])
async def test_stream_honours_one_byte_range(
    h: Harness, header: str, status: int, expected: tuple[int, int] | None
) -> None:
    rid = (await _saved(h)).recording_id
    r = await h.rest.get(f"{_base(h)}/Recordings/{rid}/Stream", headers={"Range": header})
    assert r.status_code == status and r.headers["content-type"] == "audio/x-wav"
    assert r.headers["accept-ranges"] == "bytes"
    if expected is None:
        assert r.content == WAV
    else:
        first, last = expected
        assert r.content == WAV[first:last + 1]
        assert r.headers["content-range"] == f"bytes {first}-{last}/{len(WAV)}"


async def test_a_range_beyond_the_file_is_416(h: Harness) -> None:
    rid = (await _saved(h)).recording_id
    r = await h.rest.get(f"{_base(h)}/Recordings/{rid}/Stream",
                         headers={"Range": f"bytes={len(WAV)}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(WAV)}"
    assert r.json()["code"] == 3


async def test_another_accounts_recording_is_404(h: Harness) -> None:
    lib = h.platform.recordings
    other = await lib.save(lib.new_id(), "AC" + "9" * 40, WAV, 1000, call_id="CA" + "9" * 40)
    assert other is not None
    r = await h.rest.get(f"{_base(h)}/Recordings/{other.recording_id}")
    assert (r.status_code, r.json()["code"]) == (404, 68)
    assert (await h.rest.get(f"{_base(h)}/Recordings")).json()["total"] == 0
