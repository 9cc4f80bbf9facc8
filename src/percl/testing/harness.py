"""An in-process percl for tests: FakeClock, deterministic ids, in-memory SQLite, apps in-process.

    async with Harness() as h:
        app = h.scripted_app("http://app.test")           # a programmable FreeClimb app
        app.on("/voice", [{"Say": {"text": "Hi"}}, {"Hangup": {}}])
        number = await h.number_for_app(voice_url="http://app.test/voice")
        call_id = await h.sim_call("+15550100001", number)
        await h.advance(10)
        assert h.transcript(call_id).said() == ["Hi"]

Every webhook percl sends is captured in `h.webhooks` (request body, headers, the app's answer).
The REST API and the sim API are reachable in-process through `h.rest` / `h.sim_rest` (httpx).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from percl.app import Platform
from percl.config import Settings
from percl.domain import ids as idmod
from percl.domain.ids import SequentialIds
from percl.domain.records import Application, Call, IncomingNumber
from percl.store.sqlite import SqliteStore
from percl.testing.clock import FakeClock
from percl.testing.tracked import Tracked
from percl.webhooks.inprocess import (
    AsgiTransport,
    FunctionTransport,
    RoutingTransport,
    WsgiTransport,
)
from percl.webhooks.transport import TransportResponse, WebhookTransport

PerclAnswer = list[dict[str, Any]] | Callable[[dict[str, Any]], Any] | tuple[int, Any]


@dataclass(frozen=True, slots=True)
class CapturedWebhook:
    """One webhook exchange as the app saw it."""

    url: str
    body: dict[str, Any]
    raw: bytes
    headers: Mapping[str, str]
    status: int | None
    answer: bytes

    @property
    def request_type(self) -> str:
        return str(self.body.get("requestType"))

    @property
    def path(self) -> str:
        return "/" + self.url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]


class RecordingTransport:
    """Wraps a transport and records every exchange (including refused ones, status None)."""

    def __init__(self, inner: WebhookTransport) -> None:
        self.inner = inner
        self.log: list[CapturedWebhook] = []

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> TransportResponse:
        parsed = json.loads(body)
        try:
            response = await self.inner.post(url, body, headers)
        except Exception:
            self.log.append(CapturedWebhook(url, parsed, body, dict(headers), None, b""))
            raise
        self.log.append(CapturedWebhook(url, parsed, body, dict(headers), response.status,
                                        response.body))
        return response

    async def get(self, url: str, headers: Mapping[str, str]) -> TransportResponse:
        """GETs (grammar and media files) pass through unrecorded: they are not webhooks."""
        response: TransportResponse = await self.inner.get(url, headers)  # type: ignore[attr-defined]
        return response


@dataclass
class ScriptedApp:
    """A FreeClimb app written as a table: path -> PerCL (a list, or a function of the body).

    A function may return a PerCL list, or `(status, body)` to answer anything at all.
    Unknown paths answer 404.
    """

    base_url: str
    routes: dict[str, PerclAnswer] = field(default_factory=dict)

    def on(self, path: str, answer: PerclAnswer) -> None:
        self.routes[path] = answer

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        answer = self.routes.get(path)
        if answer is None:
            return 404, b"not found"
        if callable(answer):
            answer = answer(json.loads(body))
        if isinstance(answer, tuple):
            status, payload = answer
            return status, payload if isinstance(payload, bytes) else str(payload).encode()
        return 200, json.dumps(answer).encode()


class Harness:
    """A whole percl in one event loop, driven by a FakeClock."""

    def __init__(self, *, settings: Settings | None = None, store: SqliteStore | None = None,
                 media_time_scale: float = 1.0) -> None:
        self.clock = FakeClock()
        self.ids = SequentialIds()
        self.settings = settings or Settings(db=":memory:", media_time_scale=media_time_scale)
        self.router = RoutingTransport()
        self.recorder = RecordingTransport(self.router)
        raw_store = store or SqliteStore.for_path(":memory:")
        self.store: Any = Tracked(raw_store, self.clock.tracker)
        self.platform = Platform(self.settings, clock=self.clock, ids=self.ids, store=self.store,
                                 transport=self.recorder, probe_media=False)
        self._clients: list[httpx.AsyncClient] = []

    async def __aenter__(self) -> Harness:
        await self.platform.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for client in self._clients:
            await client.aclose()
        await self.platform.__aexit__(exc_type, exc, tb)

    # ------------------------------------------------------------------ apps

    def scripted_app(self, base_url: str = "http://app.test") -> ScriptedApp:
        app = ScriptedApp(base_url)
        self.router.mount(base_url.rstrip("/") + "/", FunctionTransport(app))
        return app

    def mount_asgi(self, base_url: str, app: Any) -> None:
        self.router.mount(base_url.rstrip("/") + "/", AsgiTransport(app))

    def mount_wsgi(self, base_url: str, app: Any) -> None:
        self.router.mount(base_url.rstrip("/") + "/", WsgiTransport(app))

    @property
    def webhooks(self) -> list[CapturedWebhook]:
        return self.recorder.log

    def webhooks_for(self, call_id: str) -> list[CapturedWebhook]:
        return [w for w in self.recorder.log if w.body.get("callId") == call_id]

    # ------------------------------------------------------------------ setup helpers

    @property
    def account(self) -> Any:
        return self.platform.account

    async def create_application(self, **urls: str | None) -> Application:
        """A new application of the seed account; `urls` are Application fields (voice_url=...)."""
        now = self.clock.now()
        app = Application(application_id=self.ids.new(idmod.APPLICATION),
                          account_id=self.account.account_id, date_created=now,
                          date_updated=now)
        app = dataclasses.replace(app, **urls)  # type: ignore[arg-type]
        await self.store.put_application(app)
        return app

    async def number_for_app(self, number: str = "+13125550100", **urls: str | None) -> str:
        """Buy `number` for the account and wire it to a new application with `urls`."""
        app = await self.create_application(**urls)
        now = self.clock.now()
        await self.store.put_number(IncomingNumber(
            phone_number_id=self.ids.new(idmod.PHONE_NUMBER), account_id=self.account.account_id,
            phone_number=number, application_id=app.application_id, region="IL", country="US",
            date_created=now, date_updated=now))
        return number

    # ------------------------------------------------------------------ driving calls

    async def sim_call(self, from_: str, to: str, script: Any = ()) -> str:
        call_id = await self.platform.sim.place_call(from_, to, script)
        await self.clock.settle()
        return call_id

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)

    async def call(self, call_id: str) -> Call:
        call: Call | None = await self.store.get_call(call_id)
        assert call is not None, f"no call {call_id}"
        return call

    async def run_until_ended(self, call_id: str, limit_s: float = 3600) -> Call:
        """Advance time until the call is final; fails if it is still live after `limit_s`."""
        live = self.platform.calls.sessions
        ok = await self.clock.run_until(lambda: call_id not in live, limit_s=limit_s)
        call = await self.call(call_id)
        assert ok and call.status.is_final, f"call {call_id} still {call.status} after {limit_s}s"
        return call

    def transcript(self, call_id: str) -> Any:
        return self.platform.sim.transcript(call_id)

    # ------------------------------------------------------------------ HTTP clients

    def _client(self, app: Any, base: str) -> httpx.AsyncClient:
        acc = self.account
        token = base64.b64encode(f"{acc.account_id}:{acc.api_key}".encode()).decode()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base,
                                   headers={"Authorization": f"Basic {token}"})
        self._clients.append(client)
        return client

    @property
    def rest(self) -> httpx.AsyncClient:
        """The REST API at /apiserver, authenticated as the seed account."""
        return self._client(self.platform.asgi, "http://percl.test/apiserver")

    @property
    def sim_rest(self) -> httpx.AsyncClient:
        return self._client(self.platform.asgi, "http://percl.test/sim/v1")
