"""Redirect's originalRequestType end to end: the body passes the payload checks and the SDK."""

from __future__ import annotations

from freeclimb.models.redirect_webhook import RedirectWebhook
from freeclimb.models.webhook import Webhook

from percl.telephony.sim.model import PhoneStep
from percl.testing.harness import Harness
from tests.e2e.conftest import CALLER


async def test_redirect_first_in_answers_carries_the_original(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Redirect": {"actionUrl": app.url("/menu")}}])
    app.on("/menu", [{"GetSpeech": {"actionUrl": app.url("/heard"), "grammarType": "BUILTIN",
                                    "grammarFile": "VERSAY_YESNO"}}])
    app.on("/heard", [{"Redirect": {"actionUrl": app.url("/again")}}])
    app.on("/again", [{"Say": {"text": "ok"}}, {"Redirect": {"actionUrl": app.url("/end")}}])
    app.on("/end", [{"Hangup": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number, [PhoneStep(after_ms=500, say="yes")])
    await h.run_until_ended(call_id)
    menu, again, end = (h.webhooks(path=p)[0] for p in ("/menu", "/again", "/end"))
    assert menu.body["originalRequestType"] == "inboundCall"
    assert again.body["originalRequestType"] == "getSpeech"
    assert (again.body["reason"], again.body["recognitionResult"], again.body["confidence"]) == (
        "recognition", "yes", 100)
    assert "originalRequestType" not in end.body  # not the first command of /again's answer
    for hook in (menu, again, end):
        assert isinstance(Webhook.from_json(hook.raw.decode()), RedirectWebhook)
