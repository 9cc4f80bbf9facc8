"""The speech-to-text port and its result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from percl.media.audio.pcm import Pcm as Pcm
from percl.media.grammar.recognizer import Grammar

SAMPLE_RATE = 8000


@dataclass(frozen=True, slots=True)
class Recognized:
    """What was heard: `text` (words as the decoder spells them) and `confidence` 0..100.

    ``Recognized("", 0)`` means nothing was recognised (silence, noise, or a decoder failure).
    """

    text: str
    confidence: int


NOTHING = Recognized("", 0)


class SpeechToText(Protocol):
    def transcribe(self, pcm: Pcm, phrases: Sequence[str] | None) -> Recognized:
        """Recognise ONE utterance of 8 kHz audio.

        `phrases`: the sentences the grammar accepts (Grammar.phrases()); the decoder may only
        hear one of them. None: free-form decoding. Synchronous and thread-safe; never raises.
        """
        ...

    def transcribe_grammar(self, pcm: Pcm, grammar: Grammar) -> Recognized:
        """Recognise ONE utterance against a compiled grammar however many sentences it has (its
        rules when it lists too many). Synchronous and thread-safe; never raises."""
        ...
