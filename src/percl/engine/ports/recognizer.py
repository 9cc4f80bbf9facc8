"""The speech recognizer port: audio in, text out. Grammar matching is separate and pure
(ports.grammar): a network's recogniser turns an utterance into words, a grammar gives them meaning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from percl.engine.ports.media import Audio


@dataclass(frozen=True, slots=True)
class Transcription:
    text: str
    confidence: int  # 0..100


class SpeechRecognizer(Protocol):
    def transcribe(self, utterance: Sequence[Audio]) -> Transcription:
        """The words of one utterance (empty text, confidence 0: nothing understood). Never raises."""
        ...
