"""/Accounts/{accountId}/Calls: make a call (202), list, get, update a live call (202, empty).

The API checks the shape of a request (types, E.164, ifMachine rules); the engine
(`CallControl`) decides what the request means (application lookup, callConnectUrl resolution,
parent state) and raises ApiErrors of its own.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field, StrictBool, StrictInt, StrictStr

from percl.api.auth import PathAccount, path_account
from percl.api.deps import ApiDeps, deps_of, request_id_of
from percl.api.fields import (
    APPLICATION_ID_RE,
    E164,
    ApplicationId,
    CallId,
    Destination,
    HttpUrl,
    WireModel,
)
from percl.api.json_body import json_payload, validated
from percl.api.owned import of_account
from percl.api.pagination import SortKey, matched_count, open_page, page_envelope
from percl.api.render import envelope, iso, parse_filter_time, rfc1123
from percl.domain.enums import CallStatus
from percl.domain.records import Account, Call
from percl.engine.ports import CallFilter, Store
from percl.engine.service import MakeCallRequest
from percl.errors import BadRequest

router = APIRouter()

# Digits 0-9 * # and {n} pauses of n units (n a positive integer); w/W are not FreeClimb's.
SEND_DIGITS_RE = re.compile(r"^(?:[0-9*#]|\{[1-9][0-9]*\})+$")
MAX_APPLICATION_IDS = 16


def _send_digits(value: str) -> str:
    if not SEND_DIGITS_RE.fullmatch(value):
        raise ValueError("may contain only 0-9, *, # and {n} pauses with n a positive integer")
    return value


SendDigits = Annotated[StrictStr, AfterValidator(_send_digits)]


class MakeCallBody(WireModel):
    """FreeClimb's MakeCallRequest, shape only."""

    from_: E164 = Field(alias="from")
    to: Destination
    application_id: ApplicationId | None = Field(default=None, alias="applicationId")
    call_connect_url: HttpUrl | None = Field(default=None, alias="callConnectUrl")
    parent_call_id: CallId | None = Field(default=None, alias="parentCallId")
    send_digits: SendDigits | None = Field(default=None, alias="sendDigits")
    if_machine: Literal["redirect", "hangup"] | None = Field(default=None, alias="ifMachine")
    if_machine_url: HttpUrl | None = Field(default=None, alias="ifMachineUrl")
    timeout: Annotated[StrictInt, Field(gt=0)] | None = None
    privacy_mode: StrictBool | None = Field(default=None, alias="privacyMode")

    def checked(self) -> MakeCallBody:
        """Apply the rules that span fields. Raises BadRequest naming the field."""
        if self.if_machine == "redirect" and self.if_machine_url is None:
            raise BadRequest(
                "ifMachineUrl is required when ifMachine is redirect",
                code=80,
                details={"field": "ifMachineUrl"},
            )
        if self.if_machine != "redirect" and self.if_machine_url is not None:
            raise BadRequest(
                "ifMachineUrl is only allowed when ifMachine is redirect",
                details={"field": "ifMachineUrl"},
            )
        return self


class UpdateCallBody(WireModel):
    """FreeClimb's UpdateCallRequest."""

    status: Literal["canceled", "completed"]


def call_uri(call: Call) -> str:
    return f"/Accounts/{call.account_id}/Calls/{call.call_id}"


def render_call(call: Call) -> dict[str, Any]:
    """CallResult: every documented field, null when absent, durations as JSON ints."""
    uri = call_uri(call)
    return {
        **envelope(uri, call.date_created, call.date_updated, call.revision),
        "dateCreatedISO": iso(call.date_created),
        "dateUpdatedISO": iso(call.date_updated),
        "callId": call.call_id,
        "parentCallId": call.parent_call_id,
        "accountId": call.account_id,
        "from": call.from_,
        "to": call.to,
        "phoneNumberId": call.phone_number_id,
        "status": call.status.value,
        "startTime": rfc1123(call.start_time),
        "startTimeISO": iso(call.start_time),
        "connectTime": rfc1123(call.connect_time),
        "connectTimeISO": iso(call.connect_time),
        "endTime": rfc1123(call.end_time),
        "endTimeISO": iso(call.end_time),
        "duration": call.duration,
        "connectDuration": call.connect_duration,
        "audioStreamDuration": call.audio_stream_duration,  # 0: the call never streamed
        "direction": call.direction.value,
        "answeredBy": call.answered_by.value if call.answered_by is not None else None,
        "callerName": call.caller_name,
        "webRTC": call.web_rtc,
        "subresourceUris": {"logs": f"{uri}/Logs", "recordings": f"{uri}/Recordings"},
        "applicationId": call.application_id,
    }


async def owned_call(store: Store, account: Account, call_id: str) -> Call:
    """The account's call `call_id`. Raises NotFound for unknown or foreign ids."""
    return of_account(await store.get_call(call_id), account, f"Call {call_id}")


#: make-a-call's path: a plain route that create_api puts before every other (see make_call).
MAKE_CALL_PATH = "/Accounts/{account_id}/Calls"


