"""wav_bytes/read_wav round trips, and decode_audio reading what wav_bytes writes."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from percl.media.audio.decode import decode_audio
from percl.media.audio.tones import sine
from percl.media.audio.wav import read_wav, wav_bytes

from .measure import correlation


def test_mono_round_trip_is_exact() -> None:
    pcm = np.array([0, 1, -1, 32767, -32768, 1234], dtype=np.int16)
    channels, rate = read_wav(wav_bytes([pcm]))
    assert rate == 8000 and len(channels) == 1
    assert channels[0].dtype == np.int16 and np.array_equal(channels[0], pcm)


def test_stereo_pads_the_shorter_channel_and_keeps_order() -> None:
    heard, said = sine(440, 1000), sine(1000, 500)
    data = wav_bytes([heard, said], rate=8000)
    channels, rate = read_wav(data)
    assert rate == 8000 and [len(c) for c in channels] == [8000, 8000]
    assert np.array_equal(channels[0], heard)
    assert np.array_equal(channels[1][:4000], said) and not channels[1][4000:].any()
    with wave.open(io.BytesIO(data)) as reader:  # a standard 16-bit PCM WAV
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (2, 2, 8000)


def test_other_rates_and_decode_audio_agree() -> None:
    pcm = sine(440, 1000)
    data = wav_bytes([pcm], rate=8000)
    assert np.array_equal(decode_audio(data), pcm)  # 8 kHz mono 16-bit: decoded unchanged
    _, rate = read_wav(wav_bytes([pcm], rate=16000))
    assert rate == 16000
    assert correlation(decode_audio(wav_bytes([pcm], rate=16000))[400:-400],
                       sine(880, 500)[400:-400]) > 0.99  # read as 16 kHz: half as long, an octave up


def test_channel_count_is_checked() -> None:
    with pytest.raises(ValueError, match="1 or 2 channels"):
        wav_bytes([])
    with pytest.raises(ValueError, match="1 or 2 channels"):
        wav_bytes([sine(440, 20)] * 3)


def test_read_wav_refuses_other_sample_widths() -> None:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(8000)
        writer.writeframes(b"\x80" * 10)
    with pytest.raises(wave.Error, match="16-bit"):
        read_wav(out.getvalue())
