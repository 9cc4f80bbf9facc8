"""A plain SIP UDP endpoint: parsed messages in through a callback, messages out by address.

`udp.py` serves the answering UAS core; this is the general shell the other sans-I/O machines
(the REGISTER client, a UAC placing calls through a proxy) use. A datagram that does not parse is
dropped here with a debug log line; answering a bad request with 400 is the UAS core's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from percl.telephony.sip.message import ParseError, Request, Response, parse_message, serialize

log = logging.getLogger(__name__)

Address = tuple[str, int]
DatagramHandler = Callable[[Request | Response, Address], None]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: DatagramEndpoint) -> None:
        self._endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._endpoint.received(data, (str(addr[0]), int(addr[1])))


class DatagramEndpoint:
    """One UDP socket. `await DatagramEndpoint.start(handler, host, port)`, then `close()`."""

    transport_name = "UDP"

    def __init__(self, handler: DatagramHandler) -> None:
        self._handler = handler
        self._transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def start(cls, handler: DatagramHandler, host: str = "127.0.0.1",
                    port: int = 0) -> DatagramEndpoint:
        endpoint = cls(handler)
        loop = asyncio.get_running_loop()
        endpoint._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(endpoint), local_addr=(host, port))
        return endpoint

    @property
    def address(self) -> Address:
        assert self._transport is not None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def received(self, data: bytes, source: Address) -> None:
        if data.strip(b"\r\n") == b"":
            return  # keep-alive
        try:
            message = parse_message(data)
        except ParseError as exc:
            log.debug("SIP UDP from %s:%d: dropped unparsable datagram: %s", *source, exc)
            return
        self._handler(message, source)

    def send(self, message: Request | Response, address: Address) -> None:
        if self._transport is not None:
            with contextlib.suppress(OSError):  # an unreachable peer must not stop the others
                self._transport.sendto(serialize(message), address)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
