"""Inbound calls: inboundCall -> PerCL -> Say / GetDigits / Redirect / Hangup, on the FakeClock."""

from __future__ import annotations

import freeclimb
from freeclimb.models.webhook import Webhook

from percl.domain.enums import CallDirection, CallEndedReason, CallStatus
from percl.domain.simphone import PhoneStep
from percl.testing.harness import Harness
from tests.e2e.conftest import CALLER, kinds, said


async def _menu(h: Harness, digits_after_ms: int = 4000, digits: str = "1") -> str:
    app = h.scripted_app()
    app.on("/voice", [
        {"Say": {"text": "Welcome to percl", "loop": 1}},
        {"GetDigits": {"actionUrl": app.url("/menu"), "maxDigits": 1,
                       "prompts": [{"Say": {"text": "Press 1 for sales"}}]}},
    ])
    app.on("/menu", lambda body: [{"Say": {"text": f"You pressed {body['digits']}"}},
                                  {"Hangup": {}}])
    app.on("/status", [])
    number = await h.number_for_app(voice_url=app.url("/voice"),
                                    status_callback_url=app.url("/status"))
    return await h.sim_call(CALLER, number, [PhoneStep(after_ms=digits_after_ms, digits=digits)])


async def test_inbound_menu_flow_posts_webhooks_in_order(h: Harness) -> None:
    call_id = await _menu(h)
    call = await h.run_until_ended(call_id)

    assert [w.request_type for w in h.webhooks] == ["inboundCall", "getDigits", "callStatus"]
    inbound, digits, status = h.webhooks
    assert inbound.body["callStatus"] == "ringing"
    assert inbound.body["direction"] == "inbound"
    assert inbound.body["conferenceId"] is None and inbound.body["parentCallId"] is None
    assert digits.body["digits"] == "1" and digits.body["reason"] == "maxDigits"
    assert digits.body["callStatus"] == "inProgress"
    assert status.body["callStatus"] == "completed"
    assert status.body["callEndedReason"] == "appHangup"
    for w in h.webhooks:  # the official SDK parses every body into the right class
        parsed = Webhook.from_json(w.raw.decode())
        assert type(parsed).__name__.lower().startswith(w.request_type.lower())

    assert call.status is CallStatus.COMPLETED
    assert call.direction is CallDirection.INBOUND
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP
    assert call.connect_time is not None and call.end_time is not None
    t = h.transcript(call_id)
    assert said(t) == ["Welcome to percl", "Press 1 for sales", "You pressed 1"]
    assert kinds(t)[0] == "ringing" and "answered" in kinds(t)
    assert isinstance(freeclimb.CallStatus(call.status.value), freeclimb.CallStatus)


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
    number = await h.number_for_app(voice_url=app.url("/voice"),
                                    voice_fallback_url=app.url("/fallback"))
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    assert [w.path for w in h.webhooks] == ["/voice", "/fallback"]
    assert said(h.transcript(call_id)) == ["from fallback"]


async def test_failing_webhook_ends_call_with_webhook_failed(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", (503, "down"))
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.WEBHOOK_FAILED
    logs = [e.message for e in await h.store.list_logs(h.account.account_id, _flt(call_id))]
    assert any("webhookFailed" in m for m in logs)


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


async def test_unsupported_command_ends_with_percl_processing_error(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "hi"}},
                      {"AudioStream": {"location": "grpc://stream.example.com:443"}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.PERCL_PROCESSING_ERROR
    logs = [e.message for e in await h.store.list_logs(h.account.account_id, _flt(call_id))]
    assert any("AudioStream is not supported by percl yet" in m for m in logs)


async def test_caller_hangs_up_during_prompt(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "a very long message " * 20}}])
    app.on("/status", [])
    number = await h.number_for_app(voice_url=app.url("/voice"),
                                    status_callback_url=app.url("/status"))
    call_id = await h.sim_call(CALLER, number, [PhoneStep(after_ms=2000, hangup=True)])
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.FAR_END_HANGUP
    assert call.status is CallStatus.COMPLETED
    assert h.webhooks[-1].body["callEndedReason"] == "farEndHangup"


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
