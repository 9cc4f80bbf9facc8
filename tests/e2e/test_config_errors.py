"""Inbound calls that cannot reach an app end with the configuration reasons; REST call options."""

from __future__ import annotations

from freeclimb.models.get_digits_webhook import GetDigitsWebhook
from freeclimb.models.webhook import Webhook

from percl.domain import ids as idmod
from percl.domain.enums import CallEndedReason, CallStatus, PhoneAnswer
from percl.domain.records import IncomingNumber
from percl.engine.ports import LogFilter
from percl.telephony.sim.model import PhoneProgram, PhoneStep
from percl.testing.harness import Harness
from tests.e2e.conftest import AGENT, CALLER, kinds


async def _number(h: Harness, number: str, application_id: str | None,
                  voice_enabled: bool = True) -> str:
    now = h.clock.now()
    await h.store.put_number(IncomingNumber(
        phone_number_id=h.ids.new(idmod.PHONE_NUMBER), account_id=h.account.account_id,
        phone_number=number, application_id=application_id, voice_enabled=voice_enabled,
        date_created=now, date_updated=now))
    return number


async def test_number_without_application(h: Harness) -> None:
    number = await _number(h, "+13125550150", None)
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.CONFIG_ERROR_NO_APPLICATION
    assert call.status is CallStatus.FAILED and h.webhooks == []
    assert "answered" not in kinds(h.transcript(call_id))


async def test_application_without_voice_url(h: Harness) -> None:
    app = await h.create_application()
    number = await _number(h, "+13125550151", app.application_id)
    call = await h.run_until_ended(await h.sim_call(CALLER, number))
    assert call.call_ended_reason is CallEndedReason.CONFIG_ERROR_NO_VOICE_URL


async def test_voice_disabled_number(h: Harness) -> None:
    app = await h.create_application(voice_url="http://app.test/voice")
    number = await _number(h, "+13125550152", app.application_id, voice_enabled=False)
    call = await h.run_until_ended(await h.sim_call(CALLER, number))
    assert call.call_ended_reason is CallEndedReason.VOICE_DISABLED
    logs = await h.store.list_logs(h.account.account_id, LogFilter(call_id=call.call_id))
    assert any("voiceDisabled" in e.message for e in logs)


async def test_rest_call_timeout_send_digits_and_machine_hangup(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/connect", [{"Say": {"text": "hello " * 40}}])
    a = await h.create_application(call_connect_url=app.url("/connect"))
    acc = h.account.account_id
    # timeout: a phone that never answers is given up after the requested 7 s
    h.platform.sim.program(AGENT, PhoneProgram(answer=PhoneAnswer.NO_ANSWER))
    r = await h.rest.post(f"/Accounts/{acc}/Calls", json={
        "from": "+13125550100", "to": AGENT, "applicationId": a.application_id, "timeout": 7})
    call = await h.run_until_ended(r.json()["callId"])
    assert call.status is CallStatus.NO_ANSWER
    assert call.end_time is not None and round(call.end_time - call.date_created) == 7
    # sendDigits + ifMachine hangup on an answering machine
    machine = "+15550100009"
    h.platform.sim.program(machine, PhoneProgram(answer=PhoneAnswer.MACHINE))
    r = await h.rest.post(f"/Accounts/{acc}/Calls", json={
        "from": "+13125550100", "to": machine, "applicationId": a.application_id,
        "sendDigits": "1{2}2", "ifMachine": "hangup"})
    call = await h.run_until_ended(r.json()["callId"])
    assert call.call_ended_reason is CallEndedReason.MACHINE_DETECTED
    sent = [e for e in h.transcript(call.call_id).entries if e.type == "digitsSent"]
    assert [e.digits for e in sent] == ["12"]  # tones; the {2} is a 1 s pause


async def test_privacy_mode_masks_the_digits_in_the_webhook_and_the_logs(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"GetDigits": {"actionUrl": app.url("/pin"), "maxDigits": 4,
                                     "privacyMode": True}}])
    app.on("/pin", [{"Say": {"text": "thanks", "privacyMode": True}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number, [PhoneStep(after_ms=500, digits="4321")])
    await h.run_until_ended(call_id)
    pin = next(w for w in h.webhooks if w.request_type == "getDigits")
    assert pin.body["digits"] == "xxxxx"  # FreeClimb's GetDigitsWebhook under privacyMode
    parsed = Webhook.from_json(pin.raw.decode())
    assert isinstance(parsed, GetDigitsWebhook) and parsed.digits == "xxxxx"
    logs = await h.store.list_logs(h.account.account_id, LogFilter(call_id=call_id))
    logged = [e.metadata for e in logs if e.metadata.get("requestType") == "getDigits"]
    assert logged and all("4321" not in str(m) for m in logged)
    assert all("4321" not in str(e.metadata) for e in logs)
    percl_logs = [e for e in logs if e.message.startswith("PerCL received from http://app.test/pin")]
    assert percl_logs and percl_logs[0].metadata["percl"] == "xxxxx"



async def test_private_say_is_masked_in_the_percl_log_of_a_public_webhook(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "your code is 5150", "privacyMode": True}},
                      {"Say": {"text": "goodbye"}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    assert [e.text for e in h.transcript(call_id).entries if e.type == "say"] == [
        "your code is 5150", "goodbye"]  # the caller hears it
    logs = await h.store.list_logs(h.account.account_id, LogFilter(call_id=call_id))
    (received,) = [e for e in logs if e.message.startswith("PerCL received")]
    (first, second) = received.metadata["percl"]
    assert first["Say"]["text"] == "xxxxx" and first["Say"]["privacyMode"] is True
    assert second["Say"]["text"] == "goodbye"
    assert all("5150" not in str(e.metadata) + e.message for e in logs)  # webhook logs included
    (hook,) = [e for e in logs if e.metadata.get("requestType") == "inboundCall"]
    # The answer is logged once: the webhook's entry names the "PerCL received" entry instead.
    assert hook.metadata["responseBody"] is None
    assert hook.metadata["responseLoggedAs"] == "PerCL received"
