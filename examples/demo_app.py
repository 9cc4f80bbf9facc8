"""The percl demo: a small FreeClimb application (IVR menu + OutDial) served by `percl serve --demo`.

It is an ordinary FreeClimb app: it answers webhooks with PerCL JSON. Nothing in it is specific to
percl, so the same code runs against FreeClimb itself (with public URLs).

    caller --inboundCall--> /voice   : Say welcome, GetDigits "press 1 for an agent, 2 for a joke"
           --getDigits----> /menu    : 1 -> OutDial the agent, 2 -> Say a joke, else repeat
                                       (at most MAX_TRIES menus, then goodbye and hang up)
    parent --outDialStart-> /dialing : tell the caller the agent is being called
    agent  --outDialConnect> /agent  : tell the agent who called
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

AGENT = "+15550100002"
MAX_TRIES = 3  # menus a caller hears before the demo says goodbye (no endless loop)


def application_urls(base: str) -> dict[str, str]:
    """The Application fields (FreeClimb's names) that wire a number to this app."""
    return {"voiceUrl": f"{base}/voice", "statusCallbackUrl": f"{base}/status"}


def create_app(base: str) -> Starlette:
    """The demo app; `base` is the absolute URL it is served at (for actionUrls)."""

    def percl(*commands: dict[str, Any]) -> JSONResponse:
        return JSONResponse(list(commands))

    def attempt(request: Request) -> int:
        """Which menu this is (the query string counts them: FreeClimb keeps no state)."""
        raw = request.query_params.get("try", "1")
        return int(raw) if raw.isdigit() else 1

    async def voice(request: Request) -> JSONResponse:
        tries = attempt(request)
        welcome = [{"Say": {"text": "Welcome to the percl demo."}}] if tries == 1 else []
        return percl(
            *welcome,
            {"GetDigits": {"actionUrl": f"{base}/menu?try={tries}", "maxDigits": 1,
                           "initialTimeoutMs": 8000,
                           "prompts": [{"Say": {"text": "Press 1 to call an agent, "
                                                        "or 2 to hear a joke."}}]}},
        )

    async def menu(request: Request) -> JSONResponse:
        body = await request.json()
        digits = body.get("digits", "")
        if digits == "1":
            return percl(
                {"Say": {"text": "Calling an agent for you."}},
                {"OutDial": {"destination": AGENT, "callingNumber": body["to"],
                             "actionUrl": f"{base}/dialing", "callConnectUrl": f"{base}/agent",
                             "statusCallbackUrl": f"{base}/status", "timeout": 20}},
            )
        if digits == "2":
            return percl({"Say": {"text": "Why did the phone wear glasses? "
                                          "It lost its contacts. Goodbye."}}, {"Hangup": {}})
        tries = attempt(request)
        if tries >= MAX_TRIES:
            return percl({"Say": {"text": "Sorry, I did not get that. Goodbye."}}, {"Hangup": {}})
        return percl({"Say": {"text": "Sorry, I did not get that."}},
                     {"Redirect": {"actionUrl": f"{base}/voice?try={tries + 1}"}})

    async def dialing(request: Request) -> JSONResponse:
        return percl({"Say": {"text": "The agent's phone is ringing. They will hear about your "
                                      "call. Goodbye."}}, {"Hangup": {}})

    async def agent(request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("callStatus") != "inProgress":
            return percl()  # busy / noAnswer / failed: PerCL is ignored anyway
        return percl({"Say": {"text": f"Hello agent. A caller on {body['from']} asked for you."}},
                     {"Hangup": {}})

    async def status(request: Request) -> JSONResponse:
        return percl()

    return Starlette(routes=[
        Route(f"/{name}", fn, methods=["POST"])
        for name, fn in [("voice", voice), ("menu", menu), ("dialing", dialing),
                         ("agent", agent), ("status", status)]
    ])
