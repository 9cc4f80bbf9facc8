"""The part of the interpreter every command shares: the leg's script and what it waits for.

A `Sequencer` holds the running script and its program counter, the one wait in progress
(waiting.py), the token counter, the hold of a service, and the three ways a script goes on: run
the next command, post a webhook whose answer replaces the script, or end the leg. The Interpreter
(interpreter.py) adds what each event and each command means; this class never looks inside a
command.

It also remembers where the running script came from: FreeClimb gives a Redirect that is the
first command of a webhook's answer that webhook's requestType (originalRequestType) and fields.
"""

from __future__ import annotations

import itertools

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, LogLevel
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl.commands import Command
from percl.percl.parse import Script
from percl.percl.waiting import AwaitScript, AwaitService, Held, Out, Waiting, stop_actions

#: (payload, privacyMode) of a PerCL webhook.
Posted = tuple[p.Payload, bool]


class Sequencer:
    """Script state of one leg; subclasses implement `_execute` (one command)."""

    def __init__(self, *, answered: bool, inbound: bool) -> None:
        self.answered = answered
        self.ended = False
        self.hold: e.Hold | None = None
        self._may_reject = inbound and not answered
        self._reject_allowed = False
        self._script: list[Command] = []
        self._pc = 0
        self._scripts_loaded = 0
        # The latest PerCL webhook, and the one that brought the running script (see the module doc).
        self._last_post: Posted | None = None
        self._origin: Posted | None = None
        self._waiting: Waiting | None = None
        self._tokens = itertools.count(1)

    def _execute(self, out: Out, command: Command) -> None:
        raise NotImplementedError

    @property
    def waits_for_engine(self) -> bool:
        """True while a command of another family runs in the engine (an Invoke awaits its
        Outcome): the script has not yet got past it."""
        return isinstance(self._waiting, AwaitService)

    def _token(self) -> int:
        return next(self._tokens)

    # ------------------------------------------------------------------ script sequencing

    def _load(self, out: Out, script: Script) -> None:
        self._waiting = None
        for warning in script.warnings:
            out.add(a.Log(LogLevel.WARNING, f"PerCL: {warning}"))
        self._reject_allowed, self._may_reject = self._may_reject, False
        self._script, self._pc = list(script.commands), 0
        self._origin = self._last_post
        self._scripts_loaded += 1
        if not self._script and self.hold is None and self._scripts_loaded == 1:
            # FreeClimb keeps appNoPercl for a leg whose first script is empty; a later empty
            # script is one that runs out at once, which hangs up (appHangup) like any other.
            self._end(out, CallEndedReason.APP_NO_PERCL)
            return
        self._advance(out)

    def _advance(self, out: Out) -> None:
        """Run commands until one blocks, the leg ends, or the script runs out (-> hang up, or
        back to waiting when the leg is held)."""
        while not self.ended and self._waiting is None:
            if self._pc >= len(self._script):
                self._script_ran_out(out)
                return
            command = self._script[self._pc]
            self._pc += 1
            self._execute(out, command)

    def _script_ran_out(self, out: Out) -> None:
        if self.hold is None:
            self._end(out, CallEndedReason.APP_HANGUP)
            return
        self._waiting = Held()
        if self.hold.idle is e.Idle.NOTIFY:
            out.add(a.LegIdle())

    def _first_of_first_script(self) -> bool:
        """The running command is the first of the voiceUrl script of an unanswered inbound leg
        (where Reject and PlayEarlyMedia are allowed)."""
        return self._reject_allowed and self._pc == 1

    def _on_outcome(self, out: Out, command: Command, outcome: e.Outcome) -> None:
        """Go on as the engine's runner of `command` says."""
        match outcome:
            case e.Proceed():
                self._advance(out)
            case e.Fetch(url=url, payload=payload, privacy_mode=privacy, release=release):
                if release:
                    self.hold = None
                self._post(out, url, payload, privacy_mode=privacy)
            case e.Hold():
                self.hold = outcome
                self._script, self._pc = [], 0
                self._script_ran_out(out)
            case e.Finish(reason=reason, message=message):
                if message:
                    out.add(a.Log(LogLevel.ERROR, message, {"command": command.NAME}))
                self._end(out, reason)
            case e.Moved():
                self.ended = True  # nothing more happens here: another worker runs the leg
                self._waiting = None
                out.add(a.LetGo())

    # ------------------------------------------------------------------ the ways on

    def _answer(self, out: Out) -> None:
        self.answered = True
        out.add(a.Answer())

    def _end(self, out: Out, reason: CallEndedReason, notices: tuple[a.PostWebhook, ...] = ()) -> None:
        self.ended = True
        self._waiting = None
        out.add(a.EndCall(reason, notices))

    def _post(self, out: Out, url: str, payload: p.Payload, privacy_mode: bool = False) -> None:
        token = self._token()
        self._waiting = AwaitScript(token)
        self._last_post = (payload, privacy_mode)
        out.add(a.PostWebhook(token, url, payload, True, privacy_mode))

    def _cancel_pending(self, out: Out) -> None:
        out.add(*stop_actions(self._waiting))
        self._waiting = None

    def _redirect_payload(self) -> tuple[p.Redirect, bool]:
        """FreeClimb: a Redirect first in a webhook's answer carries that webhook's requestType
        (originalRequestType) and fields; first in a redirect's answer, what that one carried."""
        if self._pc != 1 or self._origin is None:
            return p.Redirect(), False
        original, privacy = self._origin
        if isinstance(original, p.Redirect):
            return original, privacy
        return p.Redirect(original), privacy
