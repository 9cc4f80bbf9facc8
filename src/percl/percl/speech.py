"""GetSpeech for the Interpreter: prompts with barge-in, a grammar, timers, and how it ends.

How a GetSpeech runs (FreeClimb's GetSpeech reference, made precise where it is silent; the
choices are listed in docs/DECISIONS.md):

* At the start the shell is asked for the grammar (LoadGrammar: GET the URL and compile it, or a
  builtin) while the prompts play, one after another; `playBeep` adds a beep after the last one.
* Speech or a key stops the prompts (barge-in): speech as soon as it starts (an audio network's
  voice activity says so before the utterance is over and recognised). When the prompts are
  over (played out or barged in), two timers start: nothing heard within `noInputTimeoutMs`
  (default 7000) ends with `noInput`; no result within `recognitionTimeoutMs` (default 10000)
  ends with `noMatch` when something was heard (its recognition is still waiting for the
  grammar, or the caller is still speaking) and `noInput` otherwise; an utterance under way
  holds off `noInput`.
* The caller's first utterance is recognised as soon as the grammar is ready (Recognize): a match
  whose confidence (0..100) reaches `confidenceThreshold` (0.0..1.0, default 0.5) is a
  `recognition` with `recognitionResult` and `confidence`; anything else is a `noMatch`. Later
  utterances of the same GetSpeech are ignored (one utterance, one result).
* A key ends it at once with `digit`; `recognitionResult` is that key (FreeClimb: "the digit
  (0-9,*,#)"). Further keys of the same press stay in the DTMF buffer, as after a GetDigits.
* With `privacyMode`, `recognitionResult` is `xxxxx` (FreeClimb's GetSpeechWebhook): in the
  webhook, and so in the logs, which also never quote what was heard.
* A grammar that cannot be fetched or compiled ends it at once with `error` (prompts stop), with
  an error log entry naming the URL and the problem and the MRCP completion cause in the webhook.
* A leg that ends meanwhile still tells actionUrl: `hangup` (PerCL ignored).

The interpreter owns one SpeechRun while the GetSpeech runs and feeds it the events; when
`payload` is set the run is over and the interpreter posts it (getSpeech).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from percl.domain import payloads as p
from percl.domain.enums import GetSpeechReason, LogLevel
from percl.domain.payloads import wire_fields
from percl.percl import actions as a
from percl.percl import events as e
from percl.percl.commands import GetSpeech
from percl.percl.playback import MediaFor, Prompt, PromptQueue, prompt_entries
from percl.percl.privacy import MASK


@dataclass(frozen=True, slots=True)
class SpeechDefaults:
    """GetSpeech defaults FreeClimb leaves open or documents only in its plugin."""

    no_input_timeout_ms: int = 7000
    recognition_timeout_ms: int = 10000
    confidence_threshold: float = 0.5


class _Beep:
    """The playBeep tone, queued as the last prompt."""


class SpeechRun:
    """One running GetSpeech. Call `start()` once, then `handle()` the events it `owns`, `press()`
    keys and `speech()` utterances; each returns the actions to perform. When `payload` is not None
    the run has finished: post it (getSpeech) to `action_url`."""

    def __init__(self, command: GetSpeech, defaults: SpeechDefaults, next_token: Callable[[], int],
                 media_for: MediaFor) -> None:
        self.command = command
        self._defaults = defaults
        self._next = next_token
        self._media_for = media_for
        self._prompts: PromptQueue[Prompt | _Beep] = PromptQueue(_prompt_entries(command))
        self.grammar_token = next_token()
        self._grammar: a.Grammar | None = None
        self._media: int | None = None
        self._no_input: int | None = None
        self._recognition: int | None = None
        self._recognizing: int | None = None
        self._listening = False
        self._speaking = False  # the caller began an utterance (SpeechStarted)
        self.heard: str | None = None
        self.payload: p.GetSpeech | None = None

    @property
    def action_url(self) -> str:
        return self.command.action_url

    @property
    def privacy(self) -> bool:
        return bool(self.command.privacy_mode)

    # ------------------------------------------------------------------ entry points

    def start(self) -> list[a.Action]:
        cmd = self.command
        out: list[a.Action] = [a.LoadGrammar(self.grammar_token, cmd.grammar_type or "URL",
                                             cmd.grammar_file, cmd.grammar_rule)]
        self._next_prompt(out)
        return out

    def owns(self, event: e.Event) -> bool:
        """True when `event` answers one of this run's actions, with the kind of news that
        action gives (stale answers, or news of another kind, are not)."""
        match event:
            case e.MediaDone(token=t):
                tokens: tuple[int | None, ...] = (self._media,)
            case e.TimerFired(token=t):
                tokens = (self._no_input, self._recognition)
            case e.GrammarLoaded(token=t):
                tokens = (self.grammar_token,)
            case e.Recognized(token=t):
                tokens = (self._recognizing,)
            case _:
                return False
        return t in tokens

    def handle(self, event: e.Event) -> list[a.Action]:
        """An event this run `owns`."""
        out: list[a.Action] = []
        match event:
            case e.MediaDone():
                self._media = None
                self._next_prompt(out)
            case e.GrammarLoaded(grammar=grammar, problem=problem, cause=cause):
                self._loaded(out, grammar, problem, cause)
            case e.Recognized(matched=matched, result=result, confidence=confidence):
                self._recognizing = None
                self._recognized(out, matched, result, confidence)
            case e.TimerFired(token=t) if t == self._no_input:
                self._no_input = None
                if self.heard is None and not self._speaking:
                    self._finish(out, p.GetSpeech(GetSpeechReason.NO_INPUT))
            case e.TimerFired():
                self._recognition = None
                heard = self.heard or self._speaking
                self._finish(out, p.GetSpeech(
                    GetSpeechReason.NO_MATCH if heard else GetSpeechReason.NO_INPUT))
        return out

    def press(self, digits: str) -> tuple[list[a.Action], str]:
        """Keys pressed: the first ends the run (`digit`); returns the actions and the keys left
        over for the DTMF buffer."""
        out: list[a.Action] = []
        self._finish(out, p.GetSpeech(GetSpeechReason.DIGIT,
                                      recognition_result=self._shown(digits[0])))
        return out, digits[1:]

    def speech_started(self) -> list[a.Action]:
        """The caller began to speak: barge-in at once, and silence no longer ends the run
        (noInput) while the utterance is under way."""
        out: list[a.Action] = []
        self._barge_in(out)
        self._speaking = True
        return out

    def speech(self, text: str) -> list[a.Action]:
        """The caller said `text`: barge-in, then recognition of the first utterance."""
        out: list[a.Action] = []
        self._barge_in(out)
        if self.heard is not None:
            return out  # one utterance, one result
        self.heard = text
        if self._grammar is not None:
            self._recognize(out)
        return out

    def cancel(self) -> list[a.Action]:
        """Stop everything still running (the leg ends or is interrupted)."""
        out: list[a.Action] = []
        self._stop(out)
        return out

    def hangup_notice(self) -> a.PostWebhook:
        """The getSpeech `hangup` notification for a run the end of the leg cut short."""
        return a.PostWebhook(self._next(), self.command.action_url,
                             p.GetSpeech(GetSpeechReason.HANGUP), False, self.privacy)

    # ------------------------------------------------------------------ prompts and timers

    def _next_prompt(self, out: list[a.Action]) -> None:
        prompt = self._prompts.next()
        if prompt is None:
            self._listen(out)
            return
        self._media = self._next()
        if isinstance(prompt, _Beep):
            out.append(a.PlayMedia(self._media, "beep"))
        else:
            out.append(self._media_for(self._media, prompt))

    def _barge_in(self, out: list[a.Action]) -> None:
        if self._media is not None:
            out.append(a.Cancel(self._media))
            self._media = None
        self._prompts.clear()
        self._listen(out)

    def _listen(self, out: list[a.Action]) -> None:
        """The prompts are over: the recogniser listens, bounded by its two timers."""
        if self._listening:
            return
        self._listening = True
        cmd, d = self.command, self._defaults
        self._no_input = self._next()
        out.append(a.StartTimer(self._no_input, _or(cmd.no_input_timeout_ms, d.no_input_timeout_ms)))
        self._recognition = self._next()
        out.append(a.StartTimer(self._recognition,
                                _or(cmd.recognition_timeout_ms, d.recognition_timeout_ms)))

    def _stop(self, out: list[a.Action]) -> None:
        if self._media is not None:
            out.append(a.Cancel(self._media))
        for timer in (self._no_input, self._recognition):
            if timer is not None:
                out.append(a.Cancel(timer))
        if self._grammar is None:
            out.append(a.Cancel(self.grammar_token))  # a fetch may still be under way
        self._media = self._no_input = self._recognition = self._recognizing = None
        self._prompts.clear()

    # ------------------------------------------------------------------ grammar and results

    def _loaded(self, out: list[a.Action], grammar: a.Grammar | None, problem: str | None,
                cause: str | None) -> None:
        if problem is not None or grammar is None:
            why = problem or "the grammar could not be loaded"
            out.append(a.Log(LogLevel.ERROR, f"GetSpeech cannot recognise: {why}; actionUrl gets "
                             "reason error", {"grammarFile": self.command.grammar_file}))
            self._finish(out, p.GetSpeech(GetSpeechReason.ERROR, completion_cause=cause or "error",
                                          completion_reason=why))
            return
        self._grammar = grammar
        if self.heard is not None:
            self._recognize(out)

    def _recognize(self, out: list[a.Action]) -> None:
        assert self.heard is not None and self._grammar is not None
        self._recognizing = self._next()
        out.append(a.Recognize(self._recognizing, self._grammar, self.heard))

    def _recognized(self, out: list[a.Action], matched: bool, result: str, confidence: int) -> None:
        threshold = self.command.confidence_threshold
        if threshold is None:
            threshold = self._defaults.confidence_threshold
        if matched and confidence >= round(threshold * 100):
            self._finish(out, p.GetSpeech(GetSpeechReason.RECOGNITION,
                                          recognition_result=self._shown(result),
                                          confidence=confidence))
            return
        why = "no match" if not matched else f"confidence {confidence} below the threshold {threshold:g}"
        self._finish(out, p.GetSpeech(GetSpeechReason.NO_MATCH), note=why)

    def _finish(self, out: list[a.Action], payload: p.GetSpeech, note: str | None = None) -> None:
        self._stop(out)
        self.payload = payload
        out.append(a.Log(LogLevel.INFO, self._summary(payload.reason, note), wire_fields(payload)))

    def _summary(self, reason: GetSpeechReason, note: str | None) -> str:
        said = "" if self.heard is None else f" after hearing {self._shown(self.heard)!r}"
        return f"GetSpeech ended: {reason.value}{said}" + (f" ({note})" if note else "")

    def _shown(self, text: str) -> str:
        """`text` as the webhook and the logs may show it: FreeClimb replaces recognitionResult
        with "xxxxx" under privacyMode (its GetSpeechWebhook), and so does percl everywhere."""
        return MASK if self.privacy else text


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _prompt_entries(command: GetSpeech) -> list[tuple[Prompt | _Beep, int | None]]:
    """(prompt, iterations; None = forever), skipping empty Says; the playBeep tone last."""
    beep: list[tuple[Prompt | _Beep, int | None]] = [(_Beep(), 1)] if command.play_beep else []
    return [*prompt_entries(command.prompts), *beep]
