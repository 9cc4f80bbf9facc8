"""TransportFetcher: GET a file the app serves (GetSpeech grammars, Play and waitUrl media), with a
clock deadline and a byte cap (deadline.bounded, as for the webhooks).

It goes through the same transport as the webhooks (the Platform's fault injector), so in tests and
in the test kit a grammar served by the in-process ASGI/WSGI app is fetched in-process, in
production through aiohttp, and a fault rule or `#percl-fault=` fragment applies to files too.
"""

from __future__ import annotations

from percl.domain.clock import Clock
from percl.engine.ports import Fetched
from percl.webhooks.deadline import bounded
from percl.webhooks.transport import FetchTransport, TransportError, TransportResponse

MAX_FETCH_BYTES = 1024 * 1024  # default cap: a grammar document (PERCL_MAX_GRAMMAR_BYTES)


class TransportFetcher:
    """Implements engine.ports.Fetcher over a transport's `get(url, headers, limit=)`.

    `max_bytes` is the cap when a fetch names none (the grammar cap: grammars are the files read
    whole); callers that need only a file's head (the WAV probe) ask for less.
    """

    def __init__(self, transport: FetchTransport, clock: Clock, timeout_s: float = 10.0,
                 user_agent: str = "percl/0.1", *, max_bytes: int = MAX_FETCH_BYTES) -> None:
        self._transport = transport
        self._clock = clock
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._headers = {"User-Agent": user_agent, "Accept": "*/*"}

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> Fetched:
        cap = self._max_bytes if max_bytes is None else max_bytes
        started = self._clock.now()
        get, headers = self._transport.get, self._headers
        try:
            response = await bounded(self._clock, self._timeout_s, cap,
                                     lambda limit: get(url, headers, limit=limit))
        except TransportError as exc:
            return self._result(url, None, started, error=str(exc) or type(exc).__name__)
        if response is None:
            return self._result(url, None, started,
                                error=f"no answer within {self._timeout_s:g} s (timeout)")
        if not 200 <= response.status < 300:
            error: str | None = f"HTTP {response.status}"
        elif response.truncated:
            error = f"the file is larger than {cap} bytes; percl stopped reading it there"
        else:
            error = None
        return self._result(url, response, started, error=error)

    def _result(self, url: str, response: TransportResponse | None, started: float,
                *, error: str | None = None) -> Fetched:
        elapsed = (self._clock.now() - started) * 1000
        if response is None:
            return Fetched(url, None, error=error, elapsed_ms=elapsed)
        headers = {k.lower(): v for k, v in response.headers.items()}
        return Fetched(url, response.status, response.body, headers.get("content-type"), error,
                       elapsed, _length(headers.get("content-length")), response.truncated,
                       headers.get("cache-control"))


def _length(header: str | None) -> int | None:
    """Content-Length as an int, None when absent or not a number."""
    if header is None or not header.strip().isdigit():
        return None
    return int(header.strip())
