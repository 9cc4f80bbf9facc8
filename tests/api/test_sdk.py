"""Every operation through the official Python SDK (freeclimb 5.4.1) against a real uvicorn.

The SDK deserializes only on the exact status code it expects and its models are strict, so a
passing call here means the wire format is right, not merely that the route exists.
"""

from __future__ import annotations

import freeclimb
import pytest
from freeclimb.exceptions import BadRequestException, NotFoundException, UnauthorizedException

from percl.domain.enums import CallStatus as DomainCallStatus
from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry

from .conftest import SDK_PAGE_SIZE, SdkServer

A, B = "+13125550101", "+13125550102"


@pytest.fixture
def sdk(sdk_server: SdkServer) -> tuple[SdkServer, freeclimb.DefaultApi, str]:
    account = sdk_server.new_account()
    return sdk_server, sdk_server.api(account), account.account_id


def test_accounts(sdk: tuple[SdkServer, freeclimb.DefaultApi, str]) -> None:
    _, api, account_id = sdk
    result = api.get_an_account()
    assert isinstance(result, freeclimb.AccountResult)
    assert result.account_id == account_id and result.status == freeclimb.AccountStatus.ACTIVE
    assert api.update_an_account(freeclimb.AccountRequest(alias="main", label="ops")) is None
    again = api.get_an_account()
    assert (again.alias, again.label, again.revision) == ("main", "ops", 2)


def test_applications(sdk: tuple[SdkServer, freeclimb.DefaultApi, str]) -> None:
    _, api, account_id = sdk
    created = api.create_an_application(
        freeclimb.ApplicationRequest(alias="ivr", call_connect_url="https://app.test/connect")
    )
    assert isinstance(created, freeclimb.ApplicationResult)
    assert created.account_id == account_id and created.revision == 1
    app_id = created.application_id
    assert api.get_an_application(app_id).call_connect_url == "https://app.test/connect"
    updated = api.update_an_application(
        app_id, freeclimb.ApplicationRequest(voice_url="https://app.test/voice")
    )
    assert updated.voice_url == "https://app.test/voice"
    assert updated.call_connect_url == "https://app.test/connect" and updated.revision == 2
    listed = api.list_applications(alias="ivr")
    assert isinstance(listed, freeclimb.ApplicationList)
    assert [a.application_id for a in listed.applications] == [app_id]
    assert api.delete_an_application(app_id) is None
    with pytest.raises(NotFoundException):
        api.get_an_application(app_id)


def test_numbers(sdk: tuple[SdkServer, freeclimb.DefaultApi, str]) -> None:
    _, api, account_id = sdk
    avail = api.list_available_numbers(phone_number="^\\+1212", capabilities_voice=True)
    assert isinstance(avail, freeclimb.AvailableNumberList)
    assert [n.phone_number for n in avail.available_phone_numbers] == ["+12125550103"]
    assert avail.available_phone_numbers[0].capabilities.voice is True
    bought = api.buy_a_phone_number(
        freeclimb.BuyIncomingNumberRequest(phone_number="+12125550103", alias="ny")
    )
    assert isinstance(bought, freeclimb.IncomingNumberResult)
    assert bought.account_id == account_id and bought.capabilities.toll_free is False
    pn = bought.phone_number_id
    assert api.get_an_incoming_number(pn).phone_number == "+12125550103"
    updated = api.update_an_incoming_number(pn, freeclimb.IncomingNumberRequest(alias="NYC"))
    assert updated.alias == "NYC" and updated.revision == 2
    listed = api.list_incoming_numbers(region="NY")
    assert isinstance(listed, freeclimb.IncomingNumberList)
    assert [n.phone_number_id for n in listed.incoming_phone_numbers] == [pn]
    assert api.list_available_numbers(phone_number="^\\+1212").total == 0
    assert api.delete_an_incoming_number(pn) is None
    assert api.list_available_numbers(phone_number="^\\+1212").total == 1


