"""Transcription engines (engine.ports.Transcriber): what TranscribeUtterance's caller said.

* `SphinxTranscriber`, the offline default: pocketsphinx's en-US model decoding free-form (no
  grammar). Measured on espeak-ng speech through a telephone channel it is poor (bench/
  transcribe_accuracy.py, docs/BENCHMARKS.md): fine to prove the flow, not to read a voicemail.
* `HttpTranscriber`: POSTs the WAV to an OpenAI-compatible `/v1/audio/transcriptions` endpoint
  (multipart `file` + `model`, answer `{"text": ...}`), as local Whisper servers offer
  (faster-whisper-server / speaches, whisper.cpp's server, LocalAI). PERCL_TRANSCRIBE_URL
  selects it.
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from percl.engine.ports import TranscriptionFailed
from percl.media.asr.base import SpeechToText
from percl.media.audio.wav import read_wav

#: How long an HTTP engine may take for one recording (at most 60 s of audio).
HTTP_TIMEOUT_S = 60.0


#: Runs blocking work off the event loop (asyncio.to_thread; the test kit's is counted by its
#: FakeClock).
Offload = Callable[[Callable[[], str]], Awaitable[str]]


class SphinxTranscriber:
    """Free-form decoding of the whole recording by `recognizer` (default: the process's
    pocketsphinx) through `offload`."""

    def __init__(self, recognizer: SpeechToText | None = None,
                 offload: Offload | None = None) -> None:
        self._recognizer = recognizer
        self._offload = offload

    async def transcribe(self, wav: bytes) -> str:
        if self._offload is None:
            return await asyncio.to_thread(self._decode, wav)
        return await self._offload(lambda: self._decode(wav))

    def _decode(self, wav: bytes) -> str:
        try:
            [pcm], rate = read_wav(wav)
        except (wave.Error, EOFError, ValueError) as exc:
            raise TranscriptionFailed(f"not a 16-bit mono WAV: {exc}") from None
        if rate != 8000:
            raise TranscriptionFailed(f"expected 8 kHz audio, got {rate} Hz")
        if not len(pcm):
            return ""
        if self._recognizer is None:
            from percl.media.asr import default_recognizer  # loads the model on first use

            self._recognizer = default_recognizer()
        return self._recognizer.transcribe(pcm, None).text


@dataclass(frozen=True, slots=True)
class HttpTranscriber:
    """An OpenAI-compatible transcription endpoint: `url` is the endpoint itself (e.g.
    http://127.0.0.1:8000/v1/audio/transcriptions); `api_key`, when set, goes as a Bearer token."""

    url: str
    model: str = "whisper-1"
    api_key: str | None = field(default=None, repr=False)
    language: str | None = "en"
    timeout_s: float = HTTP_TIMEOUT_S

    async def transcribe(self, wav: bytes) -> str:
        form = aiohttp.FormData()
        form.add_field("file", wav, filename="recording.wav", content_type="audio/wav")
        form.add_field("model", self.model)
        form.add_field("response_format", "json")
        if self.language:
            form.add_field("language", self.language)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with (aiohttp.ClientSession(timeout=timeout) as session,
                        session.post(self.url, data=form, headers=headers) as response):
                if response.status != 200:
                    answer = (await response.text())[:200]
                    raise TranscriptionFailed(f"{self.url} answered HTTP {response.status}: "
                                              f"{answer}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TranscriptionFailed(f"{self.url}: {type(exc).__name__}: {exc}") from None
        words = body.get("text") if isinstance(body, dict) else None
        if not isinstance(words, str):
            raise TranscriptionFailed(f"{self.url} answered without a `text` string")
        return words.strip()


def transcriber_for(url: str, model: str = "whisper-1", api_key: str | None = None, *,
                    offload: Offload | None = None) -> SphinxTranscriber | HttpTranscriber:
    """The engine the settings choose: HTTP at `url`, else pocketsphinx (through `offload`)."""
    if url:
        return HttpTranscriber(url, model, api_key or None)
    return SphinxTranscriber(offload=offload)
