"""WebhookDispatcher over FunctionTransport on a FakeClock: outcomes, fallback, timeout, logs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest

from percl.domain.enums import CallStatus, LogLevel, RequestType
from percl.domain.ids import ID_RE, SequentialIds
from percl.domain.records import Account
from percl.engine.ports import WebhookOutcome, WebhookRequest, WebhookSender
from percl.testing.clock import FakeClock
from percl.webhooks.dispatcher import WebhookDispatcher
from percl.webhooks.inprocess import FunctionTransport
from percl.webhooks.signing import verify
from percl.webhooks.transport import TransportError

from .conftest import SECRET, RecordingSink, make_call

PRIMARY = "http://app.test/voice?step=1"
FALLBACK = "http://backup.test/voice"
PERCL = b'[{"Say":{"text":"Hello"}}]'


class Recorder:
    """A webhook app as a function: answers from a table keyed by URL, records what it got."""

    def __init__(self, answers: Mapping[str, tuple[int, bytes] | Exception]) -> None:
        self.answers = answers
        self.received: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        self.received.append((url, body, dict(headers)))
        answer = self.answers[url]
        if isinstance(answer, Exception):
            raise answer
        return answer


def inbound(account: Account, **changes: Any) -> WebhookRequest:
    values: dict[str, Any] = {
        "request_type": RequestType.INBOUND_CALL,
        "url": PRIMARY,
        "account": account,
        "call": make_call(status=CallStatus.RINGING),
    }
    values.update(changes)
    return WebhookRequest(**values)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def dispatcher(app: Any, sink: RecordingSink, clock: FakeClock) -> WebhookDispatcher:
    return WebhookDispatcher(FunctionTransport(app), sink, clock, timeout_s=10.0,
                             ids=SequentialIds())  # fmt: skip


def test_dispatcher_is_a_webhook_sender(sink: RecordingSink, clock: FakeClock) -> None:
    sender: WebhookSender = dispatcher(Recorder({}), sink, clock)
    assert callable(sender.send)


async def test_ok_returns_body_and_logs_info(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (200, PERCL)})
    result = await dispatcher(app, sink, clock).send(inbound(account))
    assert result.outcome is WebhookOutcome.OK and result.ok
    assert (result.status, result.body, result.url) == (200, PERCL, PRIMARY)
    [entry] = sink.entries
    assert entry.level is LogLevel.INFO
    assert entry.message == f"Webhook POST {PRIMARY} (inboundCall) -> 200 in 0 ms"
    assert entry.call_id == make_call().call_id
    assert entry.metadata["responseBody"] == PERCL.decode()
    assert entry.metadata["fallback"] is False and entry.metadata["error"] is None


async def test_request_is_signed_and_carries_headers(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (200, PERCL)})
    await dispatcher(app, sink, clock).send(inbound(account))
    [(url, body, headers)] = app.received
    assert url == PRIMARY  # query string kept
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "percl/0.1"
    assert verify(headers["FreeClimb-Signature"], body, [SECRET], now=clock.now())
    assert headers["FreeClimb-Signature"].startswith(f"t={int(clock.now())},v1=")
    assert ID_RE.match(headers["Request-Id"]) and headers["Request-Id"].startswith("RQ")
    assert json.loads(body)["requestType"] == "inboundCall"
    logged = sink.entries[0]
    assert logged.request_id == headers["Request-Id"]
    signature = headers["FreeClimb-Signature"]
    assert logged.metadata["requestHeaders"]["FreeClimb-Signature"] == signature


async def test_request_id_from_request_wins(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (200, PERCL)})
    rq = "RQ" + "7" * 40
    await dispatcher(app, sink, clock).send(inbound(account, request_id=rq))
    assert app.received[0][2]["Request-Id"] == rq
    assert sink.entries[0].request_id == rq


async def test_default_request_ids_are_fresh(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (200, PERCL)})
    sender = WebhookDispatcher(FunctionTransport(app), sink, clock)
    await sender.send(inbound(account))
    await sender.send(inbound(account))
    ids = [headers["Request-Id"] for _, _, headers in app.received]
    assert ids[0] != ids[1] and all(ID_RE.match(i) and i.startswith("RQ") for i in ids)


async def test_http_500_falls_back_once_with_same_body(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (500, b"boom"), FALLBACK: (200, PERCL)})
    result = await dispatcher(app, sink, clock).send(inbound(account, fallback_url=FALLBACK))
    assert result.ok and result.url == FALLBACK and result.body == PERCL
    (_, body1, h1), (_, body2, h2) = app.received
    assert body1 == body2 and h1["Request-Id"] == h2["Request-Id"]
    assert verify(h2["FreeClimb-Signature"], body2, [SECRET], now=clock.now())
    first, second = sink.entries
    assert first.level is LogLevel.WARNING and "failed: HTTP 500" in first.message
    assert f"trying fallback {FALLBACK}" in first.message
    assert first.metadata["responseStatus"] == 500 and first.metadata["fallback"] is False
    assert second.level is LogLevel.INFO and second.metadata["fallback"] is True


async def test_transport_error_falls_back(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: TransportError("connection refused"), FALLBACK: (200, PERCL)})
    result = await dispatcher(app, sink, clock).send(inbound(account, fallback_url=FALLBACK))
    assert result.ok and result.url == FALLBACK
    assert sink.entries[0].metadata["error"] == "connection refused"
    assert sink.entries[0].level is LogLevel.WARNING


async def test_failed_fallback_is_the_result_and_logs_error(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (503, b""), FALLBACK: TransportError("connection refused")})
    result = await dispatcher(app, sink, clock).send(inbound(account, fallback_url=FALLBACK))
    assert result.outcome is WebhookOutcome.TRANSPORT_ERROR and result.url == FALLBACK
    assert [e.level for e in sink.entries] == [LogLevel.WARNING, LogLevel.ERROR]
    assert len(app.received) == 2  # one fallback attempt, no retry loop


@pytest.mark.parametrize(("status", "outcome"), [(302, WebhookOutcome.HTTP_ERROR),
                                                 (404, WebhookOutcome.HTTP_ERROR),
                                                 (204, WebhookOutcome.OK)])  # fmt: skip
async def test_status_classes_without_fallback(
    account: Account, sink: RecordingSink, clock: FakeClock, status: int, outcome: WebhookOutcome
) -> None:
    app = Recorder({PRIMARY: (status, b"")})
    result = await dispatcher(app, sink, clock).send(inbound(account))
    assert result.outcome is outcome and result.status == status
    expected = LogLevel.INFO if outcome is WebhookOutcome.OK else LogLevel.ERROR
    assert sink.entries[0].level is expected


async def test_timeout_after_clock_advance_cancels_the_post(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hang(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        started.set()
        try:
            await asyncio.Event().wait()  # never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    sender = WebhookDispatcher(FunctionTransport(hang), sink, clock, timeout_s=10.0)
    task = asyncio.create_task(sender.send(inbound(account)))
    await clock.advance(9.999)
    assert started.is_set() and not task.done()
    await clock.advance(0.001)
    assert task.done()
    result = task.result()
    assert result.outcome is WebhookOutcome.TIMEOUT and result.status is None
    assert result.elapsed_ms == pytest.approx(10_000)
    assert cancelled.is_set()
    [entry] = sink.entries
    assert entry.level is LogLevel.ERROR
    assert entry.message == f"Webhook POST {PRIMARY} (inboundCall) failed: timeout after 10000 ms"
    assert clock.next_deadline() is None  # no timer left behind


async def test_timeout_then_fallback(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    async def app(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        if url == PRIMARY:
            await asyncio.Event().wait()
        return 200, PERCL

    sender = WebhookDispatcher(FunctionTransport(app), sink, clock, timeout_s=5.0)
    task = asyncio.create_task(sender.send(inbound(account, fallback_url=FALLBACK)))
    await clock.advance(5.0)
    result = task.result()
    assert result.ok and result.url == FALLBACK
    assert sink.entries[0].metadata["error"] == "timeout after 5000 ms"


async def test_answer_cancels_the_timer(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    await dispatcher(Recorder({PRIMARY: (200, PERCL)}), sink, clock).send(inbound(account))
    assert clock.next_deadline() is None


async def test_cancelling_send_cancels_post_in_flight(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    cancelled = asyncio.Event()

    async def hang(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    sender = WebhookDispatcher(FunctionTransport(hang), sink, clock)
    task = asyncio.create_task(sender.send(inbound(account)))
    await clock.settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set() and clock.next_deadline() is None


async def test_privacy_masks_logs_but_not_the_app(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    answer = b'[{"Say":{"text":"your balance is 42"}},{"SendDigits":{"digits":"123"}}]'
    url = "http://app.test/digits"
    app = Recorder({url: (200, answer)})
    req = WebhookRequest(RequestType.GET_DIGITS, url, account, make_call(),
                         {"digits": "4242", "reason": "finishKey"}, privacy_mode=True)  # fmt: skip
    await dispatcher(app, sink, clock).send(req)
    assert json.loads(app.received[0][1])["digits"] == "4242"
    meta = sink.entries[0].metadata
    assert meta["requestBody"]["digits"] == "xxxx"
    assert "42" not in meta["responseBody"] and "123" not in meta["responseBody"]
    assert json.loads(meta["responseBody"])[0]["Say"]["text"] == "xxxxx"


async def test_privacy_masks_non_json_response_entirely(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (500, b"pin was 1234")})
    await dispatcher(app, sink, clock).send(inbound(account, privacy_mode=True))
    assert sink.entries[0].metadata["responseBody"] == "xxxxx"


async def test_logged_response_is_capped_at_4_kib(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (200, b"a" * 10_000)})
    result = await dispatcher(app, sink, clock).send(inbound(account))
    assert len(result.body) == 10_000
    assert sink.entries[0].metadata["responseBody"] == "a" * 4096


async def test_app_exception_in_function_is_a_500(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    def broken(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        raise KeyError("oops")

    result = await dispatcher(broken, sink, clock).send(inbound(account))
    assert result.outcome is WebhookOutcome.HTTP_ERROR and result.status == 500


async def test_malformed_request_is_an_engine_bug(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (200, PERCL)})
    with pytest.raises(ValueError, match="unexpected field"):
        await dispatcher(app, sink, clock).send(inbound(account, fields={"bogus": 1}))
    assert app.received == [] and sink.entries == []


async def test_elapsed_time_comes_from_the_clock(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    async def slow(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        await clock.sleep(1.5)
        return 200, PERCL

    sender = WebhookDispatcher(FunctionTransport(slow), sink, clock)
    task = asyncio.create_task(sender.send(inbound(account)))
    await clock.advance(1.5)
    assert task.result().elapsed_ms == pytest.approx(1500)
    assert sink.entries[0].message.endswith("-> 200 in 1500 ms")
    assert sink.entries[0].metadata["elapsedMs"] == pytest.approx(1500)


async def test_an_answer_that_is_percl_is_decoded_once_and_left_to_the_engines_log(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (200, b"\xef\xbb\xbf" + PERCL + b"\n")})
    result = await dispatcher(app, sink, clock).send(inbound(account, expects_percl=True))
    assert result.decoded and result.answer == [{"Say": {"text": "Hello"}}]
    assert result.answer_problem is None and result.body.endswith(PERCL + b"\n")
    meta = sink.entries[0].metadata
    assert meta["responseBody"] is None and meta["responseLoggedAs"] == "PerCL received"
    assert meta["responseBytes"] == len(PERCL) + 4


async def test_an_answer_that_is_not_json_is_logged_with_why(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (200, b"<html>")})
    result = await dispatcher(app, sink, clock).send(inbound(account, expects_percl=True))
    assert result.decoded and result.answer is None
    assert result.answer_problem is not None and "not JSON" in result.answer_problem
    assert sink.entries[0].metadata["responseBody"] == "<html>"  # the engine cannot log it
    assert "responseLoggedAs" not in sink.entries[0].metadata


async def test_an_answer_nobody_reads_is_not_decoded(
    account: Account, sink: RecordingSink, clock: FakeClock
) -> None:
    app = Recorder({PRIMARY: (200, PERCL)})
    result = await dispatcher(app, sink, clock).send(inbound(account))
    assert not result.decoded and result.answer is None
    assert sink.entries[0].metadata["responseBody"] == PERCL.decode()


@pytest.mark.parametrize("body", [b'[{"Say":{"text":"hi"}}]', b"not json"])
def test_decoding_an_answer_keeps_every_other_field_of_the_result(body: bytes) -> None:
    """`_decoded` builds the result field by field (cheaper than dataclasses.replace): a field
    added to WebhookResult later must not be dropped by it."""
    from dataclasses import fields

    from percl.engine.ports import WebhookResult
    from percl.webhooks.dispatcher import _decoded

    values: dict[str, Any] = {"outcome": WebhookOutcome.OK, "url": "https://app/voice",
                              "status": 201, "body": body, "elapsed_ms": 12.5, "error": "e"}
    result = WebhookResult(**values)
    decoded = _decoded(result)
    decode_fields = {"decoded", "answer", "answer_problem"}
    assert {f.name for f in fields(WebhookResult)} - decode_fields == set(values)
    assert all(getattr(decoded, name) == value for name, value in values.items())
    assert decoded.decoded
    assert (decoded.answer is None) == (decoded.answer_problem is not None)
