"""GetSpeech end to end: a virtual phone speaks or presses keys, percl recognises with the grammar
(fetched by GET from the app, or a builtin), and the app's actionUrl gets getSpeech with every
reason FreeClimb documents: recognition, noMatch, noInput, digit, error and hangup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from freeclimb.models.get_speech_webhook import GetSpeechWebhook
from freeclimb.models.webhook import Webhook

from percl.domain.enums import CallEndedReason, LogLevel
from percl.telephony.sim.model import PhoneStep
from percl.testing.harness import CapturedWebhook, Harness, ScriptedApp
from tests.e2e.conftest import CALLER, kinds, said

GRAMMARS = Path(__file__).resolve().parents[1] / "data" / "grammar"
PROMPT = "Say sales support or billing"  # symbolic: 5 words, 2.0 + 0.3 = 2.3 s; audio: espeak's
#: VoiceActivity hears speech start after 100 ms of voice (the TTS leads in with 50-100 ms of
#: silence) and its end after 700 ms of silence: when audio fidelity reacts, symbolic at once
SPEECH_START_S = 0.22
SPEECH_END_S = 0.7 + 0.04
ASR_MISSES = "pocketsphinx does not recognise these words as espeak speaks them (audio: noMatch)"


def _prompt_s(h: Harness) -> float:
    """How long PROMPT plays in the kit's fidelity."""
    return h.say_ms(PROMPT) / 1000


def _result_within(h: Harness, elapsed: float, said_at: float, utterance: str) -> bool:
    """Whether a result `elapsed` s after the answer came for `utterance` said at `said_at`:
    symbolic at once, audio once the utterance and its 700 ms of trailing silence are heard."""
    return said_at - 1e-6 <= elapsed <= said_at + len(h.speech(utterance)) / 8000 + SPEECH_END_S


async def _call(h: Harness, steps: list[PhoneStep], *, prompts: list[dict[str, Any]] | None = None,
                grammar: tuple[int, bytes] | None = None, **attrs: Any) -> tuple[ScriptedApp, str]:
    """A call whose voiceUrl runs one GetSpeech (the menu grammar at /menu.grxml unless `attrs`
    name another); /heard answers with a Say and a Hangup."""
    app = h.scripted_app()
    app.on("/menu.grxml", grammar or (200, (GRAMMARS / "menu_ms.grxml").read_bytes()))
    speech = {"actionUrl": app.url("/heard"), "grammarFile": app.url("/menu.grxml"),
              "prompts": [{"Say": {"text": PROMPT}}] if prompts is None else prompts, **attrs}
    app.on("/voice", [{"GetSpeech": speech}])
    app.on("/heard", [{"Say": {"text": "Goodbye"}}, {"Hangup": {}}])
    app.on("/status", [])
    number = await h.number_for_app(voice_url=app.url("/voice"), status_callback_url=app.url("/status"))
    return app, await h.sim_call(CALLER, number, steps)


async def _heard(h: Harness, call_id: str) -> CapturedWebhook:
    """The one getSpeech webhook of the call, after it ended; checked with the official SDK."""
    await h.run_until_ended(call_id)
    (hook,) = [w for w in h.webhooks_for(call_id) if w.request_type == "getSpeech"]
    parsed = Webhook.from_json(hook.raw.decode())
    assert isinstance(parsed, GetSpeechWebhook)
    return hook


def _answered_at(h: Harness, call_id: str) -> float:
    entries = h.transcript(call_id).entries
    (answered,) = [x for x in entries if x.type == "answered"]
    return h.transcript(call_id).created_ms / 1000 + answered.at_ms / 1000


# ---- recognition ------------------------------------------------------------------------------


