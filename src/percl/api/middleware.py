"""Three small ASGI wrappers around the REST app.

TrailingSlashMiddleware: `GET .../Calls/` is served as `GET .../Calls`. Starlette would answer a
307 to an absolute URL built from the Host header, which a client behind a proxy or port mapping
cannot follow, and which FreeClimb's SDKs and CLI do not expect; FreeClimb clients never need the
redirect, so the route answers directly.

RequestIdMiddleware: every POST gets a fresh `RQ...` id, announced in the `X-Pulse-Request-Id`
(FreeClimb's historic name) and `Request-Id` headers, and left in `scope["state"]` so the route
can hand it to the engine (webhooks and log lines caused by the request carry it).

CatchAllMiddleware: an unexpected exception becomes a 500 with FreeClimb's body (code 0). It sits
inside Starlette's ServerErrorMiddleware because that one re-raises after answering, which would
surface a handled error to the server (and to the lead's outer app) a second time.
"""

from __future__ import annotations

import json
import logging

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from percl.api.errors import internal_error_body
from percl.domain.ids import REQUEST, IdGenerator

log = logging.getLogger("percl.api")


class RequestIdMiddleware:
    """Give each POST a request id (see module docstring)."""

    def __init__(self, app: ASGIApp, ids: IdGenerator) -> None:
        self.app = app
        self.ids = ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request_id = self.ids.new(REQUEST)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Pulse-Request-Id"] = request_id
                headers["Request-Id"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class TrailingSlashMiddleware:
    """Route a path with trailing slashes as the same path without them (see module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            stripped = path.rstrip("/")
            if len(stripped) > len(scope.get("root_path", "")):
                scope = {**scope, "path": stripped, "raw_path": stripped.encode()}
        await self.app(scope, receive, send)


class CatchAllMiddleware:
    """Answer 500 / code 0 for any exception a route did not turn into an ApiError."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:  # too late for a clean answer; let the server drop the connection
                raise
            body = json.dumps(internal_error_body()).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
