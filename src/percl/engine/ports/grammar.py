"""The grammar port: SRGS documents compiled into grammars that recognise utterances (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Heard:
    """What a grammar made of one utterance: `matched` False is GetSpeech's noMatch; `result` is
    recognitionResult (the semantic value as a string); `confidence` is 0..100."""

    matched: bool
    result: str
    confidence: int


class SpeechGrammar(Protocol):
    """A compiled grammar, ready to recognise. Immutable: one may serve many legs at once."""

    def recognize(self, utterance: str) -> Heard:
        """Recognise what the caller said. Never raises."""
        ...

    def phrases(self, limit: int = 500) -> list[str] | None:
        """The word sequences the grammar accepts, for a recogniser to listen for; None when
        they are infinite or more than `limit`. Never raises."""
        ...


class Recognizer(Protocol):
    """Turns grammar documents into SpeechGrammars (GetSpeech). Pure: fetching is the engine's."""

    def compile(self, document: bytes, rule: str | None) -> SpeechGrammar:
        """Compile a GRXML document; `rule` is GetSpeech's grammarRule. Raises PerclError
        (percl.errors) with a message saying what is wrong when the grammar cannot be used."""
        ...

    def builtin(self, name: str) -> SpeechGrammar:
        """A builtin grammar (ALPHNUM6, ANY_DIG, DIG1..DIG11, ...). Raises PerclError for an
        unknown name."""
        ...
