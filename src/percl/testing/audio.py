"""A leg's audio for tests: what the virtual phone heard and sent, as numpy arrays.

Read it with `AsyncPhoneCall.audio()` / `PhoneCall.audio()` on a kit of audio fidelity
(`Harness(media="audio")`, `@pytest.mark.percl_media("audio")`). It comes through the sim API's
`GET /sim/v1/calls/{callId}/audio`, as a client of a running percl would read it.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass

import numpy as np

from percl.media.audio.pcm import SAMPLE_RATE, Pcm
from percl.media.audio.wav import read_wav


@dataclass(frozen=True, slots=True)
class LegAudio:
    """What one leg carried so far: 8 kHz 16-bit mono samples per side (the same length; the
    shorter side is padded with silence)."""

    heard: Pcm  # what the phone heard: the platform's prompts and tones, the conference's mix
    sent: Pcm  # what the phone sent: its speech, its keys' tones, a machine's greeting
    rate: int = SAMPLE_RATE

    @property
    def seconds(self) -> float:
        return len(self.heard) / self.rate

    def heard_between(self, start_s: float, end_s: float) -> Pcm:
        """The heard samples from `start_s` to `end_s` seconds into the leg."""
        return self.heard[round(start_s * self.rate):round(end_s * self.rate)]

    def offset_of(self, sound: Pcm, *, side: str = "heard", min_match: float = 0.5) -> float | None:
        """Seconds into the leg where `sound` (e.g. `Harness.speech("Welcome")`) starts in the
        `side` ("heard" or "sent") track, by normalised cross-correlation; None when nothing
        matches at least `min_match` (0..1; 1 = the very samples)."""
        track = (self.heard if side == "heard" else self.sent).astype(np.float64)
        probe = sound.astype(np.float64)
        if len(probe) == 0 or len(probe) > len(track) or not probe.any():
            return None
        n = len(track) + len(probe)
        size = 1 << (n - 1).bit_length()
        scores = np.fft.irfft(np.fft.rfft(track, size) * np.conj(np.fft.rfft(probe, size)), size)
        scores = scores[: len(track) - len(probe) + 1]
        energy = np.convolve(track * track, np.ones(len(probe)), "valid")
        match = scores / (np.sqrt(np.maximum(energy, 1e-9)) * np.linalg.norm(probe))
        best = int(np.argmax(match))
        return best / self.rate if match[best] >= min_match else None


def read_leg_wav(data: bytes) -> LegAudio:
    """The two-channel WAV of GET /calls/{callId}/audio as a LegAudio. Raises ValueError when
    it is not one."""
    try:
        channels, rate = read_wav(data)
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a WAV file: {exc}") from None
    if len(channels) != 2:
        raise ValueError(f"expected 2 channels (heard, sent), got {len(channels)}")
    return LegAudio(channels[0], channels[1], rate)


#: A 20 ms frame this loud (RMS, 16-bit) is speech for `utterances` (about -46 dBFS).
SPEECH_RMS = 160.0


def utterances(pcm: Pcm, *, gap_ms: int = 400, rate: int = SAMPLE_RATE) -> list[Pcm]:
    """The stretches of `pcm` that hold sound, split where it is quiet for `gap_ms` or more:
    the separate things a caller said in a recording, each decoded on its own."""
    frame = rate // 50
    count = len(pcm) // frame
    if count == 0:
        return []
    frames = pcm[: count * frame].astype(np.float64).reshape(count, frame)
    loud = np.sqrt(np.mean(np.square(frames), axis=1)) >= SPEECH_RMS
    out: list[Pcm] = []
    start: int | None = None
    quiet = 0
    for i, is_loud in enumerate(loud.tolist()):
        if is_loud:
            start = i if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * 20 >= gap_ms:
                out.append(pcm[start * frame:(i - quiet + 1) * frame])
                start, quiet = None, 0
    if start is not None:
        out.append(pcm[start * frame:(count - quiet) * frame])
    return out
