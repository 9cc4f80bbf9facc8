"""16-bit PCM WAV files of percl audio: what a leg heard, for people and for tests."""

from __future__ import annotations

import io
import wave
from collections.abc import Sequence

import numpy as np

from percl.media.audio.pcm import SAMPLE_RATE, Pcm


def wav_bytes(channels: Sequence[Pcm], rate: int = SAMPLE_RATE) -> bytes:
    """A 16-bit PCM WAV of one or two channels; a shorter channel is padded with silence."""
    if len(channels) not in (1, 2):
        raise ValueError(f"a WAV here has 1 or 2 channels, got {len(channels)}")
    length = max(len(c) for c in channels)
    interleaved = np.zeros((length, len(channels)), dtype="<i2")
    for index, channel in enumerate(channels):
        interleaved[: len(channel), index] = channel
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(len(channels))
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(interleaved.tobytes())
    return out.getvalue()


def read_wav(data: bytes) -> tuple[list[Pcm], int]:
    """The channels and rate of a 16-bit PCM WAV (such as wav_bytes writes); wave.Error otherwise."""
    with wave.open(io.BytesIO(data), "rb") as reader:
        if reader.getsampwidth() != 2:
            raise wave.Error(f"read_wav reads 16-bit WAVs, this one has {8 * reader.getsampwidth()} bits")
        count, rate = reader.getnchannels(), reader.getframerate()
        raw = reader.readframes(reader.getnframes())
    samples = np.frombuffer(raw, dtype="<i2").astype(np.int16).reshape(-1, count)
    return [samples[:, i].copy() for i in range(count)], rate
