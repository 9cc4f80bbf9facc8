"""The developer's app three ways: ASGI in-process, WSGI in-process (threaded or not), at a URL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from werkzeug.serving import make_server

from percl.testing import Percl

CALLER = "+15550100001"


def flask_app() -> Flask:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Any:
        return [{"Say": {"text": f"Flask at {request.host}"}}, {"Hangup": {}}]

    return app


def test_asgi_app_in_process(percl: Percl) -> None:
    async def voice(req: Request) -> JSONResponse:
        body = await req.json()
        return JSONResponse([{"Say": {"text": f"Hello {body['from']}"}}, {"Hangup": {}}])

    app = Starlette(routes=[Route("/voice", voice, methods=["POST"])])
    assert percl.mount(app, "http://asgi.test") == "http://asgi.test"
    call = percl.phone(CALLER).calls(percl.number_for(app))
    call.expect_say(f"Hello {CALLER}")
    assert percl.webhooks[0].url == "http://asgi.test/voice"


@pytest.mark.parametrize("threaded", [True, False])
def test_wsgi_app_in_process(percl: Percl, threaded: bool) -> None:
    app = flask_app()
    percl.mount(app, threaded=threaded)
    call = percl.phone(CALLER).calls(percl.number_for(app))
    call.expect_say("Flask at app.test")
    call.expect_hangup(reason="appHangup")


@pytest.fixture
def served_flask() -> Iterator[str]:
    """The Flask app served for real on a loopback port, in a thread."""
    server = make_server("127.0.0.1", 0, flask_app())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_app_at_a_url(percl: Percl, served_flask: str) -> None:
    number = percl.number_for(served_flask)
    call = percl.phone(CALLER).calls(number)
    call.expect_say(f"Flask at {served_flask.removeprefix('http://')}")
    voice = percl.webhooks[0]
    assert voice.url == served_flask + "/voice" and voice.verify_signature()
    assert voice.latency_ms == 0  # real time passed, clock time did not


def test_unmounted_url_is_refused(percl: Percl) -> None:
    app = percl.scripted_app()
    app.on("/voice", [{"Redirect": {"actionUrl": "http://nowhere.test/next"}}])
    call = percl.phone(CALLER).calls(percl.number_for(app))
    call.expect_hangup(reason="webhookFailed")
    assert percl.webhooks[-1].error == "connection refused"
