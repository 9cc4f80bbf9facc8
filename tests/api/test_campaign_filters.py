"""The registry's numbers give incoming numbers and outbound messages their campaigns: rendered
(`campaignId`, `brandId`, `tfn`) and filtered (`hasCampaign`, `tfn.campaignId`; `campaignId`,
`brandId`, `is10DLC`), through the official SDK on the whole platform."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from percl.config import Settings, from_sources
from percl.domain.enums import MessageDirection, MessageStatus
from percl.domain.ids import PHONE_NUMBER
from percl.domain.records import IncomingNumber, Message
from percl.errors import ConfigError
from percl.testing.harness import Harness

from .campaign_samples import TOLL_FREE, registry_document
from .rest_kit import check_schema

TEN_DLC, OTHER_10DLC, TOLL, PLAIN = "+13125550100", "+13125550101", "+18005550105", "+13125550102"
FAR = "+15550100001"


@pytest_asyncio.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    file = tmp_path / "campaigns.json"
    file.write_text(json.dumps(registry_document(**{
        TEN_DLC: "CX4RT8A", OTHER_10DLC: "CY5SU9B", TOLL: TOLL_FREE["campaignId"]})))
    async with Harness(settings=Settings(db=":memory:", campaigns_file=str(file))) as harness:
        for n, phone in enumerate((TEN_DLC, OTHER_10DLC, TOLL, PLAIN)):
            await harness.store.put_number(IncomingNumber(
                harness.ids.new(PHONE_NUMBER), harness.account.account_id, phone,
                toll_free=phone == TOLL, date_created=float(n)))
            await harness.store.put_message(Message(
                f"SM{n:040x}", harness.account.account_id, phone, FAR, "hi",
                MessageDirection.OUTBOUND, status=MessageStatus.SENT, date_created=float(n)))
        await harness.store.put_message(Message(  # inbound to a 10DLC number: no campaign
            f"SM{9:040x}", harness.account.account_id, FAR, TEN_DLC, "hello",
            MessageDirection.INBOUND, status=MessageStatus.RECEIVED, date_created=9.0))
        yield harness


async def _sdk(call: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(call, *args, **kwargs)


async def test_incoming_numbers_show_and_filter_their_campaigns(h: Harness) -> None:
    api = h.freeclimb_api()
    listed = await _sdk(api.list_incoming_numbers)
    shown = {n.phone_number: (n.campaign_id, n.tfn.campaign_id if n.tfn else None)
             for n in listed.incoming_phone_numbers}
    assert shown == {TEN_DLC: ("CX4RT8A", None), OTHER_10DLC: ("CY5SU9B", None),
                     TOLL: (None, TOLL_FREE["campaignId"]), PLAIN: (None, None)}
    with_campaign = await _sdk(api.list_incoming_numbers, has_campaign=True)
    assert {n.phone_number for n in with_campaign.incoming_phone_numbers} == {TEN_DLC, OTHER_10DLC, TOLL}
    without = await _sdk(api.list_incoming_numbers, has_campaign=False)
    assert [n.phone_number for n in without.incoming_phone_numbers] == [PLAIN]
    toll = await _sdk(api.list_incoming_numbers, tfn_campaign_id=TOLL_FREE["campaignId"])
    assert [n.phone_number for n in toll.incoming_phone_numbers] == [TOLL]
    body = (await h.rest.get(f"/Accounts/{h.account.account_id}/IncomingPhoneNumbers")).json()
    check_schema(body, "IncomingNumberList")


async def test_outbound_messages_carry_their_numbers_campaign(h: Harness) -> None:
    api = h.freeclimb_api()
    every = await _sdk(api.list_sms_messages)
    shown = {(m.var_from, m.direction): (m.brand_id, m.campaign_id, m.tfn.campaign_id if m.tfn else None)
             for m in every.messages}
    assert shown[(TEN_DLC, "outbound")] == ("BZ3KQ0P", "CX4RT8A", None)
    assert shown[(TOLL, "outbound")] == (None, None, TOLL_FREE["campaignId"])
    assert shown[(PLAIN, "outbound")] == (None, None, None)
    assert shown[(FAR, "inbound")] == (None, None, None)
    by_campaign = await _sdk(api.list_sms_messages, campaign_id="CX4RT8A")
    assert [m.var_from for m in by_campaign.messages] == [TEN_DLC]
    by_brand = await _sdk(api.list_sms_messages, brand_id="BOTHER1")
    assert [m.var_from for m in by_brand.messages] == [OTHER_10DLC]
    ten_dlc = await _sdk(api.list_sms_messages, is10_dlc=True)
    assert [m.var_from for m in ten_dlc.messages] == [OTHER_10DLC, TEN_DLC]
    toll = await _sdk(api.list_sms_messages, campaign_id=TOLL_FREE["campaignId"])
    assert [m.var_from for m in toll.messages] == [TOLL]
    one = (await h.rest.get(f"/Accounts/{h.account.account_id}/Messages/SM{0:040x}")).json()
    check_schema(one, "MessageResult")
    assert one["brandId"] == "BZ3KQ0P"


async def test_a_messages_export_filters_by_campaign(h: Harness) -> None:
    answer = await h.rest.post(f"/Accounts/{h.account.account_id}/Exports", json={
        "resourceType": "Messages", "output": {"type": "csv"}, "format": ["from", "brandId"],
        "query": {"is10DLC": True}})
    export_id = answer.json()["exportId"]
    await h.clock.settle()
    csv_text = (await h.rest.get(f"/Accounts/{h.account.account_id}/Exports/{export_id}/Download")).text
    assert csv_text.splitlines() == ["from,brandId", f"{OTHER_10DLC},BOTHER1", f"{TEN_DLC},BZ3KQ0P"]


async def _send_from(h: Harness, phone: str) -> Any:
    return await h.rest.post(f"/Accounts/{h.account.account_id}/Messages",
                             json={"from": phone, "to": FAR, "text": "hi"})


async def test_numbers_without_a_campaign_send_unless_campaigns_are_required(h: Harness) -> None:
    # Locally a number without a campaign may send (the default) ...
    assert (await _send_from(h, PLAIN)).status_code == 202


async def test_with_campaigns_required_only_numbers_with_one_send(tmp_path: Path) -> None:
    file = tmp_path / "campaigns.json"
    file.write_text(json.dumps(registry_document(**{TEN_DLC: "CX4RT8A", TOLL: TOLL_FREE["campaignId"]})))
    settings = Settings(db=":memory:", campaigns_file=str(file), sms_require_campaign=True)
    async with Harness(settings=settings) as h:
        for n, phone in enumerate((TEN_DLC, TOLL, PLAIN)):
            await h.store.put_number(IncomingNumber(
                h.ids.new(PHONE_NUMBER), h.account.account_id, phone,
                toll_free=phone == TOLL, date_created=float(n)))
        assert (await _send_from(h, TEN_DLC)).status_code == 202
        assert (await _send_from(h, TOLL)).status_code == 202
        refused = await _send_from(h, PLAIN)
        assert refused.status_code == 400
        body = refused.json()
        assert body["code"] == 10 and "campaign" in body["message"]
        assert body["details"]["field"] == "from"


def test_the_setting_reads_yes_and_no() -> None:
    assert from_sources({"PERCL_SMS_REQUIRE_CAMPAIGN": "1"}).sms_require_campaign is True
    assert from_sources({"PERCL_SMS_REQUIRE_CAMPAIGN": "off"}).sms_require_campaign is False
    assert from_sources({}).sms_require_campaign is False
    with pytest.raises(ConfigError, match="PERCL_SMS_REQUIRE_CAMPAIGN"):
        from_sources({"PERCL_SMS_REQUIRE_CAMPAIGN": "maybe"})
