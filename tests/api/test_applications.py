"""/Accounts/{accountId}/Applications."""

from __future__ import annotations

import httpx
import pytest

from .conftest import World


def apps_path(world: World) -> str:
    return f"/Accounts/{world.account.account_id}/Applications"


async def test_create_is_201_with_every_field(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        apps_path(world),
        json={"alias": "IVR", "voiceUrl": "https://app.test/voice", "unknownKey": 1},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["applicationId"].startswith("AP") and len(body["applicationId"]) == 42
    assert body["accountId"] == world.account.account_id
    assert body["alias"] == "IVR" and body["voiceUrl"] == "https://app.test/voice"
    for key in ("voiceFallbackUrl", "callConnectUrl", "statusCallbackUrl", "smsUrl"):
        assert body[key] is None
    assert body["uri"] == f"{apps_path(world)}/{body['applicationId']}"
    assert body["revision"] == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"voiceUrl": "/relative"}, "voiceUrl"),
        ({"callConnectUrl": "ftp://x.test/a"}, "callConnectUrl"),
        ({"alias": "x" * 65}, "alias"),
        ({"smsUrl": 5}, "smsUrl"),
    ],
)
async def test_create_rejects_bad_fields(
    client: httpx.AsyncClient, world: World, payload: dict[str, object], field: str
) -> None:
    r = await client.post(apps_path(world), json=payload)
    assert r.status_code == 400
    assert r.json()["details"]["field"] == field and field in r.json()["message"]


async def test_update_is_partial_and_bumps_revision(
    client: httpx.AsyncClient, world: World
) -> None:
    created = (
        await client.post(
            apps_path(world),
            json={"alias": "a", "voiceUrl": "http://v.test/", "smsUrl": "http://s.test/"},
        )
    ).json()
    await world.clock.advance(5)
    r = await client.post(
        f"{apps_path(world)}/{created['applicationId']}",
        json={"callConnectUrl": "http://c.test/", "smsUrl": None},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["alias"] == "a" and body["voiceUrl"] == "http://v.test/"
    assert body["callConnectUrl"] == "http://c.test/" and body["smsUrl"] is None
    assert body["revision"] == 2 and body["dateUpdated"] != body["dateCreated"]


async def test_list_filters_alias_exactly(client: httpx.AsyncClient, world: World) -> None:
    for alias in ("sales", "sales2", "support"):
        await client.post(apps_path(world), json={"alias": alias})
    r = await client.get(apps_path(world), params={"alias": "sales"})
    assert [a["alias"] for a in r.json()["applications"]] == ["sales"]
    assert r.json()["total"] == 1
    all_apps = (await client.get(apps_path(world))).json()
    assert all_apps["total"] == 3


async def test_get_delete_and_404(client: httpx.AsyncClient, world: World) -> None:
    app_id = (await client.post(apps_path(world), json={})).json()["applicationId"]
    assert (await client.get(f"{apps_path(world)}/{app_id}")).status_code == 200
    r = await client.delete(f"{apps_path(world)}/{app_id}")
    assert r.status_code == 204 and r.content == b""
    assert (await client.get(f"{apps_path(world)}/{app_id}")).status_code == 404
    assert (await client.delete(f"{apps_path(world)}/{app_id}")).status_code == 404


async def test_another_accounts_application_is_404(world: World) -> None:
    async with world.client(world.other) as other:
        other_path = f"/Accounts/{world.other.account_id}/Applications"
        app_id = (await other.post(other_path, json={})).json()["applicationId"]
    async with world.client() as mine:
        assert (await mine.get(f"{apps_path(world)}/{app_id}")).status_code == 404
        assert (await mine.post(f"{apps_path(world)}/{app_id}", json={})).status_code == 404
        assert (await mine.delete(f"{apps_path(world)}/{app_id}")).status_code == 404
    assert app_id in world.store.applications
