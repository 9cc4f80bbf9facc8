"""A lean path for `POST /Accounts/{accountId}/Calls`, the REST route every outbound call takes.

Why: under load, FastAPI's per-request work for this one route (matching ~80 routes, solving the
auth dependencies, sniffing the Content-Type with `email.message`, encoding the answer through
`jsonable_encoder`) cost about as much CPU as the engine's own work for the call
(docs/BENCHMARKS.md, fix 6). This ASGI middleware answers the common case itself, with the same
pieces the route uses (`authenticate`, `MakeCallBody`, `start_call`, `error_response`), so the
response and every ApiError are byte for byte what the route would send.

It only takes requests it is sure about: a JSON body (no Content-Type, or `application/json`) that
decodes to an object and validates as MakeCallBody. Anything else (bad JSON, a validation error,
another content type, a client that went away mid-body) is handed to FastAPI with the body
replayed, so FastAPI's exact behaviour and error bodies stay the only ones. Authentication runs
before validation in both paths, as FastAPI solves dependencies before the body is validated.

It sits inside RequestIdMiddleware (the request id and its headers) and CatchAllMiddleware (an
unexpected exception is a 500 with FreeClimb's body), like the route.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from percl.api.auth import authenticate
from percl.api.calls import MakeCallBody, start_call
from percl.api.deps import ApiDeps
from percl.api.errors import error_response
from percl.errors import ApiError, NotFound

_CALLS_PATH = re.compile(r"/Accounts/([^/]+)/Calls")
_JSON_TYPE = re.compile(r"application/json\s*(?:;.*)?", re.IGNORECASE | re.DOTALL)


class MakeCallFastPath:
    """Answers well-formed make-a-call POSTs; forwards everything else to `app` unchanged."""

    def __init__(self, app: ASGIApp, deps: ApiDeps) -> None:
        self.app = app
        self.deps = deps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        account_id = _make_call_target(scope)
        if account_id is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type")
        if content_type is not None and not _JSON_TYPE.fullmatch(content_type):
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        parsed = _parse(body) if body is not None else None
        if parsed is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        try:
            account = await authenticate(self.deps.store, headers.get("authorization"))
            if account_id != account.account_id:
                raise NotFound(f"Account {account_id} not found")
            request_id: str | None = scope.get("state", {}).get("request_id")
            rendered = await start_call(self.deps, account, parsed, request_id)
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
            return
        await JSONResponse(rendered, status_code=202)(scope, receive, send)


def _make_call_target(scope: Scope) -> str | None:
    """The account id of a `POST .../Accounts/{id}/Calls` request, else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]  # mounted at /apiserver: match what the router would
    match = _CALLS_PATH.fullmatch(path)
    return match.group(1) if match else None


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """Every message read, and the whole body (None when the client disconnected first)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out `messages` again, then defers to the real one."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _parse(body: bytes) -> MakeCallBody | None:
    """The body as MakeCallBody, validated as FastAPI would (a dict, python mode), or None when
    FastAPI should handle it (empty, not JSON, not an object, invalid)."""
    if not body:
        return None
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # too deeply nested: FastAPI answers it with a 400
        return None
    if not isinstance(data, dict):
        return None
    try:
        return MakeCallBody.model_validate(data)
    except ValidationError:
        return None
