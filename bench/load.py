"""Load generation against a running percl and benchapp: REST calls, pacing, and the records.

`Rig` wraps one aiohttp session to percl's REST and sim APIs and one to the app. It sets up an
application, a number and a virtual phone that answers at once, places calls (timing each POST
/Calls on CLOCK_MONOTONIC, the clock benchapp stamps its records with), and reads the app's
records back. `closed_loop` keeps a fixed number of calls in progress (to find the most percl
can do); `open_loop` places calls at a fixed rate whatever happens (to load it to a chosen level).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.common import PerclProcess

Place = Callable[[], Coroutine[Any, Any, object]]  # places one call (or makes one request)
CALLEE = "+15550200000"  # the virtual phone every benchmark call rings
FAR_FUTURE_S = 600.0  # no single stage of a benchmark may take longer than this


@dataclass
class Placed:
    """One POST /Calls: when it was sent and answered (monotonic ns), and the callId."""

    call_id: str
    sent_ns: int
    done_ns: int
    status: int


@dataclass
class Rig:
    percl: PerclProcess
    app_base: str
    rest: aiohttp.ClientSession = field(init=False)
    app: aiohttp.ClientSession = field(init=False)
    number: str = ""
    application_id: str = ""
    placed: list[Placed] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def __aenter__(self) -> Rig:
        # limit=0: the generator must never be the queue that percl's latency hides behind.
        self.rest = aiohttp.ClientSession(auth=self.percl.auth,
                                          connector=aiohttp.TCPConnector(limit=0))
        self.app = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.rest.close()
        await self.app.close()

    @property
    def api(self) -> str:
        return f"{self.percl.base}/apiserver/Accounts/{self.percl.auth.login}"

    async def _json(self, method: str, url: str, body: Any = None) -> Any:
        async with self.rest.request(method, url, json=body) as r:
            text = await r.text()
            if r.status >= 300:
                raise RuntimeError(f"{method} {url} -> {r.status} {text}")
            return json.loads(text) if text else None

    async def setup(self) -> None:
        """An application pointing at the app, a number wired to it, a phone that answers at once."""
        app = await self._json("POST", f"{self.api}/Applications", {
            "alias": "bench", "callConnectUrl": f"{self.app_base}/connect/three",
            "statusCallbackUrl": f"{self.app_base}/status"})
        self.application_id = app["applicationId"]
        available = await self._json("GET", f"{self.percl.base}/apiserver/AvailablePhoneNumbers")
        number = available["availablePhoneNumbers"][0]["phoneNumber"]
        await self._json("POST", f"{self.api}/IncomingPhoneNumbers",
                         {"phoneNumber": number, "applicationId": self.application_id})
        self.number = number
        await self._json("PUT", f"{self.percl.base}/sim/v1/phones/{CALLEE}",
                         {"answer": "human", "answerAfterMs": 0})

    async def call(self, flow: str = "three") -> Placed | None:
        """POST /Calls whose connect webhook goes to /connect/<flow>. Records the timing; a
        failure is counted in `errors` (the benchmark reports them) instead of raised."""
        body = {"from": self.number, "to": CALLEE, "applicationId": self.application_id,
                "callConnectUrl": f"{self.app_base}/connect/{flow}"}
        sent = time.monotonic_ns()
        try:
            async with self.rest.post(f"{self.api}/Calls", json=body) as r:
                data = await r.read()
                done = time.monotonic_ns()
                if r.status != 202:
                    self.errors.append(f"POST /Calls -> {r.status} {data[:200]!r}")
                    return None
        except (aiohttp.ClientError, OSError) as exc:
            self.errors.append(f"POST /Calls: {type(exc).__name__}: {exc}")
            return None
        placed = Placed(json.loads(data)["callId"], sent, done, r.status)
        self.placed.append(placed)
        return placed

    async def timed_get(self, path: str) -> tuple[float, int]:
        """GET percl's REST `path` (under the account); (milliseconds, status)."""
        sent = time.perf_counter()
        async with self.rest.get(f"{self.api}{path}") as r:
            await r.read()
            return (time.perf_counter() - sent) * 1000, r.status

    async def counts(self) -> tuple[int, int]:
        """(webhooks recorded, callStatus webhooks recorded) by the app."""
        async with self.app.get(f"{self.app_base}/count") as r:
            data = await r.json()
            return int(data["webhooks"]), int(data["ended"])

    async def records(self) -> list[tuple[str, str, int, int]]:
        async with self.app.get(f"{self.app_base}/records") as r:
            return [(str(a), str(b), int(c), int(d)) for a, b, c, d in await r.json()]

    async def reset(self) -> None:
        async with self.app.post(f"{self.app_base}/reset") as r:
            await r.read()
        self.placed.clear()
        self.errors.clear()

    async def finished(self) -> int:
        """Calls over since the last reset: ended (callStatus seen by the app) or failed to place."""
        return (await self.counts())[1] + len(self.errors)

    async def warm_up(self, calls: int = 50) -> None:
        """Run a few calls first (imports, connection pools, SQLite pages), then reset."""
        await self.reset()
        await closed_loop(self.call, calls, 10, self.finished)
        await self.reset()

    async def wait_until(self, done: Callable[[int, int], bool], timeout_s: float) -> bool:
        """Poll the app's counts until `done(webhooks, ended)`; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if done(*await self.counts()):
                return True
            await asyncio.sleep(0.02)
        return False

    async def call_logs(self, call_id: str) -> list[dict[str, Any]]:
        """The account log entries of one call (GET /Calls/{id}/Logs, first page)."""
        data = await self._json("GET", f"{self.api}/Calls/{call_id}/Logs")
        return list(data["logs"])


async def closed_loop(place: Place, total: int, window: int,
                      progress: Callable[[], Awaitable[int]]) -> None:
    """Place `total` calls, never more than `window` ahead of `progress()` (finished calls).
    Returns once every call has been placed and `progress()` reached `total` (or FAR_FUTURE_S)."""
    placed = 0
    posts: set[asyncio.Task[object]] = set()
    deadline = time.monotonic() + FAR_FUTURE_S
    while time.monotonic() < deadline:
        finished = await progress()
        if finished >= total:
            break
        room = min(window - (placed - finished), total - placed)
        for _ in range(max(0, room)):
            task = asyncio.create_task(place())
            posts.add(task)
            task.add_done_callback(posts.discard)
            placed += 1
        await asyncio.sleep(0.005)
    await asyncio.gather(*posts)


async def open_loop(place: Place, rate: float, seconds: float) -> None:
    """Place calls evenly spaced at `rate` per second for `seconds`, late or not (an open loop:
    a slow percl makes work pile up, as real callers would). Waits for the POSTs to return."""
    posts: set[asyncio.Task[object]] = set()
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(place())
        posts.add(task)
        task.add_done_callback(posts.discard)
    await asyncio.gather(*posts)
