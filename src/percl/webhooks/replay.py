"""Replaying a logged webhook (the console's "replay this webhook"): the same body POSTed again to
the same URL, signed afresh with the account's signing secret and bounded like any webhook (the
dispatcher's timeout and answer cap).

Why not through the WebhookDispatcher: a replay belongs to no call. It must not be logged as one
of the call's attempts (the call's timeline would grow a webhook the call never made), it never
falls back, and its answer is shown, not run as PerCL.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from percl.domain.clock import Clock
from percl.domain.records import Account
from percl.engine.ports.json import JsonValue
from percl.engine.ports.webhooks import ReplayAnswer
from percl.webhooks.deadline import bounded
from percl.webhooks.payloads import encode
from percl.webhooks.signing import signature_header
from percl.webhooks.transport import TransportError, WebhookTransport

#: The Request-Id of a replay says so (a real one is "RQ" + 40 hex).
REPLAY_PREFIX = "RQreplay-"


class TransportReplayer:
    """Implements engine.ports.WebhookReplayer over a WebhookTransport."""

    def __init__(self, transport: WebhookTransport, clock: Clock, *, timeout_s: float,
                 max_answer_bytes: int, user_agent: str = "percl/0.1") -> None:
        self._transport = transport
        self._clock = clock
        self._timeout_s = timeout_s
        self._max_bytes = max_answer_bytes
        self._user_agent = user_agent

    async def replay(self, account: Account, url: str, body: Mapping[str, JsonValue]) -> ReplayAnswer:
        """POST `body` to `url` now. Never raises for what the app does: a timeout or a refused
        connection is an answer with `error` set."""
        raw = encode(body)
        headers = {
            "Content-Type": "application/json",
            "FreeClimb-Signature": signature_header(account.signing_secret, raw,
                                                    int(self._clock.now())),
            "Request-Id": REPLAY_PREFIX + uuid.uuid4().hex,
            "User-Agent": self._user_agent,
        }
        started = self._clock.now()
        post = self._transport.post
        try:
            response = await bounded(self._clock, self._timeout_s, self._max_bytes,
                                     lambda cap: post(url, raw, headers, limit=cap))
        except TransportError as exc:
            return ReplayAnswer(None, "", self._elapsed_ms(started), str(exc) or type(exc).__name__)
        elapsed = self._elapsed_ms(started)
        if response is None:
            return ReplayAnswer(None, "", elapsed, f"timeout after {round(self._timeout_s * 1000)} ms")
        text = response.body.decode("utf-8", errors="replace")
        error = "the answer was cut at the size cap" if response.truncated else None
        return ReplayAnswer(response.status, text, elapsed, error)

    def _elapsed_ms(self, started: float) -> float:
        return round(max(0.0, (self._clock.now() - started) * 1000.0), 3)
