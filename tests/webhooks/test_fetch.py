"""GETs of app-served files (grammars, media): every transport's `get`, and TransportFetcher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import pytest
from aiohttp import web
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from flask import Flask
from flask import request as flask_request

from percl.testing.clock import FakeClock
from percl.webhooks.aiohttp_transport import AiohttpTransport
from percl.webhooks.faults import FaultInjector
from percl.webhooks.fetch import TransportFetcher
from percl.webhooks.inprocess import AsgiTransport, FunctionTransport, RoutingTransport, WsgiTransport
from percl.webhooks.transport import TransportError, TransportResponse

GRAMMAR = b'<grammar root="r"><rule id="r">yes</rule></grammar>'


def asgi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/g.xml")
    async def grammar() -> PlainTextResponse:
        return PlainTextResponse(GRAMMAR.decode(), media_type="application/srgs+xml")

    @app.post("/g.xml")
    async def not_this() -> PlainTextResponse:
        return PlainTextResponse("posted", status_code=405)

    return app


def wsgi_app() -> Flask:
    app = Flask(__name__)

    @app.get("/g.xml")
    def grammar() -> tuple[bytes, int, dict[str, str]]:
        return GRAMMAR + flask_request.args.get("v", "").encode(), 200, {"Content-Type": "text/xml"}

    return app


async def test_asgi_get_runs_the_get_route() -> None:
    response = await AsgiTransport(asgi_app()).get("http://app.test/g.xml", {})
    assert (response.status, response.body) == (200, GRAMMAR)
    assert response.headers["content-type"].startswith("application/srgs+xml")


async def test_wsgi_get_keeps_the_query() -> None:
    response = await WsgiTransport(wsgi_app()).get("http://app.test/g.xml?v=2", {})
    assert (response.status, response.body) == (200, GRAMMAR + b"2")


async def test_function_get_is_called_with_an_empty_body() -> None:
    seen: list[tuple[str, bytes]] = []

    def fn(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        seen.append((url, body))
        return 200, GRAMMAR

    response = await FunctionTransport(fn).get("http://app.test/g.xml", {})
    assert response.body == GRAMMAR and seen == [("http://app.test/g.xml", b"")]


async def test_router_routes_gets_and_refuses_unmounted() -> None:
    router = RoutingTransport()
    router.mount("http://app.test/", AsgiTransport(asgi_app()))
    assert (await router.get("http://app.test/g.xml", {})).status == 200
    with pytest.raises(TransportError):
        await router.get("http://other.test/g.xml", {})


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async def grammar(request: web.Request) -> web.Response:
        return web.Response(body=GRAMMAR, content_type="application/srgs+xml")

    app = web.Application()
    app.router.add_get("/g.xml", grammar)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_aiohttp_get_over_loopback(base_url: str) -> None:
    async with AiohttpTransport() as transport:
        response = await transport.get(f"{base_url}/g.xml", {})
        assert (response.status, response.body) == (200, GRAMMAR)
        assert (await transport.get(f"{base_url}/missing", {})).status == 404


async def test_fetcher_reports_body_type_and_time() -> None:
    clock = FakeClock()

    async def slow(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        await clock.sleep(2)
        return 200, GRAMMAR

    fetcher = TransportFetcher(FunctionTransport(slow), clock, timeout_s=5)
    task = asyncio.ensure_future(fetcher.fetch("http://app.test/g.xml"))
    await clock.advance(2)
    got = await task
    assert got.ok and got.body == GRAMMAR and got.error is None and got.elapsed_ms == 2000


async def test_fetcher_timeout_http_error_and_refusal_are_results_not_exceptions() -> None:
    clock = FakeClock()

    async def never(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        await asyncio.Event().wait()
        return 200, b""

    router = RoutingTransport()
    router.mount("http://never.test/", FunctionTransport(never))
    router.mount("http://gone.test/", FunctionTransport(lambda u, b, h: (404, b"nope")))
    fetcher = TransportFetcher(router, clock, timeout_s=3)
    task = asyncio.ensure_future(fetcher.fetch("http://never.test/g.xml"))
    await clock.advance(3)
    timed_out = await task
    assert not timed_out.ok and timed_out.status is None and "timeout" in (timed_out.error or "")
    gone = await fetcher.fetch("http://gone.test/g.xml")
    assert (gone.ok, gone.status, gone.error) == (False, 404, "HTTP 404")
    refused = await fetcher.fetch("http://nowhere.test/g.xml")
    assert refused.status is None and refused.error == "connection refused"


async def test_fetcher_over_a_transport_without_get() -> None:
    class PostOnly:
        async def post(
            self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
        ) -> TransportResponse:
            return TransportResponse(200)

    # The fetcher takes a FetchTransport (typed); a Platform built over a post-only transport
    # fetches through its fault injector, which says it cannot.
    clock = FakeClock()
    got = await TransportFetcher(FaultInjector(PostOnly(), clock), clock).fetch("http://app.test/g.xml")
    assert not got.ok and "cannot fetch" in (got.error or "")


async def test_fetcher_passes_cache_control_on() -> None:
    """The media cache (media/kit.py) honours the file's Cache-Control."""
    app = FastAPI()

    @app.get("/a.wav")
    async def audio() -> PlainTextResponse:
        return PlainTextResponse("RIFF", headers={"Cache-Control": "public, max-age=60"})

    fetcher = TransportFetcher(AsgiTransport(app), FakeClock())
    got = await fetcher.fetch("http://app.test/a.wav")
    assert got.ok and got.cache_control == "public, max-age=60"
    assert (await fetcher.fetch("http://app.test/nothing")).cache_control is None
