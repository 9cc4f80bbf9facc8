"""The asyncio shell around `AnsweringUas`: one UDP socket and one timer task.

All SIP logic is in the sans-I/O core; this module only moves datagrams between the socket and
the core and wakes the core at its next deadline (websockets style: the shell owns the timers).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from percl.telephony.sip.uas import AnsweringUas, Outgoing


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: UdpUas) -> None:
        self._endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._endpoint.datagram(data, (str(addr[0]), int(addr[1])))


class UdpUas:
    """Serve `core` on a UDP socket. Use `await UdpUas.start(...)`, then `await close()`."""

    def __init__(self, core: AnsweringUas, clock: Callable[[], float]) -> None:
        self.core = core
        self._clock = clock
        self._transport: asyncio.DatagramTransport | None = None
        self._wake = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, core: AnsweringUas, host: str = "127.0.0.1", port: int = 0) -> UdpUas:
        loop = asyncio.get_running_loop()
        endpoint = cls(core, loop.time)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(endpoint), local_addr=(host, port))
        endpoint._transport = transport
        endpoint._timer = asyncio.create_task(endpoint._run_timers())
        return endpoint

    @property
    def address(self) -> tuple[str, int]:
        assert self._transport is not None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def datagram(self, data: bytes, source: tuple[str, int]) -> None:
        self._send(self.core.receive(data, source, self._clock()))
        self._wake.set()  # the core may have a new, earlier deadline

    def _send(self, outgoing: list[Outgoing]) -> None:
        if self._transport is None:
            return
        for item in outgoing:
            with contextlib.suppress(OSError):  # an unreachable peer must not stop the others
                self._transport.sendto(item.data, item.address)

    async def _run_timers(self) -> None:
        while True:
            deadline = self.core.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            self._wake.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands as
            # the wake fires, and close() would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._send(self.core.on_time(self._clock()))

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        if self._transport is not None:
            self._transport.close()
            self._transport = None
