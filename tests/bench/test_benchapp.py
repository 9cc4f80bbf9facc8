"""bench/benchapp.py, called in-process: canned PerCL per route, and what it records."""

from __future__ import annotations

import json

import httpx
from bench.benchapp import HOLD_MS, BenchApp, answers


def _webhook(kind: str, call_id: str = "CA1") -> bytes:
    return json.dumps({"requestType": kind, "callId": call_id}).encode()


async def test_three_webhook_flow_and_records() -> None:
    app = BenchApp()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9000") as http:
        r = await http.post("/connect/three", content=_webhook("outDialApiConnect"))
        script = r.json()
        assert [next(iter(c)) for c in script] == ["Say", "Redirect"]
        assert script[1]["Redirect"]["actionUrl"].endswith("/redirect")
        r = await http.post("/redirect", content=_webhook("redirect"))
        assert [next(iter(c)) for c in r.json()] == ["Say", "Hangup"]
        assert (await http.post("/status", content=_webhook("callStatus"))).json() == []
        assert (await http.post("/noop", content=_webhook("callStatus"))).json() == []
        assert (await http.get("/count")).json() == {"webhooks": 3, "ended": 1}
        records = (await http.get("/records")).json()
        assert [(cid, kind) for cid, kind, _, _ in records] == [
            ("CA1", "outDialApiConnect"), ("CA1", "redirect"), ("CA1", "callStatus")]
        assert all(arrived <= answered for _, _, arrived, answered in records)
        assert (await http.post("/nowhere", content=b"{}")).status_code == 404
        assert (await http.post("/reset")).status_code == 204
        assert (await http.get("/count")).json() == {"webhooks": 0, "ended": 0}


def test_hold_waits_in_get_digits_for_an_hour() -> None:
    script = json.loads(answers("http://h:1")["/connect/hold"])
    digits = script[0]["GetDigits"]
    assert digits["actionUrl"] == "http://h:1/digits"
    assert digits["initialTimeoutMs"] == HOLD_MS == 3_600_000
