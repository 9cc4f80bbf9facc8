"""POST /Calls is a plain route (api/calls.make_call) that reads its body with api/json_body.py.
It must answer every request exactly as the FastAPI operation it replaced: that operation is
declared here as a twin, beside it in the same app, and both get the same requests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import Request
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from percl.api import create_api
from percl.api.auth import PathAccount
from percl.api.calls import MAKE_CALL_PATH, MakeCallBody, start_call
from percl.api.deps import deps_of, request_id_of
from percl.domain.records import Account

from .conftest import BASE
from .rest_kit import KitWorld, kit_world

A, B = "+13125550101", "+13125550102"
GOOD = {"from": A, "to": B, "callConnectUrl": "https://app.test/connect"}
JSON = {"content-type": "application/json"}


async def twin(request: Request, account: PathAccount, body: MakeCallBody) -> dict[str, Any]:
    """The FastAPI operation POST /Calls was before it became a plain route."""
    return await start_call(deps_of(request), account, body, request_id_of(request))


def twin_world() -> tuple[KitWorld, Starlette]:
    world = kit_world()
    api = create_api(world.deps)
    api.add_api_route("/Accounts/{account_id}/TwinCalls", twin, methods=["POST"], status_code=202)
    return world, Starlette(routes=[Mount("/apiserver", app=api)])


def client(app: Starlette, account: Account | None) -> httpx.AsyncClient:
    auth = (account.account_id, account.api_key) if account else None
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, auth=auth)


async def both(app: Starlette, caller: Account | None, account_id: str,
               **request: Any) -> tuple[httpx.Response, httpx.Response]:
    """The same POST, by `caller` (None: no credentials), to the plain route and to its twin."""
    async with client(app, caller) as c:
        plain = await c.post(f"/Accounts/{account_id}/Calls", **request)
        twinned = await c.post(f"/Accounts/{account_id}/TwinCalls", **request)
    return plain, twinned


def same(plain: httpx.Response, twinned: httpx.Response) -> None:
    assert plain.status_code == twinned.status_code
    assert plain.headers.get("content-type") == twinned.headers.get("content-type")
    assert plain.headers.get("www-authenticate") == twinned.headers.get("www-authenticate")
    assert plain.json() == twinned.json()


BAD_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("no body", {}),
    ("no body, JSON type", {"headers": JSON}),
    ("null", {"content": b"null", "headers": JSON}),
    ("a list", {"content": b"[1, 2]", "headers": JSON}),
    ("a string", {"content": b'"call me"', "headers": JSON}),
    ("a number", {"content": b"42", "headers": JSON}),
    ("cut JSON", {"content": b'{"from": "+1', "headers": JSON}),
    ("single quotes", {"content": b"{'from': 1}", "headers": JSON}),
    ("not UTF-8", {"content": b'{"from": "\xff\xfe"}', "headers": JSON}),
    ("JSON sent as text/plain", {"content": b'{"from": "+13125550101"}',
                                 "headers": {"content-type": "text/plain"}}),
    ("form encoded", {"content": b"from=%2B13125550101&to=%2B13125550102",
                      "headers": {"content-type": "application/x-www-form-urlencoded"}}),
    ("a +json type", {"json": {"from": A}, "headers": {"content-type": "application/vnd.x+json"}}),
    ("JSON type with a charset, spelt in capitals",
     {"json": {"to": B}, "headers": {"content-type": "Application/JSON; charset=utf-8"}}),
    ("no content type", {"content": b'{"from": "+13125550101"}'}),
    ("empty object", {"json": {}}),
    ("no to", {"json": {"from": A}}),
    ("to not E.164", {"json": {**GOOD, "to": "3125550102"}}),
    ("timeout as a string", {"json": {**GOOD, "timeout": "5"}}),
    ("timeout zero", {"json": {**GOOD, "timeout": 0}}),
    ("privacyMode as a string", {"json": {**GOOD, "privacyMode": "yes"}}),
    ("bad sendDigits", {"json": {**GOOD, "sendDigits": "12w3"}}),
    ("bad ifMachine", {"json": {**GOOD, "ifMachine": "voicemail"}}),
    ("ifMachine redirect without its URL", {"json": {**GOOD, "ifMachine": "redirect"}}),
    ("bad applicationId", {"json": {"from": A, "to": B, "applicationId": "AP1"}}),
    ("a URL with a space", {"json": {**GOOD, "callConnectUrl": "https://app.test/a b"}}),
    ("several errors at once", {"json": {"from": 1, "to": None, "timeout": -1}}),
]


@pytest.mark.parametrize(("case", "request_kw"), BAD_BODIES, ids=[c for c, _ in BAD_BODIES])
async def test_a_bad_body_fails_as_the_fastapi_operation_failed(
    case: str, request_kw: dict[str, Any]
) -> None:
    world, app = twin_world()
    account = world.new_account()
    plain, twinned = await both(app, account, account.account_id, **request_kw)
    assert plain.status_code in (400, 422), case
    same(plain, twinned)


@pytest.mark.parametrize(("case", "request_kw"), [
    ("bad JSON", {"content": b"{", "headers": JSON}),  # the body is decoded before the path
    ("bad field", {"json": {**GOOD, "to": "1"}}),
    ("good body", {"json": GOOD}),
])
async def test_another_accounts_path_and_no_credentials_fail_as_before(
    case: str, request_kw: dict[str, Any]
) -> None:
    world, app = twin_world()
    caller = world.new_account()
    other = world.new_account()
    plain, twinned = await both(app, caller, other.account_id, **request_kw)
    same(plain, twinned)
    plain, twinned = await both(app, None, caller.account_id, **request_kw)
    same(plain, twinned)


@pytest.mark.parametrize(("case", "request_kw"), [
    ("JSON", {"json": GOOD}),
    ("no content type", {"content": b'{"from": "+13125550101", "to": "+13125550102"}'}),
    ("a +json type", {"json": GOOD, "headers": {"content-type": "application/vnd.x+json"}}),
    ("an unknown field (ignored)", {"json": {**GOOD, "colour": "blue"}}),
])
async def test_a_call_is_answered_byte_for_byte_as_before(
    case: str, request_kw: dict[str, Any]
) -> None:
    world, app = twin_world()
    account = world.new_account()
    plain, twinned = await both(app, account, account.account_id, **request_kw)
    assert plain.status_code == twinned.status_code == 202, case
    first, second = (r.json()["callId"] for r in (plain, twinned))
    assert plain.content.replace(first.encode(), b"CA") == twinned.content.replace(
        second.encode(), b"CA")
    assert plain.headers["content-type"] == twinned.headers["content-type"]
    assert plain.headers["content-length"] == twinned.headers["content-length"]
    assert plain.headers["x-pulse-request-id"] != twinned.headers["x-pulse-request-id"]


def test_make_call_is_the_first_route_and_a_plain_one() -> None:
    """FastAPI matches routes one by one, and an operation behind an included router costs
    ~20,000 instructions a route to pass over (docs/BENCHMARKS.md): POST /Calls comes first."""
    first = create_api(kit_world().deps).router.routes[0]
    assert type(first) is Route
    assert (first.path, first.methods) == (MAKE_CALL_PATH, {"POST"})
