"""The sans-I/O Interpreter: sequencing, answering, media, call control, ending, unsupported.

Each test builds an Interpreter, asks for a script, answers with a parsed PerCL document and feeds
events, asserting on the exact action lists. DTMF and GetDigits live in test_interpreter_digits.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, LogLevel, MachineType, QueueResult, RequestType
from percl.domain.payloads import wire_fields
from percl.percl import COMMANDS, OutDial, parse_script
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl.interpreter import NATIVE, Interpreter, InterpreterSettings

VOICE = "https://app.example.com/voice"
NEXT = "https://app.example.com/next"
AUDIO = "https://app.example.com/a.wav"
DIAL = {
    "destination": "+18475550100",
    "callingNumber": "+18475550199",
    "actionUrl": "https://app.example.com/dial",
    "callConnectUrl": "https://app.example.com/connect",
}


_LONG = a.PlayMedia | a.Cancel | a.StartTimer | a.PostWebhook | a.SendDigitsOut
_LONG_OR_DIAL = _LONG | a.Dial


def tok(action: a.Action) -> int:
    """The token of an action that has one."""
    assert isinstance(action, _LONG_OR_DIAL), action
    return action.token


def start(
    script: list[Any],
    *,
    answered: bool = True,
    inbound: bool = False,
    settings: InterpreterSettings | None = None,
) -> tuple[Interpreter, list[a.Action]]:
    """Request the first script and answer it with `script`; returns the interpreter and actions."""
    it = Interpreter(answered=answered, inbound=inbound, settings=settings)
    (post,) = it.request(VOICE, p.InboundCall())
    assert isinstance(post, a.PostWebhook)
    return it, reply(it, post, script)


def reply(it: Interpreter, post: a.Action, script: list[Any]) -> list[a.Action]:
    assert isinstance(post, a.PostWebhook)
    return it.handle(e.ScriptReceived(post.token, parse_script(script)))


def say(text: str, **extra: Any) -> dict[str, Any]:
    return {"Say": {"text": text, **extra}}


def media(actions: list[a.Action]) -> a.PlayMedia:
    """The one PlayMedia in `actions`."""
    (play,) = [x for x in actions if isinstance(x, a.PlayMedia)]
    return play


def finish_media(it: Interpreter, actions: list[a.Action]) -> list[a.Action]:
    return it.handle(e.MediaDone(media(actions).token))


# ---- requesting scripts ----------------------------------------------------------------------


def test_request_posts_a_percl_webhook_with_the_given_fields() -> None:
    it = Interpreter(answered=True)
    (post,) = it.request(VOICE, p.OutDialConnect())
    assert post == a.PostWebhook(tok(post), VOICE, p.OutDialConnect(), True, False)
    assert post.request_type is RequestType.OUT_DIAL_CONNECT


def test_stale_script_token_is_ignored() -> None:
    it = Interpreter(answered=True)
    (post,) = it.request(VOICE, p.InboundCall())
    assert isinstance(post, a.PostWebhook)
    assert it.handle(e.ScriptReceived(post.token + 100, parse_script([]))) == []
    assert reply(it, post, []) == [a.EndCall(CallEndedReason.APP_NO_PERCL)]


def test_broken_webhook_logs_and_ends_with_its_reason() -> None:
    it = Interpreter(answered=True)
    (post,) = it.request(VOICE, p.InboundCall())
    assert isinstance(post, a.PostWebhook)
    out = it.handle(e.WebhookBroken(post.token, CallEndedReason.WEBHOOK_FAILED, "HTTP 500"))
    assert len(out) == 2
    log, end = out
    assert isinstance(log, a.Log) and log.level is LogLevel.ERROR and "HTTP 500" in log.message
    assert end == a.EndCall(CallEndedReason.WEBHOOK_FAILED)
    assert it.ended


def test_script_warnings_are_logged_before_commands_run() -> None:
    _, out = start([{"Say": {"text": "hi", "bogus": 1}}])
    assert isinstance(out[0], a.Log) and out[0].level is LogLevel.WARNING
    assert "bogus" in out[0].message
    assert isinstance(out[1], a.PlayMedia)


# ---- sequencing ------------------------------------------------------------------------------


def test_script_that_runs_out_hangs_up() -> None:
    it, out = start([say("one"), say("two")])
    assert media(out).text == "one"
    out = finish_media(it, out)
    assert media(out).text == "two"
    assert finish_media(it, out) == [a.EndCall(CallEndedReason.APP_HANGUP)]
    assert it.ended


def test_empty_script_ends_with_app_no_percl() -> None:
    it, out = start([])
    assert out == [a.EndCall(CallEndedReason.APP_NO_PERCL)]
    assert it.ended


def test_a_later_empty_script_hangs_up_with_app_hangup() -> None:
    """FreeClimb keeps appNoPercl for an empty *first* script; a later `[]` is a script that runs
    out at once, and a script that runs out hangs up."""
    it, out = start([{"Redirect": {"actionUrl": NEXT}}])
    (post,) = out
    assert reply(it, post, []) == [a.EndCall(CallEndedReason.APP_HANGUP)]
    assert it.ended


def test_an_empty_getdigits_answer_hangs_up_with_app_hangup() -> None:
    it, out = start([{"GetDigits": {"actionUrl": NEXT}}])
    (timer,) = out
    assert isinstance(timer, a.StartTimer)
    (post,) = it.handle(e.TimerFired(timer.token))
    assert reply(it, post, []) == [a.EndCall(CallEndedReason.APP_HANGUP)]


def test_waits_for_engine_while_a_runner_has_the_command() -> None:
    it, out = start([{"AddToConference": {"conferenceId": "CF" + "1" * 40}}])
    (invoke,) = out
    assert isinstance(invoke, a.Invoke) and it.waits_for_engine
    it.handle(e.Invoked(invoke.token, e.Proceed()))
    assert not it.waits_for_engine


def test_hangup_stops_the_script() -> None:
    _, out = start([{"Hangup": {"reason": "done"}}, say("never")])
    # (the reason is logged first: tests/percl/test_speech.py)
    assert [x for x in out if not isinstance(x, a.Log)] == [a.EndCall(CallEndedReason.APP_HANGUP)]


def test_redirect_stops_the_script_and_its_answer_replaces_the_rest() -> None:
    it, out = start([{"Redirect": {"actionUrl": NEXT}}, say("old")])
    (post,) = out  # first in the inboundCall's answer: it says so (see tests/percl/test_speech.py)
    assert isinstance(post, a.PostWebhook) and (post.request_type, post.url) == (RequestType.REDIRECT, NEXT)
    assert wire_fields(post.payload)["originalRequestType"] == "inboundCall"
    out = reply(it, out[0], [say("new")])
    assert media(out).text == "new"
    assert finish_media(it, out) == [a.EndCall(CallEndedReason.APP_HANGUP)]


def test_getdigits_stops_the_script() -> None:
    it, out = start([{"GetDigits": {"actionUrl": NEXT}}, say("never")])
    (timer,) = out
    assert isinstance(timer, a.StartTimer)
    (post,) = it.handle(e.TimerFired(timer.token))
    assert isinstance(post, a.PostWebhook) and post.request_type is RequestType.GET_DIGITS
    out = reply(it, post, [say("after")])
    assert media(out).text == "after"


def test_redirect_answer_that_runs_out_hangs_up_instead_of_resuming_the_old_script() -> None:
    it, out = start([say("a"), {"Redirect": {"actionUrl": NEXT}}, say("old")])
    (post,) = finish_media(it, out)
    out = reply(it, post, [say("new")])
    assert finish_media(it, out) == [a.EndCall(CallEndedReason.APP_HANGUP)]


# ---- answering -------------------------------------------------------------------------------


def test_inbound_first_command_answers_first() -> None:
    it, out = start([say("hi")], answered=False, inbound=True)
    assert out[0] == a.Answer()
    assert isinstance(out[1], a.PlayMedia) and len(out) == 2
    assert it.answered


def test_answered_leg_is_not_answered_again() -> None:
    _, out = start([say("hi")], answered=True)
    assert a.Answer() not in out


def test_leading_pause_delays_answer_with_a_timer() -> None:
    it, out = start([{"Pause": {"length": 2000}}, say("hi")], answered=False, inbound=True)
    assert out == [a.StartTimer(tok(out[0]), 2000)]
    assert not it.answered
    assert it.handle(e.MediaDone(tok(out[0]))) == []
    out = it.handle(e.TimerFired(tok(out[0])))
    assert out[0] == a.Answer()
    assert media(out).text == "hi"


def test_pause_on_answered_leg_is_media() -> None:
    it, out = start([{"Pause": {"length": 750}}])
    assert out == [a.PlayMedia(media(out).token, "pause", length_ms=750)]
    assert finish_media(it, out) == [a.EndCall(CallEndedReason.APP_HANGUP)]


def test_reject_as_first_command_of_first_script_rejects() -> None:
    it, out = start([{"Reject": {"reason": "busy"}}, say("never")], answered=False, inbound=True)
    assert out == [a.RejectCall("busy")]
    assert it.ended and not it.answered
    assert it.handle(e.DigitsPressed("1")) == []


def test_reject_later_in_the_script_is_logged_and_ignored() -> None:
    it, out = start([say("hi"), {"Reject": {}}, say("bye")], answered=False, inbound=True)
    assert out[0] == a.Answer()
    out = finish_media(it, out)
    assert isinstance(out[0], a.Log) and out[0].level is LogLevel.WARNING
    assert "Reject" in out[0].message
    assert media(out).text == "bye"
    assert not it.ended


def test_reject_in_a_later_script_is_logged_and_ignored() -> None:
    it, out = start([{"Redirect": {"actionUrl": NEXT}}], answered=False, inbound=True)
    assert out[0] == a.Answer()
    out = reply(it, out[1], [{"Reject": {}}, {"Hangup": {}}])
    assert len(out) == 2 and isinstance(out[0], a.Log) and out[0].level is LogLevel.WARNING
    assert out[1] == a.EndCall(CallEndedReason.APP_HANGUP)


def test_reject_on_an_outbound_leg_is_ignored() -> None:
    _, out = start([{"Reject": {}}, {"Hangup": {}}], answered=True, inbound=False)
    assert isinstance(out[0], a.Log) and out[0].level is LogLevel.WARNING
    assert out[1:] == [a.EndCall(CallEndedReason.APP_HANGUP)]


def test_hangup_as_first_command_answers_then_hangs_up() -> None:
    it, out = start([{"Hangup": {}}], answered=False, inbound=True)
    assert out == [a.Answer(), a.EndCall(CallEndedReason.APP_HANGUP)]
    assert it.answered


# ---- Say, Play, Pause ------------------------------------------------------------------------


def test_say_loop_n_plays_n_times_one_per_media_done() -> None:
    it, out = start([say("hi", loop=3, language="fr-FR", privacyMode=True)])
    tokens = []
    for _ in range(3):
        play = media(out)
        assert play == a.PlayMedia(play.token, "say", text="hi", language="fr-FR",
                                   privacy_mode=True)
        tokens.append(play.token)
        out = it.handle(e.MediaDone(play.token))
    assert out == [a.EndCall(CallEndedReason.APP_HANGUP)]
    assert len(set(tokens)) == 3


def test_say_defaults_to_en_us() -> None:
    _, out = start([say("hi")])
    assert media(out) == a.PlayMedia(media(out).token, "say", text="hi", language="en-US")


def test_say_loop_zero_repeats_until_hangup() -> None:
    it, out = start([say("hold", loop=0), say("never")])
    for _ in range(20):
        out = finish_media(it, out)
        assert media(out).text == "hold"
    token = media(out).token
    assert it.handle(e.FarEndHangup()) == [
        a.Cancel(token), a.EndCall(CallEndedReason.FAR_END_HANGUP)
    ]


def test_empty_say_is_skipped() -> None:
    _, out = start([say(""), say("x")])
    assert out == [media(out)] and media(out).text == "x"
    _, out = start([say("", loop=0)])
    assert out == [a.EndCall(CallEndedReason.APP_HANGUP)]


def test_play_loop_n_plays_the_file_n_times() -> None:
    it, out = start([{"Play": {"file": AUDIO, "loop": 2}}])
    first = media(out)
    assert first == a.PlayMedia(first.token, "play", url=AUDIO)
    out = it.handle(e.MediaDone(first.token))
    second = media(out)
    assert second.url == AUDIO and second.token != first.token
    assert it.handle(e.MediaDone(second.token)) == [a.EndCall(CallEndedReason.APP_HANGUP)]


def test_play_loop_zero_repeats() -> None:
    it, out = start([{"Play": {"file": AUDIO, "loop": 0}}])
    for _ in range(5):
        out = finish_media(it, out)
        assert media(out).url == AUDIO


def test_stale_media_done_is_ignored() -> None:
    it, out = start([say("hi", loop=2), say("next")])
    first = media(out).token
    out = it.handle(e.MediaDone(first))
    assert media(out).text == "hi"
    assert it.handle(e.MediaDone(first)) == []  # a late duplicate for the first iteration
    assert it.handle(e.MediaDone(9999)) == []
    assert media(finish_media(it, out)).text == "next"


# ---- Redirect --------------------------------------------------------------------------------


def test_redirect_limit_ends_the_call_on_the_257th() -> None:
    it, out = start([{"Redirect": {"actionUrl": NEXT}}])
    for _ in range(255):
        (post,) = out
        assert isinstance(post, a.PostWebhook) and post.request_type is RequestType.REDIRECT
        out = reply(it, post, [{"Redirect": {"actionUrl": NEXT}}])
    assert it.redirects == 256
    assert isinstance(out[0], a.PostWebhook)  # the 256th is still allowed
    out = reply(it, out[0], [{"Redirect": {"actionUrl": NEXT}}])
    assert len(out) == 2
    assert isinstance(out[0], a.Log) and out[0].level is LogLevel.ERROR
    assert out[1] == a.EndCall(CallEndedReason.MAX_REDIRECTS_ERROR)


def test_redirect_limit_is_configurable() -> None:
    settings = InterpreterSettings(max_redirects=1)
    it, out = start([{"Redirect": {"actionUrl": NEXT}}], settings=settings)
    out = reply(it, out[0], [{"Redirect": {"actionUrl": NEXT}}])
    assert out[-1] == a.EndCall(CallEndedReason.MAX_REDIRECTS_ERROR)


# ---- SendDigits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "pause"),
    [({}, 500), ({"pauseMs": 50}, 100), ({"pauseMs": 0}, 100), ({"pauseMs": 5000}, 1000),
     ({"pauseMs": 250}, 250), ({"pauseMs": 1000}, 1000), ({"pauseMs": 100}, 100)],
)
def test_send_digits_pause_is_clamped(attrs: dict[str, Any], pause: int) -> None:
    _, out = start([{"SendDigits": {"digits": "12#", **attrs}}])
    (send,) = out
    assert send == a.SendDigitsOut(tok(send), "12#", pause, False)


def test_send_digits_default_pause_comes_from_settings_and_is_clamped() -> None:
    _, out = start([{"SendDigits": {"digits": "1"}}],
                   settings=InterpreterSettings(send_digits_pause_ms=20))
    assert isinstance(out[0], a.SendDigitsOut) and out[0].pause_ms == 100


def test_send_digits_continues_on_digits_sent() -> None:
    it, out = start([{"SendDigits": {"digits": "9", "privacyMode": True}}, say("after")])
    (send,) = out
    assert isinstance(send, a.SendDigitsOut) and send.privacy_mode
    assert it.handle(e.DigitsSent(send.token + 50)) == []
    assert it.handle(e.MediaDone(send.token)) == []
    out = it.handle(e.DigitsSent(send.token))
    assert media(out).text == "after"


# ---- OutDial ---------------------------------------------------------------------------------


def test_outdial_dials_then_posts_out_dial_start_and_parent_script_stops() -> None:
    it, out = start([{"OutDial": DIAL}, say("never")])
    (dial,) = out
    assert isinstance(dial, a.Dial) and isinstance(dial.command, OutDial)
    assert dial.command.destination == "+18475550100"
    assert it.handle(e.DialStarted(dial.token + 1, "CAother")) == []
    (post,) = it.handle(e.DialStarted(dial.token, "CAchild"))
    assert post == a.PostWebhook(tok(post), DIAL["actionUrl"], p.OutDialStart("CAchild"))
    assert wire_fields(post.payload) == {"dialCallId": "CAchild"}
    assert it.handle(e.DialStarted(dial.token, "CAchild")) == []  # duplicate news
    out = reply(it, post, [say("please wait")])
    assert media(out).text == "please wait"
    assert finish_media(it, out) == [a.EndCall(CallEndedReason.APP_HANGUP)]


def test_outdial_on_a_ringing_inbound_leg_answers_it_first() -> None:
    _, out = start([{"OutDial": DIAL}], answered=False, inbound=True)
    assert out[0] == a.Answer() and isinstance(out[1], a.Dial)


# ---- ending from outside ---------------------------------------------------------------------


def test_far_end_hangup_during_say_stops_media() -> None:
    it, out = start([say("hi")])
    assert it.handle(e.FarEndHangup()) == [
        a.Cancel(media(out).token), a.EndCall(CallEndedReason.FAR_END_HANGUP)
    ]
    assert it.handle(e.MediaDone(media(out).token)) == []


def test_far_end_hangup_during_leading_pause_cancels_timer() -> None:
    it, out = start([{"Pause": {"length": 1}}], answered=False, inbound=True)
    (timer,) = out
    assert isinstance(timer, a.StartTimer)
    assert it.handle(e.FarEndHangup()) == [
        a.Cancel(timer.token), a.EndCall(CallEndedReason.FAR_END_HANGUP)
    ]
    assert it.handle(e.TimerFired(timer.token)) == []


def test_far_end_hangup_during_send_digits_stops_them() -> None:
    it, out = start([{"SendDigits": {"digits": "1"}}])
    (send,) = out
    assert isinstance(send, a.SendDigitsOut)
    assert it.handle(e.FarEndHangup()) == [
        a.Cancel(send.token), a.EndCall(CallEndedReason.FAR_END_HANGUP)
    ]


def test_far_end_hangup_while_awaiting_a_script_ignores_its_late_answer() -> None:
    it, out = start([{"Redirect": {"actionUrl": NEXT}}])
    assert it.handle(e.FarEndHangup()) == [a.EndCall(CallEndedReason.FAR_END_HANGUP)]
    assert reply(it, out[0], [say("late")]) == []


def test_far_end_hangup_while_dialing() -> None:
    it, out = start([{"OutDial": DIAL}])
    assert it.handle(e.FarEndHangup()) == [a.EndCall(CallEndedReason.FAR_END_HANGUP)]
    assert it.handle(e.DialStarted(tok(out[0]), "CAchild")) == []


def test_interrupt_cancels_and_posts_new_request() -> None:
    it, out = start([say("hi"), say("old")])
    old = media(out).token
    out = it.handle(e.Interrupt(NEXT, p.MachineDetected(MachineType.FAX_MODEM)))
    assert out[0] == a.Cancel(old)
    assert out[1] == a.PostWebhook(tok(out[1]), NEXT, p.MachineDetected(MachineType.FAX_MODEM))
    assert wire_fields(p.MachineDetected(MachineType.FAX_MODEM)) == {"machineType": "fax modem"}
    assert it.handle(e.MediaDone(old)) == []
    out = reply(it, out[1], [say("new")])
    assert media(out).text == "new"
    assert finish_media(it, out) == [a.EndCall(CallEndedReason.APP_HANGUP)]


def test_interrupt_during_leading_pause_cancels_the_timer() -> None:
    it, out = start([{"Pause": {"length": 1}}], answered=False, inbound=True)
    out2 = it.handle(e.Interrupt(NEXT, p.Redirect()))
    assert out2[0] == a.Cancel(tok(out[0]))
    assert isinstance(out2[1], a.PostWebhook)


def test_terminate_ends_with_the_given_reason() -> None:
    it, out = start([say("hi")])
    assert it.handle(e.Terminate(CallEndedReason.MAX_DURATION)) == [
        a.Cancel(media(out).token), a.EndCall(CallEndedReason.MAX_DURATION)
    ]
    assert it.ended


AFTER_END_EVENTS: list[e.Event] = [
    e.ScriptReceived(1, parse_script([say("x")])),
    e.WebhookBroken(1, CallEndedReason.WEBHOOK_FAILED, "x"),
    e.MediaDone(1), e.MediaDone(2), e.TimerFired(2), e.DigitsSent(2), e.DialStarted(2, "CA"),
    e.DigitsPressed("1#"), e.FarEndHangup(), e.Interrupt(NEXT, p.Redirect()),
    e.Terminate(CallEndedReason.INTERNAL_ERROR),
]


@pytest.mark.parametrize("event", AFTER_END_EVENTS, ids=lambda ev: type(ev).__name__)
def test_after_the_end_every_event_yields_nothing(event: e.Event) -> None:
    it, _ = start([say("hi")])
    assert it.handle(e.FarEndHangup())[-1] == a.EndCall(CallEndedReason.FAR_END_HANGUP)
    assert it.handle(event) == []
    assert it.ended


# ---- unsupported commands --------------------------------------------------------------------

QU = "QU" + "0" * 40
UNSUPPORTED: dict[str, dict[str, Any]] = {  # GetSpeech, PlayEarlyMedia: native (test_speech.py)
    "RecordUtterance": {"actionUrl": NEXT},
    "TranscribeUtterance": {"actionUrl": NEXT},
    "StartRecordCall": {},
    "Sms": {"to": "+18475550100", "from": "+18475550199", "text": "hi"},
    "CreateConference": {"actionUrl": NEXT},
    "AddToConference": {"conferenceId": "CF1"},
    "RemoveFromConference": {},
    "TerminateConference": {},
    "SetListen": {"listen": True},
    "SetTalk": {"talk": False},
    "SetDTMFPassThrough": {"dtmfPassThrough": True},
    "Enqueue": {"queueId": QU, "waitUrl": NEXT, "actionUrl": NEXT},
    "Dequeue": {},
    "Park": {"waitUrl": NEXT, "actionUrl": NEXT},
    "Unpark": {},
    "AudioStream": {"location": "grpc://stream.example.com:443"},
}


def test_every_command_is_either_native_or_engine_run() -> None:
    assert set(COMMANDS) == NATIVE | set(UNSUPPORTED)
    assert not NATIVE & set(UNSUPPORTED)


def invoke_of(actions: list[a.Action]) -> a.Invoke:
    (inv,) = [x for x in actions if isinstance(x, a.Invoke)]
    return inv


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_engine_commands_are_handed_over_as_invoke(name: str) -> None:
    it, out = start([say("before"), {name: UNSUPPORTED[name]}, say("after")])
    out = finish_media(it, out)
    (inv,) = out
    assert isinstance(inv, a.Invoke) and name == inv.command.NAME
    assert not it.ended


def test_proceed_runs_the_next_command() -> None:
    it, out = start([{"SetTalk": {"talk": False}}, say("after")])
    out = it.handle(e.Invoked(invoke_of(out).token, e.Proceed()))
    assert media(out).text == "after"


def test_fetch_posts_and_runs_the_answer() -> None:
    it, out = start([{"CreateConference": {"actionUrl": NEXT}}, say("never")])
    out = it.handle(e.Invoked(invoke_of(out).token, e.Fetch(
        NEXT, p.CreateConference("CF1"))))
    (post,) = out
    assert post == a.PostWebhook(tok(post), NEXT, p.CreateConference("CF1"))
    assert media(reply(it, post, [say("next")])).text == "next"


def test_finish_logs_the_message_naming_the_command_and_ends() -> None:
    it, out = start([{"Park": {"waitUrl": NEXT, "actionUrl": NEXT}}])
    out = it.handle(e.Invoked(invoke_of(out).token, e.Finish(
        CallEndedReason.PERCL_PROCESSING_ERROR, "Park is not supported")))
    assert out == [a.Log(LogLevel.ERROR, "Park is not supported", {"command": "Park"}),
                   a.EndCall(CallEndedReason.PERCL_PROCESSING_ERROR)]
    assert it.ended


def test_stale_or_foreign_invoked_is_ignored() -> None:
    it, out = start([{"SetTalk": {"talk": False}}, say("after")])
    assert it.handle(e.Invoked(invoke_of(out).token + 7, e.Proceed())) == []


def test_hangup_while_invoke_runs_cancels_it() -> None:
    it, out = start([{"Enqueue": UNSUPPORTED["Enqueue"]}])
    token = invoke_of(out).token
    assert it.handle(e.FarEndHangup()) == [a.Cancel(token), a.EndCall(CallEndedReason.FAR_END_HANGUP)]
    assert it.handle(e.Invoked(token, e.Proceed())) == []


def test_hold_wait_keeps_the_leg_when_scripts_run_out() -> None:
    it, out = start([{"AddToConference": {"conferenceId": "CF1"}}])
    assert it.handle(e.Invoked(invoke_of(out).token, e.Hold(e.Idle.WAIT))) == []
    # a callControl script that runs out leaves the leg in the conference
    (post,) = it.handle(e.Interrupt(NEXT, p.CallControl("CF1", "*9")))
    out = reply(it, post, [{"Play": {"file": AUDIO}}])
    assert finish_media(it, out) == []
    assert it.handle(e.Interrupt(NEXT, p.CallControl("CF1", ""))) != []
    assert not it.ended


def test_hold_notify_asks_the_holder_whenever_the_script_runs_out() -> None:
    it, out = start([{"Enqueue": UNSUPPORTED["Enqueue"]}])
    assert it.handle(e.Invoked(invoke_of(out).token, e.Hold(e.Idle.NOTIFY))) == [a.LegIdle()]
    (post,) = it.handle(e.Interrupt(NEXT, p.QueueWait("QU1", "1", 0, 1)))
    assert reply(it, post, []) == [a.LegIdle()]  # an empty wait script is not appNoPercl here
    (post,) = it.handle(e.Interrupt(NEXT, p.QueueWait("QU1", "1", 0, 1)))
    out = reply(it, post, [say("please hold")])
    assert finish_media(it, out) == [a.LegIdle()]


def test_held_leg_may_run_only_allowed_commands() -> None:
    it, out = start([{"Enqueue": UNSUPPORTED["Enqueue"]}])
    it.handle(e.Invoked(invoke_of(out).token, e.Hold(e.Idle.NOTIFY, frozenset({"Say", "Dequeue"}))))
    (post,) = it.handle(e.Interrupt(NEXT, p.QueueWait("QU1", "1", 0, 1)))
    out = reply(it, post, [{"OutDial": DIAL}])
    log, end = out
    assert isinstance(log, a.Log) and "OutDial" in log.message and log.metadata == {"command": "OutDial"}
    assert end == a.EndCall(CallEndedReason.PERCL_PROCESSING_ERROR)


def test_release_restores_the_ordinary_rules() -> None:
    it, out = start([{"Enqueue": UNSUPPORTED["Enqueue"]}])
    it.handle(e.Invoked(invoke_of(out).token, e.Hold(e.Idle.NOTIFY, frozenset({"Say"}))))
    (post,) = it.handle(e.Interrupt(NEXT, p.Dequeue("QU1", QueueResult.DEQUEUED, 0), release=True))
    assert it.hold is None
    out = reply(it, post, [{"OutDial": DIAL}])  # allowed again
    assert any(isinstance(x, a.Dial) for x in out)
    it2, out2 = start([{"Dequeue": {}}])
    it2.handle(e.Invoked(invoke_of(out2).token, e.Hold(e.Idle.WAIT)))
    (post2,) = [x for x in it2.handle(e.Interrupt(NEXT, p.QueueWait("QU1", "1", 0, 1)))
                if isinstance(x, a.PostWebhook)]
    out2 = reply(it2, post2, [{"Dequeue": {}}])
    (post3,) = it2.handle(e.Invoked(invoke_of(out2).token, e.Fetch(
        NEXT, p.Dequeue("QU1", QueueResult.DEQUEUED, 0), release=True)))
    assert isinstance(post3, a.PostWebhook) and it2.hold is None
    assert reply(it2, post3, [say("x")]) != [a.LegIdle()]
