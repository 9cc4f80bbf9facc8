"""The Interpreter's GetSpeech (percl/speech.py), PlayEarlyMedia and Hangup reason: events in,
actions out, no event loop."""

from __future__ import annotations

from typing import Any

import pytest

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, LogLevel, RequestType
from percl.domain.payloads import wire_fields
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl import parse_script
from percl.percl.interpreter import Interpreter, InterpreterSettings
from percl.percl.speech import SpeechDefaults

VOICE = "https://app.example.com/voice"
HEARD = "https://app.example.com/heard"
GRAMMAR = "https://app.example.com/g.grxml"
GRAMMAR_OBJ = object()  # what the shell's LoadGrammar delivers: opaque to the interpreter


def start(script: list[Any], *, answered: bool = True, inbound: bool = False,
          settings: InterpreterSettings | None = None) -> tuple[Interpreter, list[a.Action]]:
    it = Interpreter(answered=answered, inbound=inbound, settings=settings)
    (post,) = it.request(VOICE, p.InboundCall())
    assert isinstance(post, a.PostWebhook)
    return it, it.handle(e.ScriptReceived(post.token, parse_script(script)))


def speech(*prompts: dict[str, Any], **attrs: Any) -> dict[str, Any]:
    return {"GetSpeech": {"actionUrl": HEARD, "grammarFile": GRAMMAR, "prompts": list(prompts), **attrs}}


def say(text: str) -> dict[str, Any]:
    return {"Say": {"text": text}}


def of(actions: list[a.Action], kind: type[Any]) -> list[Any]:
    return [x for x in actions if isinstance(x, kind)]


def one(actions: list[a.Action], kind: type[Any]) -> Any:
    (found,) = of(actions, kind)
    return found


def posted(actions: list[a.Action]) -> dict[str, Any]:
    post = one(actions, a.PostWebhook)
    assert post.request_type is RequestType.GET_SPEECH and post.url == HEARD and post.expects_percl
    return dict(wire_fields(post.payload))


def loaded(it: Interpreter, out: list[a.Action], grammar: object = GRAMMAR_OBJ) -> list[a.Action]:
    return it.handle(e.GrammarLoaded(one(out, a.LoadGrammar).token, grammar))


def timers(actions: list[a.Action]) -> list[a.StartTimer]:
    return of(actions, a.StartTimer)


# ---- start --------------------------------------------------------------------------------------


def test_start_loads_the_grammar_while_the_first_prompt_plays() -> None:
    _, out = start([speech(say("Menu"), grammarRule="main")])
    load, play = out
    assert load == a.LoadGrammar(load.token, "URL", GRAMMAR, "main")
    assert isinstance(play, a.PlayMedia) and play.text == "Menu"


def test_builtin_grammar_type_is_passed_on() -> None:
    _, out = start([speech(grammarType="BUILTIN", grammarFile="DIG4")])
    assert one(out, a.LoadGrammar).grammar_type == "BUILTIN"
    assert one(out, a.LoadGrammar).grammar_file == "DIG4"


def test_without_prompts_the_timers_start_at_once_with_the_defaults() -> None:
    _, out = start([speech()])
    assert [t.ms for t in timers(out)] == [7000, 10000]


def test_timers_start_after_the_last_prompt_and_the_beep() -> None:
    it, out = start([speech(say("a"), {"Pause": {"length": 300}}, playBeep=True, noInputTimeoutMs=100,
                            recognitionTimeoutMs=200)])
    kinds = []
    for _ in range(3):
        media = one(out, a.PlayMedia)
        kinds.append(media.kind)
        assert timers(out) == []
        out = it.handle(e.MediaDone(media.token))
    assert kinds == ["say", "pause", "beep"]
    assert [t.ms for t in timers(out)] == [100, 200]


def test_prompt_loops_are_honoured() -> None:
    it, out = start([speech({"Say": {"text": "again", "loop": 2}})])
    out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    assert len(timers(out)) == 2


# ---- recognition and noMatch ----------------------------------------------------------------------


