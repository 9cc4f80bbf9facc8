"""Attack: an app (or a file server) that answers with far more bytes than percl will ever use.

A voiceUrl answering 500 MB used to grow percl's memory by 500 MB: answers and fetched files were
read whole. Every outbound read now goes through deadline.bounded, which passes a byte cap down to
the transport; the transport stops reading there. These tests count what the serving side managed
to hand over, so they fail if anything reads past the cap, and check the call's FreeClimb outcome.
"""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from percl.config import ReadCaps, Settings
from percl.domain.enums import CallEndedReason, CallStatus, LogLevel
from percl.engine.ports import LogFilter
from percl.media.probe import HEADER_BYTES, WavProbe
from percl.testing import FakeClock
from percl.testing.harness import Harness
from percl.webhooks.aiohttp_transport import AiohttpTransport
from percl.webhooks.faults import Fault, FaultInjector, FaultKind
from percl.webhooks.fetch import TransportFetcher
from percl.webhooks.inprocess import AsgiTransport, FunctionTransport, WsgiTransport

CHUNK = 1024
CAP = 16 * 1024
SAY = b'{"Say":{"text":"' + b"x" * (CHUNK - 20) + b'"}},'  # about one chunk of PerCL


@dataclass
class Hose:
    """An ASGI app that streams `total` bytes of PerCL-looking JSON, counting what it handed over."""

    total: int = 50 * 1024 * 1024
    handed: int = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await self._send(send, b"[")
        while self.handed < self.total:
            await self._send(send, SAY)
        await send({"type": "http.response.body", "body": b"]", "more_body": False})

    async def _send(self, send: Callable[[Any], Any], chunk: bytes) -> None:
        self.handed += len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})


# --------------------------------------------------------------------------- transports


async def test_asgi_transport_stops_the_stream_at_the_cap() -> None:
    hose = Hose()
    answer = await AsgiTransport(hose).post("http://big.test/voice", b"{}", {}, limit=CAP)
    assert answer.status == 200 and answer.truncated and len(answer.body) == CAP
    assert hose.handed <= CAP + len(SAY)  # the app was stopped one chunk past the cap


def test_wsgi_transport_stops_the_iterable_at_the_cap() -> None:
    handed = 0
    closed = []

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "application/json")])

        def body() -> Any:
            nonlocal handed
            try:
                while True:
                    handed += len(SAY)
                    yield SAY
            finally:
                closed.append(True)

        return body()

    answer = WsgiTransport(app).call("POST", "http://big.test/voice", b"{}", {}, limit=CAP)
    assert answer.truncated and len(answer.body) == CAP
    assert handed <= CAP + len(SAY) and closed == [True]


