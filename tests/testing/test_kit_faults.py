"""`percl.fault(...)`: each kind, as the app's webhook log and the call see it."""

from __future__ import annotations

import pytest

from percl.testing import Percl, ScriptedApp

CALLER = "+15550100001"


def _app(percl: Percl) -> tuple[ScriptedApp, str]:
    app = percl.scripted_app()
    app.on("/voice", [{"Say": {"text": "Hello"}}, {"Hangup": {}}])
    app.on("/fallback", [{"Say": {"text": "Fallback"}}, {"Hangup": {}}])
    return app, percl.number_for(app, voice_fallback_path="/fallback")


def test_slow_answers_late_in_clock_time(percl: Percl) -> None:
    _, number = _app(percl)
    percl.fault("/voice", "slow", delay_ms=3000)
    call = percl.phone(CALLER).calls(number)
    call.expect_say("Hello")
    voice = percl.webhooks(path="/voice")[0]
    assert voice.status == 200 and voice.latency_ms == pytest.approx(3000)
    assert voice.fault == "slow" and voice.answer_json[0] == {"Say": {"text": "Hello"}}


@pytest.mark.parametrize(("kind", "status", "error"), [
    ("error", 503, None),
    ("refuse", None, "connection refused (injected fault)"),
    ("timeout", None, "abandoned: no answer before the webhook timeout"),
])
def test_failing_voice_url_falls_back(percl: Percl, kind: str, status: int | None,
                                      error: str | None) -> None:
    _, number = _app(percl)
    percl.fault("/voice", kind, status=503)
    call = percl.phone(CALLER).calls(number)
    call.expect_say("Fallback")
    voice, fallback = percl.webhooks
    assert (voice.path, voice.status, voice.error) == ("/voice", status, error)
    assert fallback.path == "/fallback" and fallback.status == 200
    if status is not None:
        assert voice.fault == kind  # an answer the fault made up is marked
    waited = fallback.sent_at - voice.sent_at
    assert waited == (10 if kind == "timeout" else 0)  # PERCL_WEBHOOK_TIMEOUT_MS is 10 s


def test_garbage_is_an_invalid_response_not_a_reason_to_fall_back(percl: Percl) -> None:
    _, number = _app(percl)
    percl.fault("/voice", "garbage", body=b"<html>")
    call = percl.phone(CALLER).calls(number)
    call.expect_hangup(reason="webhookInvalidResponse")
    assert percl.webhooks == percl.webhooks(path="/voice")
    assert percl.webhooks[0].answer == b"<html>" and percl.webhooks[0].fault == "garbage"


def test_times_and_clearing(percl: Percl) -> None:
    _, number = _app(percl)
    percl.fault("/voice", "error", times=1)
    percl.phone(CALLER).calls(number).expect_say("Fallback")
    percl.phone(CALLER).calls(number).expect_say("Hello")  # the fault was used up
    percl.fault(percl.url("/voice"), "refuse")  # an absolute URL works as well
    percl.clear_faults("/voice")
    percl.phone(CALLER).calls(number).expect_say("Hello")
    percl.fault("/voice", "refuse")
    percl.clear_faults()
    percl.phone(CALLER).calls(number).expect_say("Hello")
    with pytest.raises(ValueError, match="unknown fault 'broken': use one of slow, timeout"):
        percl.fault("/voice", "broken")
