"""Inbound calls: inboundCall -> PerCL -> Say / GetDigits / Redirect / Hangup, on the FakeClock."""

from __future__ import annotations

import freeclimb

from percl.domain.enums import CallDirection, CallEndedReason, CallStatus
from percl.telephony.sim.model import PhoneStep
from percl.testing.harness import Harness
from tests.e2e.conftest import CALLER, kinds, said


async def _menu_number(h: Harness) -> str:
    app = h.scripted_app()
    app.on("/voice", [
        {"Say": {"text": "Welcome to percl", "loop": 1}},
        {"GetDigits": {"actionUrl": app.url("/menu"), "maxDigits": 1,
                       "prompts": [{"Say": {"text": "Press 1 for sales"}}]}},
    ])
    app.on("/menu", lambda body: [{"Say": {"text": f"You pressed {body['digits']}"}},
                                  {"Hangup": {}}])
    app.on("/status", [])
    return await h.number_for(app, voice_path="/voice", status_path="/status")


async def test_inbound_menu_flow_posts_webhooks_in_order(h: Harness) -> None:
    call = await h.phone(CALLER).calls(await _menu_number(h))
    await call.expect_say("Welcome to percl")
    await call.expect_say("Press 1 for sales")
    await call.press("1")
    await call.expect_say("You pressed 1")
    record = await call.expect_hangup(reason="appHangup")

    assert [w.request_type for w in h.webhooks] == ["inboundCall", "getDigits", "callStatus"]
    inbound, digits, status = h.webhooks
    assert inbound.body["callStatus"] == "ringing"
    assert inbound.body["direction"] == "inbound"
    assert inbound.body["conferenceId"] is None and inbound.body["parentCallId"] is None
    assert digits.body["digits"] == "1" and digits.body["reason"] == "maxDigits"
    assert digits.body["callStatus"] == "inProgress"
    assert status.body["callStatus"] == "completed"
    assert status.body["callEndedReason"] == "appHangup"
    for w in h.webhooks:  # the official SDK parses every body into the right class, all signed
        assert type(w.as_sdk()).__name__.lower().startswith(w.request_type.lower())
        assert w.verify_signature()

    assert record.status is CallStatus.COMPLETED
    assert record.direction is CallDirection.INBOUND
    assert record.connect_time is not None and record.end_time is not None
    assert call.transcript.said == ["Welcome to percl", "Press 1 for sales", "You pressed 1"]
    assert call.transcript.kinds[0] == "ringing" and "answered" in call.transcript.kinds
    assert isinstance(freeclimb.CallStatus(record.status.value), freeclimb.CallStatus)


async def test_getdigits_timeout_reports_empty_digits(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"GetDigits": {"actionUrl": app.url("/menu"), "initialTimeoutMs": 2000}}])
    app.on("/menu", [{"Hangup": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    await h.advance(1.9)
    assert [w.request_type for w in h.webhooks] == ["inboundCall"]
    await h.advance(0.2)
    assert h.webhooks[-1].body["reason"] == "timeout"
    assert h.webhooks[-1].body["digits"] == ""
    await h.run_until_ended(call_id)


async def test_finish_on_key_and_digit_timeout(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"GetDigits": {"actionUrl": app.url("/pin"), "digitTimeoutMs": 1000,
                                     "finishOnKey": "*"}}])
    app.on("/pin", [{"Hangup": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number, [PhoneStep(after_ms=500, digits="42*")])
    await h.run_until_ended(call_id)
    pin = [w for w in h.webhooks if w.request_type == "getDigits"][0]
    assert pin.body["digits"] == "42" and pin.body["reason"] == "finishKey"


async def test_redirect_replaces_script(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Redirect": {"actionUrl": app.url("/next")}},
                      {"Say": {"text": "never spoken"}}])
    app.on("/next", [{"Say": {"text": "redirected"}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)
    assert [w.request_type for w in h.webhooks] == ["inboundCall", "redirect"]
    assert said(h.transcript(call_id)) == ["redirected"]
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP


async def test_reject_first_command_refuses_the_call(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Reject": {"reason": "closed"}}])
    app.on("/status", [])
    number = await h.number_for_app(voice_url=app.url("/voice"),
                                    status_callback_url=app.url("/status"))
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.APP_REJECT
    assert call.connect_time is None
    assert "answered" not in kinds(h.transcript(call_id))
    assert h.webhooks[-1].body["callEndedReason"] == "appReject"


async def test_fallback_url_used_when_voice_url_fails(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", (500, "boom"))
    app.on("/fallback", [{"Say": {"text": "from fallback"}}])
    number = await h.number_for(app, voice_path="/voice", voice_fallback_path="/fallback")
    call = await h.phone(CALLER).calls(number)
    await call.expect_say("from fallback")
    await call.expect_hangup()
    assert [(w.path, w.status) for w in h.webhooks] == [("/voice", 500), ("/fallback", 200)]
    assert call.transcript.said == ["from fallback"]


async def test_failing_webhook_ends_call_with_webhook_failed(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", (503, "down"))
    call = await h.phone(CALLER).calls(await h.number_for(app))
    await call.expect_hangup(reason=CallEndedReason.WEBHOOK_FAILED)
    assert any("webhookFailed" in entry.message for entry in await h.logs(call.call_id))


async def test_garbage_answer_ends_call_with_invalid_response(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", (200, "<html>hello</html>"))
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.WEBHOOK_INVALID_RESPONSE


async def test_invalid_percl_names_the_path(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "hi"}}, {"GetDigits": {"actionUrl": app.url("/x"),
                                                              "maxDigits": "five"}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.APP_INVALID_PERCL
    logs = [e.message for e in await h.store.list_logs(h.account.account_id, _flt(call_id))]
    assert any("[1].GetDigits.maxDigits" in m for m in logs), logs
    assert said(h.transcript(call_id)) == []  # nothing of an invalid script runs


async def test_empty_script_is_app_no_percl(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.APP_NO_PERCL


async def test_caller_hangs_up_during_prompt(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "a very long message " * 20}}])
    app.on("/status", [])
    number = await h.number_for(app, status_path="/status")
    call = await h.phone(CALLER).calls(number)
    await call.expect_say(contains="a very long message", barge_in=True)
    await h.advance(2)
    await call.hang_up()
    record = await call.expect_hangup(reason=CallEndedReason.FAR_END_HANGUP)
    assert record.status is CallStatus.COMPLETED
    assert call.transcript.entries[2].interrupted  # the prompt was cut short
    assert h.webhooks(path="/status")[-1].body["callEndedReason"] == "farEndHangup"


def _flt(call_id: str):  # type: ignore[no-untyped-def]
    from percl.engine.ports import LogFilter

    return LogFilter(call_id=call_id)


async def test_min_digits_not_reached_returns_no_digits(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"GetDigits": {"actionUrl": app.url("/pin"), "minDigits": 4}}])
    app.on("/pin", [{"Hangup": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number, [PhoneStep(after_ms=500, digits="12#")])
    await h.run_until_ended(call_id)
    pin = next(w for w in h.webhooks if w.request_type == "getDigits")
    assert pin.body["digits"] == "" and pin.body["reason"] == "finishKey"
