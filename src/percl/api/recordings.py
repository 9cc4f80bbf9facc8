"""FreeClimb's Recordings operations: list (the account's, a call's, a conference's), get, delete,
stream and download.

percl cannot record yet (RecordUtterance, StartRecordCall and conference recording come with the
recordings work), so no recording exists: every list is a well-formed empty page whose filters
are still checked, an unknown call or conference is 404 as on its own routes, and get, delete,
stream and download answer FreeClimb's 404 (code 68, "recording not found") for any id. What the
recordings work adds is where recordings come from: `_find` asks the store, the four routes on
one recording look it up (and stream its audio); routes, filters and rendering stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from percl.api.auth import PathAccount
from percl.api.calls import owned_call
from percl.api.conferences import day_bounds, owned_conference
from percl.api.deps import ApiDeps, deps_of
from percl.api.pagination import paginate
from percl.api.render import envelope, parse_filter_time
from percl.domain.records import Account, Recording
from percl.errors import NotFound

router = APIRouter()

CODE_RECORDING_NOT_FOUND = 68  # FreeClimb's "recording not found"


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
    """The account's recordings that `flt` keeps, newest first. None can be made yet."""
    return ()


def recording_not_found(recording_id: str) -> NotFound:
    """FreeClimb's 404 for a recording id the account does not have (code 68)."""
    return NotFound(f"Recording {recording_id} not found", code=CODE_RECORDING_NOT_FOUND)


def _page(request: Request, found: Sequence[Recording]) -> dict[str, Any]:
    deps = deps_of(request)
    return paginate(request, found, "recordings", render_recording,
                    page_size=deps.page_size, max_list=deps.max_list)


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


# Until the recordings work stores recordings, no id is a recording of the account: each
# operation on one answers FreeClimb's 404 (code 68), as it would for an unknown id.


@router.get("/Accounts/{account_id}/Recordings/{recording_id}")
async def get_recording(account: PathAccount, recording_id: str) -> dict[str, Any]:
    """get-a-recording: 200 RecordingResult once recordings exist; 404 (code 68) for an unknown id."""
    raise recording_not_found(recording_id)


@router.delete("/Accounts/{account_id}/Recordings/{recording_id}", status_code=204)
async def delete_recording(account: PathAccount, recording_id: str) -> None:
    """delete-a-recording: 204 once recordings exist; 404 (code 68) for an unknown id."""
    raise recording_not_found(recording_id)


@router.get("/Accounts/{account_id}/Recordings/{recording_id}/Stream")
async def stream_recording(account: PathAccount, recording_id: str) -> None:
    """stream-a-recording-file: 200 audio/wav once recordings exist; 404 (code 68) for an
    unknown id."""
    raise recording_not_found(recording_id)


@router.get("/Accounts/{account_id}/Recordings/{recording_id}/Download")
async def download_recording(account: PathAccount, recording_id: str) -> None:
    """download-a-recording-file: 200 audio/wav attachment once recordings exist; 404 (code 68)
    for an unknown id."""
    raise recording_not_found(recording_id)
