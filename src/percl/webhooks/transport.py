"""The dispatcher's one-method seam: POST bytes to a URL, get a status, headers and bytes back.

Implementations: AiohttpTransport (production), and in percl.webhooks.inprocess an ASGI caller,
a WSGI caller, a plain-function fake and a prefix router (tests and the test kit). There is no
timeout parameter: the dispatcher enforces the timeout with the injected Clock, so a FakeClock
drives it and a transport never needs to know about time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TransportResponse:
    """What the remote app answered. Any status is a response; only no answer is an error."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


class TransportError(Exception):
    """No HTTP answer at all: connection refused, DNS failure, reset, TLS failure, bad URL.

    The message says what happened, for the account log.
    """


class WebhookTransport(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> TransportResponse:
        """POST `body` with `headers` to `url` (query string kept) and return the answer.

        Raises TransportError when no HTTP response was received. Redirects are not followed.
        Cancelling the awaiting task abandons the request.
        """
        ...


class FetchTransport(Protocol):
    async def get(self, url: str, headers: Mapping[str, str]) -> TransportResponse:
        """GET `url` (media files, grammars) and return the answer; raises TransportError when no
        HTTP response was received. Every transport percl ships implements it beside `post`."""
        ...
