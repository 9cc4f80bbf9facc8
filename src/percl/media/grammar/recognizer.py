"""A compiled grammar and what recognising an utterance with it gives: the public face of the package.

On the simulated network a caller "says" text. `Grammar.recognize` normalises it (normalize.py),
matches the words against the grammar's root rule (matcher.py), runs the tags of the chosen parse
(semantics.py) and reports a `Recognition`:

- ``matched``: the whole utterance is a sentence of the grammar (False is GetSpeech's noMatch);
- ``text``: the utterance as heard, normalised (case-folded, punctuation removed);
- ``result``: getSpeech's ``recognitionResult`` -- the semantic value as a string (an object as
  compact JSON), or the matched words when the parse ran no tag;
- ``confidence``: 0..100. 100 for a match without GARBAGE; every word GARBAGE absorbs costs
  ``GARBAGE_WORD_COST`` points, down to ``MIN_MATCH_CONFIDENCE``. 0 when nothing matched.

A grammar has a voice part, a DTMF part or both (the builtins have both): `recognize` uses the
voice part and `recognize_dtmf` the DTMF part; input for a part the grammar lacks never matches.
Neither method raises: every error was raised when the grammar was compiled.
"""

from __future__ import annotations

from dataclasses import dataclass

from percl.media.grammar.expansion import Compiled, Event, RuleEvent, TagEvent
from percl.media.grammar.matcher import Matcher
from percl.media.grammar.normalize import Word, dtmf_words, normalize_text, voice_words
from percl.media.grammar.phrases import phrases
from percl.media.grammar.semantics import evaluate, event_text, render

GARBAGE_WORD_COST = 10
MIN_MATCH_CONFIDENCE = 40
# A recognition lasts seconds; past this many words an utterance is not matched at all, which
# keeps matching time bounded whatever text a test feeds in.
MAX_UTTERANCE_WORDS = 100


@dataclass(frozen=True)
class Recognition:
    """The outcome of one recognition; `matched=False` is GetSpeech's noMatch."""

    matched: bool
    text: str
    result: str
    confidence: int


def confidence_for(garbage_words: int) -> int:
    """The confidence of a match in which GARBAGE absorbed `garbage_words` words."""
    return max(MIN_MATCH_CONFIDENCE, 100 - GARBAGE_WORD_COST * garbage_words)


def _ran_tags(events: tuple[Event, ...]) -> bool:
    stack = list(events)
    while stack:
        ev = stack.pop()
        if isinstance(ev, TagEvent):
            return True
        if isinstance(ev, RuleEvent):
            stack.extend(ev.events)
    return False


class Grammar:
    """A compiled grammar. Build it with `compile_grxml` or `builtin_grammar`; it is immutable."""

    def __init__(self, *, voice: Compiled | None = None, dtmf: Compiled | None = None) -> None:
        self.voice = voice
        self.dtmf = dtmf

    @property
    def modes(self) -> frozenset[str]:
        """"voice", "dtmf" or both: which kinds of input this grammar can match."""
        return frozenset(m for m, c in (("voice", self.voice), ("dtmf", self.dtmf)) if c is not None)

    def recognize(self, utterance: str) -> Recognition:
        """Recognise spoken text. An empty utterance never matches (the caller said nothing)."""
        return _recognize(self.voice, voice_words(utterance), normalize_text(utterance))

    def recognize_dtmf(self, digits: str) -> Recognition:
        """Recognise keypad input such as ``"1234#"`` (symbols other than 0-9 * # A-D are dropped)."""
        words = dtmf_words(digits)
        return _recognize(self.dtmf, words, "".join(w.display for w in words))

    def phrases(self, limit: int = 500) -> list[str] | None:
        """The sentences the voice part accepts, for a speech decoder (see phrases.py).

        None when there are infinitely many or more than `limit`; ``[]`` for a DTMF-only grammar.
        """
        return phrases(self.voice, limit)

    def __repr__(self) -> str:
        parts = [f"{m}:{c.root or '(public rules)'}" for m, c in (("voice", self.voice), ("dtmf", self.dtmf))
                 if c is not None]
        return f"Grammar({', '.join(parts)})"


def _recognize(compiled: Compiled | None, words: tuple[Word, ...], text: str) -> Recognition:
    no_match = Recognition(matched=False, text=text, result="", confidence=0)
    if compiled is None or not words or len(words) > MAX_UTTERANCE_WORDS:
        return no_match
    try:
        found = _match(compiled, words)
    except RecursionError:  # rules nested deeper than the stack allows: treated as noMatch
        return no_match
    if found is None:
        return no_match
    result, garbage = found
    return Recognition(matched=True, text=text, result=result, confidence=confidence_for(garbage))


def _match(compiled: Compiled, words: tuple[Word, ...]) -> tuple[str, int] | None:
    """(recognitionResult, GARBAGE word count) of the best parse, or None."""
    parse = Matcher(compiled.rules, words).match_rule(compiled.root)
    if parse is None:
        return None
    garbage, events = parse
    separator = "" if compiled.mode == "dtmf" else " "
    matched_text = event_text(events, separator)
    if not _ran_tags(events):
        return matched_text, garbage
    root = events[0]
    assert isinstance(root, RuleEvent)
    return render(evaluate(root, compiled.tag_format, separator), matched_text), garbage
