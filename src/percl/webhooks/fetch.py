"""TransportFetcher: GET a file the app serves (GetSpeech grammars, media), with a clock-raced timeout.

It goes through the same transport as the webhooks, so in tests and in the test kit a grammar served by
the in-process ASGI/WSGI app is fetched in-process, and in production through aiohttp. Like the
dispatcher, the timeout races the request against the injected Clock, so a FakeClock drives it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from percl.domain.clock import Clock
from percl.engine.ports import Fetched
from percl.webhooks.transport import TransportError, TransportResponse


class TransportFetcher:
    """Implements engine.ports.Fetcher over any transport with a `get(url, headers)` method."""

    def __init__(self, transport: Any, clock: Clock, timeout_s: float = 10.0,
                 user_agent: str = "percl/0.1") -> None:
        self._transport = transport
        self._clock = clock
        self._timeout_s = timeout_s
        self._headers = {"User-Agent": user_agent, "Accept": "*/*"}

    async def fetch(self, url: str) -> Fetched:
        started = self._clock.now()
        getter = getattr(self._transport, "get", None)
        if getter is None:
            return Fetched(url, None, error="this transport cannot fetch files (no GET)")
        try:
            response = await self._race(getter(url, self._headers))
        except TransportError as exc:
            return self._result(url, None, started, error=str(exc) or type(exc).__name__)
        if response is None:
            return self._result(url, None, started,
                                error=f"no answer within {self._timeout_s:g} s (timeout)")
        error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
        return self._result(url, response, started, error=error)

    async def _race(self, request: Any) -> TransportResponse | None:
        """The response, or None when the timeout (clock time) passed first."""
        get = asyncio.ensure_future(request)
        timer = asyncio.ensure_future(self._clock.sleep(self._timeout_s))
        try:
            await asyncio.wait({get, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not get.done():
                get.cancel()
        if not get.done() or get.cancelled():
            return None
        response: TransportResponse = get.result()
        return response

    def _result(self, url: str, response: TransportResponse | None, started: float,
                *, error: str | None = None) -> Fetched:
        elapsed = (self._clock.now() - started) * 1000
        if response is None:
            return Fetched(url, None, error=error, elapsed_ms=elapsed)
        content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type")
        return Fetched(url, response.status, response.body, content_type, error, elapsed)
