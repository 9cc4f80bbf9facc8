"""The official FreeClimb SDK against the in-process platform: no port, no server thread.

The SDK (freeclimb 5.x, OpenAPI-generated) sends every request through
`api_client.rest_client.pool_manager.request(method, url, body=..., fields=..., headers=...,
preload_content=False, timeout=...)` and reads `.status`, `.reason`, `.data` and `.headers` of the
urllib3 response it gets back. `InProcessPoolManager` stands in for urllib3's PoolManager: it runs
the request against percl's ASGI app on the kit's event loop (`LoopBridge`) and returns a real
`urllib3.HTTPResponse`, so everything above the socket is the SDK's own code.

When the loop is idle (a synchronous test calling the SDK between steps) the bridge runs the
request with `run_until_complete` and lets the clock settle afterwards, so the call that
`make_a_call` started is already ringing when it returns. When the loop is running in another
thread (a Flask app in the kit's worker thread calling the SDK inside a webhook, or an async test
using `asyncio.to_thread`) it submits the request to the loop and waits for the answer. Calling
the SDK on the loop's own thread while it runs (a blocking call in an async handler) cannot work
and raises RuntimeError saying so.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import urllib3

T = TypeVar("T")

REST_BASE = "http://percl.test/apiserver"


class LoopBridge:
    """Runs coroutines on `loop` from synchronous code, whichever thread that code is on."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 settle: Callable[[], Awaitable[None]] | None = None) -> None:
        self.loop = loop
        self._settle = settle

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and return its result (its exception propagates).

        Raises RuntimeError when called on the loop's thread while the loop is running.
        """
        __tracebackhide__ = True  # a failing expectation points at the test, not the kit
        if _running_loop() is self.loop:
            coro.close()
            raise RuntimeError(
                "a blocking call (e.g. the FreeClimb SDK) was made on the event loop's thread while "
                "it runs: from async code use `await asyncio.to_thread(...)`, and mount a WSGI "
                "app with threaded=True (the default)")
        try:
            if not self.loop.is_running():
                return self.loop.run_until_complete(self._settled(coro))
            return asyncio.run_coroutine_threadsafe(coro, self.loop).result()
        except AssertionError as exc:
            if not _from_kit(exc):
                raise
            # The kit's message says it all; asyncio's frames (no __tracebackhide__) would not
            raise exc.with_traceback(None) from None

    async def _settled(self, coro: Coroutine[Any, Any, T]) -> T:
        __tracebackhide__ = True
        result = await coro
        if self._settle is not None:
            await self._settle()
        return result


def _from_kit(exc: BaseException) -> bool:
    """Whether `exc` was raised by the test kit itself (a failed expectation)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and str(tb.tb_frame.f_globals.get("__name__", "")).startswith(
        "percl.testing.")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class InProcessPoolManager:
    """What the SDK's RESTClientObject expects of urllib3.PoolManager, served by an ASGI app."""

    def __init__(self, app: Any, bridge: LoopBridge) -> None:
        self._app = app
        self._bridge = bridge
        self._lock = threading.Lock()  # one client, created on first use on the loop
        self._client: httpx.AsyncClient | None = None

    def request(self, method: str, url: str, body: Any = None, fields: Any = None,
                headers: Mapping[str, str] | None = None, **_: Any) -> urllib3.HTTPResponse:
        """Perform one request; `fields` (form or query parameters) are encoded like urllib3."""
        content = body.encode() if isinstance(body, str) else body
        if fields:
            encoded = urlencode(list(fields.items()) if isinstance(fields, Mapping) else fields)
            if method.upper() in ("GET", "HEAD", "DELETE"):
                url += ("&" if "?" in url else "?") + encoded
            else:
                content = encoded.encode()
        response = self._bridge.call(self._send(method, url, content, dict(headers or {})))
        # A file object, not bytes: urllib3 reports an empty bytes body as `data is None`, which
        # the SDK takes for "read() was never called" on 202/204 answers.
        return urllib3.HTTPResponse(
            body=io.BytesIO(response.content), headers=dict(response.headers),
            status=response.status_code,
            reason=response.reason_phrase, preload_content=True, decode_content=False,
            request_method=method, request_url=url)

    async def _send(self, method: str, url: str, content: bytes | None,
                    headers: dict[str, str]) -> httpx.Response:
        with self._lock:
            if self._client is None:
                self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self._app))
        return await self._client.request(method, url, content=content, headers=headers)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def freeclimb_api(pool: InProcessPoolManager, account_id: str, api_key: str) -> Any:
    """A `freeclimb.DefaultApi` authenticated as `account_id`/`api_key`, whose requests go
    through `pool`. Raises ImportError when the `freeclimb` package is not installed."""
    from freeclimb.api.default_api import DefaultApi
    from freeclimb.api_client import ApiClient
    from freeclimb.configuration import Configuration

    client = ApiClient(Configuration(host=REST_BASE, username=account_id, password=api_key))
    setattr(client.rest_client, "pool_manager", pool)  # noqa: B010 (the SDK's one seam; not a PoolManager)
    return DefaultApi(client)  # type: ignore[no-untyped-call]
