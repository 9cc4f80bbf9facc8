"""Recording takes: what a leg hears, rendered as an 8 kHz 16-bit mono WAV.

The network writes audio as it comes (engine/ports/media.py): real frames (AudioFrame, PCM as it
is), symbolic speech (SpokenText: the words, spoken here by the text-to-speech voice so a
recording made on the symbolic network still holds audible speech) and keys (DtmfTone: their
DTMF tones). Each piece is placed at the time it was written, after the previous one when they
would overlap (symbolic speech takes no network time); `close(duration_ms)` fixes the length:
the rendering is padded with silence or cut to exactly that many milliseconds. What the leg heard
(`hear`: prompts, the other party; a whole-call recording) is a second track placed the same way
and added to the first, clipped: both directions mixed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from percl.domain.clock import Clock
from percl.engine.ports import Audio, AudioFrame, DtmfTone, SpokenText
from percl.media.audio.pcm import SAMPLE_RATE, Pcm, samples_for_ms
from percl.media.audio.resample import resample
from percl.media.audio.tones import dtmf_digits
from percl.media.audio.wav import wav_bytes
from percl.media.tts import SpeechSynthesizer, TtsError, default_synthesizer

log = logging.getLogger(__name__)

KEY_TONE_MS = 100  # how long each written key sounds
KEY_GAP_MS = 50


@dataclass(frozen=True, slots=True)
class _Piece:
    at_ms: float
    audio: Audio


class WavTake:
    """One recording (engine.ports.RecordingTake). Writes only note the audio and its time; the
    synthesis and mixing happen in `render`, off the event loop."""

    def __init__(self, clock: Clock, synthesizer: SpeechSynthesizer | None = None,
                 language: str | None = None) -> None:
        self._clock = clock
        self._started = clock.now()
        self._synth = synthesizer
        self._language = language
        self._pieces: list[_Piece] = []
        self._heard: list[_Piece] = []
        self.duration_ms: int | None = None

    def write(self, audio: Audio) -> None:
        if self.duration_ms is None:
            self._pieces.append(_Piece((self._clock.now() - self._started) * 1000, audio))

    def hear(self, audio: Audio) -> None:
        if self.duration_ms is None:
            self._heard.append(_Piece((self._clock.now() - self._started) * 1000, audio))

    def close(self, duration_ms: int) -> None:
        if self.duration_ms is None:
            self.duration_ms = max(0, duration_ms)

    def words(self) -> str | None:
        if any(isinstance(piece.audio, AudioFrame) for piece in self._pieces):
            return None
        return " ".join(piece.audio.text for piece in self._pieces
                        if isinstance(piece.audio, SpokenText) and piece.audio.text)

    def render(self) -> bytes:
        if self.duration_ms is None:
            raise RuntimeError("a take renders once it is closed")
        return wav_bytes([self.pcm()])

    def pcm(self) -> Pcm:
        """The take's samples: exactly `duration_ms` long, both directions mixed."""
        assert self.duration_ms is not None
        total = samples_for_ms(self.duration_ms)
        sent = self._track(self._pieces, total)
        if not self._heard:
            return sent
        mixed = sent.astype(np.int32) + self._track(self._heard, total)
        out: Pcm = np.clip(mixed, -32768, 32767).astype(np.int16)
        return out

    def _track(self, pieces: list[_Piece], total: int) -> Pcm:
        """`pieces` placed in `total` samples, each after the previous one if they overlap."""
        out = np.zeros(total, dtype=np.int16)
        cursor = 0
        for piece in pieces:
            start = max(cursor, samples_for_ms(piece.at_ms))
            if start >= total:
                break
            sound = self._sound(piece.audio)[: total - start]
            out[start : start + len(sound)] = sound
            cursor = start + len(sound)
        return out

    def _sound(self, audio: Audio) -> Pcm:
        match audio:
            case AudioFrame(pcm=raw, sample_rate=rate):
                samples = np.frombuffer(raw, dtype="<i2").astype(np.int16)
                return samples if rate == SAMPLE_RATE else resample(samples, rate, SAMPLE_RATE)
            case SpokenText(text=text):
                return self._speak(text)
            case DtmfTone(digits=digits):
                keys = "".join(k for k in digits if k in "0123456789*#")
                return dtmf_digits(keys, tone_ms=KEY_TONE_MS, gap_ms=KEY_GAP_MS)
        return np.zeros(0, dtype=np.int16)

    def _speak(self, text: str) -> Pcm:
        if self._synth is None:
            self._synth = default_synthesizer()
        try:
            return self._synth.synthesize(text, self._language).pcm
        except TtsError as exc:  # the recording keeps its length; the words are lost
            log.error("Recording: cannot speak %r (%s); silence instead", text, exc)
            return np.zeros(0, dtype=np.int16)


class WavRecorder:
    """engine.ports.AudioRecorder: takes on `clock`, speaking with one shared synthesizer."""

    def __init__(self, clock: Clock, synthesizer: SpeechSynthesizer | None = None) -> None:
        self._clock = clock
        self._synth = synthesizer

    def take(self) -> WavTake:
        return WavTake(self._clock, self._synth)
