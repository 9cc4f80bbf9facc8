"""FaultInjector: rules, URL fragments, each fault kind, and what the dispatcher logs about them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import pytest

from percl.domain.enums import CallStatus, LogLevel, RequestType
from percl.domain.ids import SequentialIds
from percl.domain.records import Account
from percl.engine.ports import WebhookOutcome, WebhookRequest
from percl.testing.clock import FakeClock
from percl.webhooks.dispatcher import WebhookDispatcher
from percl.webhooks.faults import (
    FAULT_HEADER,
    Fault,
    FaultInjector,
    FaultKind,
    make_fault,
    parse_fragment,
    split_fragment,
)
from percl.webhooks.inprocess import FunctionTransport
from percl.webhooks.transport import TransportError, TransportResponse, WebhookTransport

from .conftest import ACCOUNT_ID, RecordingSink, make_call

VOICE = "http://app.test/voice"
BODY = b'{"accountId":"' + ACCOUNT_ID.encode() + b'","callId":"CA1"}'
PERCL = b'[{"Say":{"text":"hi"}}]'


class App:
    """The app behind the injector: answers PerCL and records the URLs it was sent."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        self.urls.append(url)
        return 200, PERCL


class PostOnly:
    """A transport that cannot GET."""

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        return TransportResponse(200, {}, PERCL)


