"""/Accounts/{accountId}/Conferences: create (200), list, get, update (204: alias, playBeep,
status empty|terminated); participants: list, get, update (200: talk, listen, dtmfPassThrough),
remove (204: the leg goes on with its leaveConferenceUrl, or is hung up).

Reads come straight from the store; changes go through the engine's `ConferenceControl`, which
serialises them with the legs in the conference. Status codes are the ones the official SDK
expects (create answers 200 although FreeClimb's prose says 202).
"""

from __future__ import annotations

import calendar
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field, StrictBool

from percl.api.auth import PathAccount
from percl.api.deps import ApiDeps, deps_of, request_id_of
from percl.api.fields import Alias, HttpUrl, WireModel
from percl.api.owned import of_account
from percl.api.pagination import paginate
from percl.api.render import envelope
from percl.domain.enums import ConferenceStatus, PlayBeep
from percl.domain.records import Account, Conference, Participant
from percl.engine.ports import ConferenceFilter, ParticipantFilter, Store
from percl.engine.service import (
    ConferenceControl,
    ConferenceUpdate,
    NewConference,
    ParticipantUpdate,
)
from percl.errors import ApiError, BadRequest, NotFound

router = APIRouter()

DAY_FORMAT = "%Y-%m-%d"


class CreateConferenceBody(WireModel):
    """FreeClimb's CreateConferenceRequest (statusCallbackUrl required since 2025-02)."""

    alias: Alias | None = None
    play_beep: PlayBeep | None = Field(default=None, alias="playBeep")
    record: StrictBool | None = None
    wait_url: HttpUrl | None = Field(default=None, alias="waitUrl")
    status_callback_url: HttpUrl | None = Field(default=None, alias="statusCallbackUrl")


class UpdateConferenceBody(WireModel):
    """FreeClimb's UpdateConferenceRequest."""

    alias: Alias | None = None
    play_beep: PlayBeep | None = Field(default=None, alias="playBeep")
    status: Literal["empty", "terminated"] | None = None


class UpdateParticipantBody(WireModel):
    """FreeClimb's UpdateConferenceParticipantRequest."""

    talk: StrictBool | None = None
    listen: StrictBool | None = None
    dtmf_pass_through: StrictBool | None = Field(default=None, alias="dtmfPassThrough")


def conference_uri(conference: Conference) -> str:
    return f"/Accounts/{conference.account_id}/Conferences/{conference.conference_id}"


def render_conference(conference: Conference) -> dict[str, Any]:
    """ConferenceResult."""
    uri = conference_uri(conference)
    return {
        **envelope(uri, conference.date_created, conference.date_updated, conference.revision),
        "conferenceId": conference.conference_id,
        "accountId": conference.account_id,
        "alias": conference.alias,
        "playBeep": conference.play_beep.value,
        "record": conference.record,
        "status": conference.status.value,
        "waitUrl": conference.wait_url,
        "actionUrl": conference.action_url,
        "statusCallbackUrl": conference.status_callback_url,
        "subresourceUris": {"participants": f"{uri}/Participants",
                            "recordings": f"{uri}/Recordings"},
    }


def render_participant(p: Participant) -> dict[str, Any]:
    """ConferenceParticipantResult."""
    uri = f"/Accounts/{p.account_id}/Conferences/{p.conference_id}/Participants/{p.call_id}"
    return {
        **envelope(uri, p.date_created, p.date_updated, p.revision),
        "accountId": p.account_id,
        "conferenceId": p.conference_id,
        "callId": p.call_id,
        "talk": p.talk,
        "listen": p.listen,
        "dtmfPassThrough": p.dtmf_pass_through,
        "startConfOnEnter": p.start_conf_on_enter,
    }


async def owned_conference(store: Store, account: Account, conference_id: str) -> Conference:
    """The account's conference. Raises NotFound for unknown or foreign ids."""
    return of_account(await store.get_conference(conference_id), account,
                      f"Conference {conference_id}", code=66)


def day_bounds(value: str, field: str) -> tuple[float, float]:
    """[start, end) epoch seconds of the UTC day written `YYYY-MM-DD`. Raises BadRequest."""
    try:
        start = calendar.timegm(time.strptime(value.strip(), DAY_FORMAT))
    except ValueError:
        raise BadRequest(f"{field} must be a date written YYYY-MM-DD, got {value!r}",
                         details={"field": field}) from None
    return float(start), float(start + 86_400)


def _control(deps: ApiDeps) -> ConferenceControl:
    if deps.conferences is None:  # a wiring bug: app.py always gives one
        raise ApiError("Conferences are not available on this server", code=0, status=500)
    return deps.conferences


