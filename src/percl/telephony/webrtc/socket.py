"""The signalling socket of a /phone page: `WS /webrtc/v1/socket` (app.py mounts it).

One JSON message per WebSocket text frame, each an object with a `type`. The page speaks first:

    -> {"type": "hello", "token": "<WebRTC JWT>"}
    <- {"type": "ready", "from": ..., "to": ..., "usesLeft": n}   (or "error", then the close)

then, in any order:

    -> {"type": "register", "number": "+15550100123"}   ring this page for calls to that number
    <- {"type": "registered", "number": ...}
    -> {"type": "call", "sdp": "<offer>"}                call the token's `to` (spends a use)
    <- {"type": "answer", "sdp": "<answer>", "codec": "PCMU"}, then
       {"type": "call", "callId", "from", "to", "direction": "outgoing", "usesLeft": n}
    <- {"type": "incoming", "callId", "from", "to"}       the platform calls this page
    -> {"type": "accept", "callId", "sdp": "<offer>"}    answer it  (<- "answer", "call" with
                                                         direction "incoming", "answered")
    -> {"type": "decline", "callId"}                     busy
    -> {"type": "dtmf", "digits": "12#"}                 keypad
    -> {"type": "hangup"}
    <- {"type": "answered", "callId"}   {"type": "transcript", ...}   {"type": "ended", "callId"}
    <- {"type": "error", "message": ..., "request": "<the type that failed>"}

Why a WebSocket rather than POSTing the offer: the page must hear of incoming calls and of the
call's progress while it is open, and one socket carries both ways with the token checked once.
The token travels in the first message, not the URL, so it stays out of access logs. Keys go
over this socket rather than RFC 4733: aiortc does not negotiate telephone-event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from percl.telephony.webrtc.line import LineError, Message, Page, WebRtcLine
from percl.telephony.webrtc.token import Claims, TokenRefused

HELLO_TIMEOUT_S = 10.0
OUTBOX = 512  # messages queued for a page that does not read; more close its socket
CLOSE_REFUSED = 4001  # the token was refused
CLOSE_SLOW = 4008  # the page stopped reading
CLOSE_UNAVAILABLE = 4003  # this percl carries no audio
NO_AUDIO = ("this percl runs symbolic media (no audio frames): the softphone needs PERCL_MEDIA=audio "
            "(the default of `percl serve`)")


def webrtc_routes(line: WebRtcLine | None) -> list[BaseRoute]:
    """The routes app.py mounts at /webrtc/v1. Without a line (symbolic media: no audio to carry)
    the socket tells the page why and closes."""

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        if line is None:
            await ws.send_json({"type": "error", "request": "hello", "message": NO_AUDIO})
            await ws.close(CLOSE_UNAVAILABLE)
            return
        claims = await _hello(ws, line)
        if claims is not None:
            await _serve(ws, line, claims)

    return [WebSocketRoute("/socket", socket)]


async def _hello(ws: WebSocket, line: WebRtcLine) -> Claims | None:
    """The verified claims of the page's first message; None (the socket closed) otherwise."""
    try:
        async with asyncio.timeout(HELLO_TIMEOUT_S):
            hello = await _receive(ws)
        if hello.get("type") != "hello" or not isinstance(hello.get("token"), str):
            raise TokenRefused('the first message must be {"type": "hello", "token": "<JWT>"}')
        return await line.gate.check(hello["token"])
    except (TimeoutError, WebSocketDisconnect):
        return None
    except (TokenRefused, ValueError) as exc:
        await ws.send_json({"type": "error", "message": str(exc), "request": "hello"})
        await ws.close(CLOSE_REFUSED)
        return None


async def _serve(ws: WebSocket, line: WebRtcLine, claims: Claims) -> None:
    outbox: asyncio.Queue[Message] = asyncio.Queue(OUTBOX)
    page = Page(claims, lambda message: _post(outbox, message))
    page.send({"type": "ready", "from": claims.from_, "to": claims.to,
               "usesLeft": line.gate.left(claims)})
    writer = asyncio.create_task(_write(ws, outbox))
    try:
        await _read(ws, line, page, writer)
    finally:
        line.gone(page)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


def _post(outbox: asyncio.Queue[Message], message: Message) -> None:
    with contextlib.suppress(asyncio.QueueFull):  # the writer closes a socket that stops reading
        outbox.put_nowait(message)


async def _write(ws: WebSocket, outbox: asyncio.Queue[Message]) -> None:
    while True:
        if outbox.full():
            await ws.close(CLOSE_SLOW)
            return
        await ws.send_json(await outbox.get())


async def _read(ws: WebSocket, line: WebRtcLine, page: Page, writer: asyncio.Task[None]) -> None:
    while not writer.done():
        try:
            message = await _receive(ws)
        except WebSocketDisconnect:
            return
        except ValueError as exc:
            page.send({"type": "error", "message": str(exc), "request": None})
            continue
        kind = message.get("type")
        try:
            await _dispatch(line, page, kind, message)
        except (LineError, TokenRefused, ValueError) as exc:
            page.send({"type": "error", "message": str(exc), "request": kind})


async def _dispatch(line: WebRtcLine, page: Page, kind: object, message: dict[str, Any]) -> None:
    if kind == "register":
        await line.register(page, _text(message, "number"))
        page.send({"type": "registered", "number": page.number})
    elif kind == "call":
        await line.place(page, _text(message, "sdp"))
    elif kind == "accept":
        await line.accept(page, _text(message, "callId"), _text(message, "sdp"))
    elif kind == "decline":
        line.decline(page, _text(message, "callId"))
    elif kind == "dtmf":
        line.press(page, _text(message, "digits"))
    elif kind == "hangup":
        line.hang_up(page)
    else:
        raise ValueError(f"unknown message type {kind!r}: expected register, call, accept, "
                         "decline, dtmf or hangup")


async def _receive(ws: WebSocket) -> dict[str, Any]:
    """The next message as a JSON object. Raises ValueError for anything else, and
    WebSocketDisconnect when the page closed."""
    text = await ws.receive_text()
    try:
        message = json.loads(text)
    except ValueError:
        raise ValueError("a message must be JSON") from None
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object with a type")
    return message


def _text(message: dict[str, Any], name: str) -> str:
    value = message.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{message.get('type')}: `{name}` must be a non-empty string")
    return value
