"""The PerCL interpreter for one call leg: events in, actions out, no I/O.

How FreeClimb runs PerCL, and so how this runs it:

* A leg has exactly one script at a time. Commands run in order; a *terminal* command (GetDigits,
  Redirect, OutDial, Hangup, ...) stops the script, and whatever its actionUrl answers replaces the
  rest. A script that runs out without a terminal command hangs the leg up.
* Webhooks that expect PerCL are the only way a script continues after a terminal command. The
  shell posts them and comes back with ScriptReceived or WebhookBroken.
* An inbound leg rings until its first script answers it: Reject as the very first command refuses
  the call, Pause as a first command delays answering; any other command answers first.
* Digits the far end presses while nothing collects them wait in a buffer. Every standalone Say
  flushes it (FreeClimb: "every Say flushes the buffer"): keys pressed before or while it speaks
  are gone once it ends. GetDigits consumes the buffer unless flushBuffer is set; a Say among its
  prompts flushes nothing, so keys typed ahead still barge in. Prompts of a GetDigits stop at the
  first digit (barge-in); standalone Say and Play never do.
* Commands of the other families (conferences, queues, Park, Sms ...) are the engine's: the
  interpreter hands them over as an Invoke and continues as the engine's Outcome says (go on, post
  a webhook and run its answer, end the leg, or Hold: the leg now waits inside a conference, queue
  or park; a held leg's script may use only the commands its holder allows, and when it runs out
  the leg waits or tells its holder instead of hanging up).
* Every long action carries a token. When a newer action supersedes it (barge-in, hangup, an
  Interrupt), the interpreter forgets the token, so late news about it is ignored.

Each command family has a small runner method; the Interpreter only routes events and commands
to them. What every command shares -- the script, its program counter, the one wait in progress,
posting and ending -- is its base class, the Sequencer (sequencing.py; the waits are in
waiting.py). The input commands, which have prompts, timers and a result of their own, run as
objects: GetDigits in digits.py, GetSpeech in speech.py; their prompts and the standalone Say,
Play and Pause loop as playback.py says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, LogLevel
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
from percl.percl.playback import MediaLoop, play_media
from percl.percl.sequencing import Sequencer
from percl.percl.speech import SpeechDefaults, SpeechRun
from percl.percl.waiting import AwaitDial, AwaitDigitsSent, AwaitScript, AwaitService, AwaitTimer, Input, Out

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


class Interpreter(Sequencer):
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
        super().__init__(answered=answered, inbound=inbound)
        self.settings = settings or InterpreterSettings()
        self.redirects = 0
        self._buffer = ""

    # ------------------------------------------------------------------ entry points

    def request(self, url: str, payload: p.Payload) -> list[a.Action]:
        """Ask `url` for a script (the leg's first webhook, or a connect/redirect webhook)."""
        out = Out()
        self._post(out, url, payload)
        return out.actions

    def resume(self, script: Script) -> list[a.Action]:
        """Run `script` without asking for it: a leg handed over by another worker goes on
        here with the command it was running there (an AddToConference)."""
        out = Out()
        self._load(out, script)
        return out.actions

    def handle(self, event: e.Event) -> list[a.Action]:
        """Feed one event; returns what the shell must do, in order."""
        if self.ended:
            return []
        out = Out()
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
            case e.SpeechStarted() if isinstance(self._waiting, SpeechRun):
                self._input_step(out, self._waiting, self._waiting.speech_started())
            case e.SpeechHeard(text=text) if isinstance(self._waiting, SpeechRun):
                self._input_step(out, self._waiting, self._waiting.speech(text))
            case e.Interrupt(url=url, payload=payload, release=release):
                self._cancel_pending(out)
                self._script, self._pc = [], 0
                if release:
                    self.hold = None
                self._post(out, url, payload)
            case _:
                self._on_token_event(out, event)
        return out.actions

    # ------------------------------------------------------------------ token events

    def _on_token_event(self, out: Out, event: e.Event) -> None:
        w = self._waiting
        match event:
            case e.ScriptReceived(token=t, script=script) if isinstance(w, AwaitScript) and w.token == t:
                self._load(out, script)
            case e.WebhookBroken(token=t, reason=reason, detail=detail, metadata=metadata) if (
                isinstance(w, AwaitScript) and w.token == t
            ):
                out.add(a.Log(LogLevel.ERROR, f"Call ended ({reason.value}): {detail}", dict(metadata or {})))
                self._end(out, reason)
            case e.MediaDone(token=t) if isinstance(w, MediaLoop) and w.token == t:
                self._media_done(out, w)
            case e.TimerFired(token=t) if isinstance(w, AwaitTimer) and w.token == t:
                self._waiting = None
                self._advance(out)
            case e.DigitsSent(token=t) if isinstance(w, AwaitDigitsSent) and w.token == t:
                self._waiting = None
                self._advance(out)
            case e.DialStarted(token=t, child_call_id=child) if isinstance(w, AwaitDial) and w.token == t:
                self._post(out, w.command.action_url, p.OutDialStart(child))
            case e.Invoked(token=t, outcome=outcome) if isinstance(w, AwaitService) and w.token == t:
                self._waiting = None
                self._on_outcome(out, w.command, outcome)
            case _ if isinstance(w, Input) and w.owns(event):
                self._input_step(out, w, w.handle(event))
            case _:
                pass  # stale news about a superseded action

    # ------------------------------------------------------------------ commands

    def _execute(self, out: Out, command: Command) -> None:
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
                    token = self._token()
                    self._waiting = AwaitTimer(token)
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
                token = self._token()
                self._waiting = AwaitDial(token, command)
                out.add(a.Dial(token, command))
            case _:
                token = self._token()
                self._waiting = AwaitService(token, command)
                out.add(a.Invoke(token, command))

    def _start_media(self, out: Out, command: Say | Play | Pause) -> None:
        if isinstance(command, Say):
            self._buffer = ""  # every Say flushes the DTMF buffer
            if not command.text:
                return
        self._waiting, action = MediaLoop.start(self._token(), command)
        out.add(action)

    def _media_done(self, out: Out, w: MediaLoop) -> None:
        again = w.replay(self._token)
        if again is not None:
            out.add(again)
            return
        self._waiting = None
        self._advance(out)

    def _reject(self, out: Out, command: Reject) -> None:
        if self._first_of_first_script():
            self.ended = True
            self._waiting = None
            out.add(a.RejectCall(command.reason))
            return
        out.add(a.Log(LogLevel.WARNING, "Reject ignored: it must be the first command of the "
                      "voiceUrl script of an unanswered inbound call"))

    def _redirect(self, out: Out, command: Redirect) -> None:
        self.redirects += 1
        if self.redirects > self.settings.max_redirects:
            out.add(a.Log(LogLevel.ERROR, f"Redirect limit of {self.settings.max_redirects} per "
                          "call exceeded", {"code": 14}))
            self._end(out, CallEndedReason.MAX_REDIRECTS_ERROR)
            return
        payload, privacy = self._redirect_payload()
        self._post(out, command.action_url, payload, privacy_mode=privacy)

    def _send_digits(self, out: Out, command: SendDigits) -> None:
        pause = command.pause_ms if command.pause_ms is not None else self.settings.send_digits_pause_ms
        pause = min(1000, max(100, pause))
        token = self._token()
        self._waiting = AwaitDigitsSent(token)
        out.add(a.SendDigitsOut(token, command.digits, pause, bool(command.privacy_mode)))

    def _early_media(self, out: Out, command: PlayEarlyMedia) -> None:
        """Played while an inbound call still rings, only as the first command of its first
        script (like Reject); anywhere else FreeClimb ignores it, and so does percl (warning)."""
        if not (self._first_of_first_script() and not self.answered):
            out.add(a.Log(LogLevel.WARNING, "PlayEarlyMedia ignored: it must be the first command of "
                          "the voiceUrl script of an unanswered inbound call"))
            return
        token = self._token()
        self._waiting = MediaLoop(token, Play(file=command.file), 0)
        out.add(a.PlayMedia(token, "play", url=command.file))

    # ------------------------------------------------------------------ GetDigits, GetSpeech

    def _start_get_digits(self, out: Out, command: GetDigits) -> None:
        buffered, self._buffer = ("" if command.flush_buffer else self._buffer), ""
        run = DigitsRun(command, self.settings, self._token, play_media)
        self._waiting = run
        actions, rest = run.start(buffered)
        self._buffer += rest
        self._input_step(out, run, actions)

    def _start_speech(self, out: Out, command: GetSpeech) -> None:
        run = SpeechRun(command, self.settings.speech, self._token, play_media)
        self._waiting = run
        self._input_step(out, run, run.start())

    def _on_digits(self, out: Out, digits: str) -> None:
        if not digits:
            # No key was pressed: must not barge in or (re)start a digit timer while a prompt
            # still plays, or the timeout would post getDigits with that prompt left running.
            return
        w = self._waiting
        if isinstance(w, Input):
            actions, rest = w.press(digits)
            self._buffer += rest
            self._input_step(out, w, actions)
        elif isinstance(w, MediaLoop) and isinstance(w.command, Say):
            pass  # every Say flushes the buffer: keys pressed while one speaks are gone after it
        else:
            self._buffer += digits

    def _input_step(self, out: Out, run: Input, actions: list[a.Action]) -> None:
        """Perform a step of a GetDigits / GetSpeech; once it has its result, post it."""
        out.add(*actions)
        if run.payload is not None and self._waiting is run:
            self._post(out, run.action_url, run.payload, privacy_mode=run.privacy)

    def _hangup_notices(self) -> tuple[a.PostWebhook, ...]:
        """What the command the leg's end cuts short still owes its actionUrl (GetSpeech: hangup)."""
        w = self._waiting
        return (w.hangup_notice(),) if isinstance(w, SpeechRun) else ()
