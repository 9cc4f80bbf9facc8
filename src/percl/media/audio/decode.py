"""Audio files (what Play, PlayEarlyMedia and wait URLs fetch) to percl's 8 kHz mono PCM.

Formats are sniffed from the bytes, never trusted from a URL or a Content-Type: a RIFF/WAVE header
is a WAV, an ID3 tag or an MPEG audio frame header is an MP3, anything else is refused. WAV is
parsed here (the stdlib `wave` reads only integer PCM): PCM 8 (unsigned)/16/24/32-bit, IEEE float
32/64-bit, A-law (format 6), mu-law (format 7) and WAVE_FORMAT_EXTENSIBLE around any of those, at
1 Hz to 96 kHz, any channel count (averaged to mono). MP3 goes through miniaudio (dr_mp3).

Decoding streams in blocks through soxr's resampler, so memory follows the 8 kHz result and not the
source: a 96 kHz stereo float file is never held whole as float. A block is at most BLOCK_BYTES of
the source and at most BLOCK_FRAMES frames of 8 kHz output, so neither 65,535 channels nor a 1 Hz
rate (8,000 output samples per input frame) makes a block large. The duration limit is checked
from the WAV header before any decoding, and for MP3 as decoding goes, so a long file costs no
more than `max_seconds` of work; a WAV is refused after MAX_CHUNKS chunks without audio, so a
file of millions of empty chunks costs no more than a normal one. Every failure is an
AudioDecodeError whose message says what is wrong, for the log line the caller writes.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import miniaudio
import numpy as np
import numpy.typing as npt
import soxr

from percl.media.audio.g711 import alaw_decode, ulaw_decode
from percl.media.audio.pcm import SAMPLE_RATE, Pcm, concat, to_int16

MIN_RATE = 1
MAX_RATE = 96_000
BLOCK_FRAMES = 1 << 16  # at most this many source frames, and 8 kHz output samples, per step
BLOCK_BYTES = 1 << 20  # at most this much of a WAV's data per step
#: Chunks read before a WAV's data chunk; files from recorders and editors have a handful.
MAX_CHUNKS = 1000
_FMT_BYTES = 40  # the longest fmt chunk read: WAVE_FORMAT_EXTENSIBLE's (the rest is not used)

FORMAT_PCM = 0x0001
FORMAT_FLOAT = 0x0003
FORMAT_ALAW = 0x0006
FORMAT_MULAW = 0x0007
FORMAT_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_*: the format code in the first two bytes, then this fixed tail.
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_SUPPORTED_BITS = {FORMAT_PCM: (8, 16, 24, 32), FORMAT_FLOAT: (32, 64), FORMAT_ALAW: (8,),
                   FORMAT_MULAW: (8,)}
_FORMAT_NAMES = {FORMAT_PCM: "PCM", FORMAT_FLOAT: "IEEE float", FORMAT_ALAW: "A-law",
                 FORMAT_MULAW: "mu-law"}

Block = npt.NDArray[np.float32]


class AudioDecodeError(ValueError):
    """The bytes are not audio percl can play; the message says why (for a log line)."""


@dataclass(frozen=True, slots=True)
class WavLayout:
    """Where a WAV's samples are and how to read them."""

    format_code: int  # FORMAT_PCM, FORMAT_FLOAT, FORMAT_ALAW or FORMAT_MULAW (extensible unwrapped)
    channels: int
    rate: int
    bits: int
    data_start: int
    data_size: int  # whole sample frames only

    @property
    def block_align(self) -> int:
        return self.channels * self.bits // 8

    @property
    def seconds(self) -> float:
        return self.data_size / self.block_align / self.rate


# ------------------------------------------------------------------------------------ public

def decode_audio(data: bytes, *, max_seconds: float = 600.0) -> Pcm:
    """Decode a WAV or MP3 file to 8 kHz mono int16 PCM.

    Raises AudioDecodeError for empty, unknown, corrupt or truncated data, an unsupported WAV
    encoding, a rate outside 1 Hz..96 kHz, or audio longer than `max_seconds`.
    """
    if not data:
        raise AudioDecodeError("no data: the file is empty")
    if _is_wav(data):
        layout = parse_wav(data)
        if layout.seconds > max_seconds:
            raise AudioDecodeError(f"WAV audio lasts {layout.seconds:.1f} s, more than the "
                                   f"{max_seconds:g} s allowed")
        return _resampled(_wav_blocks(data, layout), layout.rate)
    if _mp3_start(data) is not None:
        return _decode_mp3(data, max_seconds)
    if data[:3] == b"ID3":
        raise AudioDecodeError("an ID3 tag with no MPEG audio frame after it (truncated or not an MP3)")
    raise AudioDecodeError(f"not a WAV or MP3 file (starts with {data[:8]!r})")