def test_speech_barges_in_and_is_recognised_once_the_grammar_is_ready() -> None:
    it, out = start([speech(say("Menu"))])
    play = one(out, a.PlayMedia)
    out2 = it.handle(e.SpeechHeard("sales please"))
    assert a.Cancel(play.token) in out2 and len(timers(out2)) == 2
    assert of(out2, a.Recognize) == []  # the grammar is not there yet
    out3 = loaded(it, out)
    rec = one(out3, a.Recognize)
    assert rec.grammar is GRAMMAR_OBJ and rec.utterance == "sales please"
    out4 = it.handle(e.Recognized(rec.token, True, "SALES", 90))
    assert posted(out4) == {"reason": "recognition", "recognitionResult": "SALES", "confidence": 90}
    cancelled = {x.token for x in of(out4, a.Cancel)}
    assert cancelled == {t.token for t in timers(out2)}


def test_speech_after_the_grammar_is_recognised_at_once() -> None:
    it, out = start([speech()])
    loaded(it, out)
    rec = one(it.handle(e.SpeechHeard("billing")), a.Recognize)
    assert rec.utterance == "billing"


def test_only_the_first_utterance_counts() -> None:
    it, out = start([speech()])
    loaded(it, out)
    first = one(it.handle(e.SpeechHeard("one")), a.Recognize)
    assert it.handle(e.SpeechHeard("two")) == []
    assert posted(it.handle(e.Recognized(first.token, False, "", 0))) == {"reason": "noMatch"}


@pytest.mark.parametrize(("threshold", "confidence", "reason"), [
    (None, 50, "recognition"), (None, 49, "noMatch"), (0.9, 90, "recognition"), (0.9, 89, "noMatch"),
    (0.0, 0, "recognition"),
])
def test_confidence_threshold(threshold: float | None, confidence: int, reason: str) -> None:
    attrs = {} if threshold is None else {"confidenceThreshold": threshold}
    it, out = start([speech(**attrs)])
    loaded(it, out)
    rec = one(it.handle(e.SpeechHeard("x")), a.Recognize)
    assert posted(it.handle(e.Recognized(rec.token, True, "X", confidence)))["reason"] == reason


def test_default_threshold_is_configurable() -> None:
    settings = InterpreterSettings(speech=SpeechDefaults(confidence_threshold=0.95))
    it, out = start([speech()], settings=settings)
    loaded(it, out)
    rec = one(it.handle(e.SpeechHeard("x")), a.Recognize)
    assert posted(it.handle(e.Recognized(rec.token, True, "X", 94)))["reason"] == "noMatch"


# ---- timers --------------------------------------------------------------------------------------------


def test_silence_ends_with_no_input() -> None:
    it, out = start([speech()])
    no_input, recognition = timers(out)
    out = it.handle(e.TimerFired(no_input.token))
    assert posted(out) == {"reason": "noInput"}
    assert a.Cancel(recognition.token) in out
    assert it.handle(e.TimerFired(recognition.token)) == []  # stale


def test_no_input_is_ignored_once_something_was_heard() -> None:
    it, out = start([speech()])
    it.handle(e.SpeechHeard("hello"))  # the grammar is still loading
    no_input, recognition = timers(out)
    assert it.handle(e.TimerFired(no_input.token)) == []
    assert posted(it.handle(e.TimerFired(recognition.token))) == {"reason": "noMatch"}


def test_recognition_timeout_without_input_is_no_input() -> None:
    it, out = start([speech(recognitionTimeoutMs=500)])
    _, recognition = timers(out)
    assert posted(it.handle(e.TimerFired(recognition.token))) == {"reason": "noInput"}


def test_the_fetch_is_abandoned_when_it_ends_before_the_grammar_arrived() -> None:
    it, out = start([speech()])
    no_input, _ = timers(out)
    out2 = it.handle(e.TimerFired(no_input.token))
    assert a.Cancel(one(out, a.LoadGrammar).token) in out2


