"""WebhookDispatcher: build, sign, POST, time out, fall back once, log. The engine's WebhookSender.

Every POST goes through `deadline.bounded`: a clock timer (a FakeClock expires a 10-second webhook
in microseconds) and a byte cap on the answer (`max_answer_bytes`, PERCL_MAX_ANSWER_BYTES): the
transport stops reading there, and a 2xx answer that was longer is the outcome `tooLarge`.

Every attempt is one account log entry: info when the app answered 2xx, warning when it failed but
a fallback URL will be tried, error otherwise. A failed attempt names its cause (timeout, transport
error, HTTP status) and its clock time in ms, in the message and in the metadata (`cause`, `error`,
`elapsedMs`); an answer made up by the FaultInjector (faults.py) says so. With privacy mode the
logged request and response bodies are masked; the app itself always receives the real values.

An answer is decoded as JSON at most once: a 2xx answer to a request that `expects_percl` here
(the result carries the value to the engine, which parses it as PerCL without decoding again),
any other answer only when its log entry must mask it. The PerCL of such an answer is logged
once, by the engine ("PerCL received", or the appInvalidPercl error); the attempt's entry then has
`responseBody` null and names that entry in `responseLoggedAs` (with the size, `responseBytes`).

The fallback is generic: any WebhookRequest with a `fallback_url` gets exactly one second attempt
(voiceUrl -> voiceFallbackUrl today, smsUrl -> smsFallbackUrl with messaging).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from percl.domain.clock import Clock
from percl.domain.enums import LogLevel
from percl.domain.ids import REQUEST, IdGenerator
from percl.engine.ports import JsonValue, LogSink, WebhookOutcome, WebhookRequest, WebhookResult
from percl.percl.parse import PerclJsonError, decode_json
from percl.percl.privacy import MASK, mask_private
from percl.webhooks.deadline import bounded
from percl.webhooks.faults import FAULT_HEADER
from percl.webhooks.payloads import build_body, encode, mask, mask_json
from percl.webhooks.signing import signature_header
from percl.webhooks.transport import TransportError, TransportResponse, WebhookTransport

LOGGED_BODY_LIMIT = 4096  # bytes of a response body kept in the log
MAX_ANSWER_BYTES = 256 * 1024  # default cap on a webhook's answer (PERCL_MAX_ANSWER_BYTES)


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One POST about to be made (to the primary or the fallback URL)."""

    request: WebhookRequest
    body: dict[str, Any]
    raw: bytes
    url: str
    request_id: str
    is_fallback: bool


