"""The customer application the benchmarks point percl at: a bare ASGI app run by uvicorn.

Run it as its own process (`python bench/benchapp.py --port 9000`): percl POSTs webhooks to it
over loopback, exactly as it would to a user's app. It is deliberately minimal (no framework, canned
answers) so that what the benchmarks measure is percl and the HTTP stack, not the app.

Routes (the flow of a call is chosen by the callConnectUrl the load generator puts on POST /Calls):

    POST /connect/three   -> [Say, Redirect /redirect]      webhook 1 of 3 (outDialApiConnect)
    POST /redirect        -> [Say, Hangup]                  webhook 2 of 3 (redirect)
    POST /connect/two     -> [Say, Hangup]                  webhook 1 of 2
    POST /connect/hold    -> [GetDigits, 1 h timeouts]      the leg waits (concurrency benchmark)
    POST /digits          -> [Hangup]
    POST /status          -> []                             last webhook (callStatus)
    POST /noop            -> []                             the ceiling benchmark: nothing recorded
    GET  /count           -> {"webhooks": n, "ended": n}    cheap progress poll
    GET  /records         -> every recorded webhook (see Record)
    POST /reset           -> forget every record

Why CLOCK_MONOTONIC: the load generator and this app are separate processes on one machine, and
Linux's monotonic clock is system-wide, so `time.monotonic_ns()` readings from both processes sit on
one time line. That lets the generator subtract its POST /Calls send time from this app's arrival
time, and this app subtract its answer time from the next webhook's arrival.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HOLD_MS = 3_600_000  # GetDigits timeouts of held calls: an hour, longer than any benchmark
JSON_HEADERS = [(b"content-type", b"application/json")]


def _say(text: str) -> dict[str, Any]:
    return {"Say": {"text": text}}


def answers(base: str) -> dict[str, bytes]:
    """The canned PerCL answer of each route, for an app reachable at `base` (no trailing /)."""
    scripts: dict[str, list[dict[str, Any]]] = {
        "/connect/three": [_say("Hello from the benchmark."),
                           {"Redirect": {"actionUrl": f"{base}/redirect"}}],
        "/redirect": [_say("Goodbye."), {"Hangup": {}}],
        "/connect/two": [_say("Hello and goodbye."), {"Hangup": {}}],
        "/connect/hold": [{"GetDigits": {"actionUrl": f"{base}/digits", "maxDigits": 1,
                                         "initialTimeoutMs": HOLD_MS, "digitTimeoutMs": HOLD_MS}}],
        "/digits": [{"Hangup": {}}],
        "/status": [],
        "/noop": [],
    }
    return {path: json.dumps(script).encode() for path, script in scripts.items()}


class BenchApp:
    """The ASGI app. Records (callId, requestType, arrival ns, answer ns) for every webhook except
    /noop; `records` is a flat list of those 4-tuples (cheap to append, cheap to serialise)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, int, int]] = []
        self.ended = 0
        self._answers: dict[str, bytes] | None = None

    def reset(self) -> None:
        self.records.clear()
        self.ended = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        arrived = time.monotonic_ns()
        path, method = scope["path"], scope["method"]
        if method == "GET":
            await self._get(path, send)
            return
        if path == "/reset":
            self.reset()
            await _reply(send, 204, b"")
            return
        answer = self._answer_for(scope, path)
        if answer is None:
            await _reply(send, 404, b'{"error":"no such route"}')
            return
        if path != "/noop":
            self._record(body, arrived)
        await _reply(send, 200, answer)

    def _answer_for(self, scope: Scope, path: str) -> bytes | None:
        if self._answers is None:  # the port is known only once uvicorn serves a request
            host, port = scope.get("server") or ("127.0.0.1", 80)
            self._answers = answers(f"http://{host}:{port}")
        return self._answers.get(path)

    def _record(self, body: bytes, arrived: int) -> None:
        try:
            webhook = json.loads(body)
        except ValueError:
            webhook = {}
        kind = str(webhook.get("requestType", "?"))
        if kind == "callStatus":
            self.ended += 1
        # The answer time is taken here, right before the reply is handed to uvicorn: what is left
        # (writing to the socket) belongs to the HTTP stack, as on any app.
        self.records.append((str(webhook.get("callId", "")), kind, arrived, time.monotonic_ns()))

    async def _get(self, path: str, send: Send) -> None:
        if path == "/count":
            await _reply(send, 200, json.dumps({"webhooks": len(self.records),
                                                "ended": self.ended}).encode())
        elif path == "/records":
            await _reply(send, 200, json.dumps(self.records).encode())
        else:
            await _reply(send, 404, b'{"error":"no such route"}')


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _reply(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


app = BenchApp()


def main() -> None:
    """Serve the app with the stack percl itself uses (uvicorn, uvloop, httptools)."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
