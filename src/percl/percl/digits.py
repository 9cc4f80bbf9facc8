"""GetDigits for the Interpreter: prompts with barge-in, then keys until a rule finishes it.

How a GetDigits runs (FreeClimb's GetDigits reference; defaults in InterpreterSettings and
docs/DECISIONS.md):

* Keys typed ahead (the interpreter's DTMF buffer, unless `flushBuffer`) count as pressed before
  the first prompt: they barge in at once.
* Prompts play one after another; the first key stops them (barge-in). When they are over,
  `initialTimeoutMs` waits for the first key; every key restarts `digitTimeoutMs`.
* It finishes on `finishOnKey` (not reported), on `maxDigits`, or when a timer runs out; keys
  pressed after the one that finished it go back to the buffer. Input shorter than `minDigits`
  is reported as `digits: ""` with the same reason. With `privacyMode` the digits entered are
  reported as `xxxxx` (FreeClimb's GetDigitsWebhook), to the app and so in every log; no input
  stays `""`.

The interpreter owns one DigitsRun while the GetDigits runs and feeds it the events; when
`payload` is set the run is over and the interpreter posts it (getDigits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from percl.domain import payloads as p
from percl.domain.enums import GetDigitsReason
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl.commands import GetDigits
from percl.percl.playback import MediaFor, Prompt, PromptQueue, prompt_entries
from percl.percl.privacy import MASK


class DigitsDefaults(Protocol):
    """The GetDigits defaults (InterpreterSettings has them)."""

    @property
    def initial_timeout_ms(self) -> int: ...
    @property
    def digit_timeout_ms(self) -> int: ...
    @property
    def finish_on_key(self) -> str: ...
    @property
    def max_digits(self) -> int | None: ...


class DigitsRun:
    """One running GetDigits. Call `start()` once, then `handle()` the events it `owns` and
    `press()` keys; each returns the actions to perform (and `press`/`start` the keys left over
    for the buffer). When `payload` is not None the run has finished: post it (getDigits)."""

    def __init__(self, command: GetDigits, defaults: DigitsDefaults, next_token: Callable[[], int],
                 media_for: MediaFor) -> None:
        self.command = command
        self._next = next_token
        self._media_for = media_for
        cmd = command
        self._finish_key = cmd.finish_on_key if cmd.finish_on_key is not None else defaults.finish_on_key
        self._max_digits = cmd.max_digits if cmd.max_digits is not None else defaults.max_digits
        self._initial_ms = (cmd.initial_timeout_ms if cmd.initial_timeout_ms is not None
                            else defaults.initial_timeout_ms)
        self._digit_ms = (cmd.digit_timeout_ms if cmd.digit_timeout_ms is not None
                          else defaults.digit_timeout_ms)
        self._prompts: PromptQueue[Prompt] = PromptQueue(prompt_entries(command.prompts))
        self.digits = ""
        self._media: int | None = None
        self._timer: int | None = None
        self.payload: p.GetDigits | None = None

    @property
    def action_url(self) -> str:
        return self.command.action_url

    @property
    def privacy(self) -> bool:
        return bool(self.command.privacy_mode)

    def start(self, buffered: str) -> tuple[list[a.Action], str]:
        """Begin with the keys typed ahead (already flushed if `flushBuffer`)."""
        if buffered:  # typed ahead: counts as barge-in before the first prompt
            return self.press(buffered)
        out: list[a.Action] = []
        self._next_prompt(out)
        return out, ""

    def owns(self, event: e.Event) -> bool:
        """True when `event` reports this run's prompt (MediaDone) or timer (TimerFired); the
        kind must match the token too, so news of another kind is stale, never misread."""
        match event:
            case e.MediaDone(token=t):
                return self._media is not None and t == self._media
            case e.TimerFired(token=t):
                return self._timer is not None and t == self._timer
        return False

    def handle(self, event: e.Event) -> list[a.Action]:
        """A MediaDone or TimerFired this run `owns`."""
        out: list[a.Action] = []
        if isinstance(event, e.MediaDone):
            self._media = None
            self._next_prompt(out)
        elif isinstance(event, e.TimerFired):
            self._timer = None
            self._finish(out, GetDigitsReason.TIMEOUT)
        return out

    def press(self, digits: str) -> tuple[list[a.Action], str]:
        """Keys pressed, in order: returns the actions and the keys after the one that finished."""
        out: list[a.Action] = []
        for i, d in enumerate(digits):
            if self._media is not None:  # barge-in
                out.append(a.Cancel(self._media))
                self._media = None
                self._prompts.clear()
            if d == self._finish_key:
                self._finish(out, GetDigitsReason.FINISH_KEY)
                return out, digits[i + 1:]
            self.digits += d
            if self._max_digits is not None and len(self.digits) >= self._max_digits:
                self._finish(out, GetDigitsReason.MAX_DIGITS)
                return out, digits[i + 1:]
        self._restart_timer(out, self._digit_ms)
        return out, ""

    def cancel(self) -> list[a.Action]:
        """Stop what still runs (the leg ends or is interrupted)."""
        out: list[a.Action] = []
        if self._media is not None:
            out.append(a.Cancel(self._media))
        if self._timer is not None:
            out.append(a.Cancel(self._timer))
        self._media = self._timer = None
        return out

    def _next_prompt(self, out: list[a.Action]) -> None:
        prompt = self._prompts.next()
        if prompt is None:
            self._restart_timer(out, self._initial_ms)
            return
        self._media = self._next()
        out.append(self._media_for(self._media, prompt))

    def _restart_timer(self, out: list[a.Action], ms: int) -> None:
        if self._timer is not None:
            out.append(a.Cancel(self._timer))
        self._timer = self._next()
        out.append(a.StartTimer(self._timer, ms))

    def _finish(self, out: list[a.Action], reason: GetDigitsReason) -> None:
        if self._timer is not None:
            out.append(a.Cancel(self._timer))
            self._timer = None
        # minDigits: input shorter than the minimum is not returned (the app sees digits "").
        min_digits = self.command.min_digits or 0
        digits = self.digits if len(self.digits) >= min_digits else ""
        if digits and self.privacy:  # FreeClimb: "replaced by 'xxxxx' when privacyMode is true"
            digits = MASK
        self.payload = p.GetDigits(digits, reason)

