"""Every failure renders as FreeClimb's error body; every POST carries a request id."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from percl.domain.records import Call
from percl.engine.ports import CallFilter

from .conftest import World, build_world


def calls_path(world: World) -> str:
    return f"/Accounts/{world.account.account_id}/Calls"


async def test_malformed_json_is_422_code_9(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        calls_path(world), content=b'{"from": "+1', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == 9 and "Invalid JSON" in body["message"]
    assert body["call"] == body["message"] and body["url"].endswith("#9")


async def test_missing_to_is_400_code_80_naming_to(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(calls_path(world), json={"from": "+13125550101"})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 80
    assert "to" in body["message"].split(": ")[-1].split(", ")
    assert body["details"]["field"] == "to"


async def test_wrong_type_is_400_code_3_naming_the_field(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        calls_path(world), json={"from": "+13125550101", "to": "+13125550102", "timeout": "30"}
    )
    assert r.status_code == 400
    assert r.json()["code"] == 3
    assert "timeout" in r.json()["message"] and r.json()["details"]["field"] == "timeout"


async def test_body_that_is_not_an_object_is_400(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(calls_path(world), json=[1, 2])
    assert r.status_code == 400 and r.json()["code"] == 3


async def test_json_without_content_type_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(calls_path(world), content=b'{"from":"+13125550101","to":"+13125550102"}')
    assert r.status_code == 202


async def test_unknown_route_is_404_code_1(client: httpx.AsyncClient) -> None:
    r = await client.get("/Nowhere/At/All")
    assert r.status_code == 404 and r.json()["code"] == 1


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient, world: World) -> None:
    r = await client.delete(f"/Accounts/{world.account.account_id}")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert r.json()["code"] == 3 and "DELETE" in r.json()["message"]


async def test_unexpected_exception_is_500_code_0() -> None:
    world = build_world()

    class BrokenStore(type(world.store)):  # type: ignore[misc]
        async def list_calls(self, account_id: str, flt: CallFilter) -> Sequence[Call]:
            raise RuntimeError("disk on fire")

    broken = BrokenStore()
    broken.accounts = world.store.accounts
    world.deps = type(world.deps)(**{**world.deps.__dict__, "store": broken})
    async with world.client() as c:
        r = await c.get(calls_path(world))
    assert r.status_code == 500
    assert r.json()["code"] == 0 and "fire" not in r.text


async def test_every_post_gets_a_request_id(client: httpx.AsyncClient, world: World) -> None:
    ok = await client.post(calls_path(world), json={"from": "+13125550101", "to": "+13125550102"})
    bad = await client.post(calls_path(world), json={})
    get = await client.get(calls_path(world))
    for r in (ok, bad):
        rid = r.headers["x-pulse-request-id"]
        assert rid.startswith("RQ") and len(rid) == 42 and r.headers["request-id"] == rid
    assert ok.headers["request-id"] != bad.headers["request-id"]
    assert "request-id" not in get.headers
    (_, request), *_ = world.calls.made
    assert request.request_id == ok.headers["request-id"]


async def test_non_e164_numbers_are_code_9_everywhere(client: httpx.AsyncClient, world: World) -> None:
    acc = world.account.account_id
    for path, body, field in (
        (f"/Accounts/{acc}/Calls", {"from": "+13125550100", "to": "3125550102"}, "to"),
        (f"/Accounts/{acc}/Calls", {"from": "+0123", "to": "+13125550102"}, "from"),
        (f"/Accounts/{acc}/IncomingPhoneNumbers", {"phoneNumber": "555-0100"}, "phoneNumber"),
    ):
        r = await client.post(path, json=body)
        got = r.json()
        assert (r.status_code, got["code"], got["details"]["field"]) == (400, 9, field), path
        assert "is not an E.164 phone number" in got["message"] and repr(body[field]) in got["message"]


async def test_validator_messages_do_not_leak_pydantic_wording(
    client: httpx.AsyncClient, world: World
) -> None:
    acc = world.account.account_id
    for path, body in (
        (f"/Accounts/{acc}/Calls", {"from": "+13125550100", "to": "+13125550102", "sendDigits": "1a"}),
        (f"/Accounts/{acc}/Applications", {"voiceUrl": "ftp://x"}),
    ):
        got = (await client.post(path, json=body)).json()
        assert got["code"] == 3 and "Value error" not in str(got), got


async def test_a_trailing_slash_is_served_directly_not_redirected(
    client: httpx.AsyncClient, world: World
) -> None:
    acc = world.account.account_id
    for path in (f"/Accounts/{acc}/Calls/", f"/Accounts/{acc}/Applications//", f"/Accounts/{acc}/"):
        r = await client.get(path, follow_redirects=False)
        assert r.status_code == 200, (path, r.status_code, r.headers.get("location"))
    listed = (await client.get(f"/Accounts/{acc}/Calls/")).json()
    assert listed["calls"] == [] and listed["total"] == 0
