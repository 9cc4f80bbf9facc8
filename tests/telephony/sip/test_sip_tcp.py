"""SIP over TCP and TLS on 127.0.0.1: framing, keep-alives, bad frames, a self-signed TLS server."""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from pathlib import Path

import pytest
import uvloop

from percl.telephony.sip import tcp
from percl.telephony.sip.message import Request, Response, make_response, parse_message, serialize
from percl.testing.agents import self_signed

OPTIONS = (
    "OPTIONS sip:percl@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK{n}\r\n"
    "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:percl@127.0.0.1>\r\n"
    "Call-ID: c{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 4\r\n\r\nbody"
)


def _options(n: int) -> bytes:
    return OPTIONS.format(n=n).encode()


def _echo(message: Request | Response, connection: tcp.Connection) -> None:
    if isinstance(message, Request):
        connection.send(make_response(message, 200, "OK", to_tag="t", body=message.body))


async def _read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: *([0-9]+)", head, re.IGNORECASE)[1])  # type: ignore[index]
    body = await reader.readexactly(length)
    response = parse_message(head + body)
    assert isinstance(response, Response)
    return response


async def test_frames_by_content_length_across_segments_and_answers_pings() -> None:
    server = await tcp.StreamServer.start(_echo)
    reader, writer = await asyncio.open_connection(*server.address)
    try:
        two = _options(1) + b"\r\n" + _options(2)
        for i in range(0, len(two), 7):  # messages cut into small segments
            writer.write(two[i:i + 7])
            await writer.drain()
        first, second = await _read_response(reader), await _read_response(reader)
        assert (first.call_id, second.call_id) == ("c1", "c2") and second.body == b"body"
        writer.write(b"\r\n\r\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(2), 5) == b"\r\n"
    finally:
        writer.close()
        await server.close()


@pytest.mark.parametrize("garbage", [
    b"NOT SIP AT ALL\r\n\r\n",
    _options(3).replace(b"Content-Length: 4", b"Content-Length: 99999999"),
    _options(4).replace(b"Content-Length: 4\r\n", b""),
    b"OPTIONS sip:x SIP/2.0\r\nX: " + b"a" * 70_000,
])
async def test_a_bad_frame_closes_the_connection_with_a_log_line(
        garbage: bytes, caplog: pytest.LogCaptureFixture) -> None:
    server = await tcp.StreamServer.start(_echo)
    reader, writer = await asyncio.open_connection(*server.address)
    try:
        with caplog.at_level(logging.WARNING, logger="percl.telephony.sip.tcp"):
            writer.write(garbage)
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        assert "bad frame, closing the connection" in caplog.text
    finally:
        writer.close()
        await server.close()


async def test_client_connection_and_connection_limit() -> None:
    server = await tcp.StreamServer.start(_echo, max_connections=1)
    got: list[Request | Response] = []
    client = await tcp.connect(*server.address, lambda m, c: got.append(m))
    try:
        request = parse_message(_options(5))
        assert isinstance(request, Request)
        client.send(request)
        async with asyncio.timeout(5):
            while not got:
                await asyncio.sleep(0.01)
        assert isinstance(got[0], Response) and got[0].status == 200
        second = await tcp.connect(*server.address, lambda m, c: None)
        await asyncio.wait_for(second.wait_closed(), 5)  # over the limit: closed at once
        assert client.is_open
    finally:
        client.close()
        await server.close()
    assert not server.connections


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the test kit's throw-away CA), as PEM files."""
    cert, key = self_signed()
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert)
    key_path.write_bytes(key)
    return cert_path, key_path


async def test_tls_with_a_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    server = await tcp.StreamServer.start(_echo, ssl=server_ctx)
    got: list[Request | Response] = []
    client = await tcp.connect(*server.address, lambda m, c: got.append(m), ssl=client_ctx)
    try:
        assert client.transport_name == "TLS" and server.transport_name == "TLS"
        request = parse_message(_options(6).replace(b"/TCP", b"/TLS"))
        assert isinstance(request, Request)
        client.send(request)
        async with asyncio.timeout(5):
            while not got:
                await asyncio.sleep(0.01)
        assert serialize(got[0]).startswith(b"SIP/2.0 200 OK")
        untrusting = ssl.create_default_context()  # the system store does not know our cert
        with pytest.raises(ssl.SSLError):
            await tcp.connect(*server.address, lambda m, c: None, ssl=untrusting)
    finally:
        client.close()
        await server.close()


def test_a_connection_on_uvloop_percl_serves_loop() -> None:
    """`percl serve` runs on uvloop, whose TCP transport is no asyncio.Transport subclass (an
    isinstance assert there refused every SIP connection of a real `percl serve`)."""
    async def exchange() -> str:
        server = await tcp.StreamServer.start(_echo)
        reader, writer = await asyncio.open_connection(*server.address)
        try:
            writer.write(_options(7))
            await writer.drain()
            return (await asyncio.wait_for(_read_response(reader), 5)).call_id
        finally:
            writer.close()
            await server.close()

    loop = uvloop.new_event_loop()
    try:
        assert loop.run_until_complete(exchange()) == "c7"
    finally:
        loop.close()