def test_calls(sdk: tuple[SdkServer, freeclimb.DefaultApi, str]) -> None:
    server, api, account_id = sdk
    result = api.make_a_call(
        freeclimb.MakeCallRequest(
            var_from=A, to=B, call_connect_url="https://app.test/connect", timeout=20
        )
    )
    assert isinstance(result, freeclimb.CallResult)
    assert result.status == freeclimb.CallStatus.QUEUED
    assert result.direction == freeclimb.CallDirection.OUTBOUND_API
    assert result.account_id == account_id and result.date_created_iso is not None
    call_id = result.call_id
    got = api.get_a_call(call_id)
    assert got.var_from == A and got.subresource_uris.logs.endswith(f"{call_id}/Logs")
    listed = api.list_calls(active=True, to=B)
    assert isinstance(listed, freeclimb.CallList)
    assert [c.call_id for c in listed.calls] == [call_id]
    logs = api.list_call_logs(call_id)
    assert isinstance(logs, freeclimb.LogList) and logs.logs == []
    update = freeclimb.UpdateCallRequest(status=freeclimb.UpdateCallRequestStatus.CANCELED)
    assert api.update_a_live_call(call_id, update) is None
    assert api.get_a_call(call_id).status == freeclimb.CallStatus.CANCELED
    stored = server.world.store.calls[call_id]
    assert stored.status is DomainCallStatus.CANCELED
    with pytest.raises(NotFoundException):
        api.update_a_live_call(call_id, update)


def test_logs(sdk: tuple[SdkServer, freeclimb.DefaultApi, str]) -> None:
    server, api, account_id = sdk
    server.world.store.logs.append(
        (
            -1,
            LogEntry(1_700_000_000_000_000, LogLevel.WARNING, account_id, "hello", "RQ" + "1" * 40),
        )
    )
    all_logs = api.list_all_account_logs()
    assert isinstance(all_logs, freeclimb.LogList)
    (entry,) = all_logs.logs
    assert entry.timestamp == 1_700_000_000_000_000 and entry.level == freeclimb.LogLevel.WARNING
    filtered = api.filter_logs(freeclimb.FilterLogsRequest(pql='level = "warning"'))
    assert [e.message for e in filtered.logs] == ["hello"]
    assert api.filter_logs(freeclimb.FilterLogsRequest(pql='level = "error"')).logs == []


def test_pagination_across_three_pages(sdk: tuple[SdkServer, freeclimb.DefaultApi, str]) -> None:
    _, api, _ = sdk
    made = {
        api.create_an_application(freeclimb.ApplicationRequest(alias=f"p{i}")).application_id
        for i in range(2 * SDK_PAGE_SIZE + 1)
    }
    page = api.list_applications()
    seen = [a.application_id for a in page.applications]
    pages = [page.page]
    while page.next_page_uri:
        page = api.get_next_page(page)
        assert isinstance(page, freeclimb.ApplicationList)
        pages.append(page.page)
        seen += [a.application_id for a in page.applications]
    assert pages == [0, 1, 2] and page.num_pages == 3 and page.total == len(made)
    assert set(seen) == made and len(seen) == len(made)


def test_wrong_password_is_unauthorized(sdk_server: SdkServer) -> None:
    account = sdk_server.new_account()
    with pytest.raises(UnauthorizedException) as info:
        sdk_server.api(account, api_key="0" * 40).get_an_account()
    assert info.value.status == 401


def test_other_account_is_not_found(sdk_server: SdkServer) -> None:
    mine, theirs = sdk_server.new_account(), sdk_server.new_account()
    api = freeclimb.DefaultApi(sdk_server.api(mine).api_client, account_id=theirs.account_id)
    with pytest.raises(NotFoundException):
        api.get_an_account()
    with pytest.raises(NotFoundException):
        api.list_calls()


def test_missing_to_names_the_field(sdk: tuple[SdkServer, freeclimb.DefaultApi, str]) -> None:
    _, api, _ = sdk
    # The SDK itself refuses a missing `to`; send a raw request through its client instead.
    client = api.api_client
    method, url, headers, body, _ = client.param_serialize(
        method="POST",
        resource_path="/Accounts/{accountId}/Calls",
        path_params={"accountId": api.account_id},
        header_params={"Content-Type": "application/json", "Accept": "application/json"},
        body={"from": A},
        auth_settings=["fc"],
    )
    response = client.call_api(method, url, headers, body)
    response.read()
    with pytest.raises(BadRequestException) as info:
        client.response_deserialize(response, {"202": "CallResult"})
    assert info.value.status == 400
    assert '"code":80' in info.value.body.replace(" ", "") and "to" in info.value.body
