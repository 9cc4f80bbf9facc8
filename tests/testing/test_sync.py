"""The synchronous kit (`Percl`, via the plugin's `percl` fixture): phones, waits, failures."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask, request

from percl.domain.enums import CallStatus
from percl.testing import Percl, ScriptedApp, press, speak
from percl.testing.sync import PhoneCall

CALLER, AGENT = "+15550100001", "+15550100002"


def menu_app() -> Flask:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Any:
        return [{"Say": {"text": "Welcome"}},
                {"GetDigits": {"actionUrl": request.url_root + "menu", "maxDigits": 1,
                               "prompts": [{"Say": {"text": "Press 1 for sales"}}]}}]

    @app.post("/menu")
    def menu() -> Any:
        digits = request.get_json()["digits"]
        return [{"Say": {"text": f"You chose {digits}, connecting you"}}, {"Hangup": {}}]

    return app


def test_the_sketch_from_the_issue(percl: Percl) -> None:
    my_app = menu_app()
    number = percl.number_for(my_app, voice_path="/voice")
    call = percl.phone(CALLER).calls(number)
    call.expect_say("Press 1 for sales")
    call.press("1")
    call.expect_say(contains="connecting you")
    assert percl.webhooks(path="/menu")[-1].body["digits"] == "1"
    record = call.expect_hangup(reason="appHangup")
    assert record.status is CallStatus.COMPLETED and call.ended
    assert call.transcript.said == ["Welcome", "Press 1 for sales", "You chose 1, connecting you"]
    assert all(w.verify_signature() for w in percl.webhooks)
    assert [type(w.as_sdk()).__name__ for w in percl.webhooks] == ["InboundCallWebhook",
                                                                   "GetDigitsWebhook"]


def test_expectations_move_forward_and_wait_out_the_prompt(percl: Percl) -> None:
    call = percl.phone(CALLER).calls(percl.number_for(menu_app()))
    call.expect_say("Welcome")
    at = percl.now
    call.expect_say()  # any Say: the next one
    # "Press 1 for sales" plays 4 words / 150 min + 0.3 s = 1.9 s (symbolic) or its TTS audio's
    # length (audio); we return when it ended
    assert percl.now - at == pytest.approx(percl.say_ms("Press 1 for sales") / 1000)
    with pytest.raises(AssertionError, match='expected to hear "Welcome"'):
        call.expect_say("Welcome", within=3)  # already consumed: the cursor moved past it


def test_barge_in_returns_when_the_prompt_starts(percl: Percl) -> None:
    call = percl.phone(CALLER).calls(percl.number_for(menu_app()))
    call.expect_say("Press 1 for sales", barge_in=True)
    call.press("1")
    call.expect_say(regex=r"chose \d")
    prompt = call.transcript.entries[3]
    assert prompt.text == "Press 1 for sales" and prompt.interrupted
    assert prompt.heard_ms <= 60  # audio: the DTMF detector hears the key ~40 ms into its tone


def test_a_failed_expectation_prints_transcript_and_webhooks(percl: Percl) -> None:
    call = percl.phone(CALLER).calls(percl.number_for(menu_app()))
    call.expect_say("Welcome")
    started = percl.now
    with pytest.raises(AssertionError) as info:
        call.expect_say(contains="goodbye", within=4)
    message = str(info.value)
    assert percl.now - started == pytest.approx(4)
    assert f"call {call.call_id} [inbound {CALLER} -> " in message
    assert 'expected to hear something containing "goodbye" within 4 s' in message
    assert '0.00s  heard "Welcome"' in message and "expectations matched up to here" in message
    assert 'heard "Press 1 for sales"' in message
    assert re.search(r"POST /voice \(inboundCall, CA\w+\) -> 200", message)


def test_waiting_on_an_ended_call_fails_at_once(percl: Percl) -> None:
    app = percl.scripted_app()
    app.on("/voice", [{"Say": {"text": "Bye"}}, {"Hangup": {}}])
    call = percl.phone(CALLER).calls(percl.number_for(app))
    call.expect_hangup()
    at = percl.now
    with pytest.raises(AssertionError, match="but the call ended"):
        call.expect_say("Hello", within=30)
    assert percl.now == at
    with pytest.raises(AssertionError, match="cannot press '1': the call is over"):
        call.press("1")
    with pytest.raises(AssertionError, match="to end with busy, it ended with appHangup"):
        call.expect_hangup(reason="busy")


def test_wait_for_and_advance(percl: Percl) -> None:
    start = percl.now
    percl.advance(30)
    assert percl.now == start + 30
    with pytest.raises(AssertionError, match=r"nobody called \(waited 0.00 s"):
        percl.wait_for(lambda: False, within=10, message="nobody called")
    call = percl.phone(CALLER).calls(percl.number_for(menu_app()))
    percl.wait_for(lambda: len(percl.webhooks(path="/menu")) == 1, within=60)
    assert percl.webhooks(path="/menu")[0].body["reason"] == "timeout"
    assert call.status is CallStatus.IN_PROGRESS


def _outdial_app(percl: Percl, **outdial: Any) -> ScriptedApp:
    app = percl.scripted_app()
    app.on("/voice", [{"OutDial": {"destination": AGENT, "callingNumber": "+13125550100",
                                   "actionUrl": app.url("/dialing"),
                                   "callConnectUrl": app.url("/connect"), **outdial}}])
    app.on("/dialing", [{"Pause": {"length": 60000}}])
    app.on("/connect", [{"Say": {"text": "Hello agent"}}, {"Hangup": {}}])
    return app


def test_a_phone_that_is_rung(percl: Percl) -> None:
    agent = percl.phone(AGENT)
    assert agent.last_call is None
    caller_call = percl.phone(CALLER).calls(percl.number_for(_outdial_app(percl)))
    leg = agent.expect_ring()
    assert agent.last_call is not None and agent.last_call.call_id == leg.call_id
    leg.expect_say("Hello agent")
    record = leg.expect_status("ringing")  # reached earlier; the call has moved on since
    assert record.status is CallStatus.IN_PROGRESS or record.status.is_final
    leg.expect_hangup(reason="appHangup")
    assert [c.call_id for c in percl.phone(CALLER).legs] == [caller_call.call_id]
    with pytest.raises(AssertionError, match=re.escape(f"expected percl to call {AGENT} within 5")):
        agent.expect_ring(within=5)


@pytest.mark.parametrize(("mode", "status"), [("busy", "busy"), ("failed", "failed"),
                                               ("noAnswer", "noAnswer")])
def test_phones_that_do_not_answer(percl: Percl, mode: str, status: str) -> None:
    percl.phone(AGENT).program(mode)
    percl.phone(CALLER).calls(percl.number_for(_outdial_app(percl, timeout=20)))
    leg = percl.phone(AGENT).expect_ring()
    assert leg.expect_hangup().status == status
    assert percl.webhooks(request_type="outDialConnect")[0].body["callStatus"] == status


def test_machine_answers_and_is_detected(percl: Percl) -> None:
    percl.phone(AGENT).program("machine", after_ms=2000)
    app = _outdial_app(percl, ifMachine="hangup")
    app.on("/connect", [{"Say": {"text": "Hello, is anybody there? " * 5}}])
    percl.phone(CALLER).calls(percl.number_for(app))
    leg = percl.phone(AGENT).expect_ring()
    assert leg.expect_hangup(reason="machineDetected").answered_by == "machine"
    with pytest.raises(ValueError, match="unknown answer mode 'robot'"):
        percl.phone(AGENT).program("robot")


def test_manual_phone_is_answered_or_declined_by_the_test(percl: Percl) -> None:
    agent = percl.phone(AGENT).program("manual")
    percl.phone(CALLER).calls(percl.number_for(_outdial_app(percl)))
    leg = agent.expect_ring()
    percl.advance(5)
    assert leg.status is CallStatus.RINGING
    leg.answer()
    leg.expect_say("Hello agent")
    leg.expect_hangup()
    percl.phone(CALLER).calls(percl.number_for(_outdial_app(percl)))
    second = agent.expect_ring()
    second.decline()
    assert second.expect_hangup().status is CallStatus.BUSY


def test_scripted_steps_caller_speech_and_hanging_up(percl: Percl) -> None:
    app = percl.scripted_app()
    app.on("/voice", [{"Say": {"text": "Hi"}}, {"Pause": {"length": 60000}}])
    app.on("/status", [])
    number = percl.number_for(app, status_path="/status")
    call = percl.phone(CALLER).calls(number, press("42", after_ms=1000),
                                     speak("yes", after_ms=1500))
    percl.advance(2)
    assert call.transcript.pressed == "42"
    call.say("hello there")
    assert call.transcript.spoken == ["yes", "hello there"]
    call.hang_up()
    assert call.expect_hangup(reason="farEndHangup").status is CallStatus.COMPLETED
    assert percl.webhooks(request_type="callStatus")[0].body["callEndedReason"] == "farEndHangup"
    assert isinstance(percl.leg(call.call_id), PhoneCall)
    assert percl.leg(call.call_id).transcript.pressed == "42"


def test_phone_numbers_must_be_e164(percl: Percl) -> None:
    with pytest.raises(ValueError, match=r"not an E\.164 number"):
        percl.phone("5550100")


def test_closed_percl_refuses_work() -> None:
    kit = Percl()
    kit.close()
    kit.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        kit.advance(1)