@router.post("/Accounts/{account_id}/Conferences")
async def create_conference(
    request: Request, account: PathAccount, body: CreateConferenceBody
) -> dict[str, Any]:
    """create-a-conference: 200 ConferenceResult (status empty); statusCallbackUrl hears
    createConference."""
    if body.status_callback_url is None:
        raise BadRequest("statusCallbackUrl is required", code=80,
                         details={"field": "statusCallbackUrl"})
    deps = deps_of(request)
    conference = await _control(deps).create_conference(account, NewConference(
        status_callback_url=body.status_callback_url, alias=body.alias,
        play_beep=body.play_beep or PlayBeep.ALWAYS, record=bool(body.record),
        wait_url=body.wait_url, request_id=request_id_of(request),
    ))
    return render_conference(conference)


@router.get("/Accounts/{account_id}/Conferences")
async def list_conferences(
    request: Request,
    account: PathAccount,
    status: ConferenceStatus | None = None,
    alias: str | None = None,
    date_created: Annotated[str | None, Query(alias="dateCreated")] = None,
    date_updated: Annotated[str | None, Query(alias="dateUpdated")] = None,
) -> dict[str, Any]:
    """list-conferences: 200 ConferenceList, newest first; dates are whole UTC days."""
    deps = deps_of(request)
    created = day_bounds(date_created, "dateCreated") if date_created else (None, None)
    updated = day_bounds(date_updated, "dateUpdated") if date_updated else (None, None)
    flt = ConferenceFilter(status=status, alias=alias, created_from=created[0],
                           created_to=created[1], updated_from=updated[0], updated_to=updated[1])
    found = await deps.store.list_conferences(account.account_id, flt)
    return paginate(request, found, "conferences", render_conference,
                    page_size=deps.page_size, max_list=deps.max_list,
                    sort_key=lambda c: (c.date_created, c.conference_id), descending=True)


@router.get("/Accounts/{account_id}/Conferences/{conference_id}")
async def get_conference(request: Request, account: PathAccount, conference_id: str) -> dict[str, Any]:
    """get-a-conference: 200 ConferenceResult (terminated ones stay readable)."""
    return render_conference(await owned_conference(deps_of(request).store, account, conference_id))


@router.post("/Accounts/{account_id}/Conferences/{conference_id}", status_code=204)
async def update_conference(
    request: Request, account: PathAccount, conference_id: str, body: UpdateConferenceBody
) -> Response:
    """update-a-conference: 204. status terminated hangs every participant up; empty removes
    them all (each goes on with its leaveConferenceUrl, or is hung up)."""
    deps = deps_of(request)
    await owned_conference(deps.store, account, conference_id)
    await _control(deps).update_conference(account, conference_id, ConferenceUpdate(
        alias=body.alias, play_beep=body.play_beep, status=body.status))
    return Response(status_code=204)


@router.get("/Accounts/{account_id}/Conferences/{conference_id}/Participants")
async def list_participants(
    request: Request,
    account: PathAccount,
    conference_id: str,
    talk: bool | None = None,
    listen: bool | None = None,
    dtmf_pass_through: Annotated[bool | None, Query(alias="dtmfPassThrough")] = None,
) -> dict[str, Any]:
    """list-participants: 200 ConferenceParticipantList, in the order they joined."""
    deps = deps_of(request)
    await owned_conference(deps.store, account, conference_id)
    flt = ParticipantFilter(talk=talk, listen=listen, dtmf_pass_through=dtmf_pass_through)
    found = await deps.store.list_participants(conference_id, flt)
    return paginate(request, found, "participants", render_participant,
                    page_size=deps.page_size, max_list=deps.max_list,
                    sort_key=lambda p: (p.date_created, p.call_id))


@router.get("/Accounts/{account_id}/Conferences/{conference_id}/Participants/{call_id}")
async def get_participant(
    request: Request, account: PathAccount, conference_id: str, call_id: str
) -> dict[str, Any]:
    """get-a-participant: 200 ConferenceParticipantResult; 404 once the leg has left."""
    deps = deps_of(request)
    await owned_conference(deps.store, account, conference_id)
    participant = await deps.store.get_participant(conference_id, call_id)
    if participant is None:
        raise NotFound(f"Participant {call_id} not found in conference {conference_id}", code=66)
    return render_participant(participant)


@router.post("/Accounts/{account_id}/Conferences/{conference_id}/Participants/{call_id}")
async def update_participant(
    request: Request, account: PathAccount, conference_id: str, call_id: str,
    body: UpdateParticipantBody,
) -> dict[str, Any]:
    """update-a-participant: 200 ConferenceParticipantResult."""
    deps = deps_of(request)
    await owned_conference(deps.store, account, conference_id)
    participant = await _control(deps).update_participant(
        account, conference_id, call_id, ParticipantUpdate(
            talk=body.talk, listen=body.listen, dtmf_pass_through=body.dtmf_pass_through))
    return render_participant(participant)


@router.delete("/Accounts/{account_id}/Conferences/{conference_id}/Participants/{call_id}",
               status_code=204)
async def remove_participant(
    request: Request, account: PathAccount, conference_id: str, call_id: str
) -> Response:
    """remove-a-participant: 204."""
    deps = deps_of(request)
    await owned_conference(deps.store, account, conference_id)
    await _control(deps).remove_participant(account, conference_id, call_id)
    return Response(status_code=204)
