"""Calls made over REST: outDialApiConnect, never outDialStart; Say, Pause, Say."""

from __future__ import annotations

from freeclimb.models.webhook import Webhook

from percl.domain.enums import CallDirection, CallEndedReason, CallStatus
from percl.testing.harness import Harness
from tests.e2e.conftest import AGENT, kinds, said


async def test_rest_call_say_pause_say(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/connect", [{"Say": {"text": "Hello"}}, {"Pause": {"length": 1500}},
                        {"Say": {"text": "Goodbye"}}])
    app.on("/status", [])
    a = await h.create_application(call_connect_url=app.url("/connect"),
                                   status_callback_url=app.url("/status"))
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls",
                          json={"from": "+13125550100", "to": AGENT,
                                "applicationId": a.application_id})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and body["direction"] == "outboundAPI"
    call_id = body["callId"]
    call = await h.run_until_ended(call_id)
    assert [w.request_type for w in h.webhooks] == ["outDialApiConnect", "callStatus"]
    connect = h.webhooks[0]
    assert connect.body["callStatus"] == "inProgress" and connect.body["dialCallStatus"] == "inProgress"
    assert connect.body["direction"] == "outboundAPI" and connect.body["parentCallId"] is None
    assert call.direction is CallDirection.OUTBOUND_API
    assert call.status is CallStatus.COMPLETED
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP
    t = h.transcript(call_id)
    assert said(t) == ["Hello", "Goodbye"]
    assert kinds(t).count("pause") == 1
    for w in h.webhooks:
        Webhook.from_json(w.raw.decode())
    got = await h.rest.get(f"/Accounts/{h.account.account_id}/Calls/{call_id}")
    assert got.status_code == 200 and got.json()["status"] == "completed"


async def test_rest_call_without_connect_url_is_400(h: Harness) -> None:
    a = await h.create_application()
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls",
                          json={"from": "+13125550100", "to": AGENT,
                                "applicationId": a.application_id})
    assert r.status_code == 400
    assert "callConnectUrl" in r.json()["message"]
