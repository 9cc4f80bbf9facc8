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

Each command family has a small runner method; the class only sequences them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from percl.domain.enums import CallEndedReason, GetDigitsReason, LogLevel, RequestType
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl.commands import (
    Command,
    GetDigits,
    Hangup,
    OutDial,
    Pause,
    Play,
    Redirect,
    Reject,
    Say,
    SendDigits,
)
from percl.percl.parse import Script

#: Commands this module runs itself; every other command goes to the engine as an Invoke.
NATIVE = frozenset(
    {"Say", "Play", "Pause", "Hangup", "Reject", "Redirect", "SendDigits", "GetDigits", "OutDial"}
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
class _Collect:
    """A running GetDigits: prompts first (barge-in), then digits until a rule finishes it."""

    command: GetDigits
    prompts: list[tuple[Say | Play | Pause, int | None]]  # (prompt, iterations left; None=forever)
    digits: str = ""
    media_token: int | None = None
    timer_token: int | None = None


@dataclass(slots=True)
class _AwaitService:
    token: int
    command: Command


@dataclass(slots=True)
class _Held:
    """Nothing runs: the leg waits inside its holder until an Interrupt or a Terminate."""


_Waiting = (
    _AwaitScript | _AwaitMedia | _AwaitTimer | _AwaitDigitsSent | _AwaitDial | _Collect
    | _AwaitService | _Held
)


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
                self._cancel_pending(out)
                self._end(out, CallEndedReason.FAR_END_HANGUP)
            case e.Terminate(reason=reason):
                self._cancel_pending(out)
                self._end(out, reason)
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
            case e.WebhookBroken(token=t, reason=reason, detail=detail) if (
                isinstance(w, _AwaitScript) and w.token == t
            ):
                out.add(a.Log(LogLevel.ERROR, f"Call ended ({reason.value}): {detail}"))
                self._end(out, reason)
            case e.MediaDone(token=t) if isinstance(w, _AwaitMedia) and w.token == t:
                self._media_done(out, w)
            case e.MediaDone(token=t) if isinstance(w, _Collect) and w.media_token == t:
                w.media_token = None
                self._next_prompt(out, w)
            case e.TimerFired(token=t) if isinstance(w, _AwaitTimer) and w.token == t:
                self._waiting = None
                self._advance(out)
            case e.TimerFired(token=t) if isinstance(w, _Collect) and w.timer_token == t:
                w.timer_token = None
                self._finish_digits(out, w, GetDigitsReason.TIMEOUT)
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
            case _:
                pass  # stale news about a superseded action

    # ------------------------------------------------------------------ script sequencing

    def _load(self, out: _Out, script: Script) -> None:
        self._waiting = None
        for warning in script.warnings:
            out.add(a.Log(LogLevel.WARNING, f"PerCL: {warning}"))
        self._reject_allowed, self._may_reject = self._may_reject, False
        self._script, self._pc = list(script.commands), 0
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
        if not self.answered and not isinstance(command, Pause | Reject):
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
                self._end(out, CallEndedReason.APP_HANGUP)
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

    def _end(self, out: _Out, reason: CallEndedReason) -> None:
        self.ended = True
        self._waiting = None
        out.add(a.EndCall(reason))

    def _post(
        self, out: _Out, request_type: RequestType, url: str, fields: dict[str, object],
        privacy_mode: bool = False,
    ) -> None:
        token = next(self._tokens)
        self._waiting = _AwaitScript(token)
        out.add(a.PostWebhook(token, request_type, url, dict(fields), True, privacy_mode))

    def _cancel_pending(self, out: _Out) -> None:
        w = self._waiting
        if isinstance(w, _AwaitService):
            out.add(a.Cancel(w.token))
        elif isinstance(w, _AwaitMedia | _AwaitDigitsSent):
            out.add(a.StopMedia(w.token))
        elif isinstance(w, _AwaitTimer):
            out.add(a.CancelTimer(w.token))
        elif isinstance(w, _Collect):
            if w.media_token is not None:
                out.add(a.StopMedia(w.media_token))
            if w.timer_token is not None:
                out.add(a.CancelTimer(w.timer_token))
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
        self._post(out, RequestType.REDIRECT, command.action_url, {})

    def _send_digits(self, out: _Out, command: SendDigits) -> None:
        pause = command.pause_ms if command.pause_ms is not None else self.settings.send_digits_pause_ms
        pause = min(1000, max(100, pause))
        token = next(self._tokens)
        self._waiting = _AwaitDigitsSent(token)
        out.add(a.SendDigitsOut(token, command.digits, pause, bool(command.privacy_mode)))

    # ------------------------------------------------------------------ GetDigits

    def _start_get_digits(self, out: _Out, command: GetDigits) -> None:
        if command.flush_buffer:
            self._buffer = ""
        prompts: list[tuple[Say | Play | Pause, int | None]] = []
        for p in command.prompts:
            if isinstance(p, Say) and not p.text:
                continue
            loop = getattr(p, "loop", 1)
            prompts.append((p, None if loop == 0 else loop))
        st = _Collect(command, prompts)
        self._waiting = st
        if self._buffer:  # typed ahead: counts as barge-in before the first prompt
            buffered, self._buffer = self._buffer, ""
            self._collect(out, st, buffered)
            return
        self._next_prompt(out, st)

    def _next_prompt(self, out: _Out, st: _Collect) -> None:
        while st.prompts:
            prompt, left = st.prompts[0]
            if left is not None and left <= 0:
                st.prompts.pop(0)
                continue
            st.prompts[0] = (prompt, None if left is None else left - 1)
            st.media_token = next(self._tokens)
            out.add(_media_action(st.media_token, prompt))
            return
        self._restart_timer(out, st, self._initial_timeout(st.command))

    def _on_digits(self, out: _Out, digits: str) -> None:
        if not digits:
            # No key was pressed: must not barge in or (re)start a digit timer while a prompt
            # still plays, or the timeout would post getDigits with that prompt left running.
            return
        w = self._waiting
        if isinstance(w, _Collect):
            self._collect(out, w, digits)
        else:
            self._buffer += digits

    def _collect(self, out: _Out, st: _Collect, digits: str) -> None:
        cmd = st.command
        finish_key = cmd.finish_on_key if cmd.finish_on_key is not None else self.settings.finish_on_key
        max_digits = cmd.max_digits if cmd.max_digits is not None else self.settings.max_digits
        for i, d in enumerate(digits):
            if st.media_token is not None:  # barge-in
                out.add(a.StopMedia(st.media_token))
                st.media_token = None
                st.prompts.clear()
            if d == finish_key:
                self._buffer += digits[i + 1 :]
                self._finish_digits(out, st, GetDigitsReason.FINISH_KEY)
                return
            st.digits += d
            if max_digits is not None and len(st.digits) >= max_digits:
                self._buffer += digits[i + 1 :]
                self._finish_digits(out, st, GetDigitsReason.MAX_DIGITS)
                return
        self._restart_timer(out, st, self._digit_timeout(cmd))

    def _restart_timer(self, out: _Out, st: _Collect, ms: int) -> None:
        if st.timer_token is not None:
            out.add(a.CancelTimer(st.timer_token))
        st.timer_token = next(self._tokens)
        out.add(a.StartTimer(st.timer_token, ms))

    def _finish_digits(self, out: _Out, st: _Collect, reason: GetDigitsReason) -> None:
        if st.timer_token is not None:
            out.add(a.CancelTimer(st.timer_token))
            st.timer_token = None
        # minDigits: input shorter than the minimum is not returned (the app sees digits "").
        min_digits = st.command.min_digits or 0
        digits = st.digits if len(st.digits) >= min_digits else ""
        self._post(
            out,
            RequestType.GET_DIGITS,
            st.command.action_url,
            {"digits": digits, "reason": reason.value},
            privacy_mode=bool(st.command.privacy_mode),
        )

    def _initial_timeout(self, cmd: GetDigits) -> int:
        v = cmd.initial_timeout_ms
        return v if v is not None else self.settings.initial_timeout_ms

    def _digit_timeout(self, cmd: GetDigits) -> int:
        v = cmd.digit_timeout_ms
        return v if v is not None else self.settings.digit_timeout_ms


def _media_action(token: int, command: Say | Play | Pause) -> a.PlayMedia:
    if isinstance(command, Say):
        return a.PlayMedia(token, "say", text=command.text, language=command.language or "en-US",
                           privacy_mode=bool(command.privacy_mode))
    if isinstance(command, Play):
        return a.PlayMedia(token, "play", url=command.file, privacy_mode=bool(command.privacy_mode))
    return a.PlayMedia(token, "pause", length_ms=command.length)
