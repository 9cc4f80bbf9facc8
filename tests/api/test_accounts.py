"""GET / POST /Accounts/{accountId}."""

from __future__ import annotations

import httpx

from .conftest import World


async def test_get_account(client: httpx.AsyncClient, world: World) -> None:
    acc = world.account
    r = await client.get(f"/Accounts/{acc.account_id}")
    assert r.status_code == 200
    body = r.json()
    assert body["accountId"] == acc.account_id and body["apiKey"] == acc.api_key
    assert body["type"] == "full" and body["status"] == "active" and body["revision"] == 1
    assert body["uri"] == f"/Accounts/{acc.account_id}"
    assert body["subresourceUris"]["calls"] == f"/Accounts/{acc.account_id}/Calls"
    for name in ("conferences", "queues", "messages"):
        assert body["subresourceUris"][name] == f"/Accounts/{acc.account_id}/{name.capitalize()}"
    assert body["dateCreated"].endswith(" GMT")


async def test_update_account_is_204_and_partial(client: httpx.AsyncClient, world: World) -> None:
    acc = world.account
    await world.clock.advance(60)
    r = await client.post(f"/Accounts/{acc.account_id}", json={"alias": "Main"})
    assert r.status_code == 204 and r.content == b""
    r = await client.post(f"/Accounts/{acc.account_id}", json={"label": "ops"})
    stored = world.store.accounts[acc.account_id]
    assert (stored.alias, stored.label, stored.revision) == ("Main", "ops", 3)
    assert stored.date_updated == acc.date_created + 60
    body = (await client.get(f"/Accounts/{acc.account_id}")).json()
    assert body["dateUpdated"] != body["dateCreated"]


async def test_update_account_rejects_non_string(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(f"/Accounts/{world.account.account_id}", json={"alias": 5})
    assert r.status_code == 400 and r.json()["details"]["field"] == "alias"
