"""Play durations come from the file itself: WAV header parsing and a real GET on loopback."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from percl.media.probe import WavProbe, wav_duration
from percl.runtime.clock import SystemClock
from percl.webhooks.aiohttp_transport import AiohttpTransport
from percl.webhooks.fetch import TransportFetcher


def make_wav(seconds: float, rate: int = 8000, width: int = 2) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x00" * int(seconds * rate) * width)
    return buf.getvalue()


@pytest.mark.parametrize(("seconds", "rate", "width"), [(2.5, 8000, 2), (1.0, 8000, 1),
                                                        (0.25, 16000, 2)])
def test_wav_duration_from_header(seconds: float, rate: int, width: int) -> None:
    assert wav_duration(make_wav(seconds, rate, width)) == pytest.approx(seconds)


def test_streamed_wav_uses_total_size() -> None:
    data = bytearray(make_wav(2.0))
    data[40:44] = b"\xff\xff\xff\xff"  # data chunk size unknown, as streaming encoders write it
    assert wav_duration(bytes(data[:100]), total_size=len(data)) == pytest.approx(2.0)


@pytest.mark.parametrize("junk", [b"", b"ID3\x03mp3data", b"RIFF\x00\x00\x00\x00AVI LIST"])
def test_not_a_wav_is_none(junk: bytes) -> None:
    assert wav_duration(junk) is None


@pytest.fixture
async def files() -> AsyncIterator[tuple[str, list[str]]]:
    hits: list[str] = []

    async def serve(request: web.Request) -> web.Response:
        hits.append(request.path)
        if request.path == "/three.wav":
            return web.Response(body=make_wav(3.0), content_type="audio/wav")
        if request.path == "/page.html":
            return web.Response(text="<html/>", content_type="text/html")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", hits
    finally:
        await runner.cleanup()


async def test_probe_fetches_once_and_caches(files: tuple[str, list[str]]) -> None:
    base, hits = files
    transport = AiohttpTransport()
    probe = WavProbe(TransportFetcher(transport, SystemClock(), timeout_s=5.0))
    try:
        assert await probe(f"{base}/three.wav") == pytest.approx(3.0)
        assert await probe(f"{base}/three.wav") == pytest.approx(3.0)
        assert hits == ["/three.wav"]
        assert await probe(f"{base}/page.html") is None
        assert await probe(f"{base}/missing.wav") is None
        assert await probe("http://127.0.0.1:9/refused.wav") is None
    finally:
        await transport.close()