class WebhookDispatcher:
    """Sends webhooks through a WebhookTransport; implements engine.ports.WebhookSender.

    `timeout_s` applies to every attempt (primary and fallback alike), and so does
    `max_answer_bytes`, the most of an answer's body that is read. `ids` makes Request-Id values
    when the request carries none (default: "RQ" + sha1 of a uuid4).
    """

    def __init__(
        self,
        transport: WebhookTransport,
        logs: LogSink,
        clock: Clock,
        timeout_s: float = 10.0,
        user_agent: str = "percl/0.1",
        *,
        ids: IdGenerator | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self._transport = transport
        self._max_answer_bytes = max_answer_bytes
        self._logs = logs
        self._clock = clock
        self._timeout_s = timeout_s
        self._user_agent = user_agent
        self._ids = ids

    async def send(self, request: WebhookRequest) -> WebhookResult:
        """Build, sign, POST and log `request`; on any failure POST once to its fallback URL.

        Returns the last attempt's result. Never raises for what the remote app does (HTTP
        errors, timeouts, refused connections); raises ValueError when the request itself is
        malformed (an engine bug, see payloads.build_body). Cancelling the caller cancels the
        POST in flight.
        """
        body = build_body(request)
        attempt = _Attempt(
            request=request,
            body=body,
            raw=encode(body),
            url=request.url,
            request_id=request.request_id or self._new_request_id(),
            is_fallback=False,
        )
        result = await self._attempt(attempt)
        if not (_falls_back(result) and request.fallback_url):
            return result
        fallback = _Attempt(
            request, body, attempt.raw, request.fallback_url, attempt.request_id, is_fallback=True
        )
        return await self._attempt(fallback)

    def _new_request_id(self) -> str:
        if self._ids is not None:
            return self._ids.new(REQUEST)
        return REQUEST + hashlib.sha1(uuid.uuid4().bytes).hexdigest()

    def _headers(self, attempt: _Attempt) -> dict[str, str]:
        # Signed at send time, so the fallback carries a fresh timestamp.
        t = int(self._clock.now())
        return {
            "Content-Type": "application/json",
            "FreeClimb-Signature": signature_header(
                attempt.request.account.signing_secret, attempt.raw, t
            ),
            "Request-Id": attempt.request_id,
            "User-Agent": self._user_agent,
        }

    async def _attempt(self, attempt: _Attempt) -> WebhookResult:
        headers = self._headers(attempt)
        started = self._clock.now()
        fault: str | None = None
        try:
            response = await self._race(attempt.url, attempt.raw, headers)
        except TransportError as exc:
            result = _result(
                attempt.url,
                WebhookOutcome.TRANSPORT_ERROR,
                started,
                self._clock,
                error=str(exc) or type(exc).__name__,
            )
        else:
            result = _from_response(attempt.url, response, started, self._clock, self._timeout_s,
                                    self._max_answer_bytes)
            if result.ok and attempt.request.expects_percl and result.body.strip():
                result = _decoded(result)
            fault = response.headers.get(FAULT_HEADER) if response is not None else None
        await self._log(attempt, headers, result, fault)
        return result

    async def _race(
        self, url: str, raw: bytes, headers: Mapping[str, str]
    ) -> TransportResponse | None:
        """The transport's answer (at most `max_answer_bytes` of its body), or None when
        `timeout_s` of clock time passed first.

        Raises TransportError from the transport, CancelledError when the caller is cancelled.
        """
        post = self._transport.post
        return await bounded(self._clock, self._timeout_s, self._max_answer_bytes,
                             lambda cap: post(url, raw, headers, limit=cap))

    async def _log(
        self,
        attempt: _Attempt,
        headers: dict[str, str],
        result: WebhookResult,
        fault: str | None = None,
    ) -> None:
        """One account log entry per attempt: the cause of a failure and its clock time in ms
        are in the message and in the metadata (`cause`, `error`, `elapsedMs`)."""
        req = attempt.request
        will_fall_back = _falls_back(result) and not attempt.is_fallback and bool(req.fallback_url)
        if result.ok:
            level = LogLevel.INFO
        else:
            level = LogLevel.WARNING if will_fall_back else LogLevel.ERROR
        message = _message(attempt, result)
        if fault is not None:
            message += f" (injected fault: {fault})"
        if will_fall_back:
            message += f"; trying fallback {req.fallback_url}"
        call_id = attempt.body.get("callId")
        # The engine logs a JSON answer it reads as PerCL (see the module's docstring).
        logged_as_percl = result.decoded and result.answer_problem is None
        metadata: dict[str, Any] = {
            "requestType": req.request_type.value,
            "url": attempt.url,
            "requestBody": mask(attempt.body, req.privacy_mode),
            "requestHeaders": headers,
            "responseStatus": result.status,
            "responseBody": None if logged_as_percl else _logged_response(result, req.privacy_mode),
            "elapsedMs": round(result.elapsed_ms, 3),
            "error": result.error,
            "cause": None if result.ok else result.outcome.value,
            "fallback": attempt.is_fallback,
        }
        if logged_as_percl:
            metadata["responseBytes"] = len(result.body)
            metadata["responseLoggedAs"] = "PerCL received"
        if fault is not None:
            metadata["injectedFault"] = fault
        await self._logs.log(
            level,
            req.account.account_id,
            message,
            call_id=call_id if isinstance(call_id, str) else None,
            request_id=attempt.request_id,
            metadata=metadata,
        )


def _falls_back(result: WebhookResult) -> bool:
    """Whether a failed attempt is one a fallback URL retries. An answer too large is still an
    answer: like an unparseable one, it has no fallback."""
    return not result.ok and result.outcome is not WebhookOutcome.TOO_LARGE


def _result(
    url: str,
    outcome: WebhookOutcome,
    started: float,
    clock: Clock,
    *,
    status: int | None = None,
    body: bytes = b"",
    error: str | None = None,
) -> WebhookResult:
    elapsed_ms = max(0.0, (clock.now() - started) * 1000.0)
    return WebhookResult(outcome, url, status=status, body=body, elapsed_ms=elapsed_ms, error=error)


def _from_response(
    url: str, response: TransportResponse | None, started: float, clock: Clock, timeout_s: float,
    max_bytes: int,
) -> WebhookResult:
    if response is None:
        return _result(
            url,
            WebhookOutcome.TIMEOUT,
            started,
            clock,
            error=f"timeout after {round(timeout_s * 1000)} ms",
        )
    if 200 <= response.status < 300 and response.truncated:
        return _result(
            url,
            WebhookOutcome.TOO_LARGE,
            started,
            clock,
            status=response.status,
            body=response.body,
            error=f"the answer is larger than {max_bytes} bytes (PERCL_MAX_ANSWER_BYTES); "
            "percl stopped reading it there",
        )
    if 200 <= response.status < 300:
        return _result(
            url, WebhookOutcome.OK, started, clock, status=response.status, body=response.body
        )
    # 1xx/3xx are failures too: redirects are not followed and PerCL needs a 2xx.
    return _result(
        url,
        WebhookOutcome.HTTP_ERROR,
        started,
        clock,
        status=response.status,
        body=response.body,
        error=f"HTTP {response.status}",
    )


def _message(attempt: _Attempt, result: WebhookResult) -> str:
    head = f"Webhook POST {attempt.url} ({attempt.request.request_type.value})"
    if attempt.is_fallback:
        head = "Fallback " + head
    ms = round(result.elapsed_ms)
    if result.ok:
        return f"{head} -> {result.status} in {ms} ms"
    if result.outcome is WebhookOutcome.TIMEOUT:
        return f"{head} failed: {result.error}"
    return f"{head} failed: {result.error} after {ms} ms"


def _decoded(result: WebhookResult) -> WebhookResult:
    """`result` with its body decoded as JSON (strict, UTF-8, a BOM tolerated): the one decode
    of this answer."""
    answer: JsonValue = None
    problem: str | None = None
    try:
        answer = decode_json(result.body)
    except PerclJsonError as exc:
        problem = exc.problem
    # Built field by field, not by dataclasses.replace (its per-field checks cost more than the
    # result itself, once per webhook); test_dispatcher checks that no field is left behind.
    return WebhookResult(
        outcome=result.outcome, url=result.url, status=result.status, body=result.body,
        elapsed_ms=result.elapsed_ms, error=result.error, decoded=True, answer=answer,
        answer_problem=problem,
    )


def _logged_response(result: WebhookResult, privacy: bool) -> str:
    """The response body as log text: at most LOGGED_BODY_LIMIT bytes, masked under privacy
    (decoded here only when the result does not carry the decoded value already)."""
    body = result.body
    # Under privacy all of a JSON answer is masked; else only what its private commands say.
    if not (privacy and body) and b'"privacyMode"' not in body:
        return _cut(body)
    decoded = result if result.decoded else _decoded(result)
    if decoded.answer_problem is not None:  # not JSON: under privacy nothing tells us which
        return MASK if privacy else _cut(body)  # part is sensitive; else no command to mask
    masked = mask_json(decoded.answer) if privacy else mask_private(decoded.answer)
    return _cut(json.dumps(masked, separators=(",", ":")).encode())


def _cut(body: bytes) -> str:
    return body[:LOGGED_BODY_LIMIT].decode("utf-8", errors="replace")