async def test_speech_barges_in_and_is_recognised_with_the_fetched_grammar(h: Harness) -> None:
    _, call_id = await _call(h, [PhoneStep(after_ms=800, say="uh billing please")])
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == "recognition"
    assert hook.body["recognitionResult"] == "BILLING" and hook.body["confidence"] == 100
    assert hook.body["callStatus"] == "inProgress" and hook.path == "/heard"
    sdk = GetSpeechWebhook.from_json(hook.raw.decode())
    assert sdk.recognition_result == "BILLING" and sdk.confidence == 100
    prompt = h.transcript(call_id).entries[2]
    assert prompt.type == "say" and prompt.interrupted  # barge-in, as speech starts
    assert 800 <= prompt.heard_ms <= 800 + SPEECH_START_S * 1000
    assert _result_within(h, hook.sent_at - _answered_at(h, call_id), 0.8, "uh billing please")
    assert said(h.transcript(call_id)) == [PROMPT, "Goodbye"]
    assert (await h.call(call_id)).call_ended_reason is CallEndedReason.APP_HANGUP


@pytest.mark.percl_media("symbolic")  # ASR_MISSES: "customer service" is heard as BILLING
async def test_speech_after_the_prompts_is_recognised(h: Harness) -> None:
    _, call_id = await _call(h, [PhoneStep(after_ms=4000, say="customer service")])
    hook = await _heard(h, call_id)
    assert (hook.body["reason"], hook.body["recognitionResult"]) == ("recognition", "SUPPORT")
    assert not h.transcript(call_id).entries[2].interrupted


@pytest.mark.percl_media("audio")
async def test_speech_after_the_prompts_is_recognised_in_audio(h: Harness) -> None:
    _, call_id = await _call(h, [PhoneStep(after_ms=4000, say="support please")])
    hook = await _heard(h, call_id)
    assert (hook.body["reason"], hook.body["recognitionResult"]) == ("recognition", "SUPPORT")
    assert not h.transcript(call_id).entries[2].interrupted


@pytest.mark.parametrize(("name", "utterance", "result"), [
    ("VERSAY_YESNO", "yeah", "yes"),
    # ASR_MISSES: "nope thanks" is recognised alone but was heard as yes in the whole suite: espeak's
    # renders depend on what it synthesised before (its pitch flutter and noise state persist)
    pytest.param("VERSAY_YESNO", "nope thanks", "no", marks=pytest.mark.percl_media("symbolic")),
    # ASR_MISSES: "five five one two" passes in audio alone, but espeak's renders vary with what it
    # rendered before (its pitch flutter persists), and a render was once heard as 9912
    pytest.param("DIG4", "five five one two", "5512", marks=pytest.mark.percl_media("symbolic")),
    # ASR_MISSES: the letters of ALPHNUM6 are not recognised (espeak + pocketsphinx) in audio;
    # "1 2 3" is when run alone, but was heard as "13" after the other audio cases (cause not found)
    pytest.param("UP_TO_20_DIGIT_SEQUENCE", "1 2 3", "123",
                 marks=pytest.mark.percl_media("symbolic")),
    pytest.param("ALPHNUM6", "b 7 x-ray 2 k 9", "B7X2K9",
                 marks=pytest.mark.percl_media("symbolic")),
    # in audio, digit grammars past 500 sentences are decoded by their rules (JSGF)
    pytest.param("DIG4", "one two three four", "1234", marks=pytest.mark.percl_media("audio")),
])
async def test_builtin_grammars(h: Harness, name: str, utterance: str, result: str) -> None:
    _, call_id = await _call(h, [PhoneStep(after_ms=500, say=utterance)], grammarType="BUILTIN",
                             grammarFile=name)
    hook = await _heard(h, call_id)
    assert (hook.body["reason"], hook.body["recognitionResult"]) == ("recognition", result)


@pytest.mark.percl_media("symbolic")  # ASR_MISSES: "sir" alone is heard as nothing, at times
async def test_grammar_rule_picks_the_rule_to_match(h: Harness) -> None:
    # POLITE is not the root: with grammarRule it is the whole grammar
    _, call_id = await _call(h, [PhoneStep(after_ms=500, say="sir")], grammarRule="POLITE")
    hook = await _heard(h, call_id)
    assert (hook.body["reason"], hook.body["recognitionResult"]) == ("recognition", "sir")


