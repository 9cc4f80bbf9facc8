"""How long a Play file lasts: fetch it with GET (as FreeClimb does) and read its WAV header.

The simulated network plays a file for its real duration when the file can be fetched and is a
WAV; otherwise it falls back to its documented default. Results are cached per URL, like
FreeClimb's short media cache, so a looping Play fetches once.
"""

from __future__ import annotations

import struct
from collections import OrderedDict

import aiohttp

HEADER_BYTES = 64 * 1024  # enough for RIFF/fmt/any LIST chunks before "data"


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
    """`await probe(url)` -> duration in seconds, or None (unreachable, not a WAV, too slow)."""

    def __init__(self, timeout_s: float = 5.0, cache_size: int = 1024) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
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
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.get(url) as response:
                if response.status >= 300:
                    return None
                head = await response.content.read(HEADER_BYTES)
                return wav_duration(head, response.content_length)
        except (TimeoutError, aiohttp.ClientError, ValueError):
            return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
