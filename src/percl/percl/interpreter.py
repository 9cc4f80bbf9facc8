"""The PerCL interpreter for one call leg: events in, actions out, no I/O.

How FreeClimb runs PerCL, and so how this runs it:

* A leg has exactly one script at a time. Commands run in order; a *terminal* command (GetDigits,
  Redirect, OutDial, Hangup, ...) stops the script, and whatever its actionUrl answers replaces the
  rest. A script that runs out without a terminal command hangs the leg up.
* Webhooks that expect PerCL are the only way a script continues after a terminal command. The
  shell posts them and comes back with ScriptReceived or WebhookBroken.
* An inbound leg rings until its first script answers it: Reject as the very first command refuses
  the call, Pause as a first command delays answering; any other command answers first.
* Digits the far end presses while nothing collects them wait in a buffer. A standalone Say empties
  the buffer, GetDigits consumes it unless flushBuffer is set. Prompts of a GetDigits stop at the
  first digit (barge-in); standalone Say and Play never do.
* Commands of the other families (conferences, queues, Park, Sms ...) are the engine's: the
  interpreter hands them over as an Invoke and continues as the engine's Outcome says (go on, post
  a webhook and run its answer, end the leg, or Hold: the leg now waits inside a conference, queue
  or park; a held leg's script may use only the commands its holder allows, and when it runs out
  the leg waits or tells its holder instead of hanging up).
* Every long action carries a token. When a newer action supersedes it (barge-in, hangup, an
  Interrupt), the interpreter forgets the token, so late news about it is ignored.

Each command family has a small runner method; the class only sequences them. The input commands,
which have prompts, timers and a result of their own, run as objects: GetDigits in digits.py,
GetSpeech in speech.py.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from percl.domain.enums import CallEndedReason, LogLevel, RequestType
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl.commands import (
    Command,
    GetDigits,
    GetSpeech,
    Hangup,
    OutDial,
    Pause,
    Play,
    PlayEarlyMedia,
    Redirect,
    Reject,
    Say,
    SendDigits,
)
from percl.percl.digits import DigitsRun
from percl.percl.parse import Script
from percl.percl.speech import SpeechDefaults, SpeechRun

#: Commands this module runs itself; every other command goes to the engine as an Invoke.
NATIVE = frozenset(
    {"Say", "Play", "Pause", "Hangup", "Reject", "Redirect", "SendDigits", "GetDigits", "OutDial",
     "GetSpeech", "PlayEarlyMedia"}
)


@dataclass(frozen=True, slots=True)
class InterpreterSettings:
    """Defaults FreeClimb does not publish; configurable (see docs/DECISIONS.md)."""

    initial_timeout_ms: int = 5000
    digit_timeout_ms: int = 3000
    finish_on_key: str = "#"
    max_digits: int | None = None
    send_digits_pause_ms: int = 500
    max_redirects: int = 256
    speech: SpeechDefaults = field(default_factory=SpeechDefaults)  # GetSpeech (percl/speech.py)


# --------------------------------------------------------------------------- waiting states


@dataclass(slots=True)
class _AwaitScript:
    token: int


@dataclass(slots=True)
class _AwaitMedia:
    token: int
    command: Say | Play | Pause
    remaining: int | None  # further iterations after this one; None = forever (loop 0)


@dataclass(slots=True)
class _AwaitTimer:
    token: int


@dataclass(slots=True)
class _AwaitDigitsSent:
    token: int


@dataclass(slots=True)
class _AwaitDial:
    token: int
    command: OutDial


@dataclass(slots=True)
class _AwaitService:
    token: int
    command: Command


@dataclass(slots=True)
class _Held:
    """Nothing runs: the leg waits inside its holder until an Interrupt or a Terminate."""


_Waiting = (
    _AwaitScript | _AwaitMedia | _AwaitTimer | _AwaitDigitsSent | _AwaitDial | _AwaitService
    | _Held | DigitsRun | SpeechRun
)
#: An input command running: it has prompts, timers and a result (percl/digits.py, speech.py).
_Input = DigitsRun | SpeechRun


@dataclass(slots=True)
class _Out:
    actions: list[a.Action] = field(default_factory=list)

    def add(self, *items: a.Action) -> None:
        self.actions.extend(items)


class Interpreter:
    """Runs PerCL for one leg. Call `request()` to ask for the first script, then `handle()` events.

    `answered` is False for an inbound leg that still rings; `inbound` marks the leg whose first
    script may Reject. After an EndCall or RejectCall action, `ended` is True and every further
    event yields no actions.
    """

    def __init__(
        self,
        *,
        answered: bool,
        inbound: bool = False,
        settings: InterpreterSettings | None = None,
    ) -> None:
        self.settings = settings or InterpreterSettings()
        self.answered = answered
        self.ended = False
        self.redirects = 0
        self._may_reject = inbound and not answered
        self._reject_allowed = False
        self._script: list[Command] = []
        self._pc = 0
        # (requestType, fields, privacy) of the latest PerCL webhook, and of the one that brought
        # the running script: a Redirect first in that script passes them on (originalRequestType).
        self._last_post: tuple[RequestType, dict[str, object], bool] | None = None
        self._origin: tuple[RequestType, dict[str, object], bool] | None = None
        self._waiting: _Waiting | None = None
        self._buffer = ""
        self._tokens = itertools.count(1)
        self.hold: e.Hold | None = None

    # ------------------------------------------------------------------ entry points

    def request(
        self, request_type: RequestType, url: str, fields: dict[str, object] | None = None
    ) -> list[a.Action]:
        """Ask `url` for a script (the leg's first webhook, or a connect/redirect webhook)."""
        out = _Out()
        self._post(out, request_type, url, dict(fields or {}))
        return out.actions

    def handle(self, event: e.Event) -> list[a.Action]:
        """Feed one event; returns what the shell must do, in order."""
        if self.ended:
            return []
        out = _Out()
        match event:
            case e.DigitsPressed(digits=digits):
                self._on_digits(out, digits)
            case e.FarEndHangup():
                notices = self._hangup_notices()
                self._cancel_pending(out)
                self._end(out, CallEndedReason.FAR_END_HANGUP, notices)
            case e.Terminate(reason=reason):
                notices = self._hangup_notices()
                self._cancel_pending(out)
                self._end(out, reason, notices)
            case e.SpeechHeard(text=text) if isinstance(self._waiting, SpeechRun):
                self._input_step(out, self._waiting, self._waiting.speech(text))
            case e.Interrupt(request_type=rt, url=url, fields=fields, release=release):
                self._cancel_pending(out)
                self._script, self._pc = [], 0
                if release:
                    self.hold = None
                self._post(out, rt, url, dict(fields))
            case _:
                self._on_token_event(out, event)
        return out.actions

    # ------------------------------------------------------------------ token events

    def _on_token_event(self, out: _Out, event: e.Event) -> None:
        w = self._waiting
        match event:
            case e.ScriptReceived(token=t, script=script) if isinstance(w, _AwaitScript) and w.token == t:
                self._load(out, script)
            case e.WebhookBroken(token=t, reason=reason, detail=detail, metadata=metadata) if (
                isinstance(w, _AwaitScript) and w.token == t
            ):
                out.add(a.Log(LogLevel.ERROR, f"Call ended ({reason.value}): {detail}", dict(metadata or {})))
                self._end(out, reason)
            case e.MediaDone(token=t) if isinstance(w, _AwaitMedia) and w.token == t:
                self._media_done(out, w)
            case e.TimerFired(token=t) if isinstance(w, _AwaitTimer) and w.token == t:
                self._waiting = None
                self._advance(out)
            case e.DigitsSent(token=t) if isinstance(w, _AwaitDigitsSent) and w.token == t:
                self._waiting = None
                self._advance(out)
            case e.DialStarted(token=t, child_call_id=child) if isinstance(w, _AwaitDial) and w.token == t:
                self._post(
                    out, RequestType.OUT_DIAL_START, w.command.action_url, {"dialCallId": child}
                )
            case e.Invoked(token=t, outcome=outcome) if isinstance(w, _AwaitService) and w.token == t:
                self._waiting = None
                self._on_outcome(out, w.command, outcome)
            case _ if isinstance(w, _Input) and w.owns(event):
                self._input_step(out, w, w.handle(event))
            case _:
                pass  # stale news about a superseded action

    # ------------------------------------------------------------------ script sequencing

    def _load(self, out: _Out, script: Script) -> None:
        self._waiting = None
        for warning in script.warnings:
            out.add(a.Log(LogLevel.WARNING, f"PerCL: {warning}"))
        self._reject_allowed, self._may_reject = self._may_reject, False
        self._script, self._pc = list(script.commands), 0
        self._origin = self._last_post
        if not self._script and self.hold is None:
            self._end(out, CallEndedReason.APP_NO_PERCL)
            return
        self._advance(out)

    def _advance(self, out: _Out) -> None:
        """Run commands until one blocks, the leg ends, or the script runs out (-> hang up, or
        back to waiting when the leg is held)."""
        while not self.ended and self._waiting is None:
            if self._pc >= len(self._script):
                self._script_ran_out(out)
                return
            command = self._script[self._pc]
            self._pc += 1
            self._execute(out, command)

    def _script_ran_out(self, out: _Out) -> None:
        if self.hold is None:
            self._end(out, CallEndedReason.APP_HANGUP)
            return
        self._waiting = _Held()
        if self.hold.idle is e.Idle.NOTIFY:
            out.add(a.LegIdle())

    def _execute(self, out: _Out, command: Command) -> None:
        if self.hold is not None and self.hold.allowed is not None and command.NAME not in self.hold.allowed:
            allowed = ", ".join(sorted(self.hold.allowed))
            out.add(a.Log(LogLevel.ERROR, f"PerCL command {command.NAME} is not allowed here (the leg "
                          f"waits in a conference, queue or park; allowed: {allowed}); the call ends "
                          "with perclProcessingError", {"command": command.NAME}))
            self._end(out, CallEndedReason.PERCL_PROCESSING_ERROR)
            return
        if not self.answered and not isinstance(command, Pause | Reject | PlayEarlyMedia):
            self._answer(out)
        match command:
            case Say() | Play():
                self._start_media(out, command)
            case Pause():
                if self.answered:
                    self._start_media(out, command)
                else:  # a leading Pause delays answering
                    token = next(self._tokens)
                    self._waiting = _AwaitTimer(token)
                    out.add(a.StartTimer(token, command.length))
            case Hangup():
                if command.reason:  # the app's own bookkeeping: kept in the call's log
                    out.add(a.Log(LogLevel.INFO, f"Hangup: {command.reason}", {"reason": command.reason}))
                self._end(out, CallEndedReason.APP_HANGUP)
            case PlayEarlyMedia():
                self._early_media(out, command)
            case GetSpeech():
                self._start_speech(out, command)
            case Reject():
                self._reject(out, command)
            case Redirect():
                self._redirect(out, command)
            case SendDigits():
                self._send_digits(out, command)
            case GetDigits():
                self._start_get_digits(out, command)
            case OutDial():
                token = next(self._tokens)
                self._waiting = _AwaitDial(token, command)
                out.add(a.Dial(token, command))
            case _:
                token = next(self._tokens)
                self._waiting = _AwaitService(token, command)
                out.add(a.Invoke(token, command))

    def _on_outcome(self, out: _Out, command: Command, outcome: e.Outcome) -> None:
        match outcome:
            case e.Proceed():
                self._advance(out)
            case e.Fetch(request_type=rt, url=url, fields=fields, privacy_mode=privacy, release=release):
                if release:
                    self.hold = None
                self._post(out, rt, url, dict(fields), privacy_mode=privacy)
            case e.Hold():
                self.hold = outcome
                self._script, self._pc = [], 0
                self._script_ran_out(out)
            case e.Finish(reason=reason, message=message):
                if message:
                    out.add(a.Log(LogLevel.ERROR, message, {"command": command.NAME}))
                self._end(out, reason)

    def _answer(self, out: _Out) -> None:
        self.answered = True
        out.add(a.Answer())

    def _end(self, out: _Out, reason: CallEndedReason, notices: tuple[a.PostWebhook, ...] = ()) -> None:
        self.ended = True
        self._waiting = None
        out.add(a.EndCall(reason, notices))

    def _post(
        self, out: _Out, request_type: RequestType, url: str, fields: dict[str, object],
        privacy_mode: bool = False,
    ) -> None:
        token = next(self._tokens)
        self._waiting = _AwaitScript(token)
        self._last_post = (request_type, dict(fields), privacy_mode)
        out.add(a.PostWebhook(token, request_type, url, dict(fields), True, privacy_mode))

    def _cancel_pending(self, out: _Out) -> None:
        w = self._waiting
        if isinstance(w, _AwaitService):
            out.add(a.Cancel(w.token))
        elif isinstance(w, _AwaitMedia | _AwaitDigitsSent):
            out.add(a.StopMedia(w.token))
        elif isinstance(w, _AwaitTimer):
            out.add(a.CancelTimer(w.token))
        elif isinstance(w, _Input):
            out.add(*w.cancel())
        self._waiting = None

    # ------------------------------------------------------------------ command runners

    def _start_media(self, out: _Out, command: Say | Play | Pause) -> None:
        if isinstance(command, Say):
            self._buffer = ""  # every Say flushes the DTMF buffer
            if not command.text:
                return
        loop = getattr(command, "loop", 1)
        remaining = None if loop == 0 else loop - 1
        token = next(self._tokens)
        self._waiting = _AwaitMedia(token, command, remaining)
        out.add(_media_action(token, command))

    def _media_done(self, out: _Out, w: _AwaitMedia) -> None:
        if w.remaining is None or w.remaining > 0:
            w.remaining = None if w.remaining is None else w.remaining - 1
            w.token = next(self._tokens)
            out.add(_media_action(w.token, w.command))
            return
        self._waiting = None
        self._advance(out)

    def _reject(self, out: _Out, command: Reject) -> None:
        if self._reject_allowed and self._pc == 1:
            self.ended = True
            self._waiting = None
            out.add(a.RejectCall(command.reason))
            return
        out.add(a.Log(LogLevel.WARNING, "Reject ignored: it must be the first command of the "
                      "voiceUrl script of an unanswered inbound call"))

    def _redirect(self, out: _Out, command: Redirect) -> None:
        self.redirects += 1
        if self.redirects > self.settings.max_redirects:
            out.add(a.Log(LogLevel.ERROR, f"Redirect limit of {self.settings.max_redirects} per "
                          "call exceeded", {"code": 14}))
            self._end(out, CallEndedReason.MAX_REDIRECTS_ERROR)
            return
        fields, privacy = self._redirect_fields()
        self._post(out, RequestType.REDIRECT, command.action_url, fields, privacy_mode=privacy)

    def _redirect_fields(self) -> tuple[dict[str, object], bool]:
        """FreeClimb: a Redirect first in a webhook's answer carries that webhook's requestType
        (originalRequestType) and fields; first in a redirect's answer, what that one carried."""
        if self._pc != 1 or self._origin is None:
            return {}, False
        rt, original, privacy = self._origin
        if rt is RequestType.REDIRECT:
            return dict(original), privacy
        return {"originalRequestType": rt.value, **original}, privacy

    def _send_digits(self, out: _Out, command: SendDigits) -> None:
        pause = command.pause_ms if command.pause_ms is not None else self.settings.send_digits_pause_ms
        pause = min(1000, max(100, pause))
        token = next(self._tokens)
        self._waiting = _AwaitDigitsSent(token)
        out.add(a.SendDigitsOut(token, command.digits, pause, bool(command.privacy_mode)))

    # ------------------------------------------------------------------ GetDigits, GetSpeech

    def _start_get_digits(self, out: _Out, command: GetDigits) -> None:
        buffered, self._buffer = ("" if command.flush_buffer else self._buffer), ""
        run = DigitsRun(command, self.settings, lambda: next(self._tokens), _media_action)
        self._waiting = run
        actions, rest = run.start(buffered)
        self._buffer += rest
        self._input_step(out, run, actions)

    def _start_speech(self, out: _Out, command: GetSpeech) -> None:
        run = SpeechRun(command, self.settings.speech, lambda: next(self._tokens), _media_action)
        self._waiting = run
        self._input_step(out, run, run.start())

    def _on_digits(self, out: _Out, digits: str) -> None:
        if not digits:
            # No key was pressed: must not barge in or (re)start a digit timer while a prompt
            # still plays, or the timeout would post getDigits with that prompt left running.
            return
        w = self._waiting
        if isinstance(w, _Input):
            actions, rest = w.press(digits)
            self._buffer += rest
            self._input_step(out, w, actions)
        else:
            self._buffer += digits

    def _input_step(self, out: _Out, run: _Input, actions: list[a.Action]) -> None:
        """Perform a step of a GetDigits / GetSpeech; once it has its result, post it."""
        out.add(*actions)
        if run.fields is not None and self._waiting is run:
            self._post(out, run.REQUEST_TYPE, run.action_url, dict(run.fields), privacy_mode=run.privacy)

    # ------------------------------------------------------------------ ends, PlayEarlyMedia

    def _hangup_notices(self) -> tuple[a.PostWebhook, ...]:
        """What the command the leg's end cuts short still owes its actionUrl (GetSpeech: hangup)."""
        w = self._waiting
        return (w.hangup_notice(),) if isinstance(w, SpeechRun) else ()

    def _early_media(self, out: _Out, command: PlayEarlyMedia) -> None:
        """Played while an inbound call still rings, only as the first command of its first
        script (like Reject); anywhere else FreeClimb ignores it, and so does percl (warning)."""
        if not (self._reject_allowed and self._pc == 1 and not self.answered):
            out.add(a.Log(LogLevel.WARNING, "PlayEarlyMedia ignored: it must be the first command of "
                          "the voiceUrl script of an unanswered inbound call"))
            return
        token = next(self._tokens)
        self._waiting = _AwaitMedia(token, Play(file=command.file), 0)
        out.add(a.PlayMedia(token, "play", url=command.file))


def _media_action(token: int, command: Say | Play | Pause) -> a.PlayMedia:
    if isinstance(command, Say):
        return a.PlayMedia(token, "say", text=command.text, language=command.language or "en-US",
                           privacy_mode=bool(command.privacy_mode))
    if isinstance(command, Play):
        return a.PlayMedia(token, "play", url=command.file, privacy_mode=bool(command.privacy_mode))
    return a.PlayMedia(token, "pause", length_ms=command.length)
