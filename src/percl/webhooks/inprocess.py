"""WebhookTransports that call the customer's app in-process: no sockets, no threads.

Used by percl.testing and our own tests: an ASGI app (FastAPI, Starlette), a WSGI app (Flask),
a plain function, and a router that sends each URL prefix to one of them. Each answers the way a
real server would: an exception raised by the app becomes an HTTP 500 response, not a crash, and
a URL no app is mounted at is a refused connection (TransportError). Each stops reading an answer
at the request's byte `limit` (the ASGI and WSGI callers stop the app's stream there).

Pure Python on purpose (no httpx): the whole exchange is a few dictionaries, and keeping it here
lets FakeClock.settle() see every step on the event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import io
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from percl.webhooks.transport import (
    Transport,
    TransportError,
    TransportResponse,
    capped,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WsgiApp = Callable[..., Iterable[bytes]]
FunctionResult = tuple[int, bytes | str]
WebhookFunction = Callable[
    [str, bytes, Mapping[str, str]], FunctionResult | Awaitable[FunctionResult]
]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _server_error() -> TransportResponse:
    return TransportResponse(
        500, {"content-type": "text/plain; charset=utf-8"}, b"Internal Server Error"
    )


class _Url:
    """The pieces of a webhook URL that ASGI scopes and WSGI environs need."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise TransportError(f"invalid URL: {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self.netloc = parts.netloc
        self.raw_path = parts.path or "/"
        self.query = parts.query


# --------------------------------------------------------------------------- ASGI


class AsgiTransport:
    """Calls an ASGI 3 app in-process with one `http` request (no lifespan)."""

    def __init__(self, app: AsgiApp) -> None:
        self._app = app

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """Run the app on one POST; an exception from the app (or no response) answers 500.

        Raises TransportError when `url` is not an absolute http(s) URL.
        """
        return await self._call("POST", url, body, headers, limit)

    async def get(
        self, url: str, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """Run the app on one GET (media and grammar files); errors as for `post`."""
        return await self._call("GET", url, b"", headers, limit)

    async def _call(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], limit: int | None
    ) -> TransportResponse:
        scope = _asgi_scope(_Url(url), body, headers, method)
        exchange = _AsgiExchange(body, limit)
        try:
            await self._app(scope, exchange.receive, exchange.send)
        except Exception:
            if not exchange.truncated:  # else: our own _Enough, raised by send at the cap
                return _server_error()
        finally:
            exchange.done.set()
        return exchange.response() or _server_error()


def _asgi_scope(url: _Url, body: bytes, headers: Mapping[str, str], method: str) -> Scope:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    names = {name for name, _ in raw}
    if b"host" not in names:
        raw.append((b"host", url.netloc.encode("latin-1")))
    if b"content-length" not in names:
        raw.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": url.scheme,
        "path": unquote(url.raw_path),
        "raw_path": url.raw_path.encode(),
        "query_string": url.query.encode(),
        "root_path": "",
        "headers": raw,
        "server": (url.host, url.port),
        "client": ("127.0.0.1", 0),
    }


class _Enough(Exception):
    """Raised into the app by `send` once its answer passed the byte limit: stops its stream."""


class _AsgiExchange:
    """The two ends of one ASGI request: feeds the body, collects the response (at most `limit`
    bytes of it: past that, `send` raises into the app, as a closed connection would)."""

    def __init__(self, body: bytes, limit: int | None = None) -> None:
        self._body = body
        self._body_sent = False
        self.done = asyncio.Event()  # set when the response is complete or the app returned
        self._status: int | None = None
        self._headers: dict[str, str] = {}
        self._chunks: list[bytes] = []
        self._room = limit
        self.truncated = False

    async def receive(self) -> Message:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self._body, "more_body": False}
        # Like a real client, we stay connected until the response is complete (apps such as
        # Starlette's StreamingResponse listen for a disconnect while they answer).
        await self.done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = int(message["status"])
            for name, value in message.get("headers", []):
                self._headers[bytes(name).decode("latin-1")] = bytes(value).decode("latin-1")
        elif message["type"] == "http.response.body" and self._status is not None:
            if self.truncated:
                raise _Enough
            chunk = bytes(message.get("body", b""))
            if self._room is not None:
                if len(chunk) > self._room:
                    self._chunks.append(chunk[: self._room])
                    self.truncated = True
                    self.done.set()
                    raise _Enough
                self._room -= len(chunk)
            self._chunks.append(chunk)
            if not message.get("more_body", False):
                self.done.set()

    def response(self) -> TransportResponse | None:
        if self._status is None:
            return None
        return TransportResponse(self._status, self._headers, b"".join(self._chunks), self.truncated)


# --------------------------------------------------------------------------- WSGI


