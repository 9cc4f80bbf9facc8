"""The developer's app, reachable from percl's webhooks: in-process or at a real URL.

`AppMounts` gives each app a base URL (`http://app.test`, `http://app2.test`, ... unless one is
chosen) and routes that prefix to it:

- an ASGI app (FastAPI, Starlette, an `async def app(scope, receive, send)`) is called on the
  platform's event loop;
- a WSGI app (Flask, Django's WSGIHandler, any `app(environ, start_response)`) is called in a
  worker thread by default (long-lived threads, see workers.py; no event loop runs in them, as
  under a real WSGI server). Why a thread: FreeClimb apps often call the REST API from inside a
  webhook (e.g. terminate a conference with the SDK), and a synchronous SDK call made on the
  event loop's thread would wait forever for a loop it is blocking. The thread counts as tracked
  work, so the FakeClock does not move while the app thinks;
- a URL string (`"http://127.0.0.1:5000"`) is reached over real HTTP with aiohttp (loopback in
  tests), also as tracked work;
- a `ScriptedApp`: PerCL written as a table, for the shortest tests.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from percl.testing.capture import url_path
from percl.testing.clock import WorkTracker
from percl.testing.tracked import Tracked
from percl.testing.workers import WorkerPool
from percl.webhooks.aiohttp_transport import AiohttpTransport
from percl.webhooks.inprocess import AsgiTransport, FunctionTransport, RoutingTransport, WsgiTransport
from percl.webhooks.transport import Transport, TransportResponse, capped

PerclAnswer = list[dict[str, Any]] | Callable[[dict[str, Any]], Any] | tuple[int, Any]


@dataclass
class ScriptedApp:
    """A FreeClimb app written as a table: path -> PerCL (a list, or a function of the body).

    A function may return a PerCL list, or `(status, body)` to answer anything at all.
    Unknown paths answer 404. A GET (a media or grammar file) has an empty body: a function
    then gets `{}`, and `(200, b"RIFF...")` is the way to serve a file.
    """

    base_url: str
    routes: dict[str, PerclAnswer] = field(default_factory=dict)

    def on(self, path: str, answer: PerclAnswer) -> None:
        self.routes[path] = answer

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        answer = self.routes.get(url_path(url))
        if answer is None:
            return 404, b"not found"
        if callable(answer):
            answer = answer(json.loads(body) if body else {})
        if isinstance(answer, tuple):
            status, payload = answer
            return status, payload if isinstance(payload, bytes) else str(payload).encode()
        return 200, json.dumps(answer).encode()


def is_asgi(app: Any) -> bool:
    """True for an ASGI 3 app (a coroutine function, or an object whose __call__ is one)."""
    call = type(app).__call__ if callable(app) and not inspect.isfunction(app) else None
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call)


BlockingCall = Callable[[str, str, bytes, Mapping[str, str]], TransportResponse]


class ThreadedTransport:
    """A WebhookTransport that answers through `call(method, url, body, headers)`, a blocking
    function (e.g. `WsgiTransport.call`), run in one of `workers`' threads as tracked work.

    Why a thread and not the loop: the app may block on percl's REST API inside the webhook (the
    SDK fixture submits its request to the loop and waits), which would deadlock the loop's own
    thread. Why tracked: the FakeClock must not move while the app thinks.
    """

    def __init__(self, call: BlockingCall, tracker: WorkTracker, workers: WorkerPool) -> None:
        self._call = call
        self._tracker = tracker
        self._workers = workers

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """What `call` answers; its exceptions (e.g. TransportError) propagate."""
        return await self._run("POST", url, body, headers, limit)

    async def get(
        self, url: str, headers: Mapping[str, str], *, limit: int | None = None
    ) -> TransportResponse:
        """GET a file the app serves, like `post`."""
        return await self._run("GET", url, b"", headers, limit)

    async def _run(self, method: str, url: str, body: bytes,
                   headers: Mapping[str, str], limit: int | None) -> TransportResponse:
        self._tracker.enter()
        try:
            # `call` has no byte limit (it is the kit's public seam): the answer is cut here.
            return capped(await self._workers.run(self._call, method, url, body, headers), limit)
        finally:
            self._tracker.leave()


class AppMounts:
    """Which base URL each app is served at, on the kit's router."""

    def __init__(self, router: RoutingTransport, tracker: WorkTracker) -> None:
        self._router = router
        self._tracker = tracker
        self._apps: list[tuple[Any, str]] = []
        self._closers: list[Any] = []
        self._workers = WorkerPool()  # shared by the threaded WSGI mounts; threads start on demand

    @property
    def primary(self) -> str | None:
        """The base URL of the first app mounted (relative paths resolve against it)."""
        return self._apps[0][1] if self._apps else None

    def mount(self, app: Any, base_url: str | None = None, *, threaded: bool = True) -> str:
        """Route `base_url` (default: the next free `http://appN.test`) to `app`; returns it.

        `app` is an ASGI app, a WSGI app, a ScriptedApp or a URL string (then `base_url` is that
        URL). `threaded=False` calls a WSGI app on the event loop's thread instead (faster, but
        the app must not call percl's REST API synchronously). Raises TypeError for anything else.
        """
        if isinstance(app, str):
            base = (base_url or app).rstrip("/")
            transport: Transport = Tracked(AiohttpTransport(), self._tracker)
            self._closers.append(transport)
        elif isinstance(app, ScriptedApp):
            base = (base_url or app.base_url).rstrip("/")
            transport = FunctionTransport(app)
        elif is_asgi(app):
            base = (base_url or self._next_base()).rstrip("/")
            transport = AsgiTransport(app)
        elif callable(app):
            base = (base_url or self._next_base()).rstrip("/")
            wsgi = WsgiTransport(app, multithread=threaded)
            transport = ThreadedTransport(wsgi.call, self._tracker, self._workers) if threaded else wsgi
        else:
            raise TypeError(f"cannot mount {app!r}: expected an ASGI or WSGI app or a URL")
        self._router.mount(base + "/", transport)
        self._apps.append((app, base))
        return base

    def base_of(self, app: Any) -> str:
        """The base URL `app` is mounted at; mounts it first if it is not. None -> the primary."""
        if app is None:
            if self.primary is None:
                raise LookupError("no app is mounted yet: pass the app (or mount it first)")
            return self.primary
        for known, base in self._apps:
            if known is app or (isinstance(app, str) and app.rstrip("/") == base):
                return base
        return self.mount(app)

    def resolve(self, path_or_url: str) -> str:
        """An absolute URL as is; a path ("/voice") against the primary app's base URL."""
        if "://" in path_or_url:
            return path_or_url
        return self.base_of(None) + "/" + path_or_url.lstrip("/")

    async def close(self) -> None:
        """Close the URL mounts' HTTP sessions and stop the WSGI worker threads."""
        try:
            for transport in self._closers:
                await transport.close()
            self._closers.clear()
        finally:
            await self._workers.close()

    def _next_base(self) -> str:
        taken = {base for _, base in self._apps}
        n = 1
        while (base := f"http://app{'' if n == 1 else n}.test") in taken:
            n += 1
        return base