async def make_call(request: Request) -> Response:
    """make-a-call: 202 CallResult (status normally `queued`).

    A plain Starlette route, not a FastAPI operation: every outbound call starts here, and
    FastAPI's per-request work for an operation (its included-router matching, dependency
    solving, the body through a TypeAdapter, the answer validated against `dict[str, Any]`)
    was ~0.36 M instructions of a call setup's 7.3 M (docs/BENCHMARKS.md). The steps and their
    order are the operation's: the body is read and decoded first, then the path must name the
    caller, then the body is validated (api/json_body.py), so every error is the one FastAPI
    gave.
    """
    payload = await json_payload(request)
    account = await path_account(request, request.path_params["account_id"])
    body = validated(MakeCallBody, payload)
    result = await start_call(deps_of(request), account, body, request_id_of(request))
    return JSONResponse(result, status_code=202)


async def start_call(
    deps: ApiDeps, account: Account, body: MakeCallBody, request_id: str | None
) -> dict[str, Any]:
    """Check `body`'s cross-field rules, make the call, render its CallResult. Raises BadRequest
    for the rules, and whatever ApiError `CallControl.make_call` raises."""
    body.checked()
    call = await deps.calls.make_call(
        account,
        MakeCallRequest(
            from_=body.from_,
            to=body.to,
            application_id=body.application_id,
            call_connect_url=body.call_connect_url,
            parent_call_id=body.parent_call_id,
            send_digits=body.send_digits,
            if_machine=body.if_machine,
            if_machine_url=body.if_machine_url,
            timeout=body.timeout,
            privacy_mode=body.privacy_mode,
            request_id=request_id,
        ),
    )
    return render_call(call)


def call_filter(
    active: bool,
    to: str | None,
    from_: str | None,
    status: CallStatus | None,
    start_time: str | None,
    end_time: str | None,
    parent_call_id: str | None,
    application_ids: list[str],
    used_audio_stream: bool = False,
    web_rtc: bool = False,
) -> CallFilter:
    """The store filter for GET /Calls. Raises BadRequest naming a malformed parameter."""
    if len(application_ids) > MAX_APPLICATION_IDS:
        raise BadRequest(
            f"applicationId may be given at most {MAX_APPLICATION_IDS} times",
            details={"field": "applicationId"},
        )
    for app_id in application_ids:
        if not APPLICATION_ID_RE.fullmatch(app_id):
            raise BadRequest(
                f"applicationId {app_id!r} must be AP followed by 40 hexadecimal digits",
                details={"field": "applicationId"},
            )
    return CallFilter(
        active=active,
        to=to,
        from_=from_,
        status=status,
        start_time_from=parse_filter_time(start_time, "startTime") if start_time else None,
        end_time_to=parse_filter_time(end_time, "endTime") if end_time else None,
        parent_call_id=parent_call_id,
        application_ids=tuple(application_ids),
        used_audio_stream=used_audio_stream,
        web_rtc=web_rtc,
    )


@router.get("/Accounts/{account_id}/Calls")
async def list_calls(
    request: Request,
    account: PathAccount,
    active: bool = False,
    to: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    status: CallStatus | None = None,
    start_time: Annotated[str | None, Query(alias="startTime")] = None,
    end_time: Annotated[str | None, Query(alias="endTime")] = None,
    parent_call_id: Annotated[str | None, Query(alias="parentCallId")] = None,
    application_id: Annotated[list[str] | None, Query(alias="applicationId")] = None,
    used_audio_stream: Annotated[bool, Query(alias="usedAudioStream")] = False,
    web_rtc: Annotated[bool, Query(alias="webRTC")] = False,
) -> dict[str, Any]:
    """list-calls: 200 CallList, newest first (usedAudioStream: only calls that streamed;
    webRTC: only calls a browser phone placed or answered)."""
    deps = deps_of(request)
    flt = call_filter(
        active, to, from_, status, start_time, end_time, parent_call_id, application_id or [],
        used_audio_stream, web_rtc,
    )
    # Paged in the store: only the page's rows (and one more, to know whether a page follows)
    # are read, after the keyset position the cursor carries; the count runs once per walk.
    page = open_page(request, page_size=deps.page_size, max_list=deps.max_list)
    calls = await deps.store.list_calls(
        account.account_id, flt, limit=page.limit + 1, before=_call_position(page.after)
    )
    more = len(calls) > page.limit
    matched = await matched_count(page, len(calls), more,
                                  lambda: deps.store.count_calls(account.account_id, flt))
    return page_envelope(request, page, matched, calls, more, "calls", render_call, _call_key)


def _call_key(call: Call) -> SortKey:
    """GET /Calls' order: newest first (date_created, then call_id, both descending)."""
    return (call.date_created, call.call_id)


def _call_position(after: SortKey | None) -> tuple[float, str] | None:
    """The store's keyset position from a (verified) cursor's sort key."""
    if after is None:
        return None
    created, call_id = after
    return float(created), str(call_id)


@router.get("/Accounts/{account_id}/Calls/{call_id}")
async def get_call(request: Request, account: PathAccount, call_id: str) -> dict[str, Any]:
    """get-a-call: 200 CallResult; finished calls stay readable."""
    return render_call(await owned_call(deps_of(request).store, account, call_id))


@router.post("/Accounts/{account_id}/Calls/{call_id}", status_code=202)
async def update_call(
    request: Request, account: PathAccount, call_id: str, body: UpdateCallBody
) -> Response:
    """update-a-live-call: 202 with an empty body. 404 when unknown or already finished."""
    deps = deps_of(request)
    await owned_call(deps.store, account, call_id)
    await deps.calls.update_call(account, call_id, body.status)
    return Response(status_code=202)
