"""When webhooks fail: every cause, with and without voiceFallbackUrl, on the FakeClock.

Faults come from the platform's FaultInjector (`h.platform.faults`) or a `#percl-fault=` fragment,
so the app itself is an ordinary scripted app. Each failed attempt must be in the account log with
its cause and its clock time.
"""

from __future__ import annotations

from typing import Any

import pytest

from percl.config import Settings
from percl.domain.enums import CallEndedReason, CallStatus, LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter
from percl.testing.harness import Harness
from percl.webhooks.faults import Fault, FaultKind
from tests.e2e.conftest import CALLER, said

APP = "http://app.test"
VOICE = APP + "/voice"
FALLBACK = APP + "/fallback"

# cause -> (the fault, the log's `cause`, words in the log message, attempt time in ms)
CAUSES: dict[str, tuple[Fault, str, str, float]] = {
    "timeout": (Fault(FaultKind.TIMEOUT), "timeout", "failed: timeout after 10000 ms", 10_000),
    "refused": (Fault(FaultKind.REFUSE), "transportError", "failed: connection refused", 0),
    "http 503": (Fault(FaultKind.ERROR, status=503), "httpError", "failed: HTTP 503 after 0 ms", 0),
    "slow past the timeout": (
        Fault(FaultKind.SLOW, delay_ms=12_000), "timeout", "failed: timeout after 10000 ms", 10_000),
}


async def webhook_logs(h: Harness, call_id: str) -> list[LogEntry]:
    """The call's webhook attempt entries, oldest first."""
    entries = await h.store.list_logs(h.account.account_id, LogFilter(call_id=call_id))
    return [e for e in reversed(entries) if "requestType" in e.metadata]


async def inbound(h: Harness, voice_url: str = VOICE, fallback: str | None = None) -> tuple[Any, str]:
    app = h.scripted_app(APP)
    app.on("/voice", [{"Say": {"text": "from voice"}}])
    app.on("/fallback", [{"Say": {"text": "from fallback"}}])
    app.on("/status", [])
    number = await h.number_for_app(voice_url=voice_url, voice_fallback_url=fallback,
                                    status_callback_url=APP + "/status")
    return app, number


@pytest.mark.parametrize("cause", list(CAUSES))
async def test_failed_voice_url_without_fallback_ends_with_webhook_failed(h: Harness, cause: str) -> None:
    fault, logged_cause, words, ms = CAUSES[cause]
    h.platform.faults.inject(VOICE, fault)
    _, number = await inbound(h)
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)

    assert call.call_ended_reason is CallEndedReason.WEBHOOK_FAILED
    assert call.status is CallStatus.FAILED and call.connect_time is None
    assert call.end_time is not None and call.end_time - call.start_time == pytest.approx(ms / 1000)
    [attempt, status_cb] = await webhook_logs(h, call_id)
    assert attempt.level is LogLevel.ERROR and words in attempt.message
    assert attempt.metadata["cause"] == logged_cause
    assert attempt.metadata["elapsedMs"] == pytest.approx(ms)
    assert attempt.metadata["fallback"] is False
    assert status_cb.metadata["requestType"] == "callStatus"
    assert [w.body["callEndedReason"] for w in h.webhooks] == ["webhookFailed"]  # the app heard only this
    assert said(h.transcript(call_id)) == []


@pytest.mark.parametrize("cause", list(CAUSES))
async def test_failed_voice_url_falls_back_exactly_once(h: Harness, cause: str) -> None:
    fault, logged_cause, words, ms = CAUSES[cause]
    h.platform.faults.inject(VOICE, fault)
    _, number = await inbound(h, fallback=FALLBACK)
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)

    assert said(h.transcript(call_id)) == ["from fallback"]
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP
    primary, fallback, _status = await webhook_logs(h, call_id)
    assert primary.level is LogLevel.WARNING and words in primary.message
    assert f"trying fallback {FALLBACK}" in primary.message
    assert primary.metadata["cause"] == logged_cause
    assert primary.metadata["elapsedMs"] == pytest.approx(ms)
    assert fallback.level is LogLevel.INFO and fallback.metadata["fallback"] is True
    inbound_calls = [w for w in h.webhooks if w.request_type == "inboundCall"]
    assert [w.path for w in inbound_calls] == ["/fallback"]
    assert inbound_calls[0].body["callId"] == call_id  # the same inboundCall body


@pytest.mark.parametrize("fallback_fault", [Fault(FaultKind.ERROR, status=500), Fault(FaultKind.TIMEOUT)])
async def test_failing_fallback_is_tried_once_then_webhook_failed(h: Harness, fallback_fault: Fault) -> None:
    h.platform.faults.inject(VOICE, Fault(FaultKind.REFUSE))
    h.platform.faults.inject(FALLBACK, fallback_fault)
    _, number = await inbound(h, fallback=FALLBACK)
    call = await h.run_until_ended(await h.sim_call(CALLER, number))
    assert call.call_ended_reason is CallEndedReason.WEBHOOK_FAILED
    attempts = [e for e in await webhook_logs(h, call.call_id) if e.metadata["requestType"] == "inboundCall"]
    assert [(e.level, e.metadata["fallback"]) for e in attempts] == [
        (LogLevel.WARNING, False), (LogLevel.ERROR, True)]
    assert attempts[1].message.startswith(f"Fallback Webhook POST {FALLBACK}")


async def test_the_app_answering_500_falls_back(h: Harness) -> None:
    app, number = await inbound(h, fallback=FALLBACK)
    app.on("/voice", (500, "boom"))
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    assert [w.path for w in h.webhooks if w.request_type == "inboundCall"] == ["/voice", "/fallback"]
    assert said(h.transcript(call_id)) == ["from fallback"]


