"""Park and Unpark end to end: the waitUrl loop, Unpark to actionUrl, hangup while parked, the
commands a parked leg may run, and the requestType every Park webhook carries (redirect)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from freeclimb.models.redirect_webhook import RedirectWebhook
from freeclimb.models.webhook import Webhook

from percl.domain.enums import CallEndedReason, CallStatus
from percl.telephony.sim.model import PhoneStep
from percl.testing.harness import Harness, ScriptedApp
from tests.e2e.conftest import CALLER, said

HOLD = {"Say": {"text": "Please hold"}}  # 2 words: 0.8 + 0.3 = 1.1 s


def app_url(path: str) -> str:
    return "http://app.test" + path


async def _parked(h: Harness, steps: Sequence[PhoneStep] = (), *, notification: bool = True,
                  wait: list[dict[str, object]] | None = None) -> tuple[ScriptedApp, str]:
    app = h.scripted_app()
    park = {"waitUrl": app.url("/wait"), "actionUrl": app.url("/resumed")}
    if notification:
        park["notificationUrl"] = app.url("/parked")
    app.on("/voice", [{"Say": {"text": "Parking you"}}, {"Park": park}, {"Say": {"text": "never"}}])
    app.on("/wait", [HOLD] if wait is None else wait)
    app.on("/parked", [{"Say": {"text": "ignored"}}])
    app.on("/resumed", [{"Say": {"text": "Welcome back"}}, {"Hangup": {}}])
    app.on("/status", [])
    number = await h.number_for_app(voice_url=app.url("/voice"), status_callback_url=app.url("/status"))
    return app, await h.sim_call(CALLER, number, list(steps))


def _sdk_redirects(h: Harness, call_id: str, paths: set[str]) -> None:
    for w in h.webhooks_for(call_id):
        if w.path in paths:
            assert w.request_type == "redirect"
            assert isinstance(Webhook.from_json(w.raw.decode()), RedirectWebhook)


async def test_wait_url_loops_until_unpark_from_a_get_digits(h: Harness) -> None:
    app, call_id = await _parked(h, [PhoneStep(after_ms=5000, digits="1")], wait=[
        {"GetDigits": {"actionUrl": app_url("/key"), "maxDigits": 1, "initialTimeoutMs": 500,
                       "prompts": [HOLD]}}])
    app.on("/key", lambda body: [{"Unpark": {}}] if body["digits"] == "1" else [])
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP
    paths = [w.path for w in h.webhooks_for(call_id)]
    assert paths[:3] == ["/voice", "/parked", "/wait"]
    assert paths.count("/wait") >= 2  # looped while the caller stayed silent
    assert paths[-3:] == ["/key", "/resumed", "/status"]
    transcript = said(h.transcript(call_id))
    assert transcript[0] == "Parking you" and transcript[-1] == "Welcome back"
    assert "never" not in transcript and "ignored" not in transcript  # Park is terminal; notice only
    _sdk_redirects(h, call_id, {"/wait", "/parked", "/resumed"})
    assert call_id not in h.platform.parking.parked


async def test_unpark_in_the_wait_script(h: Harness) -> None:
    _app, call_id = await _parked(h, wait=[HOLD, {"Unpark": {}}, {"Say": {"text": "not reached"}}])
    await h.run_until_ended(call_id)
    assert [w.path for w in h.webhooks_for(call_id)] == ["/voice", "/parked", "/wait", "/resumed",
                                                         "/status"]
    assert said(h.transcript(call_id)) == ["Parking you", "Please hold", "Welcome back"]


async def test_wait_url_is_asked_again_at_most_once_a_second(h: Harness) -> None:
    _, call_id = await _parked(h, [PhoneStep(after_ms=10_000, hangup=True)], wait=[], notification=False)
    await h.run_until_ended(call_id)
    waits = [w.sent_at for w in h.webhooks_for(call_id) if w.path == "/wait"]
    assert 9 <= len(waits) <= 11
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(waits))


async def test_hangup_while_parked_tells_action_url(h: Harness) -> None:
    _, call_id = await _parked(h, [PhoneStep(after_ms=3000, hangup=True)])
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.FAR_END_HANGUP
    resumed = h.webhooks(path="/resumed")
    assert len(resumed) == 1 and resumed[0].body["callStatus"] == "completed"
    assert "Welcome back" not in said(h.transcript(call_id))  # the PerCL is ignored
    assert [w.path for w in h.webhooks_for(call_id)][-2:] == ["/resumed", "/status"]
    assert call_id not in h.platform.parking.parked


async def test_rest_hangup_of_a_parked_call(h: Harness) -> None:
    _, call_id = await _parked(h)
    await h.advance(3)
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/{call_id}", json={"status": "completed"})
    assert r.status_code == 202
    call = await h.run_until_ended(call_id)
    assert call.status is CallStatus.COMPLETED and call.call_ended_reason is CallEndedReason.APP_HANGUP
    assert len(h.webhooks(path="/resumed")) == 1


async def test_a_command_a_parked_leg_may_not_run_ends_it(h: Harness) -> None:
    _, call_id = await _parked(h, wait=[{"Enqueue": {"queueId": "QU" + "0" * 40, "waitUrl": app_url("/w"),
                                                     "actionUrl": app_url("/a")}}])
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.PERCL_PROCESSING_ERROR
    assert any("Enqueue is not allowed here" in x.message for x in await h.logs(call_id))


async def test_unpark_outside_a_park_ends_the_call(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "Hi"}}, {"Unpark": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.PERCL_PROCESSING_ERROR
    assert any("Unpark is only allowed while the call is parked" in x.message
               for x in await h.logs(call_id))


async def test_get_speech_in_the_wait_script(h: Harness) -> None:
    app, call_id = await _parked(h, [PhoneStep(after_ms=2500, say="yes")], wait=[
        {"GetSpeech": {"actionUrl": app_url("/speech"), "grammarType": "BUILTIN",
                       "grammarFile": "VERSAY_YESNO", "prompts": [HOLD]}}])
    app.on("/speech", lambda body: [{"Unpark": {}}] if body.get("recognitionResult") == "yes" else [])
    await h.run_until_ended(call_id)
    assert [w.path for w in h.webhooks_for(call_id)][-3:] == ["/speech", "/resumed", "/status"]