class Files(PostOnly):
    """A transport serving files by GET; records the URLs fetched."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def get(
        self, url: str, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        self.urls.append(url)
        return TransportResponse(200, {}, b"<grammar/>")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def faults(app: App, clock: FakeClock) -> FaultInjector:
    return FaultInjector(FunctionTransport(app), clock)


def test_the_injector_is_a_webhook_transport(faults: FaultInjector) -> None:
    transport: WebhookTransport = faults
    assert callable(transport.post)


async def test_without_rules_requests_pass_through(faults: FaultInjector, app: App) -> None:
    response = await faults.post(VOICE + "?a=1", BODY, {})
    assert (response.status, response.body) == (200, PERCL)
    assert FAULT_HEADER not in response.headers
    assert app.urls == [VOICE + "?a=1"]


async def test_error_answers_the_status_without_calling_the_app(
    faults: FaultInjector, app: App
) -> None:
    faults.inject("http://app.test/", Fault(FaultKind.ERROR, status=503))
    response = await faults.post(VOICE, BODY, {})
    assert response.status == 503 and response.headers[FAULT_HEADER] == "error"
    assert app.urls == []


async def test_garbage_answers_200_with_the_body(faults: FaultInjector, app: App) -> None:
    faults.inject(VOICE, Fault(FaultKind.GARBAGE, body=b"<html>"))
    response = await faults.post(VOICE, BODY, {})
    assert (response.status, response.body) == (200, b"<html>") and app.urls == []


async def test_default_garbage_is_not_json(faults: FaultInjector) -> None:
    faults.inject(VOICE, Fault(FaultKind.GARBAGE))
    assert (await faults.post(VOICE, BODY, {})).body == b"{not json"


async def test_refuse_is_a_transport_error(faults: FaultInjector, app: App) -> None:
    faults.inject(VOICE, Fault(FaultKind.REFUSE))
    with pytest.raises(TransportError, match="connection refused"):
        await faults.post(VOICE, BODY, {})
    assert app.urls == []


async def test_slow_answers_normally_after_the_delay(
    faults: FaultInjector, app: App, clock: FakeClock
) -> None:
    faults.inject(VOICE, Fault(FaultKind.SLOW, delay_ms=3000))
    task = asyncio.create_task(faults.post(VOICE, BODY, {}))
    await clock.advance(2.999)
    assert not task.done() and app.urls == []
    await clock.advance(0.001)
    response = task.result()
    assert response.body == PERCL and response.headers[FAULT_HEADER] == "slow"
    assert app.urls == [VOICE]


async def test_timeout_never_answers_until_cancelled(
    faults: FaultInjector, app: App, clock: FakeClock
) -> None:
    faults.inject(VOICE, Fault(FaultKind.TIMEOUT))
    task = asyncio.create_task(faults.post(VOICE, BODY, {}))
    await clock.advance(3600)
    assert not task.done() and app.urls == []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_longest_prefix_wins(faults: FaultInjector, app: App) -> None:
    faults.inject("http://app.test/", Fault(FaultKind.ERROR, status=500))
    faults.inject("http://app.test/voice", Fault(FaultKind.ERROR, status=502))
    assert (await faults.post(VOICE, BODY, {})).status == 502
    assert (await faults.post("http://app.test/status", BODY, {})).status == 500
    assert (await faults.post("http://other.test/voice", BODY, {})).status == 200


async def test_times_expires_the_rule_and_shorter_prefixes_take_over(
    faults: FaultInjector, app: App
) -> None:
    faults.inject("http://app.test/", Fault(FaultKind.ERROR, status=500))
    faults.inject(VOICE, Fault(FaultKind.ERROR, status=503, times=2))
    statuses = [(await faults.post(VOICE, BODY, {})).status for _ in range(3)]
    assert statuses == [503, 503, 500]
    assert [prefix for prefix, _ in faults.rules()] == ["http://app.test/"]


async def test_rules_report_what_is_left(faults: FaultInjector) -> None:
    faults.inject(VOICE, Fault(FaultKind.REFUSE, times=3))
    with pytest.raises(TransportError):
        await faults.post(VOICE, BODY, {})
    assert faults.rules() == [(VOICE, Fault(FaultKind.REFUSE, times=2))]


async def test_clear_one_prefix_or_all(faults: FaultInjector) -> None:
    faults.inject("http://a.test/", Fault(FaultKind.REFUSE))
    faults.inject("http://b.test/", Fault(FaultKind.REFUSE))
    faults.clear("http://a.test/")
    assert [p for p, _ in faults.rules()] == ["http://b.test/"]
    faults.clear("http://nothing.test/")  # absent: fine
    faults.clear()
    assert faults.rules() == []


def test_inject_refuses_empty_prefix_and_zero_times(faults: FaultInjector) -> None:
    with pytest.raises(ValueError, match="url_prefix"):
        faults.inject("", Fault(FaultKind.REFUSE))
    with pytest.raises(ValueError, match="times"):
        faults.inject(VOICE, Fault(FaultKind.REFUSE, times=0))


def test_inject_values_builds_the_fault(faults: FaultInjector) -> None:
    faults.inject_values(VOICE, "garbage", body=b"x", times=1)
    faults.inject_values("http://b.test/", "slow", delay_ms=250)
    assert dict(faults.rules()) == {
        VOICE: Fault(FaultKind.GARBAGE, body=b"x", times=1),
        "http://b.test/": Fault(FaultKind.SLOW, delay_ms=250),
    }


@pytest.mark.parametrize(
    ("kind", "values", "problem"),
    [
        ("explode", {}, "unknown fault kind 'explode'"),
        ("slow", {"delay_ms": -1}, "delay_ms"),
        ("slow", {"delay_ms": 600_001}, "delay_ms"),
        ("error", {"status": 200}, "300..599"),
        ("error", {"status": 600}, "100..599"),
        ("timeout", {"times": 0}, "times"),
    ],
)
def test_make_fault_rejects_bad_values(kind: str, values: dict[str, int], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        make_fault(kind, **values)


# --------------------------------------------------------------------------- fragments


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("timeout", Fault(FaultKind.TIMEOUT)),
        ("refuse", Fault(FaultKind.REFUSE)),
        ("garbage", Fault(FaultKind.GARBAGE)),
        ("slow:3000", Fault(FaultKind.SLOW, delay_ms=3000)),
        ("error:503", Fault(FaultKind.ERROR, status=503)),
    ],
)
def test_parse_fragment(spec: str, fault: Fault) -> None:
    assert parse_fragment(spec) == fault


@pytest.mark.parametrize("spec", ["", "explode", "slow", "slow:abc", "error:", "error:99", "timeout:5"])
def test_parse_fragment_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_fragment(spec)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://a/v", ("http://a/v", None)),
        ("http://a/v#top", ("http://a/v#top", None)),
        ("http://a/v?x=1#percl-fault=timeout", ("http://a/v?x=1", "timeout")),
        ("http://a/v#k=1&percl-fault=error:503", ("http://a/v#k=1", "error:503")),
    ],
)
def test_split_fragment(url: str, expected: tuple[str, str | None]) -> None:
    assert split_fragment(url) == expected


async def test_fragment_fault_applies_and_is_never_sent(faults: FaultInjector, app: App) -> None:
    response = await faults.post(VOICE + "#percl-fault=error:503", BODY, {})
    assert response.status == 503 and app.urls == []
    await faults.post(VOICE + "?step=2#percl-fault=slow:0", BODY, {})
    assert app.urls == [VOICE + "?step=2"]  # the fragment is stripped before the request


async def test_a_rule_wins_over_the_fragment(faults: FaultInjector) -> None:
    faults.inject(VOICE, Fault(FaultKind.ERROR, status=502))
    assert (await faults.post(VOICE + "#percl-fault=error:503", BODY, {})).status == 502


async def test_unknown_fragment_warns_and_sends_normally(
    app: App, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    sink = RecordingSink()
    faults = FaultInjector(FunctionTransport(app), clock, logs=sink)
    with caplog.at_level(logging.WARNING, logger="percl.webhooks.faults"):
        response = await faults.post(VOICE + "#percl-fault=explode", BODY, {})
    assert response.status == 200 and app.urls == [VOICE]
    assert "unknown fault kind 'explode'" in caplog.text
    [entry] = sink.entries
    assert entry.level is LogLevel.WARNING and entry.account_id == ACCOUNT_ID
    assert entry.call_id == "CA1" and "percl-fault=explode" in entry.message
    assert entry.metadata == {"url": VOICE}


async def test_get_uses_the_same_rules(clock: FakeClock) -> None:
    files = Files()
    faults = FaultInjector(files, clock)
    faults.inject("http://app.test/grammar", Fault(FaultKind.ERROR, status=404))
    assert (await faults.get("http://app.test/grammar.xml", {})).status == 404
    ok = await faults.get("http://app.test/other.xml#percl-fault=slow:0", {})
    assert ok.body == b"<grammar/>" and files.urls == ["http://app.test/other.xml"]


async def test_get_without_inner_get_is_a_transport_error(clock: FakeClock) -> None:
    with pytest.raises(TransportError, match="no GET"):
        await FaultInjector(PostOnly(), clock).get(VOICE, {})


# --------------------------------------------------------------------------- through the dispatcher


def _dispatcher(faults: FaultInjector, sink: RecordingSink, clock: FakeClock) -> WebhookDispatcher:
    return WebhookDispatcher(faults, sink, clock, timeout_s=10.0, ids=SequentialIds())


def _inbound(account: Account, url: str = VOICE, fallback: str | None = None) -> WebhookRequest:
    return WebhookRequest(RequestType.INBOUND_CALL, url, account,
                          make_call(status=CallStatus.RINGING), fallback_url=fallback)


async def test_dispatcher_logs_injected_error_with_cause_and_time(
    account: Account, faults: FaultInjector, sink: RecordingSink, clock: FakeClock
) -> None:
    faults.inject(VOICE, Fault(FaultKind.ERROR, status=503))
    result = await _dispatcher(faults, sink, clock).send(_inbound(account))
    assert result.outcome is WebhookOutcome.HTTP_ERROR and result.status == 503
    [entry] = sink.entries
    assert entry.level is LogLevel.ERROR
    assert entry.message == (f"Webhook POST {VOICE} (inboundCall) failed: HTTP 503 after 0 ms"
                             " (injected fault: error)")
    assert entry.metadata["cause"] == "httpError" and entry.metadata["injectedFault"] == "error"
    assert entry.metadata["elapsedMs"] == 0


async def test_dispatcher_times_out_an_injected_timeout_then_falls_back(
    account: Account, faults: FaultInjector, app: App, sink: RecordingSink, clock: FakeClock
) -> None:
    faults.inject(VOICE, Fault(FaultKind.TIMEOUT, times=1))
    fallback = "http://app.test/fallback"
    task = asyncio.create_task(_dispatcher(faults, sink, clock).send(_inbound(account, fallback=fallback)))
    await clock.advance(9.999)
    assert not task.done()
    await clock.advance(0.001)
    result = task.result()
    assert result.ok and result.url == fallback and app.urls == [fallback]
    first, second = sink.entries
    assert first.level is LogLevel.WARNING and first.metadata["cause"] == "timeout"
    assert "failed: timeout after 10000 ms" in first.message
    assert first.metadata["elapsedMs"] == pytest.approx(10_000)
    assert second.metadata["cause"] is None and second.metadata["fallback"] is True


async def test_dispatcher_logs_slow_answers_with_their_time(
    account: Account, faults: FaultInjector, sink: RecordingSink, clock: FakeClock
) -> None:
    task = asyncio.create_task(
        _dispatcher(faults, sink, clock).send(_inbound(account, VOICE + "#percl-fault=slow:1500")))
    await clock.advance(1.5)
    assert task.result().ok
    [entry] = sink.entries
    assert entry.message.endswith("-> 200 in 1500 ms (injected fault: slow)")


# --------------------------------------------------------------------------- account rules (issue 17.7)


async def test_an_account_rule_reaches_only_that_accounts_webhooks(
    faults: FaultInjector, app: App
) -> None:
    other = b'{"accountId":"AC' + b"9" * 40 + b'","callId":"CA2"}'
    faults.inject("", Fault(FaultKind.ERROR, status=503), account_id=ACCOUNT_ID)
    assert (await faults.post(VOICE, BODY, {})).status == 503
    assert (await faults.post(VOICE, other, {})).status == 200
    assert (await faults.post(VOICE, b"not json", {})).status == 200
    assert faults.rules() == [] and faults.rules(ACCOUNT_ID) == [
        ("", Fault(FaultKind.ERROR, status=503))]


async def test_an_account_rule_wins_over_the_networks_and_clears_alone(
    faults: FaultInjector, app: App
) -> None:
    faults.inject("http://app.test/", Fault(FaultKind.REFUSE))
    faults.inject("http://app.test/", Fault(FaultKind.ERROR, status=502), account_id=ACCOUNT_ID)
    assert (await faults.post(VOICE, BODY, {})).status == 502
    faults.clear(account_id=ACCOUNT_ID)
    assert faults.rules(ACCOUNT_ID) == [] and len(faults.rules()) == 1
    with pytest.raises(TransportError):
        await faults.post(VOICE, BODY, {})


async def test_a_used_up_account_rule_is_forgotten(faults: FaultInjector, app: App) -> None:
    faults.inject("", Fault(FaultKind.ERROR, times=1), account_id=ACCOUNT_ID)
    assert (await faults.post(VOICE, BODY, {})).status == 500
    assert (await faults.post(VOICE, BODY, {})).status == 200
    assert faults.rules(ACCOUNT_ID) == [] and faults._account_rules == {}


async def test_file_gets_carry_no_account_so_account_rules_skip_them(clock: FakeClock) -> None:
    files = Files()
    faults = FaultInjector(files, clock)
    faults.inject("", Fault(FaultKind.REFUSE), account_id=ACCOUNT_ID)
    assert (await faults.get("http://app.test/g.xml", {})).status == 200
    assert files.urls == ["http://app.test/g.xml"]


def test_only_an_account_rule_may_have_an_empty_prefix(faults: FaultInjector) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        faults.inject("", Fault(FaultKind.TIMEOUT))
