"""GET /AvailablePhoneNumbers and /Accounts/{accountId}/IncomingPhoneNumbers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import INVENTORY, World


def numbers_path(world: World) -> str:
    return f"/Accounts/{world.account.account_id}/IncomingPhoneNumbers"


async def available(client: httpx.AsyncClient, **params: Any) -> list[str]:
    r = await client.get("/AvailablePhoneNumbers", params=params)
    assert r.status_code == 200, r.text
    return [n["phoneNumber"] for n in r.json()["availablePhoneNumbers"]]


async def test_available_numbers_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/AvailablePhoneNumbers", params={"phoneNumber": "^\\+1800"})
    first = r.json()["availablePhoneNumbers"][0]
    assert first == {
        "capabilities": {
            "voice": True,
            "sms": True,
            "tollFree": True,
            "tenDLC": False,
            "shortCode": False,
        },
        "campaignId": None,
        "phoneNumber": "+18005550105",
        "alias": "(800) 555-0105",
        "voiceEnabled": True,
        "smsEnabled": True,
        "region": "",
        "country": "US",
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"phoneNumber": "^\\+1312"}, ["+13125550101", "+13125550107"]),
        ({"region": "NY"}, ["+12125550103"]),
        ({"country": "CA"}, ["+14165550104"]),
        ({"smsEnabled": "false"}, ["+13125550102"]),
        ({"capabilities.tollFree": "true"}, ["+18005550105", "+18005550106"]),
        ({"phoneNumber": "0107$"}, ["+13125550107"]),
    ],
)
async def test_available_filters(
    client: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    assert await available(client, **params) == expected


async def test_default_filters_hide_sms_less_numbers(client: httpx.AsyncClient) -> None:
    numbers = await available(client)
    assert "+13125550102" not in numbers
    assert len(numbers) == len(INVENTORY.numbers) - 1


async def test_invalid_regex_is_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/AvailablePhoneNumbers", params={"phoneNumber": "+1312"})
    assert r.status_code == 400 and r.json()["details"]["field"] == "phoneNumber"


async def test_buy_removes_from_available_and_delete_returns_it(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(numbers_path(world), json={"phoneNumber": "+12125550103"})
    assert r.status_code == 200
    bought = r.json()
    assert (
        bought["phoneNumberId"].startswith("PN") and bought["accountId"] == world.account.account_id
    )
    assert bought["region"] == "NY" and bought["country"] == "US"
    assert bought["alias"] == "(212) 555-0103" and bought["applicationId"] is None
    assert set(bought["capabilities"]) == {"voice", "sms", "tollFree", "tenDLC", "shortCode"}
    assert "+12125550103" not in await available(client)
    # another account sees it as taken, too
    async with world.client(world.other) as other:
        assert "+12125550103" not in await available(other)
        r = await other.post(
            f"/Accounts/{world.other.account_id}/IncomingPhoneNumbers",
            json={"phoneNumber": "+12125550103"},
        )
        assert r.status_code == 409 and r.json()["code"] == 108
    r = await client.delete(f"{numbers_path(world)}/{bought['phoneNumberId']}")
    assert r.status_code == 204
    assert "+12125550103" in await available(client)


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"phoneNumber": "+19995550100"}, 400, "phoneNumber"),
        ({"phoneNumber": "3125550101"}, 400, "phoneNumber"),
        ({}, 400, "phoneNumber"),
        ({"phoneNumber": "+13125550101", "alias": "x" * 65}, 400, "alias"),
        ({"phoneNumber": "+13125550101", "applicationId": "nope"}, 400, "applicationId"),
    ],
)
async def test_buy_rejections(
    client: httpx.AsyncClient, world: World, payload: dict[str, str], status: int, field: str
) -> None:
    r = await client.post(numbers_path(world), json=payload)
    assert r.status_code == status
    assert r.json()["details"]["field"] == field


async def test_buy_with_foreign_application_is_404(world: World) -> None:
    async with world.client(world.other) as other:
        foreign = (
            await other.post(f"/Accounts/{world.other.account_id}/Applications", json={})
        ).json()["applicationId"]
    async with world.client() as c:
        r = await c.post(
            numbers_path(world), json={"phoneNumber": "+13125550101", "applicationId": foreign}
        )
    assert r.status_code == 404


async def test_list_update_and_filters(client: httpx.AsyncClient, world: World) -> None:
    app_id = (
        await client.post(f"/Accounts/{world.account.account_id}/Applications", json={})
    ).json()["applicationId"]
    a = (await client.post(numbers_path(world), json={"phoneNumber": "+13125550101"})).json()
    b = (await client.post(numbers_path(world), json={"phoneNumber": "+14165550104"})).json()
    r = await client.post(
        f"{numbers_path(world)}/{a['phoneNumberId']}",
        json={"applicationId": app_id, "alias": "front desk"},
    )
    assert r.status_code == 200
    assert r.json()["applicationId"] == app_id and r.json()["revision"] == 2

    async def listed(**params: Any) -> list[str]:
        r = await client.get(numbers_path(world), params=params)
        assert r.status_code == 200
        return [n["phoneNumberId"] for n in r.json()["incomingPhoneNumbers"]]

    # Bought at the same instant: listed by id, as the real stores order them.
    assert await listed() == sorted([a["phoneNumberId"], b["phoneNumberId"]])
    assert await listed(hasApplication="true") == [a["phoneNumberId"]]
    assert await listed(applicationId=app_id) == [a["phoneNumberId"]]
    assert await listed(alias="front desk") == [a["phoneNumberId"]]
    assert await listed(country="CA") == [b["phoneNumberId"]]
    assert await listed(phoneNumber="^\\+1416") == [b["phoneNumberId"]]
    got = await client.get(f"{numbers_path(world)}/{a['phoneNumberId']}")
    assert got.json()["alias"] == "front desk"
    # deleting the application unlinks the number
    await client.delete(f"/Accounts/{world.account.account_id}/Applications/{app_id}")
    assert await listed(hasApplication="true") == []


async def test_update_with_unknown_application_is_404(
    client: httpx.AsyncClient, world: World
) -> None:
    a = (await client.post(numbers_path(world), json={"phoneNumber": "+13125550101"})).json()
    r = await client.post(
        f"{numbers_path(world)}/{a['phoneNumberId']}", json={"applicationId": "AP" + "1" * 40}
    )
    assert r.status_code == 404


async def test_foreign_number_is_404(world: World) -> None:
    async with world.client(world.other) as other:
        pn = (
            await other.post(
                f"/Accounts/{world.other.account_id}/IncomingPhoneNumbers",
                json={"phoneNumber": "+13125550101"},
            )
        ).json()["phoneNumberId"]
    async with world.client() as c:
        assert (await c.get(f"{numbers_path(world)}/{pn}")).status_code == 404
        assert (await c.delete(f"{numbers_path(world)}/{pn}")).status_code == 404
    assert pn in world.store.numbers
