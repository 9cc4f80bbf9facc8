"""Fail-stop (issue 19): a worker of `percl serve --workers 2` on PostgreSQL that stalls for
longer than a lease (SIGSTOP stands for a frozen loop, a long GC pause, a lost database) is
declared dead by the other, which closes its call (`internalError`, one final callStatus
webhook). When it runs again it finds its own lease gone and exits at once (code 75) instead of
running that leg a second time; the supervisor starts a new worker in its place."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import httpx
from freeclimb.models.webhook import Webhook

from tests.cli.test_serve_workers import _gone
from tests.integration.test_workers_live import Connections, HoldingApp, _until, serve_two_workers
from tests.integration.test_workers_live import app as app  # the fixture

CALLEE = "+15550100002"


def test_a_worker_declared_dead_after_a_stall_stops_and_is_replaced(
        tmp_path: Path, app: HoldingApp) -> None:
    served, creds, _ = serve_two_workers(tmp_path)
    conns = Connections(served.url, creds)
    stopped: int | None = None
    try:
        line = _until(lambda: re.search(r"percl worker 1 \((wk[0-9a-f]+), pid (\d+)\)",
                                        served.output()), "worker 1's line")
        frozen, pid = line.group(1), int(line.group(2))
        survivor, on_survivor = conns.to(other_than=frozen)
        _, on_frozen = conns.to(frozen)

        def rest(client: httpx.Client, method: str, path: str, **body: Any) -> httpx.Response:
            return client.request(method, f"/apiserver/Accounts/{creds.account_id}{path}",
                                  json=body or None)

        application = rest(on_survivor, "POST", "/Applications", callConnectUrl=app.url("/hold"),
                           statusCallbackUrl=app.url("/status")).json()["applicationId"]

        def call_on(client: httpx.Client) -> str:
            r = rest(client, "POST", "/Calls", **{"from": "+13125550100", "to": CALLEE,
                                                  "applicationId": application})
            assert r.status_code == 202, r.text
            call_id: str = r.json()["callId"]
            _until(lambda: rest(client, "GET", f"/Calls/{call_id}").json()["status"]
                   == "inProgress", f"call {call_id} in progress")
            return call_id

        held, kept = call_on(on_frozen), call_on(on_survivor)
        os.kill(pid, signal.SIGSTOP)
        stopped = pid
        _until(lambda: rest(on_survivor, "GET", f"/Calls/{held}").json()["status"]
               == "completed", "the frozen worker's call closed")

        def finals() -> list[bytes]:
            return [w.raw for w in app.received
                    if w.path == "/status" and json.loads(w.raw)["callId"] == held]

        assert json.loads(_until(finals, "its final callStatus")[0])["callEndedReason"] == (
            "internalError")
        os.kill(pid, signal.SIGCONT)
        stopped = None
        _until(lambda: _gone(pid), "the stalled worker exiting")
        assert "declared this one dead" in served.output()
        _until(lambda: "starting it again" in served.output(), "the supervisor's restart")
        again, _ = _until(lambda: (r := conns.to(other_than=survivor))[0] != frozen and r,
                          "a new worker in its place")
        assert again not in (frozen, survivor)
        assert len(finals()) == 1  # the stalled worker sent nothing more
        assert Webhook.from_json(finals()[0].decode()) is not None
        assert rest(on_survivor, "GET", f"/Calls/{held}").json()["status"] == "completed"
        assert rest(on_survivor, "GET", f"/Calls/{kept}").json()["status"] == "inProgress"
    finally:
        if stopped is not None:
            os.kill(stopped, signal.SIGCONT)
        conns.close()
        code = served.stop()
    assert code == 0, served.output()  # the replaced worker is not a failure
