"""Messaging end to end: the Sms PerCL command inside a call, and messages between virtual phones
and owned numbers, with every webhook body parsed by the official SDK."""

from __future__ import annotations

from typing import Any

from freeclimb.models.message_delivery_webhook import MessageDeliveryWebhook
from freeclimb.models.message_status_webhook import MessageStatusWebhook
from freeclimb.models.webhook import Webhook

from percl.domain.enums import LogLevel, MessageDirection, MessageStatus
from percl.engine.ports import MessageFilter
from percl.testing.harness import Harness, ScriptedApp
from tests.e2e.conftest import CALLER, said

NUMBER, SECOND = "+13125550100", "+13125550101"


def _sms(app: ScriptedApp, **attrs: Any) -> dict[str, Any]:
    return {"Sms": {"to": CALLER, "from": NUMBER, "text": "Your code is 4711",
                    "notificationUrl": app.url("/sms-status"), **attrs}}


async def _call_with(h: Harness, script: list[dict[str, Any]]) -> tuple[ScriptedApp, str]:
    app = h.scripted_app()
    app.on("/voice", script)
    app.on("/sms-status", [])
    app.on("/sms", [])
    await h.number_for_app(NUMBER, voice_url=app.url("/voice"), sms_url=app.url("/sms"))
    return app, await h.sim_call(CALLER, NUMBER)


def _of_type(h: Harness, request_type: str) -> list[Any]:
    return [w for w in h.webhooks if w.request_type == request_type]


async def _messages(h: Harness, **flt: Any) -> list[Any]:
    return list(await h.store.list_messages(h.account.account_id, MessageFilter(**flt)))


async def test_sms_is_sent_while_the_call_goes_on(h: Harness) -> None:
    app = h.scripted_app()
    script = [_sms(app), {"Say": {"text": "I texted you the code"}}, {"Hangup": {}}]
    _, call_id = await _call_with(h, script)
    await h.run_until_ended(call_id)
    await h.advance(2)
    assert said(h.transcript(call_id)) == ["I texted you the code"]  # non-terminal
    (message,) = await _messages(h)
    assert message.status is MessageStatus.SENT and message.call_id == call_id
    assert (message.from_, message.to, message.text) == (NUMBER, CALLER, "Your code is 4711")
    statuses = _of_type(h, "messageStatus")
    assert [w.body["status"] for w in statuses] == ["sending", "sent"]
    for w in statuses:
        parsed = Webhook.from_dict(w.body)
        assert isinstance(parsed, MessageStatusWebhook)
        assert parsed.call_id == call_id and parsed.message_id == message.message_id
        assert parsed.direction == "outbound" and w.path == "/sms-status"
        assert w.request_id == (await h.call(call_id)).request_id
    phone = (await h.sim_rest.get(f"/phones/{CALLER}/messages")).json()["messages"]
    assert [(m["text"], m["direction"]) for m in phone] == [("Your code is 4711", "received")]


async def test_sms_goes_on_after_the_caller_hangs_up(h: Harness) -> None:
    app = h.scripted_app()
    _, call_id = await _call_with(h, [_sms(app), {"Hangup": {}}])
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is not None and call.call_ended_reason.value == "appHangup"
    (message,) = await _messages(h)
    assert message.status is not MessageStatus.SENT  # still travelling when the leg ended
    await h.advance(2)
    assert (await h.store.get_message(message.message_id)).status is MessageStatus.SENT


async def test_a_refused_sms_is_logged_and_the_call_goes_on(h: Harness) -> None:
    app = h.scripted_app()
    script = [_sms(app, **{"from": "+13125550199"}), _sms(app, text="x" * 161),
              {"Say": {"text": "Still here"}}, {"Hangup": {}}]
    _, call_id = await _call_with(h, script)
    await h.run_until_ended(call_id)
    await h.advance(2)
    assert said(h.transcript(call_id)) == ["Still here"]
    errors = [e for e in await h.logs(call_id) if e.level is LogLevel.ERROR]
    assert [e.message.split(":")[0] for e in errors] == ["Sms.from", "Sms.text"]
    assert errors[0].metadata == {"command": "Sms", "field": "from", "code": 46}
    assert await _messages(h) == [] and _of_type(h, "messageStatus") == []


async def test_sms_to_another_owned_number_arrives_at_its_sms_url(h: Harness) -> None:
    app = h.scripted_app()
    _, call_id = await _call_with(h, [_sms(app, to=SECOND), {"Pause": {"length": 5000}}])
    await h.number_for_app(SECOND, sms_url=app.url("/second-sms"))
    app.on("/second-sms", [])
    await h.run_until_ended(call_id)
    await h.advance(2)
    (delivery,) = _of_type(h, "messageDelivery")
    assert delivery.path == "/second-sms"
    parsed = Webhook.from_dict(delivery.body)
    assert isinstance(parsed, MessageDeliveryWebhook)
    assert (parsed.var_from, parsed.to, parsed.direction) == (NUMBER, SECOND, "inbound")
    (arrival,) = await _messages(h, direction=MessageDirection.INBOUND)
    assert parsed.uri == f"/Accounts/{h.account.account_id}/Messages/{arrival.message_id}"
    got = await h.rest.get(parsed.uri)
    assert got.status_code == 200 and got.json()["status"] == "received"


async def _phone_texts_number_with_fallback(h: Harness, app: ScriptedApp) -> None:
    app.on("/fallback", [])
    await h.number_for_app(NUMBER, sms_url=app.url("/sms"), sms_fallback_url=app.url("/fallback"))
    response = await h.sim_rest.post("/messages", json={"from": CALLER, "to": NUMBER, "text": "hi"})
    assert response.status_code == 201


async def test_sms_url_error_falls_back_once(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/sms", lambda body: (500, "boom"))
    await _phone_texts_number_with_fallback(h, app)
    await h.advance(1)
    deliveries = _of_type(h, "messageDelivery")
    assert [(w.path, w.status) for w in deliveries] == [("/sms", 500), ("/fallback", 200)]
    assert deliveries[0].raw == deliveries[1].raw
    levels = [e.level for e in await h.logs() if "messageDelivery" in e.message]
    assert levels == [LogLevel.WARNING, LogLevel.INFO]


async def test_sms_url_timeout_falls_back_after_the_webhook_timeout(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/sms", [])
    h.fault("/sms", "timeout")
    await _phone_texts_number_with_fallback(h, app)
    timeout_s = h.settings.webhook_timeout_ms / 1000
    await h.advance(timeout_s - 0.001)
    assert [w.path for w in _of_type(h, "messageDelivery")] == []  # still waiting for /sms
    await h.advance(0.001)
    deliveries = _of_type(h, "messageDelivery")
    assert [(w.path, w.status) for w in deliveries] == [("/sms", None), ("/fallback", 200)]
