"""POST /Accounts/{accountId}/Calls/WebRTC/Token: a JWT a browser softphone presents to place calls.

FreeClimb answers 200 `text/plain` with a compact HS256 JWT; its documented example decodes to
`{"alg": "HS256", "typ": "JWT"}` and `{"exp": ..., "custom": {"to", "from", "uses"}}`, so percl
signs exactly those claims with the account's signing secret (the secret it signs webhooks with),
valid for `TOKEN_TTL_S`. The browser softphone (/phone) presents it on its signalling socket
(telephony/webrtc/token.py checks it: signature, expiry, uses).

The request is `CreateWebRTCToken{to, from, uses >= 1}`: both numbers E.164, and `from` must be
one of the account's incoming numbers (FreeClimb: "owned by the requesting account"; code 46 as
for SMS).
"""

from __future__ import annotations

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import Field, StrictInt

from percl.api.auth import PathAccount
from percl.api.deps import deps_of
from percl.api.fields import E164, WireModel
from percl.errors import BadRequest

router = APIRouter()

#: How long a token stays valid (FreeClimb does not document it; see docs/DECISIONS.md).
TOKEN_TTL_S = 3600
CODE_NOT_OWNED = 46


class CreateWebRTCToken(WireModel):
    """FreeClimb's CreateWebRTCToken."""

    to: E164
    from_: E164 = Field(alias="from")
    uses: StrictInt = Field(ge=1)


@router.post("/Accounts/{account_id}/Calls/WebRTC/Token", response_class=PlainTextResponse)
async def make_webrtc_jwt(
    request: Request, account: PathAccount, body: CreateWebRTCToken
) -> PlainTextResponse:
    """make-a-webrtc-jwt: 200 text/plain, the JWT. 400 code 46 when `from` is not the account's."""
    deps = deps_of(request)
    number = await deps.store.find_number(body.from_)
    if number is None or number.account_id != account.account_id:
        raise BadRequest(
            f"from {body.from_} is not an incoming number of this account: buy it first "
            "(POST /IncomingPhoneNumbers)",
            code=CODE_NOT_OWNED,
            details={"field": "from"},
        )
    claims = {
        "exp": int(deps.clock.now()) + TOKEN_TTL_S,
        "custom": {"to": body.to, "from": body.from_, "uses": body.uses},
    }
    token = jwt.encode(claims, account.signing_secret, algorithm="HS256")
    return PlainTextResponse(token)
