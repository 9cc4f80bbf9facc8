"""Mounting apps: what counts as ASGI or WSGI, base URLs, threads for WSGI apps."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from flask import Flask
from starlette.applications import Starlette

from percl.testing.apps import AppMounts, ScriptedApp, ThreadedTransport, is_asgi
from percl.testing.clock import WorkTracker
from percl.testing.workers import WorkerPool
from percl.webhooks.inprocess import RoutingTransport, WsgiTransport
from percl.webhooks.transport import TransportError, TransportResponse


async def asgi_fn(scope: Any, receive: Any, send: Any) -> None:
    return None


def wsgi_fn(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b"[]"]


def test_is_asgi_tells_the_kinds_apart() -> None:
    assert is_asgi(Starlette()) and is_asgi(asgi_fn)
    assert not is_asgi(Flask(__name__)) and not is_asgi(wsgi_fn)


def test_mounts_hand_out_base_urls_and_resolve_paths() -> None:
    mounts = AppMounts(RoutingTransport(), WorkTracker())
    with pytest.raises(LookupError, match="no app is mounted"):
        mounts.resolve("/voice")
    flask_app = Flask(__name__)
    assert mounts.mount(flask_app) == "http://app.test"
    assert mounts.mount(Starlette()) == "http://app2.test"
    assert mounts.mount(wsgi_fn, "http://mine.test/") == "http://mine.test"
    assert mounts.base_of(flask_app) == "http://app.test"      # already mounted: same base
    assert mounts.base_of(asgi_fn) == "http://app3.test"       # mounted on first use
    assert mounts.resolve("/voice") == "http://app.test/voice"
    assert mounts.resolve("https://elsewhere.test/x") == "https://elsewhere.test/x"
    scripted = ScriptedApp("http://scripted.test")
    assert mounts.mount(scripted) == "http://scripted.test"
    with pytest.raises(TypeError, match="cannot mount"):
        mounts.mount(42)


async def test_a_url_is_reached_over_http_and_closed_with_the_mounts() -> None:
    router = RoutingTransport()
    mounts = AppMounts(router, WorkTracker())
    assert mounts.mount("http://127.0.0.1:9/") == "http://127.0.0.1:9"
    assert mounts.base_of("http://127.0.0.1:9") == "http://127.0.0.1:9"
    assert router.route("http://127.0.0.1:9/voice") is not None
    await mounts.close()


async def test_threaded_transport_runs_off_the_loop_thread_as_tracked_work() -> None:
    tracker = WorkTracker()
    workers = WorkerPool()
    seen: list[tuple[int, bool]] = []

    def call(method: str, url: str, body: bytes, headers: Any) -> TransportResponse:
        seen.append((threading.get_ident(), tracker.busy))
        return TransportResponse(201, {}, method.encode() + body)

    transport = ThreadedTransport(call, tracker, workers)
    response = await transport.post("http://a.test/", b"x", {})
    assert response.status == 201 and response.body == b"POSTx"
    assert (await transport.get("http://a.test/f.wav", {})).body == b"GET"
    assert seen == [(seen[0][0], True)] * 2 and seen[0][0] != threading.get_ident()
    assert not tracker.busy
    await workers.close()


async def test_threaded_wsgi_errors_are_what_they_were() -> None:
    """An app that raises answers 500; a URL the WSGI caller cannot parse is a TransportError."""
    tracker = WorkTracker()
    workers = WorkerPool()

    def broken(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise RuntimeError("app bug")

    transport = ThreadedTransport(WsgiTransport(broken).call, tracker, workers)
    assert (await transport.post("http://a.test/voice", b"{}", {})).status == 500
    with pytest.raises(TransportError, match="invalid URL"):
        await transport.post("ftp://a.test/voice", b"{}", {})
    assert not tracker.busy
    await workers.close()


async def test_closing_the_mounts_stops_the_wsgi_threads() -> None:
    router = RoutingTransport()
    mounts = AppMounts(router, WorkTracker())
    base = mounts.mount(wsgi_fn)
    transport = router.route(base + "/voice")
    assert transport is not None
    before = set(threading.enumerate())
    assert (await transport.post(base + "/voice", b"{}", {})).body == b"[]"
    started = [t for t in threading.enumerate() if t not in before]
    assert started and all(t.name.startswith("percl-app") for t in started)
    await mounts.close()
    assert not [t for t in threading.enumerate() if t in started]
