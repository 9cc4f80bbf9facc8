"""The page's signalling socket (/webrtc/v1/socket) over a real WebSocket on loopback: the token
first, then JSON messages; refusals say why and close with the documented codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from percl.telephony.webrtc.socket import CLOSE_REFUSED, CLOSE_UNAVAILABLE
from percl.testing.harness import Harness

NUMBER = "+13125550100"
WAIT_S = 10.0


@pytest_asyncio.fixture(params=["audio"])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Harness, str]]:
    async with Harness(media=request.param) as h:
        server = uvicorn.Server(uvicorn.Config(h.platform.asgi, host="127.0.0.1", port=0,
                                               log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve())
        try:
            async with asyncio.timeout(WAIT_S):
                while not server.started:
                    await asyncio.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            yield h, f"ws://127.0.0.1:{port}/webrtc/v1/socket"
        finally:
            server.should_exit = True
            await serving


async def _token(h: Harness, uses: int = 1) -> str:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "hi"}}])
    number = await h.number_for(app, number=NUMBER)
    made = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/WebRTC/Token",
                             json={"to": number, "from": number, "uses": uses})
    return made.text


async def _next(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
    return message


async def test_a_page_says_hello_registers_and_is_told_what_it_got_wrong(
        served: tuple[Harness, str]) -> None:
    h, url = served
    token = await _token(h, uses=3)
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        assert await _next(ws) == {"type": "ready", "from": NUMBER, "to": NUMBER, "usesLeft": 3}
        await ws.send(json.dumps({"type": "register", "number": "+15550100777"}))
        assert await _next(ws) == {"type": "registered", "number": "+15550100777"}
        assert h.platform.webrtc is not None and h.platform.webrtc.handles("+15550100777")
        for sent, request, why in [
            ("{not json", None, "JSON"),
            ("[1, 2]", None, "JSON object"),
            (json.dumps({"type": "fax"}), "fax", "unknown message type"),
            (json.dumps({"type": "dtmf", "digits": "1"}), "dtmf", "no call"),
            (json.dumps({"type": "dtmf"}), "dtmf", "`digits` must be"),
            (json.dumps({"type": "register", "number": NUMBER}), "register", "incoming number"),
            (json.dumps({"type": "call", "sdp": "v=0"}), "call", "the offer has no audio"),
            (json.dumps({"type": "accept", "callId": "CA1", "sdp": "v=0"}), "accept",
             "no longer ringing"),
        ]:
            await ws.send(sent)
            error = await _next(ws)
            assert error["type"] == "error" and error["request"] == request, error
            assert why in error["message"], error
    async with asyncio.timeout(WAIT_S):  # the closed page no longer rings
        while h.platform.webrtc.handles("+15550100777"):
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(("first", "why"), [
    ({"type": "hello", "token": "nope"}, "not a WebRTC token"),
    ({"type": "call", "sdp": "v=0"}, "first message must be"),
])
async def test_a_page_without_a_good_token_is_refused(served: tuple[Harness, str],
                                                      first: dict[str, str], why: str) -> None:
    _, url = served
    async with connect(url) as ws:
        await ws.send(json.dumps(first))
        error = await _next(ws)
        assert error["type"] == "error" and why in error["message"]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_REFUSED


@pytest.mark.parametrize("served", ["symbolic"], indirect=True)
async def test_symbolic_media_tells_the_page_it_needs_audio(served: tuple[Harness, str]) -> None:
    _, url = served
    async with connect(url) as ws:
        error = await _next(ws)
        assert error["type"] == "error" and "PERCL_MEDIA=audio" in error["message"]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_UNAVAILABLE