@pytest.mark.percl_media("audio")
async def test_grammar_rule_picks_the_rule_to_match_in_audio(h: Harness) -> None:
    _, call_id = await _call(h, [PhoneStep(after_ms=500, say="please")], grammarRule="POLITE")
    hook = await _heard(h, call_id)
    assert (hook.body["reason"], hook.body["recognitionResult"]) == ("recognition", "please")


# ---- noMatch, confidence -------------------------------------------------------------------------


async def test_speech_outside_the_grammar_is_no_match(h: Harness) -> None:
    _, call_id = await _call(h, [PhoneStep(after_ms=500, say="I want a pizza")])
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == "noMatch"
    assert "recognitionResult" not in hook.body and "confidence" not in hook.body
    assert _result_within(h, hook.sent_at - _answered_at(h, call_id), 0.5, "I want a pizza")


@pytest.mark.percl_media("symbolic")  # ASR_MISSES: a GARBAGE grammar is decoded free-form
@pytest.mark.parametrize(("threshold", "reason"), [(None, "recognition"), (0.8, "recognition"),
                                                   (0.85, "noMatch")])
async def test_confidence_threshold(h: Harness, threshold: float | None, reason: str) -> None:
    # two words absorbed by GARBAGE: confidence 80
    attrs = {} if threshold is None else {"confidenceThreshold": threshold}
    grammar = (200, (GRAMMARS / "garbage_menu.grxml").read_bytes())
    _, call_id = await _call(h, [PhoneStep(after_ms=500, say="umm sales please")], grammar=grammar,
                             **attrs)
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == reason
    if reason == "recognition":
        assert hook.body["confidence"] == 80 and hook.body["recognitionResult"] == "sales"
    else:
        messages = " ".join(x.message for x in await h.logs(call_id))
        assert "confidence 80 below the threshold 0.85" in messages


# ---- noInput and the timers -----------------------------------------------------------------------


async def test_silence_is_no_input_after_the_default_7_s(h: Harness) -> None:
    _, call_id = await _call(h, [])
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == "noInput"
    assert hook.sent_at - _answered_at(h, call_id) == pytest.approx(_prompt_s(h) + 7.0)


async def test_no_input_timeout_ms(h: Harness) -> None:
    _, call_id = await _call(h, [], noInputTimeoutMs=2500)
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == "noInput"
    assert hook.sent_at - _answered_at(h, call_id) == pytest.approx(_prompt_s(h) + 2.5)


async def test_recognition_timeout_bounds_the_wait_for_a_slow_grammar(h: Harness) -> None:
    # the grammar answers after 6 s; the caller barged in at 1 s, which ended the prompts: no
    # result 3 s later, though something was heard, is a noMatch
    h.fault("http://app.test/menu.grxml", "slow", delay_ms=6000)
    _, call_id = await _call(h, [PhoneStep(after_ms=1000, say="sales")], recognitionTimeoutMs=3000)
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == "noMatch"
    # 3 s from the barge-in (audio: when the voice's start is heard)
    elapsed = hook.sent_at - _answered_at(h, call_id)
    assert 1.0 + 3.0 - 1e-6 <= elapsed <= 1.0 + SPEECH_START_S + 3.0


async def test_recognition_timeout_shorter_than_no_input_ends_silence_earlier(h: Harness) -> None:
    _, call_id = await _call(h, [], recognitionTimeoutMs=1000)
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == "noInput"
    assert hook.sent_at - _answered_at(h, call_id) == pytest.approx(_prompt_s(h) + 1.0)


async def test_play_beep_after_the_prompts(h: Harness) -> None:
    _, call_id = await _call(h, [PhoneStep(after_ms=3500, say="sales")], playBeep=True)
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == "recognition"
    assert kinds(h.transcript(call_id))[2:4] == ["say", "beep"]


# ---- digit ----------------------------------------------------------------------------------------


async def test_a_key_ends_it_with_reason_digit(h: Harness) -> None:
    _app, call_id = await _call(h, [PhoneStep(after_ms=600, digits="2")])
    hook = await _heard(h, call_id)
    assert (hook.body["reason"], hook.body["recognitionResult"]) == ("digit", "2")
    assert "confidence" not in hook.body
    assert h.transcript(call_id).entries[2].interrupted  # keys barge in too
    assert GetSpeechWebhook.from_json(hook.raw.decode()).reason.value == "digit"  # type: ignore[union-attr]


