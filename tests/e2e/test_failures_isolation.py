"""One stuck application must not slow anything else down (issue 3, "Webhooks that fail well").

A voiceUrl that never answers (an injected TIMEOUT, or an app that awaits forever) holds only its own
call: in the same FakeClock second other calls on another app run their whole flows and the REST API
answers; the stuck call then ends with webhookFailed exactly when the webhook timeout expires.
"""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Receive, Scope, Send

from percl.domain.enums import CallEndedReason, CallStatus
from percl.telephony.sim.model import PhoneStep
from percl.testing.harness import Harness
from percl.webhooks.faults import Fault, FaultKind
from tests.e2e.conftest import AGENT, CALLER, said

STUCK = "http://stuck.test"


async def never_answers(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.Event().wait()


@pytest.mark.parametrize("how", ["injected timeout", "app awaits forever"])
async def test_a_stuck_voice_url_holds_only_its_own_call(h: Harness, how: str) -> None:
    if how == "injected timeout":
        h.scripted_app(STUCK).on("/voice", [{"Say": {"text": "never heard"}}])
        h.platform.faults.inject(STUCK + "/", Fault(FaultKind.TIMEOUT))
    else:
        h.mount_asgi(STUCK, never_answers)
    stuck_number = await h.number_for_app("+13125550111", voice_url=STUCK + "/voice")

    app = h.scripted_app("http://app.test")
    app.on("/voice", [{"GetDigits": {"actionUrl": app.url("/menu"), "maxDigits": 1}}])
    app.on("/menu", lambda body: [{"Say": {"text": f"pressed {body['digits']}"}}, {"Hangup": {}}])
    app.on("/connect", [{"Say": {"text": "api call"}}, {"Hangup": {}}])
    number = await h.number_for_app("+13125550112", voice_url=app.url("/voice"))
    api_app = await h.create_application(call_connect_url=app.url("/connect"))

    t0 = h.clock.now()
    stuck = await h.sim_call(CALLER, stuck_number)
    healthy = [await h.sim_call(f"+1555020000{n}", number, [PhoneStep(after_ms=300, digits=str(n))])
               for n in range(5)]
    rest = h.rest
    made = await rest.post(f"/Accounts/{h.account.account_id}/Calls",
                           json={"from": "+13125550112", "to": AGENT,
                                 "applicationId": api_app.application_id})
    listed = await rest.get(f"/Accounts/{h.account.account_id}/Calls", params={"active": "true"})
    # the same FakeClock instant: the REST API answered while the stuck webhook is in flight
    assert h.clock.now() == t0
    assert made.status_code == 202 and listed.status_code == 200
    assert {stuck, *healthy} <= {c["callId"] for c in listed.json()["calls"]}
    assert sum(1 for w in h.webhooks if w.request_type == "inboundCall") == 5  # all but the stuck one

    for n, call_id in enumerate(healthy):
        call = await h.run_until_ended(call_id, limit_s=9)
        assert call.call_ended_reason is CallEndedReason.APP_HANGUP
        assert said(h.transcript(call_id)) == [f"pressed {n}"]
    api_call = await h.run_until_ended(made.json()["callId"], limit_s=9)
    assert said(h.transcript(api_call.call_id)) == ["api call"]
    assert h.clock.now() < t0 + 9
    assert (await h.call(stuck)).status is CallStatus.RINGING

    ended = await h.run_until_ended(stuck)
    assert ended.call_ended_reason is CallEndedReason.WEBHOOK_FAILED
    assert ended.end_time == pytest.approx(t0 + 10)
