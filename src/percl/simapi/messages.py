"""Text messages of virtual phones, under /sim/v1 (the same Basic auth as the REST API).

    POST /messages                    {"from": virtual phone, "to": owned number, "text",
                                       "mediaUrls"?} -> 201 {"messageId"}
    GET  /phones/{number}/messages    what that virtual phone received and sent, oldest first

A message from a virtual phone arrives at once: it is stored `received` on the account owning
`to` (which must be the caller's) and POSTed as `messageDelivery` to the number's smsUrl; the 201
answer does not wait for that webhook. `from` must be a virtual phone, i.e. a number no account
owns (an owned number sends through POST /Accounts/{accountId}/Messages).

The phone's list holds the caller's messages to that number once the carrier delivered them
(status `sent`; `queued`, `sending` or `undelivered` ones never reached the phone) and the
phone's own messages to the caller's numbers: at most the newest 1,000, oldest first, each with
`direction` from the phone's side (`received` or `sent`) and `time` (ISO 8601, when the phone got
or sent it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from percl.domain.enums import MessageDirection, MessageStatus
from percl.domain.phone import is_e164
from percl.domain.records import Message
from percl.engine.messaging.rules import check_numbers
from percl.engine.ports import MessageFilter
from percl.errors import ApiError, BadRequest, NotFound
from percl.simapi.auth import Caller
from percl.simapi.ports import SimApiDeps, SimMessaging
from percl.telephony.sim.control import parse

router = APIRouter()

MAX_LISTED_MESSAGES = 1000


class PhoneMessageIn(BaseModel):
    """POST /messages. Strict like the rest of the sim API: no coercion, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    from_: str = Field(alias="from")
    to: str
    text: str = ""
    media_urls: list[str] = Field(default_factory=list, alias="mediaUrls")


def _deps(request: Request) -> SimApiDeps:
    deps: SimApiDeps = request.app.state.sim_deps
    return deps


def _messaging(deps: SimApiDeps) -> SimMessaging:
    if deps.messages is None:
        raise ApiError("Messaging is not available in this percl", status=503, code=55)
    return deps.messages


@router.post("/messages", status_code=201)
async def phone_texts(request: Request, caller: Caller) -> JSONResponse:
    """A virtual phone texts one of the caller's numbers -> 201 {"messageId"}."""
    deps = _deps(request)
    body = parse(PhoneMessageIn, await request.body(), "message")
    refusal = check_numbers(body.from_, body.to)
    if refusal is not None:
        raise BadRequest(refusal.message, code=refusal.code, details={"field": refusal.field})
    if await deps.store.find_number(body.from_) is not None:
        raise BadRequest(
            f"from {body.from_} is an incoming number of an account, not a virtual phone: send "
            "from it with POST /Accounts/{accountId}/Messages", details={"field": "from"},
        )
    owned = await deps.store.find_number(body.to)
    if owned is None or owned.account_id != caller.account_id:
        raise NotFound(
            f"{body.to} is not an incoming number of this account: buy it first "
            "(POST /IncomingPhoneNumbers), then text it", details={"field": "to"},
        )
    message = await _messaging(deps).receive_from_phone(
        body.from_, body.to, body.text, body.media_urls
    )
    return JSONResponse({"messageId": message.message_id}, status_code=201)


@router.get("/phones/{number}/messages")
async def phone_messages(number: str, request: Request, caller: Caller) -> dict[str, Any]:
    """What virtual phone `number` received from and sent to the caller's numbers."""
    store = _deps(request).store
    if not is_e164(number):
        raise BadRequest(f"number {number!r} is not an E.164 phone number (e.g. +13125550100)",
                         code=9, details={"field": "number"})
    if await store.find_number(number) is not None:
        raise BadRequest(
            f"{number} is an incoming number of an account, not a virtual phone: list its "
            f"messages with GET /Accounts/{{accountId}}/Messages?to={number}",
            details={"field": "number"},
        )
    account_id = caller.account_id
    to_phone = await store.list_messages(
        account_id, MessageFilter(to=number, direction=MessageDirection.OUTBOUND))
    from_phone = await store.list_messages(
        account_id, MessageFilter(from_=number, direction=MessageDirection.INBOUND))
    # The store lists newest first; reversed, a stable sort keeps that order within one instant.
    timeline = [(m.date_updated, m) for m in reversed(to_phone) if m.status is MessageStatus.SENT]
    timeline += [(m.date_created, m) for m in reversed(from_phone)]
    timeline.sort(key=lambda pair: pair[0])
    return {
        "number": number,
        "messages": [_render(m, at) for at, m in timeline[-MAX_LISTED_MESSAGES:]],
    }


def _render(message: Message, at: float) -> dict[str, Any]:
    received = message.direction is MessageDirection.OUTBOUND  # the platform sent it to the phone
    return {
        "messageId": message.message_id,
        "direction": "received" if received else "sent",
        "from": message.from_,
        "to": message.to,
        "text": message.text,
        "mediaUrls": list(message.media_urls),
        "segmentCount": message.segment_count,
        "time": _iso(at),
    }


def _iso(ts: float) -> str:
    millis = int(ts * 1000)
    dt = datetime.fromtimestamp(millis // 1000, UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}Z"