async def test_an_answer_within_the_cap_is_whole() -> None:
    small = FunctionTransport(lambda url, body, headers: (200, b"[]"))
    answer = await small.post("http://app.test/voice", b"{}", {}, limit=2)
    assert (answer.body, answer.truncated) == (b"[]", False)


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, dict[str, int]]]:
    """A loopback HTTP server streaming 64 MiB answers; `written` counts what it got out."""
    written = {"bytes": 0}
    block = b"x" * 65536

    async def hose(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            for _ in range(1024):
                await response.write(block)
                written["bytes"] += len(block)
        except (ConnectionError, RuntimeError):
            pass  # the client stopped reading and went away: what we want
        return response

    app = web.Application()
    app.router.add_route("*", "/{name}", hose)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", written
    finally:
        await runner.cleanup()


async def test_aiohttp_transport_reads_no_further_than_the_cap(
    server: tuple[str, dict[str, int]],
) -> None:
    base, written = server
    transport = AiohttpTransport()
    try:
        answer = await transport.post(f"{base}/voice", b"{}", {}, limit=CAP)
        assert answer.status == 200 and answer.truncated and len(answer.body) == CAP
        fetched = await transport.get(f"{base}/grammar.xml", {}, limit=CAP)
        assert fetched.truncated and len(fetched.body) == CAP
    finally:
        await transport.close()
    # 2 x 64 MiB were on offer; what left the server is the cap plus socket buffers at most.
    assert written["bytes"] < 2 * 16 * 1024 * 1024


async def test_aiohttp_transport_reads_a_declared_length_whole_only_within_the_cap() -> None:
    """An answer whose Content-Length fits is read in one go; one past the cap, or compressed
    (a small Content-Length that unpacks far past the cap), is still cut at the cap."""
    fits, too_long = b"[" + SAY[:-1] + b"]", b"x" * (CAP + 1)
    bomb = b"x" * (64 * CAP)

    async def answer(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "bomb":
            response = web.Response(body=bomb)
            response.enable_compression(web.ContentCoding.gzip)
            return response
        return web.Response(body=fits if name == "fits" else too_long)

    app = web.Application()
    app.router.add_route("*", "/{name}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    transport = AiohttpTransport()
    try:
        whole = await transport.post(f"{base}/fits", b"{}", {}, limit=CAP)
        cut = await transport.post(f"{base}/long", b"{}", {}, limit=CAP)
        unpacked = await transport.post(f"{base}/bomb", b"{}", {"Accept-Encoding": "gzip"},
                                        limit=CAP)
    finally:
        await transport.close()
        await runner.cleanup()
    assert (whole.body, whole.truncated) == (fits, False)
    assert (cut.body, cut.truncated) == (too_long[:CAP], True)
    assert unpacked.headers.get("Content-Encoding") == "gzip"
    assert (len(unpacked.body), unpacked.truncated) == (CAP, True)


# --------------------------------------------------------------------------- the call's outcome


async def test_an_oversized_percl_answer_ends_the_call_with_webhook_invalid_response() -> None:
    settings = Settings(db=":memory:", caps=ReadCaps(max_answer_bytes=CAP))
    hose = Hose()
    async with Harness(settings=settings) as h:
        h.mount_asgi("http://big.test", hose)
        fallback = h.scripted_app("http://app.test")
        fallback.on("/fallback", [{"Say": {"text": "from fallback"}}])
        number = await h.number_for_app(voice_url="http://big.test/voice",
                                        voice_fallback_url="http://app.test/fallback")
        call_id = await h.sim_call("+15550100001", number)
        call = await h.run_until_ended(call_id)
        entries = await h.store.list_logs(h.account.account_id, LogFilter(call_id=call_id))

    assert call.call_ended_reason is CallEndedReason.WEBHOOK_INVALID_RESPONSE
    assert call.status is CallStatus.FAILED
    assert hose.handed <= CAP + len(SAY)
    assert h.webhooks(path="/fallback") == []  # an answer came: no fallback, as for unparseable ones
    [attempt] = [e for e in entries if e.metadata.get("requestType") == "inboundCall"]
    assert attempt.level is LogLevel.ERROR and attempt.metadata["cause"] == "tooLarge"
    assert f"larger than {CAP} bytes (PERCL_MAX_ANSWER_BYTES)" in attempt.message


async def test_an_oversized_grammar_is_refused_without_reading_it_whole() -> None:
    hose = Hose()
    clock = FakeClock()
    fetcher = TransportFetcher(AsgiTransport(hose), clock, max_bytes=CAP)
    got = await fetcher.fetch("http://big.test/grammar.xml")
    assert not got.ok and got.reached and got.truncated
    assert f"larger than {CAP} bytes" in (got.error or "")
    assert hose.handed <= CAP + len(SAY)


# --------------------------------------------------------------------------- the WAV probe


def _wav(seconds: float) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00" * int(seconds * 16000))
    return buf.getvalue()


class WavServer:
    """An ASGI file server for one WAV, counting the bytes it handed over."""

    def __init__(self, data: bytes, declared: int | None = None) -> None:
        self.data, self.declared, self.handed = data, declared, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        size = self.declared if self.declared is not None else len(self.data)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"audio/wav"),
                                (b"content-length", str(size).encode())]})
        for i in range(0, len(self.data), 8192):
            self.handed += len(self.data[i : i + 8192])
            await send({"type": "http.response.body", "body": self.data[i : i + 8192],
                        "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def test_the_probe_reads_only_the_wav_header_through_the_fetcher() -> None:
    server = WavServer(_wav(60.0))  # 960 kB of audio
    probe = WavProbe(TransportFetcher(AsgiTransport(server), FakeClock()))
    assert await probe("http://media.test/long.wav") == pytest.approx(60.0)
    assert server.handed <= HEADER_BYTES + 8192


async def test_the_probe_goes_through_fault_injection() -> None:
    clock = FakeClock()
    faults = FaultInjector(AsgiTransport(WavServer(_wav(3.0))), clock)
    probe = WavProbe(TransportFetcher(faults, clock))
    faults.inject("http://media.test/broken", Fault(FaultKind.ERROR, status=404))
    assert await probe("http://media.test/broken.wav") is None
    assert await probe("http://media.test/fine.wav") == pytest.approx(3.0)


async def test_a_play_file_declared_larger_than_the_cap_is_not_measured() -> None:
    server = WavServer(_wav(3.0), declared=200 * 1000 * 1000)
    probe = WavProbe(TransportFetcher(AsgiTransport(server), FakeClock()),
                     max_play_bytes=100 * 1000 * 1000)
    assert await probe("http://media.test/huge.wav") is None


def test_caps_are_settings() -> None:
    from percl.config import from_sources
    from percl.errors import ConfigError

    assert from_sources({}).caps == ReadCaps(256 * 1024, 1024 * 1024, 100 * 1000 * 1000)
    caps = from_sources({"PERCL_MAX_ANSWER_BYTES": "65536", "PERCL_MAX_GRAMMAR_BYTES": "4096",
                         "PERCL_MAX_PLAY_BYTES": "5000000"}).caps
    assert caps == ReadCaps(65536, 4096, 5_000_000)
    with pytest.raises(ConfigError, match="PERCL_MAX_GRAMMAR_BYTES"):
        from_sources({"PERCL_MAX_GRAMMAR_BYTES": str(2 * 1024 * 1024)})  # past the parser's limit
