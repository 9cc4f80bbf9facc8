"""FreeClimb's Recordings operations: list (the account's, a call's, a conference's), get, delete,
stream and download.

Recordings are made by RecordUtterance and StartRecordCall (engine/session/recording.py) and kept
by the RecordingLibrary: a record in the store and a WAV file. Lists are keyset-paged newest first
like the other lists; an unknown call or conference is 404 as on its own routes; an unknown
recording is FreeClimb's 404 (code 68). Stream answers `audio/x-wav` and honours one HTTP byte
range (206; 416 when it lies beyond the file); Download answers `audio/wav` as an attachment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from percl.api.auth import PathAccount
from percl.api.calls import owned_call
from percl.api.conferences import day_bounds, owned_conference
from percl.api.deps import ApiDeps, deps_of
from percl.api.pagination import paginate
from percl.api.render import envelope, parse_filter_time
from percl.domain.records import Account, Recording
from percl.engine.ports import RecordingQuery
from percl.errors import ApiError, NotFound

router = APIRouter()

CODE_RECORDING_NOT_FOUND = 68  # FreeClimb's "recording not found"
CHUNK_BYTES = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True, slots=True)
class RecordingFilter:
    """What a recordings list keeps: one call's, one conference's, created within [from, to]."""

    call_id: str | None = None
    conference_id: str | None = None
    created_from: float | None = None
    created_to: float | None = None


def recording_uri(recording: Recording) -> str:
    return f"/Accounts/{recording.account_id}/Recordings/{recording.recording_id}"


def render_recording(recording: Recording) -> dict[str, Any]:
    """RecordingResult (`callId` null for a conference's recording, `conferenceId` for a call's)."""
    return {
        **envelope(recording_uri(recording), recording.date_created, recording.date_updated,
                   recording.revision),
        "recordingId": recording.recording_id,
        "accountId": recording.account_id,
        "callId": recording.call_id,
        "conferenceId": recording.conference_id,
        "durationSec": recording.duration_sec,
    }


def recording_filter(
    *, call_id: str | None = None, conference_id: str | None = None,
    date_created: str | None = None, start_time: str | None = None, end_time: str | None = None,
) -> RecordingFilter:
    """The filter of a list request. Raises BadRequest (code 3) naming a malformed date: dateCreated
    is a UTC day `YYYY-MM-DD`, startTime/endTime `YYYY-MM-DD hh:mm:ss` (both bounds inclusive)."""
    low: list[float] = []
    high: list[float] = []
    if date_created:
        day_from, day_to = day_bounds(date_created, "dateCreated")
        low.append(day_from)
        high.append(day_to - 1e-6)
    if start_time:
        low.append(parse_filter_time(start_time, "startTime"))
    if end_time:
        high.append(parse_filter_time(end_time, "endTime") + 0.999999)
    return RecordingFilter(call_id=call_id or None, conference_id=conference_id or None,
                           created_from=max(low) if low else None,
                           created_to=min(high) if high else None)


async def _find(deps: ApiDeps, account: Account, flt: RecordingFilter) -> Sequence[Recording]:
    """The account's recordings that `flt` keeps, newest first."""
    return await deps.store.list_recordings(RecordingQuery(
        account_id=account.account_id, call_id=flt.call_id, conference_id=flt.conference_id,
        created_from=flt.created_from, created_to=flt.created_to))


def recording_not_found(recording_id: str) -> NotFound:
    """FreeClimb's 404 for a recording id the account does not have (code 68)."""
    return NotFound(f"Recording {recording_id} not found", code=CODE_RECORDING_NOT_FOUND)


def _page(request: Request, found: Sequence[Recording]) -> dict[str, Any]:
    deps = deps_of(request)
    return paginate(request, found, "recordings", render_recording,
                    page_size=deps.page_size, max_list=deps.max_list,
                    sort_key=lambda r: (r.date_created, r.recording_id), descending=True)


# The filters as query parameters, spelt as FreeClimb spells them.
CallIdParam = Annotated[str | None, Query(alias="callId")]
ConferenceIdParam = Annotated[str | None, Query(alias="conferenceId")]
DateCreatedParam = Annotated[str | None, Query(alias="dateCreated")]
StartTimeParam = Annotated[str | None, Query(alias="startTime")]
EndTimeParam = Annotated[str | None, Query(alias="endTime")]


@router.get("/Accounts/{account_id}/Recordings")
async def list_recordings(
    request: Request, account: PathAccount, call_id: CallIdParam = None,
    conference_id: ConferenceIdParam = None, date_created: DateCreatedParam = None,
    start_time: StartTimeParam = None, end_time: EndTimeParam = None,
) -> dict[str, Any]:
    """list-recordings: 200 RecordingList. Bad dates: 400, code 3."""
    flt = recording_filter(call_id=call_id, conference_id=conference_id, date_created=date_created,
                           start_time=start_time, end_time=end_time)
    return _page(request, await _find(deps_of(request), account, flt))


