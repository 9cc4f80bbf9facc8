"""The sim API's messaging routes: a virtual phone texts an owned number, and reads its messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from freeclimb.models.message_delivery_webhook import MessageDeliveryWebhook
from freeclimb.models.webhook import Webhook

from percl.domain.enums import MessageDirection, MessageStatus
from percl.domain.ids import PHONE_NUMBER
from percl.domain.records import Account, IncomingNumber, Message
from percl.simapi import SimApiDeps, create_sim_api
from percl.telephony.sim.control import NetworkControl
from percl.testing.harness import Harness

A, NO_SMS, FOREIGN = "+13125550100", "+13125550102", "+13125550103"
PHONE, PHONE2 = "+15550100001", "+15550100002"
OTHER = Account("AC" + "9" * 40, "k" * 40, "sigsec_" + "9" * 40)


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        app = harness.scripted_app()
        app.on("/sms", [])
        await harness.number_for_app(A, sms_url=app.url("/sms"))
        store = harness.store
        await store.put_number(IncomingNumber(
            harness.ids.new(PHONE_NUMBER), harness.account.account_id, NO_SMS, sms_enabled=False))
        await store.put_account(OTHER)
        await store.put_number(IncomingNumber(harness.ids.new(PHONE_NUMBER), OTHER.account_id,
                                              FOREIGN))
        yield harness


async def _text(h: Harness, body: dict[str, Any]) -> httpx.Response:
    return await h.sim_rest.post("/messages", json=body)


async def test_a_phone_texts_an_owned_number(h: Harness) -> None:
    response = await _text(h, {"from": PHONE, "to": A, "text": "STOP",
                               "mediaUrls": ["https://cdn.test/selfie.jpg"]})
    assert response.status_code == 201
    message_id = response.json()["messageId"]
    stored = await h.store.get_message(message_id)
    assert stored.status is MessageStatus.RECEIVED and stored.direction is MessageDirection.INBOUND
    assert stored.account_id == h.account.account_id
    assert stored.media_urls == ("https://cdn.test/selfie.jpg",)
    await h.clock.settle()
    (delivery,) = [w for w in h.webhooks if w.request_type == "messageDelivery"]
    assert delivery.path == "/sms"
    parsed = Webhook.from_dict(delivery.body)
    assert isinstance(parsed, MessageDeliveryWebhook)
    assert (parsed.var_from, parsed.to, parsed.text, parsed.status) == (PHONE, A, "STOP", "received")
    assert delivery.body["messageId"] == message_id


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"from": A, "to": A, "text": "hi"}, 400, 3, "from"),  # an owned number is no phone
        ({"from": PHONE, "to": "+13125550150", "text": "hi"}, 404, 1, "to"),  # nobody's number
        ({"from": PHONE, "to": FOREIGN, "text": "hi"}, 404, 1, "to"),  # another account's
        ({"from": "15550100001", "to": A, "text": "hi"}, 400, 9, "from"),
        ({"from": PHONE, "to": NO_SMS, "text": "hi"}, 400, 10, "to"),
        ({"from": PHONE, "to": A, "text": ""}, 400, 3, "text"),
        ({"from": PHONE, "to": A, "text": "x" * 1601}, 400, 3, "text"),
        ({"from": PHONE, "to": A, "text": "hi", "mediaUrls": ["nope"]}, 400, 3, "mediaUrls[0]"),
    ],
)
async def test_refusals(
    h: Harness, body: dict[str, Any], status: int, code: int, field: str
) -> None:
    response = await _text(h, body)
    assert response.status_code == status, response.text
    error = response.json()
    assert (error["code"], error["details"]["field"]) == (code, field)


@pytest.mark.parametrize(
    "body", [{"from": PHONE, "to": A, "text": 5}, {"from": PHONE, "to": A, "txt": "hi"}])
async def test_the_body_is_strict(h: Harness, body: dict[str, Any]) -> None:
    response = await _text(h, body)
    assert response.status_code == 400 and "Invalid message" in response.json()["message"]


async def test_without_credentials_it_is_401(h: Harness) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=h.platform.asgi),
                                 base_url="http://percl.test/sim/v1") as anonymous:
        response = await anonymous.post("/messages", json={"from": PHONE, "to": A, "text": "hi"})
    assert response.status_code == 401


async def test_without_a_messaging_service_it_is_503(h: Harness) -> None:
    bare = create_sim_api(SimApiDeps(store=h.store, sim=NetworkControl(h.platform.sim, h.store)))
    auth = (h.account.account_id, h.account.api_key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare),
                                 base_url="http://percl.test", auth=auth) as client:
        response = await client.post("/messages", json={"from": PHONE, "to": A, "text": "hi"})
    assert response.status_code == 503 and response.json()["code"] == 55


async def test_a_phone_lists_what_it_got_and_sent_oldest_first(h: Harness) -> None:
    rest = h.rest
    path = f"/Accounts/{h.account.account_id}/Messages"
    first = (await _text(h, {"from": PHONE, "to": A, "text": "hello"})).json()["messageId"]
    await h.advance(5)
    reply = (await rest.post(path, json={"from": A, "to": PHONE, "text": "hi back"})).json()
    await rest.post(path, json={"from": A, "to": PHONE2, "text": "not for you"})
    listed = (await h.sim_rest.get(f"/phones/{PHONE}/messages")).json()
    assert [m["messageId"] for m in listed["messages"]] == [first]  # the reply is still queued
    await h.advance(2)
    listed = (await h.sim_rest.get(f"/phones/{PHONE}/messages")).json()
    assert listed["number"] == PHONE
    got, answer = listed["messages"]
    assert (got["messageId"], got["direction"], got["text"]) == (first, "sent", "hello")
    assert got["time"] == "2026-01-01T00:00:00.000Z"
    assert (answer["messageId"], answer["direction"]) == (reply["messageId"], "received")
    assert (answer["from"], answer["to"], answer["segmentCount"]) == (A, PHONE, 1)
    assert answer["time"] == "2026-01-01T00:00:06.000Z"  # when it was delivered


async def test_another_accounts_messages_are_invisible(h: Harness) -> None:
    theirs = Message("SM" + "5" * 40, OTHER.account_id, FOREIGN, PHONE, "psst",
                     MessageDirection.OUTBOUND, MessageStatus.SENT)
    await h.store.put_message(theirs)
    listed = (await h.sim_rest.get(f"/phones/{PHONE}/messages")).json()
    assert listed["messages"] == []


@pytest.mark.parametrize(("number", "code"), [(A, 3), ("5550100001", 9)])
async def test_only_virtual_phones_have_a_list(h: Harness, number: str, code: int) -> None:
    response = await h.sim_rest.get(f"/phones/{number}/messages")
    assert response.status_code == 400 and response.json()["code"] == code
