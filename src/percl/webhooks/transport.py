"""The dispatcher's one-method seam: POST bytes to a URL, get a status, headers and bytes back.

Implementations: AiohttpTransport (production), and in percl.webhooks.inprocess an ASGI caller,
a WSGI caller, a plain-function fake and a prefix router (tests and the test kit). There is no
timeout parameter: the dispatcher enforces the timeout with the injected Clock, so a FakeClock
drives it and a transport never needs to know about time.

There is a byte cap (`limit`): an app that answers 500 MB must not make percl hold 500 MB. A
transport reads at most `limit` bytes of the answer's body and stops there, marking the answer
`truncated`; what to make of a cut answer (a failed webhook, an unusable grammar, a WAV header
that is enough) is the caller's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class TransportResponse:
    """What the remote app answered. Any status is a response; only no answer is an error.

    `truncated`: the body was longer than the request's `limit`; `body` holds its first `limit`
    bytes and the rest was never read.
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False


def capped(response: TransportResponse, limit: int | None) -> TransportResponse:
    """`response` cut to `limit` bytes (for transports whose body is in memory already)."""
    if limit is None or len(response.body) <= limit:
        return response
    return TransportResponse(response.status, response.headers, response.body[:limit], True)


class TransportError(Exception):
    """No HTTP answer at all: connection refused, DNS failure, reset, TLS failure, bad URL.

    The message says what happened, for the account log.
    """


class WebhookTransport(Protocol):
    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """POST `body` with `headers` to `url` (query string kept) and return the answer, reading
        at most `limit` bytes of its body (None: all of it; see TransportResponse.truncated).

        Raises TransportError when no HTTP response was received. Redirects are not followed.
        Cancelling the awaiting task abandons the request.
        """
        ...


class FetchTransport(Protocol):
    async def get(
        self, url: str, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """GET `url` (media files, grammars) and return the answer, reading at most `limit` bytes
        of its body; raises TransportError when no HTTP response was received. Every transport
        percl ships implements it beside `post`."""
        ...


class Transport(WebhookTransport, FetchTransport, Protocol):
    """Both methods: what the Platform and the fault injector wrap."""