class WsgiTransport:
    """Calls a WSGI app (PEP 3333, e.g. Flask) synchronously on the event loop's thread."""

    def __init__(self, app: WsgiApp, *, multithread: bool = False) -> None:
        """`multithread`: the app may get concurrent requests (from worker threads: `call`),
        which the environ's `wsgi.multithread` tells it."""
        self._app = app
        self._multithread = multithread

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """Run the app on one POST; an exception from the app (or no response) answers 500.

        Raises TransportError when `url` is not an absolute http(s) URL.
        """
        return self._call("POST", url, body, headers, limit)

    async def get(
        self, url: str, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """Run the app on one GET (media and grammar files); errors as for `post`."""
        return self._call("GET", url, b"", headers, limit)

    def call(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str],
        limit: int | None = None,
    ) -> TransportResponse:
        """Run the app on one request, blocking: for a caller in a worker thread, which needs no
        event loop for it (percl.testing runs apps so); errors as for `post`."""
        return self._call(method, url, body, headers, limit)

    def _call(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str],
        limit: int | None = None,
    ) -> TransportResponse:
        environ = _wsgi_environ(_Url(url), body, headers, method)
        environ["wsgi.multithread"] = self._multithread
        state: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(
            status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            state["status"] = int(status.split(" ", 1)[0])
            state["headers"] = dict(response_headers)
            return chunks.append

        try:
            result = self._app(environ, start_response)
            try:
                truncated = _read_wsgi(result, chunks, limit)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            return _server_error()
        if "status" not in state:
            return _server_error()
        body_read = b"".join(chunks)
        if truncated:
            body_read = body_read[:limit]
        return TransportResponse(state["status"], state["headers"], body_read, truncated)


def _read_wsgi(result: Iterable[bytes], chunks: list[bytes], limit: int | None) -> bool:
    """Append the app's body chunks to `chunks`, stopping (True) once they pass `limit` bytes:
    the rest of the iterable is never produced."""
    size = sum(len(c) for c in chunks)  # what the app wrote through start_response's write()
    for chunk in result:
        chunks.append(bytes(chunk))
        size += len(chunk)
        if limit is not None and size > limit:
            return True
    return False


def _wsgi_environ(
    url: _Url, body: bytes, headers: Mapping[str, str], method: str
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        # PEP 3333: the decoded path as bytes-in-latin-1 ("native string").
        "PATH_INFO": unquote_to_bytes(url.raw_path).decode("latin-1"),
        "QUERY_STRING": url.query,
        "SERVER_NAME": url.host,
        "SERVER_PORT": str(url.port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": url.netloc,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    return environ


# --------------------------------------------------------------------------- function + router


class FunctionTransport:
    """Calls `fn(url, body, headers)`, which returns `(status, body)` or an awaitable of it.

    `fn` may raise TransportError to play a refused connection; any other exception answers 500,
    as the ASGI and WSGI callers do.
    """

    def __init__(self, fn: WebhookFunction) -> None:
        self._fn = fn

    async def get(
        self, url: str, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """A GET is `fn(url, b"", headers)`: the function tells it from a POST by the empty body."""
        return await self.post(url, b"", headers, limit=limit)

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        try:
            result = self._fn(url, body, headers)
            if inspect.isawaitable(result):
                result = await result
        except TransportError:
            raise
        except Exception:
            return _server_error()
        status, payload = result
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        return capped(TransportResponse(status, {}, data), limit)


class RoutingTransport:
    """Sends each URL to the transport mounted at its longest matching prefix, else `default`."""

    def __init__(self, default: Transport | None = None) -> None:
        self._default = default
        self._mounts: dict[str, Transport] = {}

    def mount(self, prefix: str, transport: Transport) -> None:
        """Route URLs starting with `prefix` (e.g. "http://app.test/") to `transport`."""
        self._mounts[prefix] = transport

    def unmount(self, prefix: str) -> None:
        """Stop routing `prefix`; its URLs then go to a shorter prefix or the default."""
        self._mounts.pop(prefix, None)

    def route(self, url: str) -> Transport | None:
        """The transport `url` would be sent to, or None (a refused connection)."""
        matches = [prefix for prefix in self._mounts if url.startswith(prefix)]
        if not matches:
            return self._default
        return self._mounts[max(matches, key=len)]

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """Raises TransportError("connection refused") when nothing is mounted for `url`."""
        transport = self.route(url)
        if transport is None:
            raise TransportError("connection refused")
        return await transport.post(url, body, headers, limit=limit)

    async def get(
        self, url: str, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """GET through the mounted transport; TransportError when nothing is mounted."""
        transport = self.route(url)
        if transport is None:
            raise TransportError("connection refused")
        return await transport.get(url, headers, limit=limit)
