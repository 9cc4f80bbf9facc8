"""The app's answer is decoded as JSON once, whatever reads it (the dispatcher's log masking, the
engine's PerCL parser), and logged once (the "PerCL received" entry; the webhook's entry names it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from percl.engine.ports import LogFilter
from percl.testing.harness import Harness
from tests.e2e.conftest import AGENT, CALLER, said

# A public webhook whose PerCL marks one command private: its log entries must mask that command.
ANSWER = [{"Say": {"text": "your code is 5150", "privacyMode": True}}, {"Hangup": {}}]


async def test_a_webhook_answer_is_decoded_once_and_logged_once(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = json.dumps(ANSWER)
    decodes: list[str] = []
    loads = json.loads

    def counting_loads(s: Any, *args: Any, **kwargs: Any) -> Any:
        text = s.decode() if isinstance(s, bytes | bytearray) else s
        if text.strip() == answer:
            decodes.append(text)
        return loads(s, *args, **kwargs)

    app = h.scripted_app()
    app.on("/voice", ANSWER)
    number = await h.number_for_app(voice_url=app.url("/voice"))
    monkeypatch.setattr(json, "loads", counting_loads)
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    monkeypatch.undo()
    assert len(decodes) == 1
    logs = await h.store.list_logs(h.account.account_id, LogFilter(call_id=call_id))
    assert all("5150" not in str(e.metadata) + e.message for e in logs)
    (received,) = [e for e in logs if e.message.startswith("PerCL received")]
    assert received.metadata["percl"][1] == {"Hangup": {}}
    (hook,) = [e for e in logs if e.metadata.get("requestType") == "inboundCall"]
    assert hook.metadata["responseBody"] is None and hook.request_id == received.request_id
    assert hook.metadata["responseLoggedAs"] == "PerCL received"
    assert hook.metadata["responseBytes"] == len(answer)


async def test_the_percl_of_a_private_call_is_logged_masked(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/connect", [{"Say": {"text": "your code is 5150"}}, {"Hangup": {}}])
    a = await h.create_application(call_connect_url=app.url("/connect"))
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls",
                          json={"from": "+13125550100", "to": AGENT, "privacyMode": True,
                                "applicationId": a.application_id})
    assert r.status_code == 202, r.text
    call_id = r.json()["callId"]
    await h.run_until_ended(call_id)
    assert "your code is 5150" in said(h.transcript(call_id))  # the far end hears it
    logs = await h.store.list_logs(h.account.account_id, LogFilter(call_id=call_id))
    (received,) = [e for e in logs if e.message.startswith("PerCL received")]
    assert received.metadata["percl"] == "xxxxx"
    assert all("5150" not in str(e.metadata) + e.message for e in logs)