@router.get("/Accounts/{account_id}/Calls/{call_id}/Recordings")
async def list_call_recordings(
    request: Request, account: PathAccount, call_id: str, date_created: DateCreatedParam = None,
    start_time: StartTimeParam = None, end_time: EndTimeParam = None,
) -> dict[str, Any]:
    """list-call-recordings: 200 RecordingList of one call. 404 when the call is unknown."""
    deps = deps_of(request)
    await owned_call(deps.store, account, call_id)
    flt = recording_filter(call_id=call_id, date_created=date_created, start_time=start_time,
                           end_time=end_time)
    return _page(request, await _find(deps, account, flt))


@router.get("/Accounts/{account_id}/Conferences/{conference_id}/Recordings")
async def list_conference_recordings(
    request: Request, account: PathAccount, conference_id: str, call_id: CallIdParam = None,
    date_created: DateCreatedParam = None, start_time: StartTimeParam = None,
    end_time: EndTimeParam = None,
) -> dict[str, Any]:
    """list-conference-recordings: 200 RecordingList of one conference. 404 (code 66) when the
    conference is unknown."""
    deps = deps_of(request)
    await owned_conference(deps.store, account, conference_id)
    flt = recording_filter(call_id=call_id, conference_id=conference_id, date_created=date_created,
                           start_time=start_time, end_time=end_time)
    return _page(request, await _find(deps, account, flt))


async def owned_recording(deps: ApiDeps, account: Account, recording_id: str) -> Recording:
    """The account's recording `recording_id`; 404 (code 68) otherwise."""
    found = await deps.store.get_recording(recording_id)
    if found is None or found.account_id != account.account_id:
        raise recording_not_found(recording_id)
    return found


def _open(deps: ApiDeps, recording: Recording) -> tuple[BinaryIO, int]:
    """The recording's file and size; 404 (code 68) when the audio is gone."""
    library = deps.recordings
    file = library.files.open(recording.recording_id) if library is not None else None
    if file is None:
        raise recording_not_found(recording.recording_id)
    file.seek(0, 2)
    size = file.tell()
    return file, size


def _chunks(file: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    with file:
        file.seek(start)
        while length > 0:
            piece = file.read(min(CHUNK_BYTES, length))
            if not piece:
                return
            length -= len(piece)
            yield piece


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of a single `bytes=` range within a file of `size` bytes; None to send the
    whole file (no header, several ranges, another unit: RFC 9110 lets a server ignore them).
    Raises ApiError 416 for a range that starts beyond the file."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # the last N bytes
        count = int(last_s)
        if count == 0:
            raise _unsatisfiable(size)
        return max(0, size - count), size - 1
    first = int(first_s)
    last = min(int(last_s), size - 1) if last_s else size - 1
    if first >= size or first > last:
        raise _unsatisfiable(size)
    return first, last


def _unsatisfiable(size: int) -> ApiError:
    return ApiError(f"Range not satisfiable: the recording has {size} bytes", code=3, status=416,
                    headers={"Content-Range": f"bytes */{size}"})


@router.get("/Accounts/{account_id}/Recordings/{recording_id}")
async def get_recording(request: Request, account: PathAccount, recording_id: str) -> dict[str, Any]:
    """get-a-recording: 200 RecordingResult; 404 (code 68) for an unknown id."""
    return render_recording(await owned_recording(deps_of(request), account, recording_id))


@router.delete("/Accounts/{account_id}/Recordings/{recording_id}", status_code=204)
async def delete_recording(request: Request, account: PathAccount, recording_id: str) -> Response:
    """delete-a-recording: 204, the record and its audio gone; 404 (code 68) for an unknown id."""
    deps = deps_of(request)
    recording = await owned_recording(deps, account, recording_id)
    if deps.recordings is not None:
        await deps.recordings.delete(recording)
    else:
        await deps.store.delete_recording(recording_id)
    return Response(status_code=204)


@router.get("/Accounts/{account_id}/Recordings/{recording_id}/Stream")
async def stream_recording(request: Request, account: PathAccount, recording_id: str) -> Response:
    """stream-a-recording-file: 200 audio/x-wav, or 206 for one `Range`; 404 (code 68)."""
    deps = deps_of(request)
    file, size = _open(deps, await owned_recording(deps, account, recording_id))
    try:
        wanted = byte_range(request.headers.get("range"), size)
    except ApiError:
        file.close()
        raise
    headers = {"Accept-Ranges": "bytes"}
    if wanted is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(_chunks(file, 0, size), media_type="audio/x-wav", headers=headers)
    first, last = wanted
    headers |= {"Content-Range": f"bytes {first}-{last}/{size}",
                "Content-Length": str(last - first + 1)}
    return StreamingResponse(_chunks(file, first, last - first + 1), status_code=206,
                             media_type="audio/x-wav", headers=headers)


@router.get("/Accounts/{account_id}/Recordings/{recording_id}/Download")
async def download_recording(request: Request, account: PathAccount, recording_id: str) -> Response:
    """download-a-recording-file: 200 audio/wav as an attachment; 404 (code 68)."""
    deps = deps_of(request)
    file, size = _open(deps, await owned_recording(deps, account, recording_id))
    headers = {"Content-Disposition": f'attachment; filename="{recording_id}.wav"',
               "Content-Length": str(size)}
    return StreamingResponse(_chunks(file, 0, size), media_type="audio/wav", headers=headers)
