"""The Interpreter's DTMF handling: the type-ahead buffer, GetDigits, and a random-event property.

Buffer semantics pinned here (FreeClimb: "every Say flushes the buffer"): a standalone Say leaves
the buffer empty, so digits pressed before it *and while it speaks* never reach the next GetDigits
(which plays its prompts); a Say that is a GetDigits prompt flushes nothing, so digits typed ahead
(during a Play, a Pause, a webhook, or left over from a GetDigits) still barge in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, GetDigitsReason, RequestType
from percl.domain.payloads import wire_fields
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl import parse_script
from percl.percl.interpreter import Interpreter, InterpreterSettings

VOICE = "https://app.example.com/voice"
MENU = "https://app.example.com/menu"
AUDIO = "https://app.example.com/a.wav"


_LONG = a.PlayMedia | a.Cancel | a.StartTimer | a.PostWebhook | a.SendDigitsOut
_LONG_OR_DIAL = _LONG | a.Dial


def tok(action: a.Action) -> int:
    """The token of an action that has one."""
    assert isinstance(action, _LONG_OR_DIAL), action
    return action.token


def start(
    script: list[Any], *, settings: InterpreterSettings | None = None
) -> tuple[Interpreter, list[a.Action]]:
    it = Interpreter(answered=True, settings=settings)
    (post,) = it.request(VOICE, p.InboundCall())
    assert isinstance(post, a.PostWebhook)
    return it, it.handle(e.ScriptReceived(post.token, parse_script(script)))


def getdigits(*prompts: dict[str, Any], **attrs: Any) -> dict[str, Any]:
    return {"GetDigits": {"actionUrl": MENU, "prompts": list(prompts), **attrs}}


def say(text: str, **extra: Any) -> dict[str, Any]:
    return {"Say": {"text": text, **extra}}


def play(**extra: Any) -> dict[str, Any]:
    return {"Play": {"file": AUDIO, **extra}}


def one(actions: list[a.Action], kind: type[Any]) -> Any:
    (found,) = [x for x in actions if isinstance(x, kind)]
    return found


def result(actions: list[a.Action]) -> tuple[str, str]:
    """(digits, reason) of the getDigits webhook in `actions`."""
    post = one(actions, a.PostWebhook)
    assert post.request_type is RequestType.GET_DIGITS and post.url == MENU
    assert post.expects_percl and set(wire_fields(post.payload)) == {"digits", "reason"}
    return wire_fields(post.payload)["digits"], wire_fields(post.payload)["reason"]


# ---- the buffer ------------------------------------------------------------------------------


def test_digits_pressed_before_a_say_are_lost() -> None:
    it, out = start([play(), say("welcome"), getdigits(maxDigits=2)])
    assert it.handle(e.DigitsPressed("12")) == []  # buffered during Play, no barge-in
    out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    assert one(out, a.PlayMedia).text == "welcome"  # this Say flushes the buffer
    out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    assert out == [a.StartTimer(tok(out[0]), 5000)]


def test_digits_pressed_during_a_say_are_flushed_before_the_next_getdigits() -> None:
    it, out = start([say("welcome", loop=2), getdigits(say("menu"), maxDigits=2)])
    first = one(out, a.PlayMedia).token
    assert it.handle(e.DigitsPressed("3")) == []  # standalone Say never barges in
    out = it.handle(e.MediaDone(first))
    assert one(out, a.PlayMedia).text == "welcome"
    assert it.handle(e.DigitsPressed("4")) == []
    out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    # the GetDigits starts with an empty buffer: its prompt plays, nothing is posted
    assert one(out, a.PlayMedia).text == "menu"
    assert not any(isinstance(x, a.PostWebhook) for x in out)
    out = it.handle(e.DigitsPressed("56"))
    assert result(out) == ("56", GetDigitsReason.MAX_DIGITS.value)


def test_a_say_prompt_keeps_type_ahead_from_before_its_getdigits() -> None:
    it, out = start([getdigits(maxDigits=1)])
    out = it.handle(e.DigitsPressed("12"))  # "2" is typed ahead of the next GetDigits
    assert result(out) == ("1", GetDigitsReason.MAX_DIGITS.value)
    post = one(out, a.PostWebhook)
    out = it.handle(e.ScriptReceived(post.token, parse_script([getdigits(say("menu"), maxDigits=1)])))
    assert result(out) == ("2", GetDigitsReason.MAX_DIGITS.value)  # barged in before the prompt
    assert not any(isinstance(x, a.PlayMedia) for x in out)


def test_digits_pressed_during_a_say_prompt_barge_in_and_count() -> None:
    it, out = start([getdigits(say("menu"), maxDigits=2)])
    prompt = one(out, a.PlayMedia)
    out = it.handle(e.DigitsPressed("7"))
    assert a.Cancel(prompt.token) in out
    assert result(it.handle(e.DigitsPressed("8"))) == ("78", GetDigitsReason.MAX_DIGITS.value)


def test_play_does_not_flush_the_buffer() -> None:
    it, out = start([play(), getdigits(maxDigits=2)])
    it.handle(e.DigitsPressed("1"))
    it.handle(e.DigitsPressed("2"))
    out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    assert result(out) == ("12", "maxDigits")


def test_buffered_digits_count_as_barge_in_before_the_prompts() -> None:
    it, out = start([play(), getdigits(say("menu"))])
    it.handle(e.DigitsPressed("5"))
    out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    assert out == [a.StartTimer(tok(out[0]), 3000)]  # digit timeout
    out = it.handle(e.DigitsPressed("#"))
    assert result(out) == ("5", "finishKey")


def test_flush_buffer_discards_typed_ahead_digits() -> None:
    it, out = start([play(), getdigits(say("menu"), flushBuffer=True)])
    it.handle(e.DigitsPressed("12#"))
    out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    assert one(out, a.PlayMedia).text == "menu"
    assert not any(isinstance(x, a.PostWebhook) for x in out)


def test_digits_after_the_finish_key_stay_buffered_for_the_next_getdigits() -> None:
    it, out = start([play(), getdigits()])
    it.handle(e.DigitsPressed("1#9"))
    out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    assert result(out) == ("1", "finishKey")
    post = one(out, a.PostWebhook)
    out = it.handle(e.ScriptReceived(post.token, parse_script([getdigits(maxDigits=1)])))
    assert result(out) == ("9", "maxDigits")


def test_digits_while_awaiting_a_script_are_buffered() -> None:
    it, out = start([{"Redirect": {"actionUrl": MENU}}])
    assert it.handle(e.DigitsPressed("7")) == []
    out = it.handle(e.ScriptReceived(tok(out[0]), parse_script([getdigits(maxDigits=1)])))
    assert result(out) == ("7", "maxDigits")


# ---- GetDigits: prompts and timers -----------------------------------------------------------


def test_prompts_play_in_order_and_initial_timeout_starts_after_them() -> None:
    it, out = start([getdigits(say("a"), play(), {"Pause": {"length": 400}}, say("b", loop=2),
                               initialTimeoutMs=7000)])
    seen = []
    for _ in range(5):
        (m,) = out
        assert isinstance(m, a.PlayMedia)
        seen.append((m.kind, m.text or m.url or m.length_ms))
        out = it.handle(e.MediaDone(m.token))
    assert seen == [("say", "a"), ("play", AUDIO), ("pause", 400), ("say", "b"), ("say", "b")]
    assert out == [a.StartTimer(tok(out[0]), 7000)]


def test_empty_say_prompt_is_skipped() -> None:
    _, out = start([getdigits(say(""), say("x"))])
    assert one(out, a.PlayMedia).text == "x"


def test_prompt_privacy_mode_is_not_inherited() -> None:
    _, out = start([getdigits(say("x"), privacyMode=True)])
    assert one(out, a.PlayMedia).privacy_mode is False


def test_first_digit_barges_in_and_starts_digit_timeout() -> None:
    it, out = start([getdigits(say("a"), say("b"), digitTimeoutMs=1500)])
    token = one(out, a.PlayMedia).token
    out = it.handle(e.DigitsPressed("1"))
    assert out == [a.Cancel(token), a.StartTimer(tok(out[1]), 1500)]
    assert it.handle(e.MediaDone(token)) == []  # stale: prompt "b" never plays
    assert it.handle(e.DigitsPressed("2")) == [
        a.Cancel(tok(out[1])), a.StartTimer(tok(out[1]) + 1, 1500)
    ]


def test_barge_in_stops_a_looping_prompt() -> None:
    it, out = start([getdigits(say("menu", loop=0))])
    for _ in range(3):
        out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    token = one(out, a.PlayMedia).token
    out = it.handle(e.DigitsPressed("4#"))
    assert out[0] == a.Cancel(token)
    assert result(out) == ("4", "finishKey")


def test_digit_timeout_restarts_per_digit_and_old_timers_are_stale() -> None:
    it, out = start([getdigits()])
    initial = one(out, a.StartTimer)
    assert initial.ms == 5000
    out = it.handle(e.DigitsPressed("1"))
    assert out[0] == a.Cancel(initial.token)
    t1 = out[1]
    assert isinstance(t1, a.StartTimer) and t1.ms == 3000
    out = it.handle(e.DigitsPressed("2"))
    t2 = out[1]
    assert out[0] == a.Cancel(t1.token) and isinstance(t2, a.StartTimer)
    assert it.handle(e.TimerFired(initial.token)) == []
    assert it.handle(e.TimerFired(t1.token)) == []
    out = it.handle(e.TimerFired(t2.token))
    assert result(out) == ("12", "timeout")
    assert not any(isinstance(x, a.Cancel) for x in out)  # the fired timer is not cancelled


def test_timeout_without_digits_reports_empty_digits() -> None:
    it, out = start([getdigits(say("menu"))])
    out = it.handle(e.MediaDone(one(out, a.PlayMedia).token))
    out = it.handle(e.TimerFired(one(out, a.StartTimer).token))
    assert result(out) == ("", "timeout")


def test_finish_on_key_default_is_hash_and_is_excluded() -> None:
    it, out = start([getdigits()])
    timer = one(out, a.StartTimer).token
    out = it.handle(e.DigitsPressed("12#"))
    assert out[0] == a.Cancel(timer)
    assert result(out) == ("12", "finishKey")


def test_custom_finish_on_key_makes_hash_an_ordinary_digit() -> None:
    it, _ = start([getdigits(finishOnKey="*")])
    out = it.handle(e.DigitsPressed("#1*"))
    assert result(out) == ("#1", "finishKey")


def test_finish_key_alone_reports_no_digits() -> None:
    it, _ = start([getdigits()])
    assert result(it.handle(e.DigitsPressed("#"))) == ("", "finishKey")


def test_max_digits_finishes_without_finish_key() -> None:
    it, _ = start([getdigits(maxDigits=3)])
    assert one(it.handle(e.DigitsPressed("12")), a.StartTimer).ms == 3000
    out = it.handle(e.DigitsPressed("345"))
    assert result(out) == ("123", "maxDigits")
    post = one(out, a.PostWebhook)
    out = it.handle(e.ScriptReceived(post.token, parse_script([getdigits(maxDigits=2)])))
    assert result(out) == ("45", "maxDigits")  # the rest stayed buffered


def test_empty_digit_report_during_a_prompt_changes_nothing() -> None:
    it, out = start([getdigits(say("menu"))])
    token = one(out, a.PlayMedia).token
    assert it.handle(e.DigitsPressed("")) == []
    out = it.handle(e.MediaDone(token))
    assert one(out, a.StartTimer).ms == 5000  # prompts were not barged in


def test_privacy_mode_is_carried_on_the_webhook() -> None:
    it, _ = start([getdigits(privacyMode=True)])
    assert one(it.handle(e.DigitsPressed("1#")), a.PostWebhook).privacy_mode is True
    it, _ = start([getdigits()])
    assert one(it.handle(e.DigitsPressed("1#")), a.PostWebhook).privacy_mode is False


def test_defaults_come_from_settings() -> None:
    cfg = InterpreterSettings(initial_timeout_ms=1234, digit_timeout_ms=99, finish_on_key="*",
                              max_digits=2)
    it, out = start([getdigits()], settings=cfg)
    assert one(out, a.StartTimer).ms == 1234
    assert one(it.handle(e.DigitsPressed("#")), a.StartTimer).ms == 99  # "#" is a digit here
    assert result(it.handle(e.DigitsPressed("5"))) == ("#5", "maxDigits")


def test_command_attributes_override_settings() -> None:
    cfg = InterpreterSettings(initial_timeout_ms=1234, digit_timeout_ms=99, max_digits=2)
    it, out = start([getdigits(initialTimeoutMs=10, digitTimeoutMs=20, maxDigits=4)], settings=cfg)
    assert one(out, a.StartTimer).ms == 10
    assert one(it.handle(e.DigitsPressed("12")), a.StartTimer).ms == 20
    assert result(it.handle(e.DigitsPressed("34"))) == ("1234", "maxDigits")


def test_far_end_hangup_during_prompt_and_during_wait() -> None:
    it, out = start([getdigits(say("menu"))])
    token = one(out, a.PlayMedia).token
    assert it.handle(e.FarEndHangup()) == [
        a.Cancel(token), a.EndCall(CallEndedReason.FAR_END_HANGUP)
    ]
    it, out = start([getdigits()])
    timer = one(out, a.StartTimer).token
    assert it.handle(e.FarEndHangup()) == [
        a.Cancel(timer), a.EndCall(CallEndedReason.FAR_END_HANGUP)
    ]


def test_interrupt_during_getdigits_cancels_and_forgets_digits() -> None:
    it, out = start([getdigits()])
    timer = one(out, a.StartTimer).token
    it.handle(e.DigitsPressed("1"))
    out = it.handle(e.Interrupt(VOICE, p.Redirect()))
    assert out[0] == a.Cancel(timer + 1)
    post = one(out, a.PostWebhook)
    assert post.request_type is RequestType.REDIRECT and wire_fields(post.payload) == {}


# ---- property: random events against GetDigits scripts -------------------------------------

DIAL = {
    "destination": "+18475550100",
    "callingNumber": "+18475550199",
    "actionUrl": MENU,
    "callConnectUrl": MENU,
}
SCRIPTS = [
    parse_script([say("welcome"), getdigits(say("menu", loop=2), play(), maxDigits=3),
                  say("never")]),
    parse_script([{"Pause": {"length": 300}}, getdigits(say("menu", loop=0), flushBuffer=True)]),
    parse_script([{"SendDigits": {"digits": "1"}}, play(), getdigits(finishOnKey="*")]),
    parse_script([say("bye")]),
    parse_script([{"Redirect": {"actionUrl": MENU}}]),
    parse_script([{"OutDial": DIAL}]),
]
TOKEN = st.integers(0, 40)
_EVENTS = st.one_of(
    st.text(alphabet="0123456789*#", max_size=4).map(e.DigitsPressed),
    TOKEN.map(e.MediaDone),
    TOKEN.map(e.TimerFired),
    TOKEN.map(e.DigitsSent),
    TOKEN.map(lambda t: e.DialStarted(t, "CAchild")),
    st.just(e.FarEndHangup()),
    st.just(e.Interrupt(VOICE, p.Redirect())),
    st.just("done"),  # the running media, timer, SendDigits or dial completes
    st.sampled_from(range(len(SCRIPTS))),  # answer the pending webhook with SCRIPTS[i]
)


@dataclass
class _Shell:
    """What a shell knows: which long actions run (token -> report), which webhook waits."""

    running: dict[int, e.Event] = field(default_factory=dict)
    pending: int | None = None
    ends: int = 0

    def apply(self, actions: list[a.Action]) -> None:
        for act in actions:
            match act:
                case a.PlayMedia(token=t):
                    self.running[t] = e.MediaDone(t)
                case a.SendDigitsOut(token=t):
                    self.running[t] = e.DigitsSent(t)
                case a.StartTimer(token=t):
                    self.running[t] = e.TimerFired(t)
                case a.Dial(token=t):
                    self.running[t] = e.DialStarted(t, "CAchild")
                case a.Cancel(token=t):
                    # KeyError = stopping something never started or already finished
                    assert isinstance(self.running.pop(t), e.MediaDone | e.DigitsSent | e.TimerFired)
                case a.PostWebhook(token=t):
                    assert not self._audible(), "posted while media/timers run"
                    self.pending = t
                case a.EndCall() | a.RejectCall():
                    self.ends += 1
                    assert not self._audible(), "ended with media/timers running"
        assert len(self._audible()) <= 1, "two long actions run at once"

    def _audible(self) -> list[int]:
        return [t for t, ev in self.running.items() if not isinstance(ev, e.DialStarted)]

    def next_report(self) -> e.Event | None:
        return self.running[min(self.running)] if self.running else None

    def took(self, ev: e.Event) -> bool:
        """Consume the report `ev`; True unless it is news about no running action."""
        match ev:
            case e.MediaDone(token=t) | e.DigitsSent(token=t) | e.TimerFired(token=t) | (
                e.DialStarted(token=t)
            ):
                if self.running.get(t) == ev:
                    del self.running[t]
                    return True
                return False
        return True


@settings(max_examples=400, deadline=None)
@given(st.lists(_EVENTS, max_size=40))
def test_random_events_never_break_the_interpreter(events: list[Any]) -> None:
    it = Interpreter(answered=False, inbound=True)
    shell = _Shell()
    shell.apply(it.request(VOICE, p.InboundCall()))
    for item in events:
        if isinstance(item, int):
            if shell.pending is None:
                continue
            ev: e.Event = e.ScriptReceived(shell.pending, SCRIPTS[item])
            shell.pending = None
        elif item == "done":
            report = shell.next_report()
            if report is None:
                continue
            ev = report
        else:
            ev = item
        live = shell.took(ev)
        was_ended = it.ended
        out = it.handle(ev)
        if was_ended:
            assert out == []
            continue
        if not live:
            assert out == [], f"stale {ev} produced {out}"
        if isinstance(ev, e.DigitsPressed) and not ev.digits:
            assert out == []
        shell.apply(out)
        assert it.ended == (shell.ends == 1)
        if isinstance(ev, e.FarEndHangup):
            assert out[-1] == a.EndCall(CallEndedReason.FAR_END_HANGUP)
    assert shell.ends <= 1
    if it.ended:
        assert it.handle(e.DigitsPressed("1")) == [] and it.handle(e.FarEndHangup()) == []
