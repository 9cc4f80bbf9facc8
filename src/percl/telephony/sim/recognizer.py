"""The simulated network's SpeechRecognizer, symbolic: an utterance of words is its own text."""

from __future__ import annotations

from collections.abc import Sequence

from percl.engine.ports import Audio, SpokenText, Transcription


class SymbolicRecognizer:
    """Passes the words of SpokenText through (confidence 100). Real audio frames carry no words
    here: they transcribe to nothing (confidence 0) until the media issue brings an ASR engine."""

    def transcribe(self, utterance: Sequence[Audio]) -> Transcription:
        words = [a.text for a in utterance if isinstance(a, SpokenText)]
        if not words:
            return Transcription("", 0)
        return Transcription(" ".join(words), 100)
