"""A real percl for a real browser: the Platform served by uvicorn on 127.0.0.1 (a free port) in a
thread of its own, with the real clock, symbolic media and an in-process webhook app, so
Chromium (tests/console/test_browser.py) can reach it. Bounded: start and stop each wait at most
STARTUP_S seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn

from percl.app import Platform
from percl.config import from_sources
from percl.webhooks.inprocess import FunctionTransport

STARTUP_S = 15.0
App = Callable[[str, bytes, Any], tuple[int, bytes | str]]


class ServedPercl:
    """`with ServedPercl(app) as served:` percl at `served.base_url`, webhooks answered by
    `app(url, body, headers)`; `served.rest` and `served.sim` are clients of its APIs.
    `settings`: more PERCL_* values (e.g. PERCL_MEDIA=audio for the softphone)."""

    def __init__(self, app: App, settings: dict[str, str] | None = None) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        settings = from_sources({"PERCL_DB": "memory://", "PERCL_HOST": "127.0.0.1",
                                 "PERCL_PORT": str(port), **(settings or {})})
        self.platform = Platform(settings, transport=FunctionTransport(app), probe_media=False)
        self.number = ""  # the number a test wires to its app
        self._server: uvicorn.Server | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="served-percl", daemon=True)

    def __enter__(self) -> ServedPercl:
        self._thread.start()
        if not self._ready.wait(STARTUP_S) or self._failed is not None:
            raise RuntimeError(f"percl did not start: {self._failed!r}")
        acc = self.platform.account
        self.rest = httpx.Client(base_url=f"{self.base_url}/apiserver/Accounts/{acc.account_id}",
                                 auth=(acc.account_id, acc.api_key), timeout=10)
        self.sim = httpx.Client(base_url=f"{self.base_url}/sim/v1",
                                auth=(acc.account_id, acc.api_key), timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.rest.close()
        self.sim.close()
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(STARTUP_S)
        self._sock.close()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failed = exc
            self._ready.set()

    async def _serve(self) -> None:
        async with self.platform:
            config = uvicorn.Config(self.platform.asgi, lifespan="off", log_level="warning",
                                    access_log=False, timeout_graceful_shutdown=2)
            self._server = uvicorn.Server(config)
            task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
            while not self._server.started and not task.done():
                await asyncio.sleep(0.01)
            self._ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task
