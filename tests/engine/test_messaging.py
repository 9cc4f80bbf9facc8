"""MessagingService over a real in-memory store, a FakeClock and a recording webhook sender.

The sender builds every body with the real payload builder and parses it with the official SDK,
so a field the carrier forgot or mistyped fails here, next to the behaviour that sent it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from freeclimb.models.webhook import Webhook

from percl.domain.enums import LogLevel, MessageDirection, MessageStatus, RequestType
from percl.domain.ids import APPLICATION, PHONE_NUMBER, SequentialIds
from percl.domain.records import Account, Application, IncomingNumber, Message
from percl.engine.context import EngineContext
from percl.engine.messaging import MessagingService, MessagingSettings
from percl.engine.ports import MessageFilter, WebhookOutcome, WebhookRequest, WebhookResult
from percl.engine.service import SendMessageRequest
from percl.errors import BadRequest, NotFound
from percl.percl.commands import Sms
from percl.percl.events import Proceed
from percl.store.sqlite import SqliteStore
from percl.testing.clock import FakeClock
from percl.testing.tracked import Tracked
from percl.webhooks.payloads import build_body

A, B, C = "+13125550100", "+13125550101", "+13125550102"
PHONE = "+15550100001"
STATUS_URL = "http://app.test/status"


@dataclass
class Webhooks:
    """A WebhookSender that keeps every request and the body the dispatcher would POST."""

    requests: list[WebhookRequest] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    broken: bool = False

    async def send(self, request: WebhookRequest) -> WebhookResult:
        if self.broken:
            raise RuntimeError("dispatcher bug")
        body = build_body(request)
        assert Webhook.from_dict(body) is not None  # the SDK parses it
        self.requests.append(request)
        self.bodies.append(body)
        return WebhookResult(WebhookOutcome.OK, request.url, 200)

    def statuses(self) -> list[str]:
        return [b["status"] for b in self.bodies if b["requestType"] == "messageStatus"]


@dataclass
class Logs:
    entries: list[tuple[LogLevel, str, str, dict[str, Any]]] = field(default_factory=list)

    async def log(self, level: LogLevel, account_id: str, message: str, *,
                  call_id: str | None = None, request_id: str | None = None,
                  metadata: Any = None) -> None:
        self.entries.append((level, account_id, message, dict(metadata or {})))

    def messages(self, level: LogLevel) -> list[str]:
        return [m for lv, _, m, _ in self.entries if lv is level]


class Network:
    """Only what the carrier asks of the phone network."""

    def __init__(self) -> None:
        self.unreachable: set[str] = set()

    def is_reachable(self, number: str) -> bool:
        return number not in self.unreachable


@dataclass
class World:
    clock: FakeClock
    ids: SequentialIds
    store: Any
    webhooks: Webhooks
    logs: Logs
    network: Network
    ctx: EngineContext
    service: MessagingService
    account: Account
    other: Account

    async def number(self, phone: str, account: Account | None = None, *, sms: bool = True,
                     sms_url: str | None = "http://app.test/sms",
                     fallback: str | None = None, app: bool = True) -> IncomingNumber:
        owner = account or self.account
        app_id = None
        if app:
            app_id = self.ids.new(APPLICATION)
            await self.store.put_application(Application(
                app_id, owner.account_id, sms_url=sms_url, sms_fallback_url=fallback))
        number = IncomingNumber(self.ids.new(PHONE_NUMBER), owner.account_id, phone,
                                application_id=app_id, sms_enabled=sms)
        await self.store.put_number(number)
        return number

    async def send(self, from_: str = A, to: str = PHONE, text: str = "hello",
                   **kw: Any) -> Message:
        kw.setdefault("notification_url", STATUS_URL)
        return await self.service.send_message(
            self.account, SendMessageRequest(from_=from_, to=to, text=text, **kw))

    async def get(self, message_id: str) -> Message:
        message = await self.store.get_message(message_id)
        assert message is not None
        return message


def _account(n: int) -> Account:
    return Account(f"AC{n:040d}", "k" * 40, "sigsec_" + "0" * 40)


@pytest_asyncio.fixture
async def w() -> AsyncIterator[World]:
    clock = FakeClock()
    store = Tracked(SqliteStore.for_path(":memory:"), clock.tracker)
    await store.open()
    ids, webhooks, logs, network = SequentialIds("msg"), Webhooks(), Logs(), Network()
    ctx = EngineContext(store=store, clock=clock, ids=ids, telephony=network,  # type: ignore[arg-type]
                        webhooks=webhooks, logs=logs)
    account, other = _account(1), _account(2)
    for acc in (account, other):
        await store.put_account(acc)
    service = MessagingService(ctx, MessagingSettings(carrier_delay_ms=1000))
    async with service:
        yield World(clock, ids, store, webhooks, logs, network, ctx, service, account, other)
    await store.close()


async def test_a_message_to_a_virtual_phone_goes_queued_sending_sent(w: World) -> None:
    await w.number(A)
    message = await w.send()
    assert message.status is MessageStatus.QUEUED and message.direction is MessageDirection.OUTBOUND
    assert (await w.get(message.message_id)).status is MessageStatus.QUEUED
    await w.clock.settle()
    assert (await w.get(message.message_id)).status is MessageStatus.SENDING
    assert w.webhooks.statuses() == ["sending"]
    await w.clock.advance(0.999)
    assert (await w.get(message.message_id)).status is MessageStatus.SENDING
    await w.clock.advance(0.001)
    final = await w.get(message.message_id)
    assert final.status is MessageStatus.SENT and final.revision == 3
    assert w.webhooks.statuses() == ["sending", "sent"]
    body = w.webhooks.bodies[-1]
    assert body["direction"] == "outbound" and body["callId"] is None
    assert body["messageId"] == message.message_id and body["to"] == PHONE
    assert w.webhooks.requests[-1].request_id == message.request_id is not None
    assert not w.service.carrier.in_flight


async def test_no_notification_url_no_status_webhooks(w: World) -> None:
    await w.number(A)
    message = await w.send(notification_url=None)
    await w.clock.advance(2)
    assert (await w.get(message.message_id)).status is MessageStatus.SENT
    assert w.webhooks.bodies == []


async def test_unreachable_destination_is_undelivered(w: World) -> None:
    await w.number(A)
    w.network.unreachable.add(PHONE)
    message = await w.send()
    await w.clock.advance(2)
    assert (await w.get(message.message_id)).status is MessageStatus.UNDELIVERED
    assert w.webhooks.statuses() == ["sending", "undelivered"]
    assert any("not reachable" in m for m in w.logs.messages(LogLevel.WARNING))


async def test_owned_number_without_sms_is_undelivered_and_gets_nothing(w: World) -> None:
    await w.number(A)
    await w.number(B, sms=False)
    message = await w.send(to=B)
    await w.clock.advance(2)
    assert (await w.get(message.message_id)).status is MessageStatus.UNDELIVERED
    inbound = await w.store.list_messages(w.account.account_id,
                                          MessageFilter(direction=MessageDirection.INBOUND))
    assert inbound == []


async def test_sender_released_before_sending_fails(w: World) -> None:
    number = await w.number(A)
    message = await w.send()
    await w.store.delete_number(number.phone_number_id)
    await w.clock.advance(2)
    assert (await w.get(message.message_id)).status is MessageStatus.FAILED
    assert w.webhooks.statuses() == ["sending", "failed"]
    assert any("failed" in m and A in m for m in w.logs.messages(LogLevel.ERROR))


async def test_between_two_numbers_of_one_account_it_arrives_as_inbound(w: World) -> None:
    await w.number(A)
    receiver = await w.number(B, sms_url="http://app.test/sms", fallback="http://app.test/sms-fb")
    message = await w.send(to=B, media_urls=("https://cdn.test/cat.jpg",))
    await w.clock.advance(2)
    assert (await w.get(message.message_id)).status is MessageStatus.SENT
    (arrival,) = await w.store.list_messages(w.account.account_id,
                                             MessageFilter(direction=MessageDirection.INBOUND))
    assert arrival.status is MessageStatus.RECEIVED and arrival.to == B and arrival.from_ == A
    assert arrival.application_id == receiver.application_id
    assert arrival.phone_number_id == receiver.phone_number_id
    assert arrival.media_urls == ("https://cdn.test/cat.jpg",)
    assert arrival.request_id == message.request_id  # one account: the request id correlates
    delivery = w.webhooks.requests[-1]
    assert delivery.request_type is RequestType.MESSAGE_DELIVERY
    assert (delivery.url, delivery.fallback_url) == ("http://app.test/sms", "http://app.test/sms-fb")
    body = w.webhooks.bodies[-1]
    assert body["direction"] == "inbound" and body["status"] == "received"
    assert body["uri"] == f"/Accounts/{w.account.account_id}/Messages/{arrival.message_id}"
    # the final status is reported before the delivery is posted
    assert [b["requestType"] for b in w.webhooks.bodies] == [
        "messageStatus", "messageStatus", "messageDelivery"]


async def test_to_another_account_it_arrives_there_with_its_own_request_id(w: World) -> None:
    await w.number(A)
    await w.number(B, w.other)
    message = await w.send(to=B)
    await w.clock.advance(2)
    (arrival,) = await w.store.list_messages(w.other.account_id, MessageFilter())
    assert arrival.account_id == w.other.account_id and arrival.request_id != message.request_id
    assert w.webhooks.requests[-1].account == w.other
    assert await w.store.list_messages(
        w.account.account_id, MessageFilter(direction=MessageDirection.INBOUND)) == []


@pytest.mark.parametrize(
    ("kw", "code", "field_name"),
    [
        ({"to": "5550100001"}, 9, "to"),
        ({"from_": "+1312"}, 9, "from"),
        ({"text": ""}, 3, "text"),
        ({"text": "x" * 161}, 3, "text"),
        ({"text": "bad \ud800"}, 3, "text"),  # a lone surrogate is no character
        ({"from_": B}, 46, "from"),
        ({"from_": C}, 10, "from"),
        ({"media_urls": ("ftp://cdn.test/a.png",)}, 3, "mediaUrls[0]"),
    ],
)
async def test_refusals_are_bad_requests_naming_the_field(
    w: World, kw: dict[str, Any], code: int, field_name: str
) -> None:
    await w.number(A)
    await w.number(B, w.other)
    await w.number(C, sms=False)
    with pytest.raises(BadRequest) as info:
        await w.send(**kw)
    assert (info.value.code, info.value.details["field"]) == (code, field_name)
    assert await w.store.list_messages(w.account.account_id, MessageFilter()) == []


async def test_a_phone_texting_an_owned_number(w: World) -> None:
    number = await w.number(A, sms_url="http://app.test/sms")
    arrival = await w.service.receive_from_phone(PHONE, A, "hi there 😀")
    assert arrival.status is MessageStatus.RECEIVED and arrival.segment_count == 1
    assert arrival.phone_number_id == number.phone_number_id
    await w.clock.settle()
    (body,) = w.webhooks.bodies
    assert body["requestType"] == "messageDelivery" and body["text"] == "hi there 😀"
    assert body["from"] == PHONE and body["messageId"] == arrival.message_id


async def test_a_phone_texting_badly(w: World) -> None:
    await w.number(C, sms=False)
    with pytest.raises(NotFound):
        await w.service.receive_from_phone(PHONE, A, "hi")
    with pytest.raises(BadRequest) as info:
        await w.service.receive_from_phone(PHONE, C, "hi")
    assert info.value.code == 10
    with pytest.raises(BadRequest) as info:
        await w.service.receive_from_phone(PHONE, C, "")
    assert info.value.details["field"] == "text"


@pytest.mark.parametrize(
    ("app", "sms_url", "problem"),
    [(False, None, "has no application"), (True, None, "has no smsUrl")],
)
async def test_an_arrival_nobody_can_take_is_logged(
    w: World, app: bool, sms_url: str | None, problem: str
) -> None:
    await w.number(A, app=app, sms_url=sms_url)
    arrival = await w.service.receive_from_phone(PHONE, A, "hello?")
    await w.clock.settle()
    assert w.webhooks.bodies == []
    assert (await w.get(arrival.message_id)).status is MessageStatus.RECEIVED
    (error,) = w.logs.messages(LogLevel.ERROR)
    assert problem in error and arrival.message_id in error


async def test_a_carrier_bug_is_logged_and_the_service_goes_on(w: World) -> None:
    await w.number(A)
    w.webhooks.broken = True
    first = await w.send()
    await w.clock.advance(2)
    assert any("failed: internal error carrying it: RuntimeError" in m
               for m in w.logs.messages(LogLevel.ERROR))
    w.webhooks.broken = False
    second = await w.send(notification_url=None)
    await w.clock.advance(2)
    assert (await w.get(second.message_id)).status is MessageStatus.SENT
    assert (await w.get(first.message_id)).status is MessageStatus.FAILED
    assert not w.service.carrier.in_flight


async def test_stopping_fails_what_is_still_travelling(w: World) -> None:
    await w.number(A)
    message = await w.send()
    await w.clock.settle()
    await w.service.__aexit__(None, None, None)
    stopped = await w.get(message.message_id)
    assert stopped.status is MessageStatus.FAILED and stopped.revision == 3
    assert any("percl stopped" in m for m in w.logs.messages(LogLevel.ERROR))
    with pytest.raises(RuntimeError):
        await w.send()
    await w.service.__aenter__()  # the fixture leaves it again


# ------------------------------------------------------------------------- the Sms runner


@dataclass
class Call:
    call_id: str = "CA" + "7" * 40
    request_id: str = "RQ" + "8" * 40


@dataclass
class Session:
    """What the Sms runner uses of a CallSession."""

    account: Account
    call: Call = field(default_factory=Call)
    logged: list[tuple[LogLevel, str, dict[str, Any]]] = field(default_factory=list)

    async def log(self, level: LogLevel, message: str, metadata: Any = None) -> None:
        self.logged.append((level, message, dict(metadata or {})))


def _sms(**attrs: Any) -> Sms:
    return Sms.model_validate({"to": PHONE, "from": A, "text": "your code is 1234",
                               "notificationUrl": STATUS_URL, **attrs})


async def test_sms_runner_queues_and_proceeds_at_once(w: World) -> None:
    await w.number(A)
    session = Session(w.account)
    outcome = await w.service.run_sms(session, _sms())  # type: ignore[arg-type]
    assert outcome == Proceed()
    ((level, _text, meta),) = session.logged
    assert level is LogLevel.INFO and meta["command"] == "Sms"
    await w.clock.advance(2)
    message = await w.get(meta["messageId"])
    assert message.status is MessageStatus.SENT and message.call_id == session.call.call_id
    assert message.request_id == session.call.request_id
    assert {b["callId"] for b in w.webhooks.bodies} == {session.call.call_id}
    assert w.webhooks.statuses() == ["sending", "sent"]


async def test_sms_with_non_ascii_text_is_sent_as_ucs2(w: World) -> None:
    await w.number(A)
    session = Session(w.account)
    text = "Wait\u00a0for it\u2026 5\u20ac"  # a no-break space, an ellipsis, a euro sign
    assert await w.service.run_sms(session, _sms(text=text)) == Proceed()  # type: ignore[arg-type]
    ((level, _text, meta),) = session.logged
    assert level is LogLevel.INFO
    await w.clock.advance(2)
    message = await w.get(meta["messageId"])
    assert message.status is MessageStatus.SENT and message.text == text
    assert message.segment_count == 1  # UCS-2: up to 70 characters in one message


@pytest.mark.parametrize(
    ("attrs", "field_name", "code"),
    [({"from": B}, "from", 46), ({"text": "x" * 161}, "text", 3), ({"text": "\udc00"}, "text", 3)],
)
async def test_sms_runner_refusal_is_a_log_and_the_call_goes_on(
    w: World, attrs: dict[str, Any], field_name: str, code: int
) -> None:
    await w.number(A)
    session = Session(w.account)
    assert await w.service.run_sms(session, _sms(**attrs)) == Proceed()  # type: ignore[arg-type]
    ((level, text, meta),) = session.logged
    assert level is LogLevel.ERROR and text.startswith(f"Sms.{field_name}: ")
    assert "call goes on" in text and meta == {"command": "Sms", "field": field_name, "code": code}
    await w.clock.advance(2)
    assert await w.store.list_messages(w.account.account_id, MessageFilter()) == []


async def test_an_inbound_delivery_bug_is_logged_and_the_message_stays_received(w: World) -> None:
    await w.number(A)
    w.webhooks.broken = True
    arrival = await w.service.receive_from_phone(PHONE, A, "hi")
    await w.clock.settle()
    (error,) = w.logs.messages(LogLevel.ERROR)
    assert "was not delivered: internal error" in error and arrival.message_id in error
    assert (await w.get(arrival.message_id)).status is MessageStatus.RECEIVED
