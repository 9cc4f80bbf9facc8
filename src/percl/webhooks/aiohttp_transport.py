"""The production WebhookTransport: one pooled aiohttp ClientSession.

Why aiohttp and not httpx: webhooks are percl's hot path, and on the 2-core reference machine
aiohttp's ClientSession sustained ~7,700 POST/s against a local uvicorn app where httpx 0.28's
AsyncClient managed ~400 (encode/httpx#3215). The session is created lazily, on the first POST,
because aiohttp binds a session to the event loop that is running when it is made.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from types import TracebackType

import aiohttp

from percl.webhooks.transport import TransportError, TransportResponse

_CHUNK = 64 * 1024


class AiohttpTransport:
    """POSTs webhooks over real HTTP. Call `close()` (or use `async with`) at shutdown."""

    def __init__(self, limit: int = 1000, ca_file: str | None = None) -> None:
        """`ca_file`: a PEM CA trusted besides the system's (an app with a local certificate)."""
        self._limit = limit
        self._ssl: ssl.SSLContext | bool = True
        if ca_file is not None:
            self._ssl = ssl.create_default_context()
            self._ssl.load_verify_locations(cafile=ca_file)
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, ttl_dns_cache=300, ssl=self._ssl)
            # No client-side timeout: the dispatcher races the request against its Clock.
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=None)
            )
        return self._session

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """POST and read the answer, at most `limit` bytes of it. Redirects are not followed (a
        3xx is the answer).

        Raises TransportError for anything that prevents an HTTP answer.
        """
        session = self._get_session()
        try:
            async with session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                return await _answer(response, limit)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            # ValueError: aiohttp rejects some malformed URLs before InvalidURL can be raised.
            raise TransportError(_describe(exc)) from exc

    async def get(
        self, url: str, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """GET and read the answer (media and grammar files), at most `limit` bytes of it;
        errors as for `post`."""
        session = self._get_session()
        try:
            async with session.get(url, headers=headers, allow_redirects=True) as response:
                return await _answer(response, limit)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise TransportError(_describe(exc)) from exc

    async def close(self) -> None:
        """Close pooled connections. The transport may be used again afterwards (new session)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AiohttpTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def _answer(response: aiohttp.ClientResponse, limit: int | None) -> TransportResponse:
    """The response with at most `limit` bytes of its body, read chunk by chunk so that a huge
    answer is never buffered: reading stops at the cap (leaving the `async with` then drops the
    connection instead of draining it)."""
    headers = dict(response.headers)
    if limit is None or _whole_fits(response, limit):
        return TransportResponse(response.status, headers, await response.read())
    chunks: list[bytes] = []
    room = limit
    content = response.content
    # `read` until it returns b"", as iter_chunked does, without an async iterator's calls and
    # StopAsyncIteration per answer.
    while chunk := await content.read(_CHUNK):
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return TransportResponse(response.status, headers, b"".join(chunks), truncated=True)
        chunks.append(chunk)
        room -= len(chunk)
    return TransportResponse(response.status, headers, b"".join(chunks))


def _whole_fits(response: aiohttp.ClientResponse, limit: int) -> bool:
    """Whether the whole body is known to fit in `limit` bytes: a Content-Length within it and no
    Content-Encoding (aiohttp reads exactly Content-Length bytes; a compressed body could unpack
    to more). Such a body is read in one go: the usual webhook answer, and chunk by chunk it cost
    an async iterator and a dozen calls more."""
    length = response.content_length
    return length is not None and length <= limit and "Content-Encoding" not in response.headers


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"connection failed: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        # aiohttp's own text names "ssl:default" even for an http URL: say only what failed
        os_error = exc.os_error
        why = ("connection refused" if isinstance(os_error, ConnectionRefusedError)
               else os_error.strerror or str(os_error) or type(os_error).__name__)
        return f"connection failed: cannot connect to {exc.host}:{exc.port} ({why})"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
