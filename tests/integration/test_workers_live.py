"""`percl serve --workers 2` on PostgreSQL as real processes: a REST hangup sent to the worker
that does not run the call is forwarded to the one that does; a worker killed with SIGKILL has
its calls closed by the survivor within a few lease lengths, with the final callStatus webhook.

Which worker answers: SO_REUSEPORT picks a listening socket per connection, so the test keeps a
few keep-alive connections and asks each (GET /healthz) which worker it reaches, right before it
uses it."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from freeclimb.models.webhook import Webhook
from starlette.requests import Request
from starlette.responses import JSONResponse

from percl.store.pgbus import dsn_of
from tests import postgres
from tests.cli.serving import Served, serve_env
from tests.cli.test_serve_workers import READY_S, _children, _gone
from tests.integration.live import Credentials, WebhookSink, free_port

CALLEE = "+15550100002"
LEASE_S = 3  # PERCL_LEASE_SECONDS: a killed worker's calls are closed within a few of these
WAIT_S = 40.0  # bounds for real processes on a shared machine; not timing assertions


class HoldingApp(WebhookSink):
    """The customer's app: a call connected to /hold stays up (a ten-minute Pause)."""

    async def _handle(self, request: Request) -> JSONResponse:
        await super()._handle(request)
        if request.url.path == "/hold":
            return JSONResponse([{"Pause": {"length": 600_000}}])
        return JSONResponse([])


@pytest.fixture
def app() -> Iterator[HoldingApp]:
    sink = HoldingApp()
    sink.start()
    yield sink
    sink.stop()


class Connections:
    """Keep-alive connections to the served port, by the worker each one reaches."""

    def __init__(self, url: str, creds: Credentials) -> None:
        self.url, self.creds = url, creds
        self.clients: list[httpx.Client] = []

    def to(self, worker: str | None = None, *, other_than: str | None = None) -> tuple[str, httpx.Client]:
        """A client whose connection reaches `worker` (or any worker but `other_than`)."""
        for attempt in range(200):
            if attempt >= len(self.clients):
                self.clients.append(self._new())
            client = self.clients[attempt]
            try:
                reached = client.get("/healthz").json()["worker"]
            except httpx.TransportError:  # its worker was killed: a new connection instead
                client.close()
                client = self.clients[attempt] = self._new()
                reached = client.get("/healthz").json()["worker"]
            if reached == worker or (worker is None and reached != other_than):
                return reached, client
        raise AssertionError(f"no connection reached worker {worker or 'other than ' + str(other_than)}")

    def _new(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10,
                            auth=(self.creds.account_id, self.creds.api_key))

    def close(self) -> None:
        for client in self.clients:
            client.close()


def _until(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:  # polling real processes, bounded
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {WAIT_S} s: {what}")


def _owners(url: str, kind: str = "call") -> dict[str, str]:
    """Who holds each lease of `kind` (key -> worker id), read from the database."""

    async def read() -> dict[str, str]:
        conn = await asyncpg.connect(dsn_of(url))
        try:
            rows = await conn.fetch("SELECT key, owner FROM leases WHERE kind = $1", kind)
        finally:
            await conn.close()
        return {row["key"]: row["owner"] for row in rows}

    return asyncio.run(read())


def serve_two_workers(tmp_path: Path) -> tuple[Served, Credentials, str]:
    """`percl serve --workers 2` on a new PostgreSQL database (LEASE_S leases), its account's
    credentials and the database's URL."""
    url = postgres.server().new_database()
    creds = Credentials.generate()
    env = serve_env(tmp_path, free_port(), PERCL_DB=url, PERCL_ACCOUNT_ID=creds.account_id,
                    PERCL_API_KEY=creds.api_key, PERCL_SIGNING_SECRET=creds.signing_secret,
                    PERCL_LEASE_SECONDS=str(LEASE_S), PERCL_MEDIA_TIME_SCALE="1")
    return Served(tmp_path, env, "--workers", "2").start(timeout_s=READY_S), creds, url


def test_forwarding_and_failover_between_two_worker_processes(tmp_path: Path, app: HoldingApp) -> None:
    served, creds, url = serve_two_workers(tmp_path)
    assert served.process is not None
    conns = Connections(served.url, creds)
    try:
        a, on_a = conns.to()
        b, _ = conns.to(other_than=a)

        def rest(client: httpx.Client, method: str, path: str, **body: Any) -> httpx.Response:
            return client.request(method, f"/apiserver/Accounts/{creds.account_id}{path}",
                                  json=body or None)

        made = rest(on_a, "POST", "/Applications", callConnectUrl=app.url("/hold"),
                    statusCallbackUrl=app.url("/status"))
        application_id = made.json()["applicationId"]

        def call_on(worker: str) -> str:
            _, client = conns.to(worker)
            r = rest(client, "POST", "/Calls", **{"from": "+13125550100", "to": CALLEE,
                                                    "applicationId": application_id})
            assert r.status_code == 202, r.text
            call_id: str = r.json()["callId"]
            _until(lambda: rest(client, "GET", f"/Calls/{call_id}").json()["status"] == "inProgress",
                   f"call {call_id} in progress")
            return call_id

        # Forwarding: a call running on A, hung up through a connection to B.
        first = call_on(a)
        assert _owners(url)[first] == a
        _, via_b = conns.to(b)
        hangup = rest(via_b, "POST", f"/Calls/{first}", status="completed")
        assert hangup.status_code == 202, hangup.text
        ended = _until(lambda: (c := rest(conns.to()[1], "GET", f"/Calls/{first}").json())
                       ["status"] == "completed" and c, "the forwarded hangup")
        assert ended["status"] == "completed"
        _until(lambda: [w for w in app.received if w.path == "/status"], "its callStatus webhook")

        # Failover: one call on each worker, then one worker is killed with SIGKILL.
        on_each = {a: call_on(a), b: call_on(b)}
        children = [pid for pid in _children(served.process.pid) if not _gone(pid)]
        assert len(children) == 2
        os.kill(children[0], signal.SIGKILL)
        _until(lambda: _gone(children[0]), "the killed worker gone")
        survivor, _ = conns.to()  # only one worker answers now
        dead = b if survivor == a else a
        closed = _until(lambda: (c := rest(conns.to(survivor)[1], "GET",
                                           f"/Calls/{on_each[dead]}").json())["status"] == "completed"
                        and c, "the dead worker's call closed")
        assert closed["status"] == "completed"
        statuses = _until(lambda: [w for w in app.received if w.path == "/status"
                                   and on_each[dead].encode() in w.raw], "its final webhook")
        final = Webhook.from_json(statuses[0].raw.decode())
        assert final is not None
        kept = rest(conns.to(survivor)[1], "GET", f"/Calls/{on_each[survivor]}").json()
        assert kept["status"] == "inProgress"  # the survivor's own call runs on
    finally:
        conns.close()
        code = served.stop()
    assert code == 1, served.output()  # one worker was killed: the supervisor says so
    assert "exited with -9" in served.output()
