"""POST /Calls/WebRTC/Token: an HS256 JWT signed with the account's signing secret."""

from __future__ import annotations

from collections.abc import Iterator

import freeclimb
import jwt
import pytest
from freeclimb.exceptions import BadRequestException

from percl.api.webrtc import TOKEN_TTL_S
from percl.domain.ids import PHONE_NUMBER
from percl.domain.records import Account, IncomingNumber

from .rest_kit import KitServer, KitWorld, kit_world, run_sync, serve

OWNED, OTHER = "+13125550101", "+12125550103"


def own(world: KitWorld, account: Account, phone: str) -> None:
    number = IncomingNumber(phone_number_id=world.ids.new(PHONE_NUMBER), account_id=account.account_id,
                            phone_number=phone)
    run_sync(world.store.put_number(number))


@pytest.fixture(scope="module")
def server() -> Iterator[KitServer]:
    yield from serve(kit_world())


def test_the_sdk_gets_a_jwt_with_the_documented_claims(server: KitServer) -> None:
    world = server.world
    account = world.new_account()
    own(world, account, OWNED)
    token = server.api(account).make_a_webrtc_jwt(
        freeclimb.CreateWebRTCToken(to="+14155550100", var_from=OWNED, uses=2))
    assert isinstance(token, str)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, account.signing_secret, algorithms=["HS256"],
                        options={"verify_exp": False})
    assert claims == {"exp": int(world.clock.now()) + TOKEN_TTL_S,
                      "custom": {"to": "+14155550100", "from": OWNED, "uses": 2}}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "sigsec_" + "0" * 40, algorithms=["HS256"], options={"verify_exp": False})


def test_from_must_be_the_accounts_own_number(server: KitServer) -> None:
    world = server.world
    account, other = world.new_account(), world.new_account()
    own(world, other, OTHER)
    with pytest.raises(BadRequestException) as err:
        server.api(account).make_a_webrtc_jwt(
            freeclimb.CreateWebRTCToken(to="+14155550100", var_from=OTHER, uses=1))
    assert '"code":46' in (err.value.body or "").replace(" ", "")


async def test_bad_bodies_are_400_naming_the_field() -> None:
    world = kit_world()
    account = world.new_account()
    own(world, account, OWNED)
    async with world.client(account) as client:
        url = f"/Accounts/{account.account_id}/Calls/WebRTC/Token"
        for body, field in (({"to": "+14155550100", "from": OWNED, "uses": 0}, "uses"),
                            ({"to": "+14155550100", "from": OWNED, "uses": "1"}, "uses"),
                            ({"to": "4155550100", "from": OWNED, "uses": 1}, "to"),
                            ({"to": "+14155550100", "uses": 1}, "from")):
            answer = await client.post(url, json=body)
            assert answer.status_code == 400, body
            assert answer.json()["details"]["field"] == field
        ok = await client.post(url, json={"to": "+14155550100", "from": OWNED, "uses": 1})
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