async def test_nothing_listening_is_a_refused_connection(h: Harness) -> None:
    _, number = await inbound(h, voice_url="http://nobody.test/voice")
    call = await h.run_until_ended(await h.sim_call(CALLER, number))
    assert call.call_ended_reason is CallEndedReason.WEBHOOK_FAILED
    [attempt, _] = await webhook_logs(h, call.call_id)
    assert attempt.metadata["cause"] == "transportError"
    assert "connection refused" in attempt.message


async def test_garbage_is_an_invalid_response_and_does_not_fall_back(h: Harness) -> None:
    h.platform.faults.inject(VOICE, Fault(FaultKind.GARBAGE))
    _, number = await inbound(h, fallback=FALLBACK)
    call = await h.run_until_ended(await h.sim_call(CALLER, number))
    assert call.call_ended_reason is CallEndedReason.WEBHOOK_INVALID_RESPONSE
    [attempt, _] = await webhook_logs(h, call.call_id)
    assert attempt.level is LogLevel.INFO and "(injected fault: garbage)" in attempt.message
    assert not [w for w in h.webhooks if w.path == "/fallback"]


async def test_slow_within_the_timeout_just_takes_longer(h: Harness) -> None:
    h.platform.faults.inject(VOICE, Fault(FaultKind.SLOW, delay_ms=9_000))
    _, number = await inbound(h, fallback=FALLBACK)
    call_id = await h.sim_call(CALLER, number)
    await h.advance(8.9)
    assert (await h.call(call_id)).status is CallStatus.RINGING
    call = await h.run_until_ended(call_id)
    assert said(h.transcript(call_id)) == ["from voice"]
    assert call.connect_time == pytest.approx(call.start_time + 9)
    [attempt, *_] = await webhook_logs(h, call_id)
    assert attempt.message.endswith("-> 200 in 9000 ms (injected fault: slow)")


@pytest.mark.parametrize(
    ("fragment", "reason"),
    [
        ("timeout", CallEndedReason.WEBHOOK_FAILED),
        ("refuse", CallEndedReason.WEBHOOK_FAILED),
        ("error:503", CallEndedReason.WEBHOOK_FAILED),
        ("garbage", CallEndedReason.WEBHOOK_INVALID_RESPONSE),
        ("slow:2000", CallEndedReason.APP_HANGUP),
    ],
)
async def test_url_fragment_faults_need_no_api_call(
    h: Harness, fragment: str, reason: CallEndedReason
) -> None:
    _, number = await inbound(h, voice_url=f"{VOICE}#percl-fault={fragment}")
    call = await h.run_until_ended(await h.sim_call(CALLER, number))
    assert call.call_ended_reason is reason
    for w in h.webhooks:  # the fragment never reaches the app
        assert "#" not in w.url


async def test_unknown_fragment_fault_warns_and_calls_the_app(h: Harness) -> None:
    _, number = await inbound(h, voice_url=f"{VOICE}#percl-fault=explode")
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    assert said(h.transcript(call_id)) == ["from voice"]
    entries = await h.store.list_logs(h.account.account_id, LogFilter(call_id=call_id))
    warnings = [e for e in entries if e.level is LogLevel.WARNING]
    assert len(warnings) == 1 and "unknown fault kind 'explode'" in warnings[0].message


async def test_times_limits_a_fault_to_the_next_requests(h: Harness) -> None:
    h.platform.faults.inject(VOICE, Fault(FaultKind.ERROR, status=503, times=1))
    _, number = await inbound(h)
    first = await h.run_until_ended(await h.sim_call(CALLER, number))
    second_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(second_id)
    assert first.call_ended_reason is CallEndedReason.WEBHOOK_FAILED
    assert said(h.transcript(second_id)) == ["from voice"]
    assert h.platform.faults.rules() == []


async def test_failed_notification_webhook_does_not_touch_the_call(h: Harness) -> None:
    h.platform.faults.inject(APP + "/status", Fault(FaultKind.TIMEOUT))
    _, number = await inbound(h)
    call = await h.run_until_ended(await h.sim_call(CALLER, number))
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP and call.status is CallStatus.COMPLETED
    [*_, status_cb] = await webhook_logs(h, call.call_id)
    assert status_cb.metadata["requestType"] == "callStatus"
    assert status_cb.level is LogLevel.ERROR and status_cb.metadata["cause"] == "timeout"


async def test_failed_action_url_mid_call_ends_it_with_webhook_failed(h: Harness) -> None:
    app, number = await inbound(h)
    app.on("/voice", [{"GetDigits": {"actionUrl": APP + "/menu", "initialTimeoutMs": 1000}}])
    h.platform.faults.inject(APP + "/menu", Fault(FaultKind.REFUSE))
    call = await h.run_until_ended(await h.sim_call(CALLER, number))
    assert call.call_ended_reason is CallEndedReason.WEBHOOK_FAILED
    assert call.status is CallStatus.COMPLETED  # it was answered


async def test_webhook_timeout_setting_is_used() -> None:
    async with Harness(settings=Settings(db=":memory:", webhook_timeout_ms=2_500)) as h:
        h.platform.faults.inject(VOICE, Fault(FaultKind.TIMEOUT))
        _, number = await inbound(h)
        call = await h.run_until_ended(await h.sim_call(CALLER, number))
        assert call.end_time is not None and call.end_time - call.start_time == pytest.approx(2.5)
        [attempt, _] = await webhook_logs(h, call.call_id)
        assert "timeout after 2500 ms" in attempt.message
