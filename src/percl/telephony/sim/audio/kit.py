"""The engines the audio fidelity is handed: text to speech, audio files, speech to text.

app.py builds the real kit (percl.media.kit.MediaKit: espeak-ng, the fetcher and decoder,
pocketsphinx); tests hand in doubles. The network never constructs an engine itself, so a test
of the media plane can run without any of them. `AudioUnavailable` is media.kit's: a file that
cannot be played.
"""

from __future__ import annotations

from typing import Protocol

from percl.engine.ports import SpeechGrammar
from percl.media.audio.pcm import Pcm
from percl.media.kit import AudioUnavailable

__all__ = ["AudioKit", "AudioUnavailable", "Pcm"]


class AudioKit(Protocol):
    def speech(self, text: str, language: str | None) -> Pcm:
        """The TTS audio of `text` (cached by the kit). Synchronous; takes milliseconds."""
        ...

    async def file(self, url: str) -> Pcm:
        """Fetch (with a deadline and a byte cap) and decode the audio at `url`. Raises
        AudioUnavailable with the reason."""
        ...

    def transcribe(self, pcm: Pcm, grammar: SpeechGrammar | None) -> tuple[str, int]:
        """The words of one utterance and a confidence 0..100 ("" and 0: nothing understood);
        `grammar` (GetSpeech's) constrains the recogniser (None: free-form). Synchronous and thread-safe: the
        network calls it from a worker thread. Never raises."""
        ...
