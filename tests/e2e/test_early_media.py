"""PlayEarlyMedia: audio a ringing inbound caller hears before the call is answered (first command
of the voiceUrl script only; anywhere else it is ignored with a warning)."""

from __future__ import annotations

from percl.domain.enums import CallEndedReason, CallStatus, LogLevel
from percl.testing.harness import Harness
from tests.e2e.conftest import AGENT, CALLER, kinds

AUDIO = "http://app.test/ringback.wav"


async def test_early_media_plays_while_the_call_still_rings(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"PlayEarlyMedia": {"file": AUDIO}}, {"Say": {"text": "Hello"}}, {"Hangup": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    await h.advance(1.5)  # the file lasts 3 s on the simulated network
    assert (await h.call(call_id)).status is CallStatus.RINGING
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP
    assert kinds(h.transcript(call_id))[:4] == ["ringing", "play", "answered", "say"]
    entries = h.transcript(call_id).entries
    assert entries[1].url == AUDIO and entries[2].at_ms == 3000  # answered once it had played
    assert call.connect_time is not None and call.connect_time - call.date_created == 3.0


async def test_early_media_elsewhere_is_ignored_with_a_warning(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "Hello"}}, {"PlayEarlyMedia": {"file": AUDIO}},
                      {"Redirect": {"actionUrl": app.url("/next")}}])
    app.on("/next", [{"PlayEarlyMedia": {"file": AUDIO}}, {"Hangup": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    assert "play" not in kinds(h.transcript(call_id))
    warnings = [x for x in await h.logs(call_id) if x.level is LogLevel.WARNING]
    assert sum("PlayEarlyMedia ignored" in x.message for x in warnings) == 2


async def test_early_media_on_an_outbound_call_is_ignored(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/connect", [{"PlayEarlyMedia": {"file": AUDIO}}, {"Hangup": {}}])
    a = await h.create_application(call_connect_url=app.url("/connect"))
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls",
                          json={"from": "+13125550100", "to": AGENT, "applicationId": a.application_id})
    call_id = r.json()["callId"]
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP
    assert "play" not in kinds(h.transcript(call_id))
