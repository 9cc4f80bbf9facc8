"""The terminal commands against an in-process percl on the FakeClock, through click's runner.

The commands are blocking code (httpx.Client, a keyboard that waits); the platform is asyncio.
`ThreadedHarness` runs a Harness in an event loop of its own thread; `BridgeTransport` carries
each HTTP request into that loop (the ASGI app) and lets the loop settle before answering; a
`ScriptedKeyboard` types lines at given fake times and, instead of sleeping, moves the FakeClock
by each wait. So a live command runs in fake time, deterministically, with no sleep.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from click.testing import CliRunner, Result

from percl.cli.connection import Runtime
from percl.cli.main import cli
from percl.cli.serve import _wire_demo
from percl.testing.harness import Harness

T = TypeVar("T")
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo_app.py"
URL = "http://percl.test"
CALLER = "+15550100001"
AGENT = "+15550100002"
STEP_LIMIT_S = 600.0  # fake seconds a scripted keyboard lets a command run before failing it


class ThreadedHarness:
    """A Harness living in its own thread's event loop; `run(coro)` runs a coroutine there."""

    def __init__(self, media_time_scale: float = 1.0, media: str | None = None) -> None:
        self._scale = media_time_scale
        self._media = media
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="harness", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.h: Harness

    def __enter__(self) -> ThreadedHarness:
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError("the harness did not start") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced by __enter__
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        async with Harness(media_time_scale=self._scale, media=self._media) as h:
            self.h, self._loop, self._stop = h, asyncio.get_running_loop(), asyncio.Event()
            self._ready.set()
            await self._stop.wait()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def demo(self) -> str:
        """Serve the demo app (webhooks reach it in-process) and return its number."""
        h = self.h
        number = self.run(_wire_demo(h.platform, DEMO))
        h.mount_asgi(h.settings.base_url, h.platform.asgi)
        return number

    def now(self) -> float:
        return self.h.clock.now()


class BridgeTransport(httpx.BaseTransport):
    """Blocking httpx requests served by the harness' ASGI app inside its loop."""

    def __init__(self, bridge: ThreadedHarness) -> None:
        self.bridge = bridge
        self.requests: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.requests.append(f"{request.method} {request.url.path}")
        h = self.bridge.h

        async def call() -> tuple[int, httpx.Headers, bytes]:
            inner = httpx.ASGITransport(app=h.platform.asgi)
            sent = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await inner.handle_async_request(sent)
            content = await response.aread()
            await h.clock.settle()  # what the request set off happens before the answer
            return response.status_code, response.headers, content

        status, headers, content = self.bridge.run(call())
        return httpx.Response(status, headers=headers, content=content)


Step = str | Callable[[], Any]


@dataclass
class ScriptedKeyboard:
    """Types each step's line (or runs its callable) once `at` fake seconds have passed since
    the first wait; raises KeyboardInterrupt at `interrupt_at`. Every wait advances the clock."""

    bridge: ThreadedHarness
    steps: list[tuple[float, Step]] = field(default_factory=list)
    interrupt_at: float | None = None
    interactive: list[bool] = field(default_factory=list)
    _start: float | None = None

    def factory(self, interactive: bool) -> ScriptedKeyboard:
        self.interactive.append(interactive)
        return self

    def now(self) -> float:
        return self.bridge.now()

    def next_line(self, timeout_s: float) -> str | None:
        if self._start is None:
            self._start = self.bridge.now()
        self.bridge.run(self.bridge.h.clock.advance(timeout_s))
        elapsed = self.bridge.now() - self._start
        if self.interrupt_at is not None and elapsed >= self.interrupt_at:
            raise KeyboardInterrupt
        if elapsed > STEP_LIMIT_S:
            raise AssertionError(f"still running after {STEP_LIMIT_S} fake seconds")
        while self.steps and elapsed >= self.steps[0][0]:
            _, step = self.steps.pop(0)
            if isinstance(step, str):
                return step
            step()
        return None


def invoke(bridge: ThreadedHarness, args: list[str], keyboard: ScriptedKeyboard | None = None,
           *, key: str | None = None, speaker: Callable[[], Any] | None = None) -> Result:
    """Run `percl ARGS` against the harness as its seed account (or with `key`); `speaker`
    stands in for the local speaker of `sim call --play`."""
    acc = bridge.h.account
    runtime = Runtime(transport=BridgeTransport(bridge),
                      keyboard=(keyboard or ScriptedKeyboard(bridge)).factory,
                      speaker=speaker or (lambda: "no speaker in tests"))
    full = [*args, "--url", URL, "--account", acc.account_id, "--key", key or acc.api_key]
    return CliRunner().invoke(cli, full, obj=runtime, catch_exceptions=False)