def probe_seconds(data: bytes) -> float | None:
    """The duration a file's header declares, without decoding; None when it cannot be told.

    WAV: exact, from the data chunk. MP3: an estimate from the first frame's bit rate and the size
    (exact for constant bit rate files, which is what telephony prompts are); None for layers other
    than III or free-format streams.
    """
    if _is_wav(data):
        try:
            return parse_wav(data).seconds
        except AudioDecodeError:
            return None
    start = _mp3_start(data)
    if start is None:
        return None
    header = _mp3_header(data, start)
    if header is None or header.bitrate == 0:
        return None
    return (len(data) - start) * 8 / header.bitrate


# --------------------------------------------------------------------------------------- WAV

def _is_wav(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WAVE"


def _chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(id, body start, declared size) of each RIFF chunk after the WAVE tag, MAX_CHUNKS at most."""
    pos = 12
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(data):
            return
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        yield chunk_id, pos + 8, size
        pos += 8 + size + (size & 1)
    raise AudioDecodeError(f"WAV has more than {MAX_CHUNKS} chunks before its audio (not a file a "
                           "recorder or an editor writes)")


def parse_wav(data: bytes) -> WavLayout:
    """The layout of a RIFF/WAVE file; AudioDecodeError when it is not one percl can decode."""
    fmt: tuple[int, int, int, int] | None = None
    for chunk_id, body, size in _chunks(data):
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(data[body : body + min(size, _FMT_BYTES)])
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioDecodeError("WAV has a data chunk before its fmt chunk")
            return _layout(fmt, data, body, size)
    if fmt is None:
        raise AudioDecodeError("WAV has no fmt chunk (truncated or not a WAV)")
    raise AudioDecodeError("WAV has no data chunk (truncated?)")


def _parse_fmt(body: bytes) -> tuple[int, int, int, int]:
    """(format code, channels, rate, bits) of a fmt chunk, checked."""
    if len(body) < 16:
        raise AudioDecodeError(f"WAV fmt chunk is {len(body)} bytes, needs at least 16")
    code, channels, rate, _byte_rate, align, bits = struct.unpack_from("<HHIIHH", body)
    if code == FORMAT_EXTENSIBLE:
        if len(body) < 40 or body[26:40] != _GUID_TAIL:
            raise AudioDecodeError("WAV extensible fmt chunk has no known sub-format")
        (code,) = struct.unpack_from("<H", body, 24)
    name = _FORMAT_NAMES.get(code)
    if name is None:
        raise AudioDecodeError(f"WAV encoding {code:#06x} is not supported (PCM, IEEE float, "
                               "A-law and mu-law are)")
    if bits not in _SUPPORTED_BITS[code]:
        raise AudioDecodeError(f"WAV {name} with {bits} bits per sample is not supported")
    if channels == 0:
        raise AudioDecodeError("WAV declares 0 channels")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioDecodeError(f"WAV sample rate {rate} Hz is outside 1 Hz..96 kHz")
    if align != channels * bits // 8:
        raise AudioDecodeError(f"WAV block align {align} does not match {channels} channel(s) of "
                               f"{bits} bits")
    return code, channels, rate, bits


def _layout(fmt: tuple[int, int, int, int], data: bytes, body: int, size: int) -> WavLayout:
    code, channels, rate, bits = fmt
    available = len(data) - body
    if size in (0, 0xFFFFFFFF):  # a streamed WAV whose writer never came back to fill the size
        size = available
    elif size > available:
        raise AudioDecodeError(f"WAV data chunk declares {size} bytes but only {available} are "
                               "present (truncated file)")
    align = channels * bits // 8
    usable = size - size % align
    if usable == 0:
        raise AudioDecodeError("WAV data chunk holds no complete sample")
    return WavLayout(code, channels, rate, bits, body, usable)


def _block_frames(rate: int, frame_bytes: int) -> int:
    """Source frames per step: at most BLOCK_BYTES of source and BLOCK_FRAMES of 8 kHz output."""
    return max(1, min(BLOCK_FRAMES, BLOCK_BYTES // frame_bytes, BLOCK_FRAMES * rate // SAMPLE_RATE))


def _wav_blocks(data: bytes, layout: WavLayout) -> Iterator[Block]:
    """The samples as mono float32 in -1..1, a bounded block (_block_frames) at a time."""
    step = _block_frames(layout.rate, layout.block_align) * layout.block_align
    end = layout.data_start + layout.data_size
    for start in range(layout.data_start, end, step):
        raw = data[start : min(start + step, end)]
        samples = _to_float(raw, layout.format_code, layout.bits)
        yield samples.reshape(-1, layout.channels).mean(axis=1, dtype=np.float32)


def _to_float(raw: bytes, code: int, bits: int) -> Block:
    if code == FORMAT_ALAW:
        return alaw_decode(raw).astype(np.float32) / np.float32(32768)
    if code == FORMAT_MULAW:
        return ulaw_decode(raw).astype(np.float32) / np.float32(32768)
    if code == FORMAT_FLOAT:
        values = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8")
        finite = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
        return np.clip(finite, -1.0, 1.0)
    if bits == 8:  # 8-bit WAV is unsigned, centred on 128
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128) / np.float32(128)
    if bits == 24:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        value = (value ^ 0x800000) - 0x800000  # sign-extend 24 bits
        return value.astype(np.float32) / np.float32(1 << 23)
    dtype, scale = ("<i2", 1 << 15) if bits == 16 else ("<i4", 1 << 31)
    return (np.frombuffer(raw, dtype=dtype).astype(np.float64) / scale).astype(np.float32)


# --------------------------------------------------------------------------------------- MP3

@dataclass(frozen=True, slots=True)
class Mp3Header:
    """The fields of an MPEG audio frame header that sniffing and probing need."""

    layer: int  # 1, 2 or 3
    rate: int  # Hz
    bitrate: int  # bit/s; 0 for free format or a layer the table here does not cover


_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_L3_KBPS_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_L3_KBPS_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_NOT_ZERO = re.compile(rb"[^\x00]")


def _mp3_header(data: bytes, pos: int) -> Mp3Header | None:
    """The MPEG audio frame header at `pos`, or None if the bytes there are not one."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (data[pos + 1] >> 3) & 3, (data[pos + 1] >> 1) & 3
    bitrate_index, rate_index = data[pos + 2] >> 4, (data[pos + 2] >> 2) & 3
    if version == 1 or layer_bits == 0 or bitrate_index == 15 or rate_index == 3:
        return None
    layer = 4 - layer_bits
    kbps = 0
    if layer == 3:
        kbps = (_L3_KBPS_V1 if version == 3 else _L3_KBPS_V2)[bitrate_index]
    return Mp3Header(layer, _MP3_RATES[version][rate_index], kbps * 1000)


def _mp3_start(data: bytes) -> int | None:
    """Where the first MPEG audio frame starts (after an ID3v2 tag), or None if not an MP3."""
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = 0
        for byte in data[6:10]:  # a "syncsafe" integer: 7 bits per byte
            size = (size << 7) | (byte & 0x7F)
        pos = 10 + size + (10 if data[5] & 0x10 else 0)
        audio = _NOT_ZERO.search(data, pos)  # skip the padding some taggers leave after the tag
        pos = audio.start() if audio else len(data)
    return pos if _mp3_header(data, pos) is not None else None


def _decode_mp3(data: bytes, max_seconds: float) -> Pcm:
    start = _mp3_start(data)
    header = _mp3_header(data, start if start is not None else 0)
    if header is None:
        raise AudioDecodeError("MP3 has no valid frame header")
    return _resampled(_mp3_blocks(data, header.rate, max_seconds), header.rate)


def _mp3_blocks(data: bytes, rate: int, max_seconds: float) -> Iterator[Block]:
    limit = max_seconds * rate
    decoded = 0
    try:
        stream = miniaudio.stream_memory(data, output_format=miniaudio.SampleFormat.FLOAT32,
                                         nchannels=1, sample_rate=rate,
                                         frames_to_read=_block_frames(rate, 4))
        for chunk in stream:
            decoded += len(chunk)
            if decoded > limit:
                raise AudioDecodeError(f"MP3 audio lasts more than the {max_seconds:g} s allowed")
            yield np.frombuffer(chunk, dtype=np.float32)
    except miniaudio.MiniaudioError as exc:
        raise AudioDecodeError(f"MP3 could not be decoded ({exc})") from exc


# ------------------------------------------------------------------------------ resampling

def _resampled(blocks: Iterator[Block], rate: int) -> Pcm:
    """Mono float blocks at `rate` joined as 8 kHz int16; AudioDecodeError when there are none."""
    stream = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1,
                                                                  dtype="float32", quality="HQ")
    parts: list[Pcm] = []
    count = 0
    for block in blocks:
        count += len(block)
        parts += _as_pcm(block if stream is None else stream.resample_chunk(block))
    if count == 0:
        raise AudioDecodeError("the file holds no audio samples")
    if stream is not None:
        parts += _as_pcm(stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    return concat(parts)


def _as_pcm(samples: Block) -> list[Pcm]:
    """Float samples as int16, BLOCK_FRAMES at a time: to_int16 works in float64, and soxr may
    return a low-rate file's whole output at once (at 1 Hz it holds everything until the end)."""
    return [to_int16(samples[i : i + BLOCK_FRAMES]) for i in range(0, len(samples), BLOCK_FRAMES)]
