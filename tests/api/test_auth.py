"""HTTP Basic authentication: the shared `authenticate` function and its use by the routes."""

from __future__ import annotations

import base64

import httpx
import pytest

from percl.api.auth import authenticate
from percl.errors import Unauthorized

from .conftest import World


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_authenticate_returns_the_account(world: World) -> None:
    acc = world.account
    assert await authenticate(world.store, basic(acc.account_id, acc.api_key)) == acc


async def test_scheme_is_case_insensitive(world: World) -> None:
    acc = world.account
    header = basic(acc.account_id, acc.api_key).replace("Basic", "basic")
    assert (await authenticate(world.store, header)).account_id == acc.account_id


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer abc",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":only-password").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
async def test_malformed_or_missing_header_is_401(world: World, header: str | None) -> None:
    with pytest.raises(Unauthorized) as info:
        await authenticate(world.store, header)
    assert info.value.status == 401 and info.value.code == 50
    assert info.value.headers["WWW-Authenticate"] == 'Basic realm="percl"'


async def test_wrong_key_and_unknown_account_are_the_same_401(world: World) -> None:
    acc = world.account
    with pytest.raises(Unauthorized) as wrong_key:
        await authenticate(
            world.store,
            basic(acc.account_id, acc.api_key[:-1] + ("1" if acc.api_key[-1] == "0" else "0")),
        )
    with pytest.raises(Unauthorized) as unknown:
        await authenticate(world.store, basic("AC" + "0" * 40, acc.api_key))
    assert wrong_key.value.message == unknown.value.message


async def test_route_without_credentials_answers_freeclimb_401(world: World) -> None:
    async with world.client() as c:
        c.auth = None
        r = await c.get(f"/Accounts/{world.account.account_id}")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="percl"'
    body = r.json()
    assert body["code"] == 50 and body["url"].endswith("#50") and body["message"]


async def test_wrong_password_on_a_route_is_401(world: World) -> None:
    acc = world.account
    async with world.client() as c:
        r = await c.get(f"/Accounts/{acc.account_id}", auth=httpx.BasicAuth(acc.account_id, "x"))
    assert r.status_code == 401


async def test_another_accounts_path_is_404(client: httpx.AsyncClient, world: World) -> None:
    for path in ("", "/Applications", "/Calls", "/IncomingPhoneNumbers", "/Logs"):
        r = await client.get(f"/Accounts/{world.other.account_id}{path}")
        assert r.status_code == 404, path
        assert r.json()["code"] == 1


async def test_available_numbers_need_credentials(world: World) -> None:
    async with world.client() as c:
        c.auth = None
        r = await c.get("/AvailablePhoneNumbers")
    assert r.status_code == 401
