"""G.711 against a per-sample transcription of the ITU-T G.191 reference (g711.c), every input."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest

from percl.media.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

ALL_LINEAR = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


# --- the reference, transcribed from G.191's g711.c one sample at a time (C integer semantics) ---

def ref_alaw_compress(x: int) -> int:
    ix = (~x) >> 4 if x < 0 else x >> 4
    if ix > 15:
        iexp = 1
        while ix > 16 + 15:
            ix >>= 1
            iexp += 1
        ix -= 16
        ix += iexp << 4
    if x >= 0:
        ix |= 0x0080
    return ix ^ 0x0055


def ref_alaw_expand(code: int) -> int:
    ix = (code ^ 0x0055) & 0x007F
    iexp = ix >> 4
    mant = ix & 0x000F
    if iexp > 0:
        mant = mant + 16
    mant = (mant << 4) + 0x0008
    if iexp > 1:
        mant = mant << (iexp - 1)
    return mant if code > 127 else -mant


def ref_ulaw_compress(x: int) -> int:
    absno = ((~x) >> 2) + 33 if x < 0 else (x >> 2) + 33
    if absno > 0x1FFF:
        absno = 0x1FFF
    i = absno >> 6
    segno = 1
    while i != 0:
        segno += 1
        i >>= 1
    high_nibble = 0x0008 - segno
    low_nibble = 0x000F - ((absno >> segno) & 0x000F)
    code = (high_nibble << 4) | low_nibble
    if x >= 0:
        code |= 0x0080
    return code


def ref_ulaw_expand(code: int) -> int:
    sign = -1 if code < 0x0080 else 1
    mantissa = ~code
    exponent = (mantissa >> 4) & 0x0007
    segment = exponent + 1
    mantissa &= 0x0F
    step = 4 << segment
    return sign * ((0x0080 << exponent) + step * mantissa + step // 2 - 4 * 33)


# --- every input ---

def test_ulaw_encode_is_bit_exact_for_all_65536_inputs() -> None:
    expected = np.array([ref_ulaw_compress(int(x)) for x in ALL_LINEAR], dtype=np.uint8)
    got = ulaw_encode(ALL_LINEAR)
    assert got.dtype == np.uint8
    assert np.array_equal(got, expected), np.flatnonzero(got != expected)[:10]


def test_alaw_encode_is_bit_exact_for_all_65536_inputs() -> None:
    expected = np.array([ref_alaw_compress(int(x)) for x in ALL_LINEAR], dtype=np.uint8)
    got = alaw_encode(ALL_LINEAR)
    assert got.dtype == np.uint8
    assert np.array_equal(got, expected), np.flatnonzero(got != expected)[:10]


def test_ulaw_decode_is_bit_exact_for_all_256_codes() -> None:
    expected = np.array([ref_ulaw_expand(int(c)) for c in ALL_CODES], dtype=np.int16)
    assert np.array_equal(ulaw_decode(ALL_CODES), expected)
    assert np.array_equal(ulaw_decode(ALL_CODES.tobytes()), expected)  # bytes in, same out


def test_alaw_decode_is_bit_exact_for_all_256_codes() -> None:
    expected = np.array([ref_alaw_expand(int(c)) for c in ALL_CODES], dtype=np.int16)
    assert np.array_equal(alaw_decode(ALL_CODES), expected)
    assert np.array_equal(alaw_decode(ALL_CODES.tobytes()), expected)


# --- polarity and well-known values: a codec with an inverted sign bit fails these ---

def test_alaw_sign_polarity() -> None:
    pos, neg = alaw_encode(np.array([1000, -1000], dtype=np.int16))
    # After the even-bit inversion (XOR 0x55) the sign bit is still bit 7: set for positive.
    assert pos & 0x80 and not neg & 0x80
    assert alaw_encode(np.array([0], dtype=np.int16))[0] == 0xD5  # A-law silence
    assert alaw_decode(bytes([0xD5]))[0] == 8 and alaw_decode(bytes([0x55]))[0] == -8
    assert alaw_decode(bytes([0xAA]))[0] == 32256 and alaw_decode(bytes([0x2A]))[0] == -32256
    assert np.array_equal(alaw_decode(alaw_encode(np.array([1000, -1000], dtype=np.int16))) > 0,
                          [True, False])


def test_ulaw_sign_polarity_and_extremes() -> None:
    assert ulaw_encode(np.array([0], dtype=np.int16))[0] == 0xFF  # mu-law silence
    assert ulaw_decode(bytes([0x80]))[0] == 32124 and ulaw_decode(bytes([0x00]))[0] == -32124
    assert ulaw_decode(bytes([0xFF]))[0] == 0 and ulaw_decode(bytes([0x7F]))[0] == 0
    pos, neg = ulaw_decode(ulaw_encode(np.array([1000, -1000], dtype=np.int16)))
    assert pos > 0 > neg


@pytest.mark.parametrize(("encode", "decode"), [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)])
def test_round_trip_error_stays_within_the_quantisation_step(
        encode: Callable[[np.ndarray], np.ndarray], decode: Callable[[np.ndarray], np.ndarray]) -> None:
    decoded = decode(encode(ALL_LINEAR)).astype(np.int32)
    error = np.abs(decoded - ALL_LINEAR.astype(np.int32))
    # Logarithmic steps: the error is at most about 1/16 of the value plus the smallest step.
    assert np.all(error <= np.abs(ALL_LINEAR.astype(np.int32)) // 16 + 64)
    # Decoding a decoded value's code gives the same value back (codes are fixed points).
    assert np.array_equal(decode(encode(decoded.astype(np.int16))), decoded)


def test_a_second_reference_audioop_agrees_but_where_g191_differs_on_purpose() -> None:
    # audioop (Sun's g711.c; in the standard library until 3.13) is an independent implementation.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    raw, codes = ALL_LINEAR.tobytes(), ALL_CODES.tobytes()
    assert alaw_encode(ALL_LINEAR).tobytes() == audioop.lin2alaw(raw, 2)
    assert alaw_decode(ALL_CODES).tobytes() == audioop.alaw2lin(codes, 2)
    assert ulaw_decode(ALL_CODES).tobytes() == audioop.ulaw2lin(codes, 2)
    # mu-law encoding: G.191 takes a negative sample's one's complement (Sun its two's complement),
    # so the two differ by one code, only for negative samples just below a segment boundary.
    theirs = np.frombuffer(audioop.lin2ulaw(raw, 2), dtype=np.uint8)
    ours = ulaw_encode(ALL_LINEAR)
    differ = np.flatnonzero(ours != theirs)
    assert len(differ) == 508 and np.all(ALL_LINEAR[differ] < 0)
    assert np.all(np.abs(ours[differ].astype(int) - theirs[differ].astype(int)) == 1)
