"""The control API of the simulated phone network, mounted by app.py at `/sim/v1`.

    PUT    /phones/{number}              program how a virtual phone behaves when called
    GET    /phones/{number}              its program (the default one when never programmed)
    DELETE /phones/{number}              back to the default (answers as a human after 1 s)
    GET    /phones/{number}/calls        legs from or to that number, newest first (softphones poll)
    POST   /calls                        a virtual phone calls one of the account's numbers -> 201
    POST   /calls/{callId}/digits        the far end of a live leg presses keys -> 204
    POST   /calls/{callId}/speech        the far end of a live leg says words -> 204
    POST   /calls/{callId}/hangup        the far end of a live leg hangs up -> 204
    POST   /calls/{callId}/answer        the called phone of a ringing leg picks up -> 204
    POST   /calls/{callId}/decline       the called phone of a ringing leg declines (busy) -> 204
    GET    /calls/{callId}/transcript    what the far end heard and did (`?since=N`: from entry N;
                                         `more`: true when entries were left for the next read)
    GET    /calls/{callId}/audio         a WAV of what it heard (left) and sent (right); 409 for a
                                         leg of symbolic fidelity (`?channel=heard|sent`: mono;
                                         `?fromMs=N`: from N ms on)

Every route needs the REST API's Basic auth (accountId:apiKey). The phone network is shared by
all accounts, but a phone program is the caller's own: it applies to the caller's calls to that
number only, and only the caller reads, replaces or resets it (an account programs at most
MAX_PROGRAMS numbers). A call that the store records for another account is invisible (404), as
in the REST API. Errors use FreeClimb's error body. With several workers, the operations on a
call reach its leg on whichever worker runs it (simapi/legs.py); its audio does not (409).

This module is the HTTP edge only: the operations and their scoping are
percl.telephony.sim.control's (NetworkControl), the JSON models and renderers its `wire`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from percl.errors import ApiError, BadRequest
from percl.simapi.auth import Caller
from percl.simapi.faults import router as faults_router
from percl.simapi.legs import SimLegs
from percl.simapi.messages import router as messages_router
from percl.simapi.ports import SimApiDeps
from percl.telephony.sim.control import (
    AudioChannel,
    DigitsIn,
    PlaceCallIn,
    ProgramIn,
    SpeechIn,
    check_number,
    parse,
    render_leg,
    render_program,
)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)


def create_sim_api(deps: SimApiDeps) -> FastAPI:
    """Build the sim control ASGI app over a Store (auth) and the network's control operations."""
    app = FastAPI(title="percl simulated network control", version="1")
    app.add_exception_handler(ApiError, _api_error)
    app.state.sim_deps = deps
    app.include_router(faults_router)  # /faults: webhook fault injection (simapi/faults.py)
    app.include_router(messages_router)  # /messages, /phones/{n}/messages (simapi/messages.py)
    sim = deps.sim
    legs = SimLegs(sim, deps.owners)  # a leg's operations, on whichever worker runs it

    @app.put("/phones/{number}")
    async def put_phone(number: str, request: Request, caller: Caller) -> dict[str, Any]:
        check_number(number, "number")
        program = parse(ProgramIn, await request.body(), "phone program").to_program()
        return render_program(sim.program(caller.account_id, number, program))

    @app.get("/phones/{number}")
    async def get_phone(number: str, caller: Caller) -> dict[str, Any]:
        check_number(number, "number")
        return render_program(sim.get_program(caller.account_id, number))

    @app.delete("/phones/{number}", status_code=204)
    async def delete_phone(number: str, caller: Caller) -> Response:
        check_number(number, "number")
        sim.reset(caller.account_id, number)
        return Response(status_code=204)

    @app.get("/phones/{number}/calls")
    async def phone_calls(number: str, caller: Caller) -> dict[str, Any]:
        """The newest legs from or to `number` that this account may see (at most 50)."""
        check_number(number, "number")
        legs = await sim.legs(caller.account_id, number)
        return {"number": number, "calls": [render_leg(leg) for leg in legs]}

    @app.post("/calls", status_code=201)
    async def place_call(request: Request, caller: Caller) -> JSONResponse:
        body = parse(PlaceCallIn, await request.body(), "call")
        check_number(body.from_, "from")
        check_number(body.to, "to")
        script = [s.to_step() for s in body.script]
        call_id = await sim.place_call(caller.account_id, body.from_, body.to, script)
        return JSONResponse({"callId": call_id}, status_code=201)

    @app.post("/calls/{call_id}/digits", status_code=204)
    async def press(call_id: str, request: Request, caller: Caller) -> Response:
        body = parse(DigitsIn, await request.body(), "digits request")
        await legs.press(caller.account_id, call_id, body.digits)
        return Response(status_code=204)

    @app.post("/calls/{call_id}/speech", status_code=204)
    async def speech(call_id: str, request: Request, caller: Caller) -> Response:
        body = parse(SpeechIn, await request.body(), "speech request")
        await legs.say(caller.account_id, call_id, body.text)
        return Response(status_code=204)

    @app.post("/calls/{call_id}/hangup", status_code=204)
    async def hangup(call_id: str, caller: Caller) -> Response:
        await legs.hang_up(caller.account_id, call_id)
        return Response(status_code=204)

    @app.post("/calls/{call_id}/answer", status_code=204)
    async def answer(call_id: str, caller: Caller) -> Response:
        await legs.answer(caller.account_id, call_id)
        return Response(status_code=204)

    @app.post("/calls/{call_id}/decline", status_code=204)
    async def decline(call_id: str, caller: Caller) -> Response:
        await legs.decline(caller.account_id, call_id)
        return Response(status_code=204)

    @app.get("/calls/{call_id}/transcript")
    async def transcript(
        call_id: str, caller: Caller, since: Annotated[str | None, Query()] = None
    ) -> dict[str, Any]:
        start = _non_negative(since, "since")
        return await legs.transcript(caller.account_id, call_id, start)

    @app.get("/calls/{call_id}/audio", response_class=Response,
             responses={200: {"content": {"audio/wav": {}}}})
    async def audio(
        call_id: str, caller: Caller, channel: Annotated[str | None, Query()] = None,
        from_ms: Annotated[str | None, Query(alias="fromMs")] = None,
    ) -> Response:
        """What the leg heard and sent so far, as a 16-bit 8 kHz WAV (audio fidelity only)."""
        side = _channel(channel)
        start = _non_negative(from_ms, "fromMs")
        wav = await legs.audio(caller.account_id, call_id, side, start)
        return Response(wav, media_type="audio/wav", headers={
            "Cache-Control": "no-store",  # a live leg's audio grows
            "Content-Disposition": f'inline; filename="{call_id}.wav"'})

    return app


def _channel(raw: str | None) -> AudioChannel | None:
    """The `channel` query parameter: heard, sent, or absent (both). Raises BadRequest naming it."""
    if raw is None:
        return None
    try:
        return AudioChannel(raw)
    except ValueError:
        raise BadRequest(f"channel must be heard or sent (or absent for both), got {raw!r}",
                         details={"field": "channel"}) from None


def _non_negative(raw: str | None, name: str) -> int:
    """A non-negative integer query parameter (0 when absent). Raises BadRequest naming it."""
    if raw is None:
        return 0
    if not raw.isdigit() or len(raw) > 9:
        raise BadRequest(f"{name} must be a non-negative integer, got {raw!r}",
                         details={"field": name})
    return int(raw)
