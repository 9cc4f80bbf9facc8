"""The transcription port: the words of a recording (TranscribeUtterance).

Free-form, unlike the Recognizer's grammars: whatever the caller said. percl.media.transcribe has
the offline default (pocketsphinx's en-US model) and an HTTP engine speaking the OpenAI-compatible
`/v1/audio/transcriptions` API (local Whisper servers), chosen by PERCL_TRANSCRIBE_URL.
"""

from __future__ import annotations

from typing import Protocol


class TranscriptionFailed(Exception):
    """The engine could not transcribe (unreachable, an error answer, a decoder failure); the
    message says why, for the log."""


class Transcriber(Protocol):
    async def transcribe(self, wav: bytes) -> str:
        """The words spoken in `wav` (an 8 kHz 16-bit mono WAV), "" when it holds none. Raises
        TranscriptionFailed saying why it cannot."""
        ...
