"""Audio between a leg's tap (8 kHz 16-bit PCM, little-endian) and a stream's content type.

FreeClimb's three content types, one per stream (NotifyCallStarted says which):

    audio/mulaw;rate=8000   G.711 mu-law, 160 bytes a 20 ms frame
    audio/l16;rate=8000     linear 16-bit, 320 bytes a frame
    audio/l16;rate=16000    linear 16-bit at 16 kHz, 640 bytes a frame

`audio/L16` is network byte order (big-endian) by its MIME registration (RFC 2586, RFC 3551
4.5.11), and FreeClimb documents no other, so percl sends and expects big-endian samples.
16 kHz is resampled with soxr's streaming resampler (one per direction per stream, so there is
no seam at frame edges) at its "QQ" (cubic) quality: its delay is 4 samples up and 1 down, where
the "HQ" filter percl uses for files holds back 66 ms each way, more than the whole latency
budget of a live conversation. Telephone audio (0-3.4 kHz) loses nothing audible to it.
An agent may play mu-law on an l16 stream or l16 on a mu-law one at the
same rate (FreeClimb: "transcoding can occur between l16 and mulaw"); another rate, another
format or an odd byte count is `WrongFormat`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from percl.media.audio.g711 import ulaw_decode, ulaw_encode
from percl.media.audio.pcm import Pcm

MULAW_8K = "audio/mulaw;rate=8000"
L16_8K = "audio/l16;rate=8000"
L16_16K = "audio/l16;rate=16000"


QUALITY = "QQ"  # see the module docstring


class WrongFormat(ValueError):
    """Audio the stream cannot take (its message says why)."""


@dataclass(frozen=True, slots=True)
class ContentType:
    encoding: str  # "mulaw" or "l16"
    rate: int

    @property
    def wire(self) -> str:
        return f"audio/{self.encoding};rate={self.rate}"

    @property
    def frame_bytes(self) -> int:
        """Bytes of one 20 ms frame."""
        samples = self.rate // 50
        return samples if self.encoding == "mulaw" else samples * 2


def parse_content_type(text: str) -> ContentType:
    """`audio/mulaw;rate=8000` and friends (case and spaces ignored). Raises WrongFormat."""
    kind, _, params = text.replace(" ", "").lower().partition(";")
    encoding = kind.removeprefix("audio/")
    rate = 8000
    for param in filter(None, params.split(";")):
        key, _, value = param.partition("=")
        if key == "rate" and value.isdigit():
            rate = int(value)
    if encoding not in ("mulaw", "l16") or rate not in (8000, 16000) or (
            encoding == "mulaw" and rate != 8000):
        raise WrongFormat(f"unsupported content type {text!r} (expected {MULAW_8K}, {L16_8K} or "
                          f"{L16_16K})")
    return ContentType(encoding, rate)


class Codec:
    """Both directions of one stream's audio (stateful at 16 kHz: keep one per stream)."""

    def __init__(self, content_type: ContentType) -> None:
        self.content_type = content_type
        wide = content_type.rate != 8000
        self._up = (soxr.ResampleStream(8000, content_type.rate, 1, dtype="int16", quality=QUALITY)
                    if wide else None)
        self._down = (soxr.ResampleStream(content_type.rate, 8000, 1, dtype="int16",
                                          quality=QUALITY) if wide else None)
        self._pending = bytearray()  # upsampled audio short of a whole frame

    def to_agent(self, pcm: bytes) -> list[bytes]:
        """A frame of the tap's PCM (little-endian 8 kHz) as whole frames of the stream's content
        type: one frame, except at 16 kHz, where the resampler's delay makes the first call
        give none and later ones now and then two (its output is cut into whole frames)."""
        samples = np.frombuffer(pcm, dtype="<i2")
        if self.content_type.encoding == "mulaw":
            return [ulaw_encode(samples.astype(np.int16)).tobytes()]
        if self._up is None:
            return [samples.astype(">i2").tobytes()]
        self._pending += self._up.resample_chunk(samples.astype(np.int16)).astype(">i2").tobytes()
        size = self.content_type.frame_bytes
        frames = [bytes(self._pending[i:i + size])
                  for i in range(0, len(self._pending) - size + 1, size)]
        del self._pending[:len(frames) * size]
        return frames

    def from_agent(self, data: bytes, content_type: str | None = None) -> bytes:
        """The agent's audio (in `content_type`, default the stream's) as the tap's PCM.
        Raises WrongFormat."""
        kind = self.content_type if not content_type else parse_content_type(content_type)
        if kind.rate != self.content_type.rate:
            raise WrongFormat(f"audio at {kind.rate} Hz on a {self.content_type.wire} stream")
        if kind.encoding == "mulaw":
            pcm: Pcm = ulaw_decode(data)
        else:
            if len(data) % 2:
                raise WrongFormat(f"{len(data)} bytes of {kind.wire}: not whole 16-bit samples")
            if self._down is None:  # the common case, 50 times a second: one byte swap
                return np.frombuffer(data, dtype=">i2").byteswap().tobytes()
            pcm = np.frombuffer(data, dtype=">i2").astype(np.int16)
            pcm = self._down.resample_chunk(pcm).astype(np.int16)
        return pcm.astype("<i2").tobytes()
