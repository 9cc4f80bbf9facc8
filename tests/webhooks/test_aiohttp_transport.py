"""AiohttpTransport against a real aiohttp.web server on 127.0.0.1 (port chosen by the OS)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from percl.webhooks.aiohttp_transport import AiohttpTransport
from percl.webhooks.transport import TransportError

HEADERS = {"Content-Type": "application/json", "FreeClimb-Signature": "t=1,v1=ab",
           "User-Agent": "percl/0.1"}  # fmt: skip


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {
            "body": body.decode(),
            "query": request.query_string,
            "signature": request.headers.get("FreeClimb-Signature"),
            "agent": request.headers.get("User-Agent"),
            "contentType": request.headers.get("Content-Type"),
        },
        status=201,
    )


async def moved(request: web.Request) -> web.Response:
    raise web.HTTPFound("/echo")


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/moved", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    async with AiohttpTransport(limit=10) as t:
        yield t


async def test_posts_body_headers_and_query(base_url: str, transport: AiohttpTransport) -> None:
    response = await transport.post(f"{base_url}/echo?amt=42", b'{"a":1}', HEADERS)
    assert response.status == 201
    assert response.headers["Content-Type"].startswith("application/json")
    got = json.loads(response.body)
    assert got == {"body": '{"a":1}', "query": "amt=42", "signature": "t=1,v1=ab",
                   "agent": "percl/0.1", "contentType": "application/json"}  # fmt: skip


async def test_redirects_are_not_followed(base_url: str, transport: AiohttpTransport) -> None:
    response = await transport.post(f"{base_url}/moved", b"{}", HEADERS)
    assert response.status == 302


async def test_session_is_reused_and_recreated_after_close(
    base_url: str, transport: AiohttpTransport
) -> None:
    await transport.post(f"{base_url}/echo", b"{}", HEADERS)
    session = transport._session
    await transport.post(f"{base_url}/echo", b"{}", HEADERS)
    assert transport._session is session and session is not None
    await transport.close()
    assert session.closed
    assert (await transport.post(f"{base_url}/echo", b"{}", HEADERS)).status == 201


async def test_connection_refused_is_a_transport_error(transport: AiohttpTransport) -> None:
    with socket.socket() as s:  # find a free port, then close it so nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransportError, match="connection failed") as info:
        await transport.post(f"http://127.0.0.1:{port}/", b"{}", HEADERS)
    assert str(info.value) == f"connection failed: cannot connect to 127.0.0.1:{port} (connection refused)"
    assert "ssl" not in str(info.value)  # aiohttp's "ssl:default" means nothing for http


async def test_invalid_url_is_a_transport_error(transport: AiohttpTransport) -> None:
    with pytest.raises(TransportError):
        await transport.post("not a url", b"{}", HEADERS)
