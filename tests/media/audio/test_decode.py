"""decode_audio and probe_seconds on WAV files of every listed encoding and MP3s made here.

Files are built with struct (and lameenc for MP3) from a known sine; decoding is checked by
length, frequency, level and correlation with the same sine made at 8 kHz, never by bytes.
"""

from __future__ import annotations

import math
import struct
import tracemalloc

import numpy as np
import pytest
from bench.signals import tone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from percl.media.audio.decode import AudioDecodeError, decode_audio, probe_seconds
from percl.media.audio.g711 import alaw_encode, ulaw_encode
from percl.media.audio.pcm import rms_dbfs

from .measure import band_energy_share, correlation, dominant_hz

PCM, FLOAT, ALAW, MULAW, EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def wav(raw: bytes, *, code: int = PCM, channels: int = 1, rate: int = 16000, bits: int = 16,
        extensible: bool = False, data_size: int | None = None, extra_chunk: bool = False,
        lead: bytes = b"", fmt_tail: bytes = b"") -> bytes:
    """A RIFF/WAVE file around `raw` with exactly the header fields given; `lead` goes before the
    fmt chunk, `fmt_tail` at the end of it."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", EXTENSIBLE if extensible else code, channels, rate, rate * align,
                      align, bits)
    if extensible:
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", code) + GUID_TAIL
    elif code != PCM:
        fmt += struct.pack("<H", 0)
    fmt += fmt_tail
    body = b"WAVE" + lead + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:  # a LIST chunk of odd size: exercises chunk padding
        body += b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\x00"
    body += b"data" + struct.pack("<I", len(raw) if data_size is None else data_size) + raw
    return b"RIFF" + struct.pack("<I", len(body)) + body


def encode_samples(signal: np.ndarray, code: int, bits: int) -> bytes:
    """Float samples (frames x channels, or mono) as WAV sample bytes."""
    if code == FLOAT:
        return signal.astype("<f4" if bits == 32 else "<f8").tobytes()
    as16 = np.clip(np.rint(signal * 32768), -32768, 32767).astype(np.int16)
    if code == ALAW:
        return alaw_encode(as16.ravel()).tobytes()
    if code == MULAW:
        return ulaw_encode(as16.ravel()).tobytes()
    if bits == 8:
        return np.clip(np.rint(signal * 128 + 128), 0, 255).astype(np.uint8).tobytes()
    if bits == 16:
        return as16.astype("<i2").tobytes()
    as32 = np.clip(np.rint(signal * 2**31), -(2**31), 2**31 - 1).astype("<i4")
    if bits == 32:
        return as32.tobytes()
    return as32.view(np.uint8).reshape(-1, 4)[:, 1:].tobytes()  # 24-bit: the top three bytes


def check_tone(pcm: np.ndarray, hz: float, seconds: float, amplitude: float = 0.5) -> None:
    assert pcm.dtype == np.int16
    assert abs(len(pcm) - seconds * 8000) <= 8, len(pcm)
    assert abs(dominant_hz(pcm) - hz) <= 5
    expected_dbfs = 20 * math.log10(amplitude / math.sqrt(2))
    assert abs(rms_dbfs(pcm) - expected_dbfs) < 0.5, rms_dbfs(pcm)
    reference = tone(hz, seconds, 8000, amplitude)
    middle = slice(400, len(pcm) - 400)  # the resampler's edges are not the signal's
    assert correlation(pcm[middle], reference[middle]) > 0.99


ENCODINGS = [(PCM, 8), (PCM, 16), (PCM, 24), (PCM, 32), (FLOAT, 32), (FLOAT, 64), (MULAW, 8), (ALAW, 8)]


@pytest.mark.parametrize(("code", "bits"), ENCODINGS, ids=lambda v: str(v))
@pytest.mark.parametrize("extensible", [False, True], ids=["plain", "extensible"])
def test_every_wav_encoding_decodes_to_the_same_tone(code: int, bits: int, extensible: bool) -> None:
    signal = tone(300, 1.0, 16000)
    data = wav(encode_samples(signal, code, bits), code=code, bits=bits, extensible=extensible)
    check_tone(decode_audio(data), 300, 1.0)


@pytest.mark.parametrize("rate", [1000, 8000, 11025, 16000, 22050, 44100, 48000, 96000])
def test_every_rate_is_resampled_to_8_khz(rate: int) -> None:
    data = wav(encode_samples(tone(300, 1.5, rate), PCM, 16), rate=rate, extra_chunk=True)
    check_tone(decode_audio(data), 300, 1.5)
    assert probe_seconds(data) == pytest.approx(1.5, abs=1e-3)


def test_stereo_and_more_channels_are_averaged_to_mono() -> None:
    left = tone(300, 1.0, 22050)
    both = np.stack([left, left], axis=1)
    check_tone(decode_audio(wav(encode_samples(both, PCM, 16), channels=2, rate=22050)), 300, 1.0)
    one_side = np.stack([left, np.zeros_like(left)], axis=1)
    check_tone(decode_audio(wav(encode_samples(one_side, PCM, 16), channels=2, rate=22050)), 300, 1.0,
               amplitude=0.25)
    opposed = np.stack([left, -left, left, -left], axis=1)  # cancels out in the mono mix
    quiet = decode_audio(wav(encode_samples(opposed, FLOAT, 32), code=FLOAT, bits=32, channels=4,
                             rate=22050))
    assert len(quiet) == 8000 and rms_dbfs(quiet) < -80


def test_content_above_the_telephone_band_does_not_alias() -> None:
    data = wav(encode_samples(tone(300, 1.0, 44100) + tone(5000, 1.0, 44100), PCM, 16), rate=44100)
    pcm = decode_audio(data)
    assert band_energy_share(pcm, 300) > 0.999  # 5 kHz would fold to 3 kHz at 8 kHz
    assert band_energy_share(pcm, 3000, width=100) < 1e-5


def test_streamed_wav_with_unknown_data_size_uses_the_rest_of_the_file() -> None:
    raw = encode_samples(tone(300, 1.0, 8000), PCM, 16)
    for size in (0, 0xFFFFFFFF):
        check_tone(decode_audio(wav(raw, rate=8000, data_size=size)), 300, 1.0)


def test_float_nan_and_out_of_range_values_are_tamed() -> None:
    signal = tone(300, 1.0, 8000)
    signal[100:110] = np.nan
    signal[200] = 7.0
    pcm = decode_audio(wav(encode_samples(signal, FLOAT, 32), code=FLOAT, bits=32, rate=8000))
    assert pcm[105] == 0 and pcm[200] == 32767 and len(pcm) == 8000


# ------------------------------------------------------------------------------------- MP3

def make_mp3(signal: np.ndarray, rate: int, channels: int = 1, kbps: int = 64) -> bytes:
    lameenc = pytest.importorskip("lameenc", reason="lameenc (the [test] extra) makes the test MP3s")
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(channels)
    encoder.set_quality(5)
    pcm16 = np.clip(np.rint(signal * 32767), -32768, 32767).astype("<i2")
    return bytes(encoder.encode(pcm16.tobytes())) + bytes(encoder.flush())


@pytest.mark.parametrize(("rate", "channels"), [(22050, 1), (44100, 2), (16000, 1)])
def test_mp3_decodes_to_the_tone(rate: int, channels: int) -> None:
    signal = tone(440, 2.0, rate)
    if channels == 2:
        signal = np.stack([signal, signal], axis=1)
    pcm = decode_audio(make_mp3(signal, rate, channels))
    # MP3 adds encoder delay and padding (a frame or two) that a tag-less stream cannot say.
    assert abs(len(pcm) / 8000 - 2.0) < 0.15
    assert abs(dominant_hz(pcm) - 440) <= 5
    assert band_energy_share(pcm, 440) > 0.99
    assert abs(rms_dbfs(pcm) - rms_dbfs(np.rint(tone(440, 2.0, 8000) * 32767).astype(np.int16))) < 1.5


def test_mp3_with_an_id3_tag_and_its_probe() -> None:
    mp3 = make_mp3(tone(440, 3.0, 22050), 22050, kbps=32)
    tag_body = b"TIT2" + struct.pack(">I", 6) + b"\x00\x00" + b"\x00title" + b"\x00" * 20
    size = len(tag_body)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    tagged = b"ID3\x03\x00\x00" + syncsafe + tag_body + mp3
    assert abs(dominant_hz(decode_audio(tagged)) - 440) <= 5
    probed = probe_seconds(tagged)
    assert probed is not None and abs(probed - 3.0) < 0.2


def test_too_long_mp3_is_refused() -> None:
    mp3 = make_mp3(tone(440, 3.0, 16000), 16000, kbps=32)
    with pytest.raises(AudioDecodeError, match="more than the 1 s allowed"):
        decode_audio(mp3, max_seconds=1.0)


# ------------------------------------------------------------------------------------ errors

GOOD = wav(encode_samples(tone(300, 0.5, 8000), PCM, 16), rate=8000)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"hello, this is text, not audio", "not a WAV or MP3"),
    (b"<html><body>404</body></html>", "not a WAV or MP3"),
    (GOOD[:-100], "truncated"),
    (GOOD[:12], "no fmt chunk"),
    (GOOD[:20], "fmt chunk is 0 bytes"),
    (GOOD[:44], "declares 8000 bytes but only 0 are present"),
    (wav(b"\x01"), "no complete sample"),
    (GOOD[:36], "no data chunk"),
    (wav(b"\x00" * 100, code=2, bits=4), "0x0002 is not supported"),
    (wav(b"\x00" * 100, bits=12), "12 bits per sample"),
    (wav(b"\x00" * 100, rate=0), "outside 1 Hz..96 kHz"),
    (wav(b"\x00" * 100, rate=192000), "outside 1 Hz..96 kHz"),
    (wav(b"\x00" * 100, rate=10**9), "outside 1 Hz..96 kHz"),
    (wav(b"\x00" * 100, bits=0), "0 bits per sample"),
    (wav(b"\x00" * 100, bits=7), "7 bits per sample"),
    (wav(b"\x00" * 100, bits=64), "PCM with 64 bits per sample"),
    (wav(b"\x00" * 100, data_size=2**31), "declares 2147483648 bytes but only 100"),
    (wav(b"\x00" * 100, channels=0), "0 channels"),
    (GOOD.replace(b"\x02\x00\x10\x00", b"\x03\x00\x10\x00", 1), "block align"),
    (b"ID3\x03\x00\x00\x00\x00\x00\x05hello", "ID3 tag with no MPEG audio frame"),
    (b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(1_000_000), "ID3 tag with no MPEG audio frame"),
    (b"\xff\xfb\x90\x64" + bytes(2000), "MP3 could not be decoded"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_data_raises_a_readable_error(data: bytes, message: str) -> None:
    with pytest.raises(AudioDecodeError, match=message):
        decode_audio(data)


def test_too_long_wav_is_refused_from_its_header() -> None:
    data = wav(encode_samples(tone(300, 2.0, 8000), PCM, 16), rate=8000)
    with pytest.raises(AudioDecodeError, match=r"lasts 2\.0 s, more than the 1 s allowed"):
        decode_audio(data, max_seconds=1.0)
    # A header that claims hours is refused before anything is allocated for them.
    huge = wav(b"", rate=8000, data_size=2**32 - 2)
    with pytest.raises(AudioDecodeError):
        decode_audio(huge)


def test_a_wav_of_endless_empty_chunks_is_refused_at_once() -> None:
    raw = encode_samples(tone(300, 0.5, 8000), PCM, 16)
    check_tone(decode_audio(wav(raw, rate=8000, lead=b"JUNK\0\0\0\0" * 990)), 300, 0.5)
    endless = wav(raw, rate=8000, lead=b"JUNK\0\0\0\0" * 1_000_000)  # 8 MB of nothing
    with pytest.raises(AudioDecodeError, match="more than 1000 chunks before its audio"):
        decode_audio(endless)
    assert probe_seconds(endless) is None


def _peak_bytes(data: bytes) -> tuple[int, int]:
    """(peak bytes traced while decoding `data`, samples decoded)."""
    tracemalloc.start()
    try:
        pcm = decode_audio(data)
        return tracemalloc.get_traced_memory()[1], len(pcm)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("channels", "rate", "frames"), [
    (2048, 8000, 4096),  # 8 MB of 8-bit samples that make half a second
    (1, 1, 600),  # 1.2 kB that make the allowed 600 s: 8,000 output samples per input frame
    (2, 96000, 96000),  # an ordinary second
], ids=["2048 channels", "1 Hz", "96 kHz stereo"])
def test_decoding_memory_follows_the_8_khz_output_not_the_source(channels: int, rate: int,
                                                                 frames: int) -> None:
    data = wav(b"\x80" * (channels * frames), channels=channels, rate=rate, bits=8)
    peak, samples = _peak_bytes(data)
    assert samples == pytest.approx(frames * 8000 / rate, rel=0.01)
    assert peak < 16 * 2**20 + 8 * samples, peak  # blocks of a few MiB, and the result twice


def test_a_huge_fmt_chunk_is_not_copied() -> None:
    data = wav(encode_samples(tone(300, 0.5, 8000), PCM, 16), rate=8000, fmt_tail=bytes(8 << 20))
    peak, _ = _peak_bytes(data)
    assert peak < 1 << 20


def test_audio_decode_error_is_a_value_error() -> None:
    assert issubclass(AudioDecodeError, ValueError)


def test_probe_seconds_unknown_is_none() -> None:
    assert probe_seconds(b"not audio") is None and probe_seconds(GOOD[:20]) is None
    assert probe_seconds(GOOD) == pytest.approx(0.5)


FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def _decodes_or_refuses(data: bytes) -> None:
    try:
        pcm = decode_audio(data, max_seconds=30)
    except AudioDecodeError as exc:
        assert str(exc)
    else:
        assert pcm.dtype == np.int16 and pcm.ndim == 1 and len(pcm) > 0
    probe_seconds(data)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _decodes_or_refuses(data)


@FUZZ
@given(st.sampled_from([b"RIFF\x00\x10\x00\x00WAVE", b"ID3\x04\x00\x00\x00\x00\x00\x00",
                        b"\xff\xfb\x90\x64", b"\xff\xf3\x40\xc4", GOOD[:36]]),
       st.binary(max_size=4096))
def test_plausible_headers_with_garbage_never_raise_anything_else(head: bytes, tail: bytes) -> None:
    _decodes_or_refuses(head + tail)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), max_size=8))
def test_corrupted_wav_headers_never_raise_anything_else(edits: list[tuple[int, int]]) -> None:
    data = bytearray(GOOD)
    for pos, value in edits:
        data[pos % 48] = value  # the header, where corruption changes how the rest is read
    _decodes_or_refuses(bytes(data))
