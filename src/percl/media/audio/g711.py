"""G.711 mu-law and A-law, bit-exact with the ITU-T G.191 reference (g711.c), by table lookup.

`audioop` is deprecated in 3.11 and gone in 3.13, so the codec is ours: the reference's per-sample
arithmetic is applied once, vectorised, to all 65,536 linear values and all 256 codes at import,
and every encode or decode afterwards is one numpy indexing operation (a few microseconds per
20 ms frame). tests/media/audio/test_g711.py checks every table entry against a transcription of
the reference.

Polarity, which third-party codecs have got wrong: in both laws the code's top bit is 1 for
non-negative samples. A-law then inverts the even bits (XOR 0x55), so silence is 0xD5 (A-law) and
0xFF (mu-law).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from percl.media.audio.pcm import Pcm

Codes = npt.NDArray[np.uint8]

_LINEAR = np.arange(-32768, 32768, dtype=np.int32)  # every int16, in order
_CODES = np.arange(256, dtype=np.int32)


def _segment(magnitude: npt.NDArray[np.int32], first_limit: int) -> npt.NDArray[np.int32]:
    """For each magnitude, how many times it halves before it is below `first_limit` (0..7)."""
    seg = np.zeros_like(magnitude)
    for shift in range(1, 8):
        seg += (magnitude >= (first_limit << (shift - 1))).astype(np.int32)
    return seg


def _build_ulaw_encode() -> Codes:
    # G.191 ulaw_compress: a 14-bit magnitude (one's complement for negatives) biased by 33.
    negative = _LINEAR < 0
    absno = np.where(negative, (~_LINEAR) >> 2, _LINEAR >> 2) + 33
    absno = np.minimum(absno, 0x1FFF)
    segno = _segment(absno, 64) + 1  # 1..8: the bit length of absno >> 6, plus one
    high = 0x08 - segno
    low = 0x0F - ((absno >> segno) & 0x0F)
    code = (high << 4) | low
    signed: Codes = np.where(negative, code, code | 0x80).astype(np.uint8)
    return signed


def _build_ulaw_decode() -> Pcm:
    # G.191 ulaw_expand: sign from the top bit, exponent and mantissa from the complemented code.
    complement = ~_CODES
    exponent = (complement >> 4) & 0x07
    mantissa = complement & 0x0F
    step = 4 << (exponent + 1)
    magnitude = (0x80 << exponent) + step * mantissa + step // 2 - 4 * 33
    return np.where(_CODES < 0x80, -magnitude, magnitude).astype(np.int16)


def _build_alaw_encode() -> Codes:
    # G.191 alaw_compress: a 12-bit magnitude (one's complement for negatives), 7 segments.
    negative = _LINEAR < 0
    ix = np.where(negative, (~_LINEAR) >> 4, _LINEAR >> 4)
    halvings = _segment(ix, 32)  # until the magnitude fits in 5 bits; the exponent is one more
    shifted = (ix >> halvings) - 16 + ((halvings + 1) << 4)
    code = np.where(ix > 15, shifted, ix)
    code = np.where(negative, code, code | 0x80)
    return (code ^ 0x55).astype(np.uint8)


def _build_alaw_decode() -> Pcm:
    # G.191 alaw_expand: undo the even-bit inversion, then segment and mantissa.
    ix = (_CODES ^ 0x55) & 0x7F
    exponent = ix >> 4
    mantissa = ix & 0x0F
    mantissa = np.where(exponent > 0, mantissa + 16, mantissa)
    mantissa = (mantissa << 4) + 0x08
    mantissa = np.where(exponent > 1, mantissa << np.maximum(exponent - 1, 0), mantissa)
    return np.where(_CODES > 127, mantissa, -mantissa).astype(np.int16)


_ULAW_ENCODE = _build_ulaw_encode()
_ULAW_DECODE = _build_ulaw_decode()
_ALAW_ENCODE = _build_alaw_encode()
_ALAW_DECODE = _build_alaw_decode()
for _table in (_ULAW_ENCODE, _ULAW_DECODE, _ALAW_ENCODE, _ALAW_DECODE):
    _table.flags.writeable = False  # shared by every caller and thread


def _index(pcm: Pcm) -> npt.NDArray[np.uint16]:
    # An int16 viewed as uint16, plus 32768 modulo 2**16, is its position in _LINEAR.
    return np.asarray(pcm, dtype=np.int16).view(np.uint16) ^ np.uint16(0x8000)


def _codes(data: bytes | Codes) -> Codes:
    if isinstance(data, bytes | bytearray | memoryview):
        return np.frombuffer(data, dtype=np.uint8)
    return np.asarray(data, dtype=np.uint8)


def ulaw_encode(pcm: Pcm) -> Codes:
    """16-bit linear samples to G.711 mu-law codes (one byte per sample)."""
    return _ULAW_ENCODE[_index(pcm)]


def ulaw_decode(data: bytes | Codes) -> Pcm:
    """G.711 mu-law codes (bytes or a uint8 array) to 16-bit linear samples."""
    return _ULAW_DECODE[_codes(data)]


def alaw_encode(pcm: Pcm) -> Codes:
    """16-bit linear samples to G.711 A-law codes (one byte per sample)."""
    return _ALAW_ENCODE[_index(pcm)]


def alaw_decode(data: bytes | Codes) -> Pcm:
    """G.711 A-law codes (bytes or a uint8 array) to 16-bit linear samples."""
    return _ALAW_DECODE[_codes(data)]
