"""SIP over TCP and TLS (RFC 3261 section 18, RFC 5626 keep-alives): the asyncio stream shell.

Framing is `message.StreamParser`'s: each message needs a Content-Length, CRLFs between messages
are keep-alives, and a message (headers or body) larger than `MAX_MESSAGE_BYTES` is refused. A
frame that does not parse leaves the stream without framing -- nothing after it can be trusted --
so the connection is closed with a log line (no 400: we cannot tell where a reply would belong).
A double-CRLF "ping" alone in a segment is answered with a single CRLF "pong" (RFC 5626 4.4.1).

TLS is the same code with an `ssl.SSLContext` (server: its certificate; client: what it trusts).
Nothing here knows SIP semantics: handlers get parsed messages and the `Connection` they came on,
and answer on it (responses over a stream go back on the connection the request came in on).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections.abc import Callable
from typing import cast

from percl.telephony.sip.message import ParseError, Request, Response, StreamParser, serialize

log = logging.getLogger(__name__)

Address = tuple[str, int]
DEFAULT_MAX_CONNECTIONS = 1024
"""Connections a server keeps at once; more are closed as they arrive (a flood must not eat fds)."""
_PING = b"\r\n\r\n"
_PONG = b"\r\n"


class Connection(asyncio.Protocol):
    """One SIP stream connection; use `send` to write a message, `close` to end it."""

    def __init__(self, handler: MessageHandler, transport_name: str,
                 server: StreamServer | None = None) -> None:
        self._handler = handler
        self.transport_name = transport_name  # "TCP" or "TLS", for Via and logs
        self._server = server
        self._parser = StreamParser()
        self._transport: asyncio.Transport | None = None
        self.peer: Address = ("", 0)
        self.local: Address = ("", 0)
        self.closed = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport (`percl serve`'s loop) is no asyncio.Transport subclass: cast.
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        peer = transport.get_extra_info("peername") or ("", 0)
        local = transport.get_extra_info("sockname") or ("", 0)
        self.peer, self.local = (str(peer[0]), int(peer[1])), (str(local[0]), int(local[1]))
        if self._server is not None and not self._server.admit(self):
            transport.close()

    def data_received(self, data: bytes) -> None:
        if data == _PING:
            self._write(_PONG)
            return
        try:
            messages = self._parser.feed(data)
        except ParseError as exc:
            log.warning("SIP %s from %s:%d: bad frame, closing the connection: %s",
                        self.transport_name, self.peer[0], self.peer[1], exc)
            self.close()
            return
        for message in messages:
            self._handler(message, self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if not self.closed.done():
            self.closed.set_result(None)
        if self._server is not None:
            self._server.connections.discard(self)

    # -- for the owner
    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def send(self, message: Request | Response) -> None:
        self._write(serialize(message))

    def send_bytes(self, data: bytes) -> None:
        """A message already serialised (the SIP line's agent gives bytes)."""
        self._write(data)

    def _write(self, data: bytes) -> None:
        if self.is_open:
            assert self._transport is not None
            self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def wait_closed(self) -> None:
        await self.closed


MessageHandler = Callable[[Request | Response, Connection], None]


class StreamServer:
    """A SIP TCP (or TLS, given `ssl`) listener. `await StreamServer.start(...)`, `await close()`."""

    def __init__(self, handler: MessageHandler, *, tls: bool,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        self._handler = handler
        self.transport_name = "TLS" if tls else "TCP"
        self.max_connections = max_connections
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None

    @classmethod
    async def start(cls, handler: MessageHandler, host: str = "127.0.0.1", port: int = 0, *,
                    ssl: ssl_module.SSLContext | None = None,
                    max_connections: int = DEFAULT_MAX_CONNECTIONS) -> StreamServer:
        server = cls(handler, tls=ssl is not None, max_connections=max_connections)
        loop = asyncio.get_running_loop()
        server._server = await loop.create_server(server._protocol, host, port, ssl=ssl)
        return server

    def _protocol(self) -> Connection:
        return Connection(self._handler, self.transport_name, self)

    def admit(self, connection: Connection) -> bool:
        """Count a connection made (after the TLS handshake); False when over the limit."""
        if len(self.connections) >= self.max_connections:
            log.warning("SIP %s: %d connections open, refusing another", self.transport_name,
                        len(self.connections))
            return False
        self.connections.add(connection)
        return True

    @property
    def address(self) -> Address:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self.connections):
                connection.close()
            for connection in list(self.connections):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(connection.closed), 5)
            await self._server.wait_closed()
            self._server = None


async def connect(host: str, port: int, handler: MessageHandler, *,
                  ssl: ssl_module.SSLContext | None = None,
                  server_hostname: str | None = None,
                  local_addr: Address | None = None) -> Connection:
    """Open a client connection (TLS when `ssl` is given) and return it once established."""
    loop = asyncio.get_running_loop()
    name = "TLS" if ssl is not None else "TCP"
    _, connection = await loop.create_connection(
        lambda: Connection(handler, name), host, port, ssl=ssl,
        server_hostname=(server_hostname or host) if ssl is not None else None,
        local_addr=local_addr)
    return connection
