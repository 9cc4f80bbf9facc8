"""How long a Play file lasts: fetch its head with GET (as FreeClimb fetches the file) and read its
WAV header.

The simulated network plays a file for its real duration when the file can be fetched and is a
WAV; otherwise it falls back to its documented default. Results are cached per URL, like
FreeClimb's short media cache, so a looping Play fetches once.
"""

from __future__ import annotations

import logging
import struct
from collections import OrderedDict

from percl.domain.urls import mask_credentials
from percl.engine.ports import Fetcher

log = logging.getLogger("percl.media.probe")

HEADER_BYTES = 64 * 1024  # enough for RIFF/fmt/any LIST chunks before "data"
MAX_PLAY_BYTES = 100 * 1000 * 1000  # FreeClimb's Play limit (100 MB): PERCL_MAX_PLAY_BYTES


def wav_duration(head: bytes, total_size: int | None = None) -> float | None:
    """Seconds of audio described by a WAV file's first bytes, or None if it is not a WAV.

    Uses the data chunk's declared size; when that is 0 or 0xFFFFFFFF (streamed WAVs) and the
    file's total size is known, the size after the data chunk header is used instead.
    """
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        chunk_id, size = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk_id == b"fmt " and body + 12 <= len(head):
            byte_rate = struct.unpack("<I", head[body + 8 : body + 12])[0]
        elif chunk_id == b"data":
            if byte_rate <= 0:
                return None
            if size in (0, 0xFFFFFFFF) and total_size is not None:
                size = max(0, total_size - body)
            return float(size) / float(byte_rate)
        pos = body + size + (size & 1)
    return None


class WavProbe:
    """`await probe(url)` -> duration in seconds, or None (unreachable, not a WAV, too slow, or
    declared larger than `max_play_bytes`).

    It GETs through the Fetcher port, so the platform's timeout (on its clock), its fault
    injection and its transport apply, and it reads at most HEADER_BYTES of the file whatever its
    size. A file whose declared size passes `max_play_bytes` (FreeClimb plays files up to 100 MB)
    is not measured: the Play lasts the default and a warning names the limit.
    """

    def __init__(self, fetcher: Fetcher, *, max_play_bytes: int = MAX_PLAY_BYTES,
                 cache_size: int = 1024) -> None:
        self._fetcher = fetcher
        self._max_play_bytes = max_play_bytes
        self._cache: OrderedDict[str, float | None] = OrderedDict()
        self._cache_size = cache_size

    async def __call__(self, url: str) -> float | None:
        if url in self._cache:
            self._cache.move_to_end(url)
            return self._cache[url]
        duration = await self._fetch(url)
        self._cache[url] = duration
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return duration

    async def _fetch(self, url: str) -> float | None:
        fetched = await self._fetcher.fetch(url, max_bytes=HEADER_BYTES)
        if not fetched.reached:
            return None
        if fetched.size is not None and fetched.size > self._max_play_bytes:
            log.warning("Play file %s declares %d bytes, more than the %d allowed "
                        "(PERCL_MAX_PLAY_BYTES); it plays for the default duration",
                        mask_credentials(url), fetched.size, self._max_play_bytes)
            return None
        return wav_duration(fetched.body, fetched.size)