# ---- digit ------------------------------------------------------------------------------------------------


def test_a_key_ends_it_with_digit_and_the_rest_is_buffered() -> None:
    it, out = start([speech(say("Menu")), {"GetDigits": {"actionUrl": VOICE}}])
    out2 = it.handle(e.DigitsPressed("42#"))
    assert a.Cancel(one(out, a.PlayMedia).token) in out2
    assert posted(out2) == {"reason": "digit", "recognitionResult": "4"}
    assert a.Cancel(one(out, a.LoadGrammar).token) in out2
    post = one(out2, a.PostWebhook)
    out3 = it.handle(e.ScriptReceived(post.token, parse_script([{"GetDigits": {"actionUrl": VOICE}}])))
    get_digits = one(out3, a.PostWebhook)  # the buffered "2#" completes it at once
    assert wire_fields(get_digits.payload) == {"digits": "2", "reason": "finishKey"}


def test_an_empty_key_event_is_not_input() -> None:
    it, _ = start([speech()])
    assert it.handle(e.DigitsPressed("")) == []


# ---- error, hangup, privacy -----------------------------------------------------------------------------


def test_a_grammar_that_cannot_be_used_is_an_error_with_a_log_entry() -> None:
    it, out = start([speech(say("Menu"))])
    out2 = it.handle(e.GrammarLoaded(one(out, a.LoadGrammar).token, None,
                                     "GET https://app.example.com/g.grxml failed: HTTP 404", "uri-failure"))
    assert a.Cancel(one(out, a.PlayMedia).token) in out2
    fields = posted(out2)
    assert fields["reason"] == "error" and fields["completionCause"] == "uri-failure"
    assert "HTTP 404" in fields["completionReason"]
    errors = [x for x in of(out2, a.Log) if x.level is LogLevel.ERROR]
    assert len(errors) == 1 and "g.grxml" in errors[0].message and "HTTP 404" in errors[0].message


@pytest.mark.parametrize("ending", [e.FarEndHangup(), e.Terminate(CallEndedReason.MAX_DURATION)])
def test_the_end_of_the_leg_owes_action_url_a_hangup_notice(ending: e.Event) -> None:
    it, out = start([speech(say("Menu"), privacyMode=True)])
    out2 = it.handle(ending)
    end = one(out2, a.EndCall)
    (notice,) = end.notices
    assert notice.request_type is RequestType.GET_SPEECH and notice.url == HEARD
    assert wire_fields(notice.payload) == {"reason": "hangup"}
    assert not notice.expects_percl and notice.privacy_mode
    assert a.Cancel(one(out, a.PlayMedia).token) in out2


def test_no_notice_when_nothing_was_pending() -> None:
    it, _ = start([{"Pause": {"length": 1000}}])
    assert one(it.handle(e.FarEndHangup()), a.EndCall).notices == ()


def test_an_interrupt_cancels_it_without_a_webhook() -> None:
    it, out = start([speech(say("Menu"))])
    out2 = it.handle(e.Interrupt(VOICE, p.Redirect()))
    assert a.Cancel(one(out, a.PlayMedia).token) in out2
    assert one(out2, a.PostWebhook).request_type is RequestType.REDIRECT


def test_privacy_mode_masks_the_result_in_the_webhook_and_the_log() -> None:
    """FreeClimb's GetSpeechWebhook: recognitionResult is "replaced by 'xxxxx' when privacyMode
    is set to true"."""
    it, out = start([speech(privacyMode=True)])
    loaded(it, out)
    rec = one(it.handle(e.SpeechHeard("1234")), a.Recognize)
    out2 = it.handle(e.Recognized(rec.token, True, "1234", 100))
    assert posted(out2) == {"reason": "recognition", "recognitionResult": "xxxxx", "confidence": 100}
    assert one(out2, a.PostWebhook).privacy_mode
    assert "1234" not in repr(out2)


