"""The webhook port: what the engine asks to be sent to an app, and what came of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from percl.domain.enums import RequestType
from percl.domain.records import Account, Call
from percl.engine.ports.json import JsonValue


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A webhook the engine wants sent. The dispatcher builds the body from `call` + `fields`.

    `fields` holds the requestType-specific fields in wire spelling (e.g. {"dialCallId": ...},
    {"digits": "12", "reason": "finishKey"}); the standard fields (accountId, callId, from, to,
    callStatus, direction, conferenceId, queueId, parentCallId) come from `call`.
    """

    request_type: RequestType
    url: str
    account: Account
    call: Call | None
    fields: Mapping[str, JsonValue] = field(default_factory=dict)
    fallback_url: str | None = None
    privacy_mode: bool = False
    request_id: str | None = None
    # The answer is the leg's next PerCL: the sender decodes a 2xx answer's JSON once (the
    # result's `answer`), and its log entry leaves the body to the engine's "PerCL received".
    expects_percl: bool = False


class WebhookOutcome(StrEnum):
    OK = "ok"  # 2xx answer received (body may still be garbage: the engine parses it)
    HTTP_ERROR = "httpError"  # status >= 300 (after fallback, if any)
    TIMEOUT = "timeout"
    TRANSPORT_ERROR = "transportError"
    # A 2xx answer longer than the dispatcher's byte cap: reading stopped there, `body` is cut.
    # The app did answer, so there is no fallback; a PerCL webhook ends the call with
    # webhookInvalidResponse, as for any answer that cannot be used.
    TOO_LARGE = "tooLarge"


@dataclass(frozen=True, slots=True)
class WebhookResult:
    outcome: WebhookOutcome
    url: str  # the URL that produced this result (the fallback, if it was used)
    status: int | None = None
    body: bytes = b""
    elapsed_ms: float = 0.0
    error: str | None = None  # what went wrong, for the log
    # `decoded`: the sender read `body` as JSON, once (a 2xx, non-blank answer to a request that
    # expects_percl): then `answer` is the value, or `answer_problem` says why it is not JSON.
    decoded: bool = False
    answer: JsonValue | None = None
    answer_problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is WebhookOutcome.OK


class WebhookSender(Protocol):
    async def send(self, request: WebhookRequest) -> WebhookResult:
        """Build, sign, POST and log one webhook; fall back once to `fallback_url` on timeout,
        transport error or HTTP >= 400. Never raises for anything the remote app does."""
        ...


@dataclass(frozen=True, slots=True)
class ReplayAnswer:
    """What an app answered to a replayed webhook (the console's "replay this webhook")."""

    status: int | None  # None: no answer (timeout, refused connection): `error` says which
    body: str  # the answer's text as received, up to the answer cap
    elapsed_ms: float
    error: str | None = None


class WebhookReplayer(Protocol):
    async def replay(self, account: Account, url: str, body: Mapping[str, JsonValue]) -> ReplayAnswer:
        """POST a logged webhook body to `url` again, freshly signed; log nothing, never fall
        back. Never raises for what the app does."""
        ...
