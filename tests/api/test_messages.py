"""/Accounts/{accountId}/Messages over the whole platform (Harness, FakeClock), checked with the
official SDK: send (202), get, list with filters and pages, and every refusal's error body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import freeclimb
import pytest
import pytest_asyncio
from freeclimb.exceptions import BadRequestException, NotFoundException

from percl.domain.enums import MessageDirection, MessageStatus
from percl.domain.ids import PHONE_NUMBER
from percl.domain.records import IncomingNumber, Message
from percl.testing.clock import DEFAULT_START
from percl.testing.harness import Harness

A, B, NO_SMS = "+13125550100", "+13125550101", "+13125550102"
PHONE = "+15550100001"
DAY = 86_400.0


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        app = harness.scripted_app()
        app.on("/sms", [])
        app.on("/status", [])
        await harness.number_for_app(A, sms_url=app.url("/sms"))
        await harness.number_for_app(B, sms_url=app.url("/sms"))
        await harness.store.put_number(IncomingNumber(
            harness.ids.new(PHONE_NUMBER), harness.account.account_id, NO_SMS, sms_enabled=False))
        yield harness


def _path(h: Harness, suffix: str = "") -> str:
    return f"/Accounts/{h.account.account_id}/Messages{suffix}"


async def _sdk(call: Any, *args: Any, **kwargs: Any) -> Any:
    """The SDK blocks: run it in a thread while the loop serves its requests."""
    return await asyncio.to_thread(call, *args, **kwargs)


async def test_send_answers_202_queued_as_the_sdk_expects(h: Harness) -> None:
    api = h.freeclimb_api()
    request = freeclimb.MessageRequest(var_from=A, to=PHONE, text="Your code is 1234",
                                       notification_url="http://app.test/status")
    result = await _sdk(api.send_an_sms_message, request)
    assert isinstance(result, freeclimb.MessageResult)  # the SDK only parses an exact 202
    assert result.status == freeclimb.MessageStatus.QUEUED
    assert (result.var_from, result.to, result.direction) == (A, PHONE, "outbound")
    assert result.account_id == h.account.account_id and result.message_id.startswith("SM")
    assert result.uri == _path(h, f"/{result.message_id}")
    assert result.segment_count == 1 and result.media_urls == [] and result.revision == 1
    assert result.notification_url == "http://app.test/status"
    number = await h.store.find_number(A)
    assert (result.phone_number_id, result.application_id) == (
        number.phone_number_id, number.application_id)


async def test_get_follows_the_message_to_sent(h: Harness) -> None:
    api = h.freeclimb_api()
    sent = await _sdk(api.send_an_sms_message,
                      freeclimb.MessageRequest(var_from=A, to=PHONE, text="hi"))
    await h.advance(2)
    got = await _sdk(api.get_an_sms_message, sent.message_id)
    assert isinstance(got, freeclimb.MessageResult)
    assert got.status == freeclimb.MessageStatus.SENT and got.revision == 3
    assert got.date_created == "Thu, 01 Jan 2026 00:00:00 GMT"
    assert got.date_updated == "Thu, 01 Jan 2026 00:00:01 GMT"


async def test_a_lone_surrogate_is_refused_naming_text(h: Harness) -> None:
    raw = f'{{"from":"{A}","to":"{PHONE}","text":"bad \\ud800"}}'.encode()  # not a character
    response = await h.rest.post(_path(h), content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert (response.json()["code"], response.json()["details"]["field"]) == (3, "text")
    assert (await h.rest.get(_path(h))).json()["total"] == 0


async def test_non_ascii_text_is_sent_and_counted_in_ucs2_segments(h: Harness) -> None:
    api = h.freeclimb_api()
    text = "Your table is ready\u00a0\u2026 see you soon"  # a no-break space and an ellipsis
    sent = await _sdk(api.send_an_sms_message, freeclimb.MessageRequest(var_from=A, to=PHONE, text=text))
    assert isinstance(sent, freeclimb.MessageResult) and sent.segment_count == 1
    assert sent.text == text
    long = "\u2026" * 71  # 71 UCS-2 characters: two parts of at most 67
    sent = await _sdk(api.send_an_sms_message, freeclimb.MessageRequest(var_from=A, to=PHONE, text=long))
    assert sent.segment_count == 2
    await h.advance(2)
    got = await _sdk(api.get_an_sms_message, sent.message_id)
    assert got.status == freeclimb.MessageStatus.SENT and got.text == long


async def test_an_mms_keeps_its_media(h: Harness) -> None:
    response = await h.rest.post(_path(h), json={
        "from": A, "to": PHONE, "text": "", "mediaUrls": ["https://cdn.test/cat.jpg"]})
    assert response.status_code == 202
    body = freeclimb.MessageResult.from_dict(response.json())
    assert body.media_urls == ["https://cdn.test/cat.jpg"] and body.segment_count == 1


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"from": A, "to": PHONE}, 80, "text"),
        ({"from": A, "text": "hi"}, 80, "to"),
        ({"from": A, "to": "5550100001", "text": "hi"}, 9, "to"),
        ({"from": "A", "to": PHONE, "text": "hi"}, 9, "from"),
        ({"from": A, "to": PHONE, "text": "x" * 161}, 3, "text"),
        ({"from": A, "to": PHONE, "text": ""}, 3, "text"),
        ({"from": A, "to": PHONE, "text": 5}, 3, "text"),
        ({"from": A, "to": PHONE, "text": "hi", "notificationUrl": "/status"}, 3, "notificationUrl"),
        ({"from": A, "to": PHONE, "text": "hi", "mediaUrls": "https://cdn.test/a.png"}, 3,
         "mediaUrls"),
        ({"from": A, "to": PHONE, "text": "hi", "mediaUrls": ["cdn.test/a.png"]}, 3, "mediaUrls[0]"),
        ({"from": "+13125550199", "to": PHONE, "text": "hi"}, 46, "from"),
        ({"from": NO_SMS, "to": PHONE, "text": "hi"}, 10, "from"),
    ],
)
async def test_refusals_are_400_with_the_code_and_field(
    h: Harness, body: dict[str, Any], code: int, field: str
) -> None:
    response = await h.rest.post(_path(h), json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert (error["code"], error["details"]["field"]) == (code, field)
    assert error["url"].endswith(f"#{code}") and error["message"]
    listed = await h.rest.get(_path(h))
    assert listed.json()["total"] == 0


async def test_the_sdk_sees_a_refusal_as_bad_request(h: Harness) -> None:
    api = h.freeclimb_api()
    with pytest.raises(BadRequestException) as info:
        await _sdk(api.send_an_sms_message,
                   freeclimb.MessageRequest(var_from="+13125550199", to=PHONE, text="hi"))
    assert '"code":46' in info.value.body.replace(" ", "")


async def test_get_unknown_or_foreign_is_404(h: Harness) -> None:
    other = "AC" + "9" * 40
    foreign = Message("SM" + "1" * 40, other, A, PHONE, "theirs", MessageDirection.OUTBOUND)
    await h.store.put_message(foreign)
    api = h.freeclimb_api()
    for message_id in (foreign.message_id, "SM" + "2" * 40):
        with pytest.raises(NotFoundException):
            await _sdk(api.get_an_sms_message, message_id)
    assert (await h.rest.get(_path(h))).json()["total"] == 0


# ----------------------------------------------------------------------------- listing


async def _put(h: Harness, n: int, *, at: float, direction: MessageDirection,
               from_: str = A, to: str = PHONE) -> Message:
    message = Message(
        message_id=f"SM{n:040x}", account_id=h.account.account_id, from_=from_, to=to,
        text=f"message {n}", direction=direction,
        status=MessageStatus.SENT if direction is MessageDirection.OUTBOUND
        else MessageStatus.RECEIVED,
        date_created=at, date_updated=at,
    )
    await h.store.put_message(message)
    return message


async def _ids(h: Harness, **params: Any) -> list[str]:
    response = await h.rest.get(_path(h), params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    freeclimb.MessagesList.from_dict(body)
    return [m["messageId"] for m in body["messages"]]


async def test_filters(h: Harness) -> None:
    t0 = DEFAULT_START  # 2026-01-01 00:00:00 GMT
    out1 = await _put(h, 1, at=t0 + 10, direction=MessageDirection.OUTBOUND)
    in2 = await _put(h, 2, at=t0 + 70, direction=MessageDirection.INBOUND, from_=PHONE, to=B)
    out3 = await _put(h, 3, at=t0 + DAY + 5, direction=MessageDirection.OUTBOUND, to="+15550100002")
    ids = (out1.message_id, in2.message_id, out3.message_id)
    assert await _ids(h) == list(reversed(ids))  # newest first
    assert await _ids(h, direction="inbound") == [in2.message_id]
    assert await _ids(h, direction="outbound", to=PHONE) == [out1.message_id]
    assert await _ids(h, **{"from": PHONE}) == [in2.message_id]
    assert await _ids(h, beginTime="2026-01-01 00:01:00") == [out3.message_id, in2.message_id]
    assert await _ids(h, endTime="2026-01-01 00:01:09") == [out1.message_id]
    assert await _ids(h, endTime="2026-01-01 00:01:10") == [in2.message_id, out1.message_id]
    assert await _ids(h, endTime="2026-01-01 00:00") == [out1.message_id]  # the whole minute
    assert await _ids(h, endTime="2026-01-01") == [in2.message_id, out1.message_id]  # whole day
    assert await _ids(h, beginTime="2026-01-02", endTime="2026-01-02") == [out3.message_id]
    assert await _ids(h, campaignId="c1") == [] and await _ids(h, is10DLC="true") == []
    assert await _ids(h, is10DLC="false") == list(reversed(ids))


@pytest.mark.parametrize(
    ("params", "field"),
    [({"beginTime": "yesterday"}, "beginTime"), ({"endTime": "2026-13-01"}, "endTime"),
     ({"direction": "sideways"}, "direction")],
)
async def test_bad_filters_are_400_naming_them(h: Harness, params: dict[str, str], field: str) -> None:
    response = await h.rest.get(_path(h), params=params)
    assert response.status_code == 400
    assert response.json()["details"]["field"] == field


async def test_pages_through_the_sdk_keep_the_filter(h: Harness) -> None:
    t0 = DEFAULT_START
    outbound = [await _put(h, i, at=t0 + i, direction=MessageDirection.OUTBOUND)
                for i in range(0, 500, 2)]
    for i in range(1, 60, 2):
        await _put(h, i, at=t0 + i, direction=MessageDirection.INBOUND, from_=PHONE, to=A)
    api = h.freeclimb_api()
    page = await _sdk(api.list_sms_messages, direction=freeclimb.MessageDirection.OUTBOUND)
    assert isinstance(page, freeclimb.MessagesList)
    assert (page.total, page.num_pages, page.page_size) == (250, 3, 100)
    seen, pages = [m.message_id for m in page.messages], [page.page]
    while page.next_page_uri:
        assert "direction=outbound" in page.next_page_uri
        page = await _sdk(api.get_next_page, page)
        assert isinstance(page, freeclimb.MessagesList)
        pages.append(page.page)
        seen += [m.message_id for m in page.messages]
    assert pages == [0, 1, 2] and (page.start, page.end) == (200, 249)
    assert seen == [m.message_id for m in reversed(outbound)]