def test_privacy_mode_masks_a_digit_result() -> None:
    it, _ = start([speech(privacyMode=True)])
    out2 = it.handle(e.DigitsPressed("7"))
    assert posted(out2) == {"reason": "digit", "recognitionResult": "xxxxx"}
    assert "7" not in repr([x for x in out2 if isinstance(x, a.Log)])


def test_stale_grammar_and_recognition_events_are_ignored() -> None:
    it, out = start([speech()])
    token = one(out, a.LoadGrammar).token
    it.handle(e.DigitsPressed("1"))
    assert it.handle(e.GrammarLoaded(token, GRAMMAR_OBJ)) == []
    assert it.handle(e.Recognized(token + 100, True, "x", 100)) == []


# ---- PlayEarlyMedia, Hangup reason ---------------------------------------------------------------------


def test_early_media_plays_before_answering() -> None:
    it, out = start([{"PlayEarlyMedia": {"file": "https://app.example.com/ring.wav"}}, say("Hi")],
                    answered=False, inbound=True)
    assert of(out, a.Answer) == []
    play = one(out, a.PlayMedia)
    assert play.kind == "play" and play.url == "https://app.example.com/ring.wav"
    out2 = it.handle(e.MediaDone(play.token))
    assert isinstance(out2[0], a.Answer) and one(out2, a.PlayMedia).text == "Hi"


@pytest.mark.parametrize(("answered", "inbound", "first"), [(True, False, True), (False, True, False)])
def test_early_media_anywhere_else_is_ignored(answered: bool, inbound: bool, first: bool) -> None:
    early = {"PlayEarlyMedia": {"file": "https://app.example.com/ring.wav"}}
    script = [early, say("Hi")] if first else [say("Hi"), early]
    it, out = start(script, answered=answered, inbound=inbound)
    if not first:
        out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    warnings = [x for x in of(out, a.Log) if x.level is LogLevel.WARNING]
    assert len(warnings) == 1 and "PlayEarlyMedia ignored" in warnings[0].message


def test_hangup_reason_is_logged() -> None:
    _, out = start([{"Hangup": {"reason": "done"}}])
    assert a.Log(LogLevel.INFO, "Hangup: done", {"reason": "done"}) in out
    assert out[-1] == a.EndCall(CallEndedReason.APP_HANGUP)
    _, out = start([{"Hangup": {}}])
    assert of(out, a.Log) == []


def test_news_of_another_kind_under_a_run_token_is_stale() -> None:
    it, out = start([speech(say("Menu"))])
    load, play = one(out, a.LoadGrammar), one(out, a.PlayMedia)
    assert it.handle(e.TimerFired(play.token)) == []  # not the recognition timer
    assert it.handle(e.MediaDone(load.token)) == []  # not a prompt
    assert [t.ms for t in timers(it.handle(e.MediaDone(play.token)))] == [7000, 10000]


# ---- speech that starts before it is recognised (audio networks) ---------------------------------


def test_speech_barges_in_as_soon_as_it_starts() -> None:
    it, out = start([speech(say("Menu"))])
    play = one(out, a.PlayMedia)
    started = it.handle(e.SpeechStarted())
    assert a.Cancel(play.token) in started and len(timers(started)) == 2
    assert of(started, a.Recognize) == [] and of(started, a.PostWebhook) == []
    loaded(it, out)
    rec = one(it.handle(e.SpeechHeard("sales")), a.Recognize)
    assert rec.utterance == "sales"


def test_an_utterance_under_way_holds_off_no_input() -> None:
    it, out = start([speech(noInputTimeoutMs=1000, recognitionTimeoutMs=5000)])
    no_input, recognition = timers(out)
    it.handle(e.SpeechStarted())
    assert it.handle(e.TimerFired(no_input.token)) == []  # the caller is still speaking
    ended = it.handle(e.TimerFired(recognition.token))
    assert posted(ended)["reason"] == "noMatch"  # something was heard, nothing recognised


def test_speech_started_outside_get_speech_is_ignored() -> None:
    it, _ = start([say("Hello")])
    assert it.handle(e.SpeechStarted()) == []
