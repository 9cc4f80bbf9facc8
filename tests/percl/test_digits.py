"""percl/digits.py on its own: DigitsRun's contract with the interpreter (tests/percl/
test_interpreter_digits.py covers GetDigits' behaviour through the interpreter)."""

from __future__ import annotations

import itertools

from percl.domain import payloads as p
from percl.domain.enums import RequestType
from percl.domain.payloads import wire_fields
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl import parse_script
from percl.percl.commands import GetDigits
from percl.percl.digits import DigitsRun
from percl.percl.interpreter import InterpreterSettings

MENU = "https://app.example.com/menu"


def run(**attrs: object) -> DigitsRun:
    tokens = itertools.count(1)
    (command,) = parse_script([{"GetDigits": {"actionUrl": MENU, **attrs}}]).commands
    assert isinstance(command, GetDigits)
    return DigitsRun(command, InterpreterSettings(), lambda: next(tokens),
                     lambda t, p: a.PlayMedia(t, "say", text=getattr(p, "text", None)))


def test_typed_ahead_keys_finish_at_once_and_the_rest_is_left_over() -> None:
    r = run(maxDigits=2)
    actions, rest = r.start("123")
    assert wire_fields(r.payload) == {"digits": "12", "reason": "maxDigits"} and rest == "3"
    assert actions == []  # nothing was started, so nothing to stop
    assert isinstance(r.payload, p.GetDigits)
    assert (r.payload.REQUEST_TYPE, r.action_url, r.privacy) == (RequestType.GET_DIGITS, MENU, False)


def test_prompt_then_initial_timeout_then_timeout() -> None:
    r = run(prompts=[{"Say": {"text": "Menu"}}], initialTimeoutMs=1200, privacyMode=True)
    (play,), rest = r.start("")
    assert isinstance(play, a.PlayMedia) and rest == "" and r.owns(e.MediaDone(play.token))
    (timer,) = r.handle(e.MediaDone(play.token))
    assert timer == a.StartTimer(timer.token, 1200) and not r.owns(e.MediaDone(play.token))
    assert r.handle(e.TimerFired(timer.token)) == []
    assert wire_fields(r.payload) == {"digits": "", "reason": "timeout"} and r.privacy


def test_privacy_mode_reports_entered_digits_as_xxxxx() -> None:
    """FreeClimb's GetDigitsWebhook: the digits are "replaced by 'xxxxx' when privacyMode is set"."""
    r = run(maxDigits=4, privacyMode=True)
    r.start("")
    r.press("4321")
    assert wire_fields(r.payload) == {"digits": "xxxxx", "reason": "maxDigits"}
    r = run(privacyMode=True)
    r.start("")
    r.press("12#")
    assert wire_fields(r.payload) == {"digits": "xxxxx", "reason": "finishKey"}
    r = run(maxDigits=4, privacyMode=False)
    r.start("")
    r.press("4321")
    assert wire_fields(r.payload) == {"digits": "4321", "reason": "maxDigits"}


def test_cancel_stops_prompt_and_timer() -> None:
    r = run(prompts=[{"Say": {"text": "Menu"}}])
    (play,), _ = r.start("")
    assert r.cancel() == [a.Cancel(play.token)]
    assert r.cancel() == []


def test_finish_key_is_not_reported() -> None:
    r = run()
    r.start("")
    _, rest = r.press("42#9")
    assert wire_fields(r.payload) == {"digits": "42", "reason": "finishKey"} and rest == "9"


def test_news_of_another_kind_under_a_run_token_is_stale() -> None:
    # Found by test_interpreter_digits.py's property test: a TimerFired carrying the prompt's
    # token once finished the run with `timeout` while the prompt still played.
    r = run(prompts=[{"Say": {"text": "Menu"}}])
    (play,), _ = r.start("")
    assert not r.owns(e.TimerFired(play.token)) and not r.owns(e.DigitsSent(play.token))
    (timer,) = r.handle(e.MediaDone(play.token))
    assert isinstance(timer, a.StartTimer) and not r.owns(e.MediaDone(timer.token))
    assert r.owns(e.TimerFired(timer.token)) and r.payload is None
