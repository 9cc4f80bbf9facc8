"""A queue across two worker processes (`percl serve --workers 2` on PostgreSQL): the first
caller's worker runs the queue (its `queue` lease); a caller placed on the other worker moves
there in its parcel over the bus and waits behind the first; REST dequeues through the other
worker release both where they wait; the empty queue's lease is let go. Every webhook parses
with the FreeClimb SDK.

Which worker answers: see tests/integration/test_workers_live.py (keep-alive connections, each
asked GET /healthz)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from freeclimb.models.webhook import Webhook
from starlette.requests import Request
from starlette.responses import JSONResponse

from tests import postgres
from tests.cli.serving import Served, serve_env
from tests.cli.test_serve_workers import READY_S
from tests.integration.live import Credentials, WebhookSink, free_port
from tests.integration.test_workers_live import Connections, _owners, _until

CALLEES = ("+15550100051", "+15550100052")
LEASE_S = 6


class QueueApp(WebhookSink):
    """The customer's app: a call connected to /enqueue/{queueId} waits in that queue."""

    async def _handle(self, request: Request) -> JSONResponse:
        await super()._handle(request)
        if request.url.path.startswith("/enqueue/"):
            return JSONResponse([{"Enqueue": {
                "queueId": request.url.path.rsplit("/", 1)[1], "waitUrl": self.url("/wait"),
                "actionUrl": self.url("/action"), "notificationUrl": self.url("/notify")}}])
        if request.url.path == "/wait":
            return JSONResponse([{"Pause": {"length": 60_000}}])
        if request.url.path == "/action":
            return JSONResponse([{"Say": {"text": "connecting you"}}])
        return JSONResponse([])


@pytest.fixture
def app() -> Iterator[QueueApp]:
    sink = QueueApp()
    sink.start()
    yield sink
    sink.stop()


def test_a_queue_spans_two_worker_processes(tmp_path: Path, app: QueueApp) -> None:
    url = postgres.server().new_database()
    creds = Credentials.generate()
    env = serve_env(tmp_path, free_port(), PERCL_DB=url, PERCL_ACCOUNT_ID=creds.account_id,
                    PERCL_API_KEY=creds.api_key, PERCL_SIGNING_SECRET=creds.signing_secret,
                    PERCL_LEASE_SECONDS=str(LEASE_S), PERCL_MEDIA="symbolic",
                    PERCL_MEDIA_TIME_SCALE="0")
    served = Served(tmp_path, env, "--workers", "2").start(timeout_s=READY_S)
    conns = Connections(served.url, creds)
    try:
        a, on_a = conns.to()
        b, _ = conns.to(other_than=a)

        def rest(client: httpx.Client, method: str, path: str, **body: Any) -> httpx.Response:
            return client.request(method, f"/apiserver/Accounts/{creds.account_id}{path}",
                                  json=body or None)

        made = rest(on_a, "POST", "/Queues", alias="support")
        assert made.status_code == 201, made.text
        queue = made.json()["queueId"]
        application = rest(on_a, "POST", "/Applications",
                           callConnectUrl=app.url(f"/enqueue/{queue}"),
                           statusCallbackUrl=app.url("/status")).json()["applicationId"]

        def members(client: httpx.Client) -> list[str]:
            r = rest(client, "GET", f"/Queues/{queue}/Members")
            assert r.status_code == 200, r.text
            return [m["callId"] for m in r.json()["queueMembers"]]

        def call_on(client: httpx.Client, to: str) -> str:
            r = rest(client, "POST", "/Calls", **{"from": "+13125550100", "to": to,
                                                  "applicationId": application})
            assert r.status_code == 202, r.text
            call_id: str = r.json()["callId"]
            return call_id

        # A caller on worker A makes the queue A's; a caller on worker B moves there.
        first = call_on(conns.to(a)[1], CALLEES[0])
        _until(lambda: members(conns.to(a)[1]) == [first], "the first member")
        assert _owners(url, "queue") == {queue: a}
        second = call_on(conns.to(b)[1], CALLEES[1])
        _until(lambda: members(conns.to(b)[1]) == [first, second], "both members, listed on B")
        assert _owners(url)[second] == a  # the leg runs on the queue's worker now
        # The sim API through B reaches the moved leg on A (forwarded over the bus).
        through_b = conns.to(b)[1].get(f"/sim/v1/calls/{second}/transcript")
        assert through_b.status_code == 200, through_b.text
        assert (through_b.json()["callId"], through_b.json()["live"]) == (second, True)
        assert through_b.json()["entries"][0]["type"] == "ringing"

        # Dequeued through B: forwarded to A, where both wait.
        front = rest(conns.to(b)[1], "POST", f"/Queues/{queue}/Members/Front")
        assert front.status_code == 202 and front.json()["callId"] == first, front.text
        named = rest(conns.to(b)[1], "POST", f"/Queues/{queue}/Members/{second}")
        assert named.status_code == 202 and named.json()["callId"] == second, named.text

        def results() -> dict[str, str]:
            return {json.loads(w.raw)["callId"]: json.loads(w.raw)["queueResult"]
                    for w in app.received if w.path == "/action"}

        _until(lambda: len(results()) == 2, "both dequeue webhooks")
        assert results() == {first: "dequeued", second: "dequeued"}
        added = [json.loads(w.raw)["callId"] for w in app.received if w.path == "/notify"]
        assert sorted(added) == sorted([first, second])  # each added once, on A
        _until(lambda: _owners(url, "queue") == {}, "the empty queue's lease let go")
        for call_id in (first, second):  # the actionUrl's Say ran out: both ended
            _until(lambda c=call_id: rest(conns.to(b)[1], "GET", f"/Calls/{c}").json()["status"]
                   == "completed", f"call {call_id} ended")
        for webhook in app.received:
            assert Webhook.from_json(webhook.raw.decode()) is not None, webhook.raw
    finally:
        conns.close()
        code = served.stop()
    assert code == 0, served.output()
