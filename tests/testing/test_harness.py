"""The async kit (`Harness`): the same phones and waits as `Percl`, awaited."""

from __future__ import annotations

import asyncio

import pytest

from percl.domain.enums import CallStatus
from percl.testing import Harness, hang_up, press, speak

CALLER = "+15550100001"


async def test_async_flow_with_scripted_phone(percl_harness: Harness) -> None:
    h = percl_harness
    app = h.scripted_app()
    app.on("/voice", [{"GetDigits": {"actionUrl": app.url("/pin"), "maxDigits": 4,
                                     "prompts": [{"Say": {"text": "Your PIN?"}}]}}])
    app.on("/pin", lambda body: [{"Say": {"text": f"PIN {body['digits']}"}}, {"Hangup": {}}])
    number = await h.number_for(app, voice_path="/voice")
    call = await h.phone(CALLER).calls(number, press("1234", after_ms=2000),
                                       speak("hi", after_ms=5000), hang_up(after_ms=9000))
    await call.expect_say("Your PIN?")
    await call.expect_say("PIN 1234")
    record = await call.expect_hangup(reason="appHangup")
    assert record.status is CallStatus.COMPLETED
    assert call.transcript.pressed == "1234" and call.transcript.spoken == []  # the app hung up before 5 s
    assert h.leg(call.call_id) is call and h.phone(CALLER) is h.phone(CALLER)


async def test_number_for_goes_through_the_rest_api(percl_harness: Harness) -> None:
    h = percl_harness
    app = h.scripted_app("http://shop.test")
    number = await h.number_for(app, voice_path="/in", voice_fallback_path="/oops",
                                status_path="/st", connect_path="/c")
    numbers = (await h.rest.get(f"/Accounts/{h.account.account_id}/IncomingPhoneNumbers")).json()
    (owned,) = numbers["incomingPhoneNumbers"]
    assert owned["phoneNumber"] == number
    application = (await h.rest.get(
        f"/Accounts/{h.account.account_id}/Applications/{owned['applicationId']}")).json()
    assert (application["voiceUrl"], application["voiceFallbackUrl"], application["statusCallbackUrl"],
            application["callConnectUrl"]) == ("http://shop.test/in", "http://shop.test/oops",
                                               "http://shop.test/st", "http://shop.test/c")
    second = await h.number_for(app)
    assert second != number
    with pytest.raises(RuntimeError, match="answered 409"):
        await h.number_for(app, number=number)


async def test_logs_and_media_model(percl_harness: Harness) -> None:
    h = percl_harness
    app = h.scripted_app()
    app.on("/voice", (500, "boom"))
    call = await h.phone(CALLER).calls(await h.number_for(app))
    await call.expect_hangup(reason="webhookFailed")
    messages = [entry.message for entry in await h.logs(call.call_id)]
    assert any("HTTP 500" in m for m in messages)
    assert len(await h.logs()) >= len(messages)


async def test_two_phones_call_at_once(percl_harness: Harness) -> None:
    # gather() of two calls: two waits settle the clock at the same time.
    h = percl_harness
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "hello"}}, {"Hangup": {}}])
    number = await h.number_for(app)
    first, second = await asyncio.wait_for(
        asyncio.gather(h.phone(CALLER).calls(number), h.phone("+15550100002").calls(number)), 10)
    await asyncio.wait_for(asyncio.gather(first.expect_hangup(), second.expect_hangup()), 10)
    assert first.call_id != second.call_id
