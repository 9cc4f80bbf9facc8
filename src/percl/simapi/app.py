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
    GET    /calls/{callId}/transcript    what the far end heard and did (`?since=N`: from entry N)

Every route needs the REST API's Basic auth (accountId:apiKey). The phone network is shared by
all accounts, but a phone program is the caller's own: it applies to the caller's calls to that
number only, and only the caller reads, replaces or resets it (an account programs at most
MAX_PROGRAMS numbers). A call that the store records for another account is invisible (404), as
in the REST API. Errors use FreeClimb's error body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from percl.domain.phone import is_e164
from percl.domain.records import Account
from percl.errors import ApiError, BadRequest, NotFound
from percl.simapi.auth import Caller
from percl.simapi.faults import router as faults_router
from percl.simapi.messages import router as messages_router
from percl.simapi.ports import SimApiDeps
from percl.simapi.wire import (
    DigitsIn,
    PlaceCallIn,
    ProgramIn,
    SpeechIn,
    parse,
    render_leg,
    render_program,
    render_transcript,
)

MAX_LISTED_LEGS = 50
#: Numbers one account may program at once (each program holds at most wire.MAX_STEPS steps).
MAX_PROGRAMS = 100


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)


def create_sim_api(deps: SimApiDeps) -> FastAPI:
    """Build the sim control ASGI app over a Store (auth, ownership) and the network."""
    app = FastAPI(title="percl simulated network control", version="1")
    app.add_exception_handler(ApiError, _api_error)
    app.state.sim_deps = deps
    app.include_router(faults_router)  # /faults: webhook fault injection (simapi/faults.py)
    app.include_router(messages_router)  # /messages, /phones/{n}/messages (simapi/messages.py)
    store, sim = deps.store, deps.sim

    async def visible_call(call_id: str, caller: Account) -> None:
        """Raise NotFound when the store says the call belongs to another account."""
        record = await store.get_call(call_id)
        if record is not None and record.account_id != caller.account_id:
            raise NotFound(f"Call {call_id} not found")

    @app.put("/phones/{number}")
    async def put_phone(number: str, request: Request, caller: Caller) -> dict[str, Any]:
        _check_number(number, "number")
        program = parse(ProgramIn, await request.body(), "phone program").to_program()
        mine = caller.account_id
        programmed = sim.programmed_by(mine)
        if number not in programmed and len(programmed) >= MAX_PROGRAMS:
            raise BadRequest(
                f"At most {MAX_PROGRAMS} programmed phones per account: DELETE one first",
                details={"field": "number", "maxPrograms": MAX_PROGRAMS},
            )
        sim.program(number, program, account_id=mine)
        return render_program(sim.get_program(number, account_id=mine))

    @app.get("/phones/{number}")
    async def get_phone(number: str, caller: Caller) -> dict[str, Any]:
        _check_number(number, "number")
        return render_program(sim.get_program(number, account_id=caller.account_id))

    @app.delete("/phones/{number}", status_code=204)
    async def delete_phone(number: str, caller: Caller) -> Response:
        _check_number(number, "number")
        sim.reset(number, account_id=caller.account_id)
        return Response(status_code=204)

    @app.get("/phones/{number}/calls")
    async def phone_calls(number: str, caller: Caller) -> dict[str, Any]:
        """The newest legs from or to `number` that this account may see (at most 50)."""
        _check_number(number, "number")
        listed: list[dict[str, Any]] = []
        for leg in sim.legs_of(number):
            record = await store.get_call(leg.call_id)
            if record is not None and record.account_id != caller.account_id:
                continue
            listed.append(render_leg(leg))
            if len(listed) == MAX_LISTED_LEGS:
                break
        return {"number": number, "calls": listed}

    @app.post("/calls", status_code=201)
    async def place_call(request: Request, caller: Caller) -> JSONResponse:
        body = parse(PlaceCallIn, await request.body(), "call")
        _check_number(body.from_, "from")
        _check_number(body.to, "to")
        owned = await store.find_number(body.to)
        if owned is None or owned.account_id != caller.account_id:
            raise NotFound(
                f"{body.to} is not an incoming number of this account: buy it first "
                "(POST /IncomingPhoneNumbers), then call it",
                details={"field": "to"},
            )
        try:
            call_id = await sim.place_call(body.from_, body.to, [s.to_step() for s in body.script])
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return JSONResponse({"callId": call_id}, status_code=201)

    @app.post("/calls/{call_id}/digits", status_code=204)
    async def press(call_id: str, request: Request, caller: Caller) -> Response:
        body = parse(DigitsIn, await request.body(), "digits request")
        await visible_call(call_id, caller)
        return _control(call_id, lambda: sim.press(call_id, body.digits))

    @app.post("/calls/{call_id}/speech", status_code=204)
    async def speech(call_id: str, request: Request, caller: Caller) -> Response:
        body = parse(SpeechIn, await request.body(), "speech request")
        await visible_call(call_id, caller)
        return _control(call_id, lambda: sim.say(call_id, body.text))

    @app.post("/calls/{call_id}/hangup", status_code=204)
    async def hangup(call_id: str, caller: Caller) -> Response:
        await visible_call(call_id, caller)
        return _control(call_id, lambda: sim.far_end_hangup(call_id))

    @app.post("/calls/{call_id}/answer", status_code=204)
    async def answer(call_id: str, caller: Caller) -> Response:
        await visible_call(call_id, caller)
        return _control(call_id, lambda: sim.pick_up(call_id))

    @app.post("/calls/{call_id}/decline", status_code=204)
    async def decline(call_id: str, caller: Caller) -> Response:
        await visible_call(call_id, caller)
        return _control(call_id, lambda: sim.decline(call_id))

    @app.get("/calls/{call_id}/transcript")
    async def transcript(
        call_id: str, caller: Caller, since: Annotated[str | None, Query()] = None
    ) -> dict[str, Any]:
        start = _since(since)
        await visible_call(call_id, caller)
        found = sim.transcript(call_id)
        if found is None:
            raise NotFound(f"No transcript for call {call_id} (unknown, or too old to be kept)")
        return render_transcript(found, start)

    return app


def _check_number(number: str, field: str) -> None:
    if not is_e164(number):
        raise BadRequest(
            f"{field} {number!r} is not an E.164 phone number (e.g. +13125550100)",
            details={"field": field},
        )


def _control(call_id: str, action: Callable[[], None]) -> Response:
    """Run one far-end control: KeyError means no such live leg (404), ValueError a request
    the leg cannot take in its state (400)."""
    try:
        action()
    except KeyError:
        raise _no_live_call(call_id) from None
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return Response(status_code=204)


def _since(raw: str | None) -> int:
    """The `since` query parameter: a non-negative integer. Raises BadRequest naming it."""
    if raw is None:
        return 0
    if not raw.isdigit() or len(raw) > 9:
        raise BadRequest(f"since must be a non-negative integer, got {raw!r}",
                         details={"field": "since"})
    return int(raw)


def _no_live_call(call_id: str) -> NotFound:
    return NotFound(f"Call {call_id} is not a live call on the simulated network")
