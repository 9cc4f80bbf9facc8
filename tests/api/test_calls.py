"""/Accounts/{accountId}/Calls."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from percl.domain.enums import AnsweredBy, CallDirection, CallStatus
from percl.domain.records import Call

from .conftest import World

A, B = "+13125550101", "+13125550102"


def calls_path(world: World) -> str:
    return f"/Accounts/{world.account.account_id}/Calls"


async def test_make_call_is_202_queued_and_forwards_the_request(
    client: httpx.AsyncClient, world: World
) -> None:
    app_id = "AP" + "a" * 40
    r = await client.post(
        calls_path(world),
        json={
            "from": A,
            "to": B,
            "applicationId": app_id,
            "sendDigits": "12{3}#*",
            "ifMachine": "redirect",
            "ifMachineUrl": "https://app.test/machine",
            "timeout": 45,
            "privacyMode": True,
        },
    )
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "queued" and body["direction"] == "outboundAPI"
    assert body["from"] == A and body["to"] == B and body["applicationId"] == app_id
    ((account, request),) = world.calls.made
    assert account == world.account
    assert (request.from_, request.to, request.send_digits) == (A, B, "12{3}#*")
    assert (request.if_machine, request.if_machine_url) == ("redirect", "https://app.test/machine")
    assert (request.timeout, request.privacy_mode) == (45, True)
    assert request.request_id == r.headers["x-pulse-request-id"]


@pytest.mark.parametrize(
    ("extra", "field", "code"),
    [
        ({"to": "3125550102"}, "to", 9),  # a number that is not E.164: code 9, as /Messages
        ({"from": "+0123"}, "from", 9),
        ({"ifMachine": "voicemail"}, "ifMachine", 3),
        ({"ifMachine": "redirect"}, "ifMachineUrl", 80),
        ({"ifMachine": "hangup", "ifMachineUrl": "http://m.test/"}, "ifMachineUrl", 3),
        ({"ifMachineUrl": "http://m.test/"}, "ifMachineUrl", 3),
        ({"timeout": 0}, "timeout", 3),
        ({"timeout": 1.5}, "timeout", 3),
        ({"sendDigits": "12a"}, "sendDigits", 3),
        ({"sendDigits": "1{0}"}, "sendDigits", 3),
        ({"privacyMode": "yes"}, "privacyMode", 3),
        ({"applicationId": "AP123"}, "applicationId", 3),
        ({"parentCallId": "XX" + "0" * 40}, "parentCallId", 3),
    ],
)
async def test_make_call_shape_errors(
    client: httpx.AsyncClient, world: World, extra: dict[str, Any], field: str, code: int
) -> None:
    r = await client.post(calls_path(world), json={"from": A, "to": B, **extra})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == code and r.json()["details"]["field"] == field
    assert field in r.json()["message"]
    assert world.calls.made == []


async def test_call_result_fields(client: httpx.AsyncClient, world: World) -> None:
    t0 = world.clock.now()
    call = Call(
        call_id="CA" + "1" * 40,
        account_id=world.account.account_id,
        from_=A,
        to=B,
        direction=CallDirection.INBOUND,
        status=CallStatus.COMPLETED,
        phone_number_id="PN" + "2" * 40,
        answered_by=AnsweredBy.HUMAN,
        start_time=t0,
        connect_time=t0 + 3,
        end_time=t0 + 19.4,
        date_created=t0,
        date_updated=t0 + 19.4,
        revision=4,
    )
    await world.store.put_call(call)
    body = (await client.get(f"{calls_path(world)}/{call.call_id}")).json()
    assert body["duration"] == 19 and body["connectDuration"] == 16
    assert body["startTime"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    assert body["endTimeISO"] == "2026-01-01T00:00:19.400Z"
    assert body["answeredBy"] == "human" and body["webRTC"] is False
    assert body["parentCallId"] is None and body["callerName"] is None
    assert body["subresourceUris"] == {
        "logs": f"{calls_path(world)}/{call.call_id}/Logs",
        "recordings": f"{calls_path(world)}/{call.call_id}/Recordings",
    }
    assert body["revision"] == 4 and body["phoneNumberId"] == "PN" + "2" * 40


async def test_live_call_has_null_times(client: httpx.AsyncClient, world: World) -> None:
    body = (await client.post(calls_path(world), json={"from": A, "to": B})).json()
    for key in ("startTime", "startTimeISO", "connectTime", "endTime", "duration", "answeredBy"):
        assert body[key] is None, key
    assert body["dateCreatedISO"] == "2026-01-01T00:00:00.000Z"


async def _seed(world: World) -> list[Call]:
    t0 = world.clock.now()
    app1, app2 = "AP" + "1" * 40, "AP" + "2" * 40
    calls = [
        Call(f"CA{i:040x}", world.account.account_id, A, to, CallDirection.OUTBOUND_API,
             status=status, application_id=app, parent_call_id=parent,
             start_time=t0 + i * 60, end_time=(t0 + i * 60 + 30) if status.is_final else None,
             date_created=t0 + i)
        for i, (to, status, app, parent) in enumerate(
            [
                (B, CallStatus.COMPLETED, app1, None),
                ("+12125550103", CallStatus.IN_PROGRESS, app2, None),
                (B, CallStatus.RINGING, app1, "CA" + "0" * 40),
                (B, CallStatus.FAILED, None, None),
            ]
        )
    ]  # fmt: skip
    for c in calls:
        await world.store.put_call(c)
    other = dataclasses.replace(
        calls[0], call_id="CA" + "f" * 40, account_id=world.other.account_id
    )
    await world.store.put_call(other)
    return calls


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [3, 2, 1, 0]),
        ({"active": "true"}, [2, 1]),
        ({"to": B}, [3, 2, 0]),
        ({"status": "failed"}, [3]),
        ({"parentCallId": "CA" + "0" * 40}, [2]),
        ({"applicationId": ["AP" + "1" * 40, "AP" + "2" * 40]}, [2, 1, 0]),
        ({"applicationId": "AP" + "2" * 40}, [1]),
        ({"startTime": "2026-01-01 00:02:00"}, [3, 2]),
        ({"endTime": "2026-01-01 00:01:00"}, [0]),
    ],
)
async def test_list_filters_newest_first(
    client: httpx.AsyncClient, world: World, params: dict[str, Any], expected: list[int]
) -> None:
    calls = await _seed(world)
    r = await client.get(calls_path(world), params=params)
    assert r.status_code == 200, r.text
    assert [c["callId"] for c in r.json()["calls"]] == [calls[i].call_id for i in expected]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "ended"}, "status"),
        ({"active": "maybe"}, "active"),
        ({"startTime": "2026-01-01"}, "startTime"),
        ({"applicationId": "AP1"}, "applicationId"),
        ({"applicationId": [f"AP{i:040x}" for i in range(17)]}, "applicationId"),
    ],
)
async def test_list_rejects_bad_filters(
    client: httpx.AsyncClient, world: World, params: dict[str, Any], field: str
) -> None:
    r = await client.get(calls_path(world), params=params)
    assert r.status_code == 400 and r.json()["details"]["field"] == field


async def test_update_live_call_is_202_empty(client: httpx.AsyncClient, world: World) -> None:
    call_id = (await client.post(calls_path(world), json={"from": A, "to": B})).json()["callId"]
    r = await client.post(f"{calls_path(world)}/{call_id}", json={"status": "canceled"})
    assert r.status_code == 202 and r.content == b""
    assert world.calls.updates == [(call_id, "canceled")]
    assert (await client.get(f"{calls_path(world)}/{call_id}")).json()["status"] == "canceled"
    # a finished call can be read but not updated
    r = await client.post(f"{calls_path(world)}/{call_id}", json={"status": "completed"})
    assert r.status_code == 404


async def test_update_rejects_other_statuses(client: httpx.AsyncClient, world: World) -> None:
    call_id = (await client.post(calls_path(world), json={"from": A, "to": B})).json()["callId"]
    r = await client.post(f"{calls_path(world)}/{call_id}", json={"status": "inProgress"})
    assert r.status_code == 400 and r.json()["details"]["field"] == "status"
    r = await client.post(f"{calls_path(world)}/{call_id}", json={})
    assert r.status_code == 400 and r.json()["code"] == 80


async def test_unknown_and_foreign_calls_are_404(client: httpx.AsyncClient, world: World) -> None:
    await _seed(world)
    foreign = "CA" + "f" * 40
    assert (await client.get(f"{calls_path(world)}/{foreign}")).status_code == 404
    r = await client.post(f"{calls_path(world)}/{foreign}", json={"status": "completed"})
    assert r.status_code == 404 and world.calls.updates == []
    assert (await client.get(f"{calls_path(world)}/CA{'9' * 40}/Logs")).status_code == 404
