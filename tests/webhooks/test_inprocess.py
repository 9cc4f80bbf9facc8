"""In-process transports: a FastAPI app, a Flask app, plain functions and the prefix router."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from flask import Flask
from flask import request as flask_request

from percl.webhooks.inprocess import (
    AsgiTransport,
    FunctionTransport,
    RoutingTransport,
    WsgiTransport,
)
from percl.webhooks.transport import TransportError, TransportResponse

BODY = b'{"requestType":"inboundCall","digits":"12"}'
HEADERS = {"Content-Type": "application/json", "FreeClimb-Signature": "t=1,v1=ab"}


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.post("/voice")
    async def voice(request: Request) -> JSONResponse:
        payload = await request.json()
        return JSONResponse(
            {
                "query": dict(request.query_params),
                "signature": request.headers.get("freeclimb-signature"),
                "host": request.headers.get("host"),
                "url": str(request.url),
                "requestType": payload["requestType"],
            },
            headers={"X-App": "yes"},
        )

    @app.post("/boom")
    async def boom() -> None:
        raise RuntimeError("the app crashed")

    @app.post("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> Any:
            yield b"[1,"
            yield b"2]"

        return StreamingResponse(chunks(), media_type="application/json")

    return app


async def test_asgi_passes_query_headers_and_body() -> None:
    transport = AsgiTransport(fastapi_app())
    response = await transport.post("http://app.test:8080/voice?amt=42&x=a%20b", BODY, HEADERS)
    assert response.status == 200
    assert response.headers["x-app"] == "yes"
    got = json.loads(response.body)
    assert got == {
        "query": {"amt": "42", "x": "a b"},
        "signature": "t=1,v1=ab",
        "host": "app.test:8080",
        "url": "http://app.test:8080/voice?amt=42&x=a%20b",
        "requestType": "inboundCall",
    }


async def test_asgi_app_exception_is_a_500() -> None:
    response = await AsgiTransport(fastapi_app()).post("http://app.test/boom", BODY, HEADERS)
    assert response.status == 500


async def test_asgi_unknown_route_is_the_apps_404() -> None:
    response = await AsgiTransport(fastapi_app()).post("http://app.test/nope", BODY, HEADERS)
    assert response.status == 404


async def test_asgi_streaming_response_is_collected() -> None:
    response = await AsgiTransport(fastapi_app()).post("http://app.test/stream", BODY, HEADERS)
    assert (response.status, response.body) == (200, b"[1,2]")


async def test_asgi_app_that_never_answers_is_a_500() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    response = await AsgiTransport(silent).post("http://app.test/", BODY, HEADERS)
    assert response.status == 500


async def test_asgi_scope_is_well_formed() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)
        seen["message"] = await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    response = await AsgiTransport(app).post("https://app.test/a%2Fb/c?q=1", BODY, HEADERS)
    assert response.status == 204
    assert seen["scheme"] == "https" and seen["server"] == ("app.test", 443)
    assert seen["path"] == "/a/b/c" and seen["raw_path"] == b"/a%2Fb/c"
    assert seen["query_string"] == b"q=1" and seen["method"] == "POST"
    headers = dict(seen["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"content-length"] == str(len(BODY)).encode()
    assert seen["message"] == {"type": "http.request", "body": BODY, "more_body": False}


def flask_app() -> Flask:
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Any:
        payload = flask_request.get_json()
        return {
            "requestType": payload["requestType"],
            "amt": flask_request.args.get("amt"),
            "signature": flask_request.headers.get("FreeClimb-Signature"),
        }

    @app.post("/boom")
    def boom() -> Any:
        raise RuntimeError("the app crashed")

    return app


async def test_wsgi_flask_reads_json_query_and_headers() -> None:
    response = await WsgiTransport(flask_app()).post("http://app.test/voice?amt=42", BODY, HEADERS)
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {
        "requestType": "inboundCall", "amt": "42", "signature": "t=1,v1=ab"
    }  # fmt: skip


@pytest.mark.parametrize("propagate", [False, True])
async def test_wsgi_app_exception_is_a_500(propagate: bool) -> None:
    app = flask_app()
    app.config["PROPAGATE_EXCEPTIONS"] = propagate  # True: Flask re-raises (testing mode)
    response = await WsgiTransport(app).post("http://app.test/boom", BODY, HEADERS)
    assert response.status == 500


async def test_wsgi_closes_the_iterable() -> None:
    closed: list[bool] = []

    class Body:
        def __iter__(self) -> Any:
            return iter([b"ok"])

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        assert environ["wsgi.input"].read() == BODY
        assert environ["CONTENT_TYPE"] == "application/json"
        assert environ["HTTP_FREECLIMB_SIGNATURE"] == "t=1,v1=ab"
        start_response("201 Created", [("X-A", "1")])
        return Body()

    response = await WsgiTransport(app).post("http://app.test/x", BODY, HEADERS)
    assert (response.status, response.body, response.headers) == (201, b"ok", {"X-A": "1"})
    assert closed == [True]


async def test_function_transport_sync_async_and_str_bodies() -> None:
    def sync(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        return 200, f"{url}|{body.decode()}|{headers['FreeClimb-Signature']}"

    async def asynchronous(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        return 201, b"[]"

    response = await FunctionTransport(sync).post("http://a/", b"{}", HEADERS)
    assert (response.status, response.body) == (200, b"http://a/|{}|t=1,v1=ab")
    response = await FunctionTransport(asynchronous).post("http://a/", b"{}", HEADERS)
    assert (response.status, response.body) == (201, b"[]")


async def test_function_transport_lets_transport_errors_through() -> None:
    def refuse(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        raise TransportError("connection reset")

    with pytest.raises(TransportError, match="connection reset"):
        await FunctionTransport(refuse).post("http://a/", b"{}", {})


def tagged(tag: str) -> FunctionTransport:
    return FunctionTransport(lambda url, body, headers: (200, tag))


async def test_router_picks_longest_prefix_then_default() -> None:
    router = RoutingTransport(default=tagged("default"))
    router.mount("http://app.test/", tagged("app"))
    router.mount("http://app.test/voice/", tagged("voice"))

    async def tag(url: str) -> bytes:
        response: TransportResponse = await router.post(url, b"{}", {})
        return response.body

    assert await tag("http://app.test/voice/1") == b"voice"
    assert await tag("http://app.test/sms") == b"app"
    assert await tag("http://other.test/") == b"default"
    router.unmount("http://app.test/voice/")
    assert await tag("http://app.test/voice/1") == b"app"


async def test_router_without_match_refuses_the_connection() -> None:
    router = RoutingTransport()
    router.mount("http://app.test/", tagged("app"))
    with pytest.raises(TransportError, match="connection refused"):
        await router.post("http://elsewhere.test/", b"{}", {})


async def test_invalid_url_is_a_transport_error() -> None:
    with pytest.raises(TransportError, match="invalid URL"):
        await AsgiTransport(fastapi_app()).post("ftp://app.test/", b"{}", {})


async def test_dispatcher_through_router_to_a_fastapi_app_end_to_end() -> None:
    from freeclimb.models.webhook import Webhook

    from percl.domain.enums import CallStatus, RequestType
    from percl.domain.records import Account
    from percl.engine.ports import WebhookRequest
    from percl.testing.clock import FakeClock
    from percl.webhooks.dispatcher import WebhookDispatcher
    from percl.webhooks.signing import verify

    from .conftest import SECRET, RecordingSink, make_call

    clock = FakeClock()
    app = FastAPI()

    @app.post("/voice")
    async def voice(request: Request) -> JSONResponse:
        raw = await request.body()
        signed = verify(request.headers["freeclimb-signature"], raw, [SECRET], now=clock.now())
        parsed = Webhook.from_json(raw.decode())
        return JSONResponse([{"Say": {"text": f"{signed} {type(parsed).__name__}"}}])

    router = RoutingTransport()
    router.mount("http://customer.test/", AsgiTransport(app))
    sender = WebhookDispatcher(router, RecordingSink(), clock)
    account = Account(account_id=make_call().account_id, api_key="k", signing_secret=SECRET)
    call = make_call(status=CallStatus.RINGING)
    result = await sender.send(
        WebhookRequest(RequestType.INBOUND_CALL, "http://customer.test/voice", account, call)
    )
    assert result.ok
    assert json.loads(result.body) == [{"Say": {"text": "True InboundCallWebhook"}}]


async def test_wsgi_environ_says_whether_requests_may_come_concurrently() -> None:
    seen: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.multithread"])
        start_response("200 OK", [])
        return [b"[]"]

    await WsgiTransport(app).post("http://app.test/x", BODY, HEADERS)
    WsgiTransport(app, multithread=True).call("POST", "http://app.test/x", BODY, HEADERS)
    assert seen == [False, True]
