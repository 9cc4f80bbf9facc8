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

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> TransportResponse:
        """POST and read the whole answer. Redirects are not followed (a 3xx is the answer).

        Raises TransportError for anything that prevents an HTTP answer.
        """
        session = self._get_session()
        try:
            async with session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                data = await response.read()
                return TransportResponse(
                    status=response.status, headers=dict(response.headers), body=data
                )
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            # ValueError: aiohttp rejects some malformed URLs before InvalidURL can be raised.
            raise TransportError(_describe(exc)) from exc

    async def get(self, url: str, headers: Mapping[str, str]) -> TransportResponse:
        """GET and read the whole answer (media and grammar files); errors as for `post`."""
        session = self._get_session()
        try:
            async with session.get(url, headers=headers, allow_redirects=True) as response:
                data = await response.read()
                return TransportResponse(
                    status=response.status, headers=dict(response.headers), body=data
                )
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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed: {exc}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
