"""Ctrl-C on `percl serve` while calls are live (SQLite, one process; and `--workers 2` on
PostgreSQL): every live leg ends with internalError and its final callStatus webhook is sent,
and the server exits 0. (uvicorn raises the signal again once it has stopped; under asyncio.run
that cancelled percl's own shutdown midway: cli/serve.py `_Server`.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from freeclimb.models.webhook import Webhook

from tests import postgres
from tests.cli.serving import Served, serve_env
from tests.cli.test_serve_workers import READY_S
from tests.integration.live import Credentials, free_port
from tests.integration.test_workers_live import Connections, HoldingApp, _until
from tests.integration.test_workers_live import app as app  # the fixture


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_ends_live_calls_with_their_final_webhooks(
        tmp_path: Path, app: HoldingApp, workers: int) -> None:
    creds = Credentials.generate()
    db = {"PERCL_DB": postgres.server().new_database()} if workers > 1 else {}
    env = serve_env(tmp_path, free_port(), PERCL_ACCOUNT_ID=creds.account_id,
                    PERCL_API_KEY=creds.api_key, PERCL_SIGNING_SECRET=creds.signing_secret,
                    PERCL_MEDIA_TIME_SCALE="1", **db)
    served = Served(tmp_path, env, "--workers", str(workers)).start(timeout_s=READY_S)
    conns = Connections(served.url, creds)
    calls: list[str] = []
    try:
        def rest(client: httpx.Client, method: str, path: str, **body: Any) -> httpx.Response:
            return client.request(method, f"/apiserver/Accounts/{creds.account_id}{path}",
                                  json=body or None)

        if workers == 1:
            clients = [conns._new()]
            conns.clients.extend(clients)
        else:  # one connection to each worker (GET /healthz names it)
            first, client = conns.to()
            clients = [client, conns.to(other_than=first)[1]]
        application = rest(clients[0], "POST", "/Applications", callConnectUrl=app.url("/hold"),
                           statusCallbackUrl=app.url("/status")).json()["applicationId"]
        for on in clients:  # a held call on each worker
            r = rest(on, "POST", "/Calls", **{"from": "+13125550100", "to": "+15550100002",
                                              "applicationId": application})
            assert r.status_code == 202, r.text
            call_id = r.json()["callId"]
            calls.append(call_id)
            _until(lambda c=call_id, on=on: rest(on, "GET", f"/Calls/{c}").json()["status"]
                   == "inProgress", f"{call_id} in progress")
    finally:
        conns.close()
        code = served.stop()
    assert code == 0, served.output()
    finals = {json.loads(w.raw)["callId"]: w for w in app.received if w.path == "/status"}
    assert sorted(finals) == sorted(calls), served.output()
    for webhook in finals.values():
        body = json.loads(webhook.raw)
        assert (body["callStatus"], body["callEndedReason"]) == ("completed", "internalError")
        assert Webhook.from_json(webhook.raw.decode()) is not None