async def test_further_keys_stay_buffered_for_a_getdigits(h: Harness) -> None:
    app, call_id = await _call(h, [PhoneStep(after_ms=600, digits="123")])
    app.on("/heard", [{"GetDigits": {"actionUrl": app.url("/digits"), "maxDigits": 2}}])
    app.on("/digits", [{"Hangup": {}}])
    hook = await _heard(h, call_id)
    assert hook.body["recognitionResult"] == "1"
    (digits,) = h.webhooks(path="/digits")
    assert digits.body["digits"] == "23"


# ---- error ----------------------------------------------------------------------------------------


async def test_a_grammar_that_cannot_be_fetched_is_an_error(h: Harness) -> None:
    _, call_id = await _call(h, [], grammar=(404, b"not here"))
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == "error" and hook.body["completionCause"] == "uri-failure"
    assert "HTTP 404" in hook.body["completionReason"]
    assert hook.sent_at == pytest.approx(_answered_at(h, call_id))  # at once: the prompt stops
    assert h.transcript(call_id).entries[2].interrupted
    errors = [x for x in await h.logs(call_id) if x.level is LogLevel.ERROR]
    assert any("menu.grxml" in x.message and "404" in x.message for x in errors)


async def test_a_grammar_that_cannot_be_parsed_is_an_error(h: Harness) -> None:
    _, call_id = await _call(h, [], grammar=(200, b"<grammar><rule id='x'>unclosed"))
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == "error"
    assert hook.body["completionCause"] == "grammar-compilation-failure"
    errors = [x.message for x in await h.logs(call_id) if x.level is LogLevel.ERROR]
    assert any("menu.grxml cannot be used" in m for m in errors), errors


async def test_an_unknown_grammar_rule_is_an_error(h: Harness) -> None:
    _, call_id = await _call(h, [], grammarRule="nosuchrule")
    hook = await _heard(h, call_id)
    assert hook.body["reason"] == "error" and "nosuchrule" in hook.body["completionReason"]


# ---- hangup, privacy --------------------------------------------------------------------------------


async def test_caller_hangs_up_during_get_speech(h: Harness) -> None:
    _app, call_id = await _call(h, [PhoneStep(after_ms=4000, hangup=True)])
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.FAR_END_HANGUP
    types = [w.request_type for w in h.webhooks_for(call_id)]
    assert types == ["inboundCall", "getSpeech", "callStatus"]
    hook = h.webhooks_for(call_id)[1]
    assert hook.body["reason"] == "hangup" and hook.body["callStatus"] == "completed"
    assert isinstance(Webhook.from_json(hook.raw.decode()), GetSpeechWebhook)
    assert said(h.transcript(call_id)) == [PROMPT]  # its PerCL is ignored


async def test_privacy_mode_masks_the_result_in_the_webhook_and_the_log(h: Harness) -> None:
    _, call_id = await _call(h, [PhoneStep(after_ms=500, say="sales")], privacyMode=True)
    hook = await _heard(h, call_id)
    assert hook.body["recognitionResult"] == "xxxxx"  # FreeClimb's GetSpeechWebhook
    assert hook.body["reason"] == "recognition"
    assert isinstance(Webhook.from_json(hook.raw.decode()), GetSpeechWebhook)
    logs = await h.logs(call_id)
    text = repr([(x.message, x.metadata) for x in logs])
    assert "SALES" not in text and "'sales'" not in text
    (sent,) = [x for x in logs if x.metadata.get("requestType") == "getSpeech"]
    assert sent.metadata["requestBody"]["recognitionResult"] == "xxxxx"


async def test_speech_outside_get_speech_is_ignored(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "Hello there"}}, {"Pause": {"length": 2000}}, {"Hangup": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call_id = await h.sim_call(CALLER, number, [PhoneStep(after_ms=200, say="sales")])
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP
    assert not h.transcript(call_id).entries[2].interrupted  # standalone Say: no barge-in
