"""The sim API's operations on one call leg, on whichever worker runs it (issue 19).

With several workers each has a phone network of its own, and a leg runs on one of them: the
worker that placed or answered it, or the one it moved to (a conference or queue run there:
engine/calls.py `hand_over`). A request reaches a worker at random, so an operation that finds
no such leg here (NotFound) asks the worker holding the call's lease to do it, over the bus
(engine/workers/forwarding.py, operation SIM_CALL), and answers with its result: the same status
and body as if asked there, and still 404 when no other live worker runs the leg. The owner runs
a forwarded operation on its own network only: nothing is forwarded twice.

A bus message is small (MAX_PAYLOAD), so a forwarded transcript read answers with the entries
from `since` that fit in TRANSCRIPT_BUDGET bytes and `"more": true` when some were left: the
poller asks again from where it is. A leg's audio (a WAV) is never forwarded: while the leg runs
on another worker its audio is there, and this worker answers 409 saying so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

from percl.domain.json import JsonValue
from percl.engine.ports import LeaseKind
from percl.engine.workers.forwarding import Arguments, OwnerGone
from percl.errors import BadRequest, Conflict, NotFound
from percl.simapi.ports import LegOwners
from percl.telephony.sim.control import AudioChannel, NetworkControl, render_transcript

#: The forwarded operation's name (one registry: engine/workers/forwarding.py).
SIM_CALL = "sim.call"
#: Bytes of JSON a forwarded transcript read's entries take at most (a bus message is at most
#: MAX_PAYLOAD = 7,900 bytes; the rest of the answer is well under 1,000).
TRANSCRIPT_BUDGET = 6000


class LegAct(StrEnum):
    """What the sim API does to a leg, by its name on the bus."""

    PRESS = "press"
    SAY = "say"
    HANG_UP = "hangup"
    ANSWER = "answer"
    DECLINE = "decline"
    TRANSCRIPT = "transcript"


#: One act on this worker's network: (sim, account_id, call_id, value, budget) -> its result.
_Here = Callable[[NetworkControl, str, str, str, int | None], Awaitable[JsonValue]]


async def _press(sim: NetworkControl, account: str, call: str, digits: str, _: int | None) -> None:
    await sim.press(account, call, digits)


async def _say(sim: NetworkControl, account: str, call: str, text: str, _: int | None) -> None:
    await sim.say(account, call, text)


async def _hang_up(sim: NetworkControl, account: str, call: str, _v: str, _: int | None) -> None:
    await sim.hang_up(account, call)


async def _answer(sim: NetworkControl, account: str, call: str, _v: str, _: int | None) -> None:
    await sim.answer(account, call)


async def _decline(sim: NetworkControl, account: str, call: str, _v: str, _: int | None) -> None:
    await sim.decline(account, call)


async def _transcript(sim: NetworkControl, account: str, call: str, since: str,
                      budget: int | None) -> JsonValue:
    return render_transcript(await sim.transcript(account, call), int(since), budget)


_ACTS: dict[LegAct, _Here] = {
    LegAct.PRESS: _press, LegAct.SAY: _say, LegAct.HANG_UP: _hang_up, LegAct.ANSWER: _answer,
    LegAct.DECLINE: _decline, LegAct.TRANSCRIPT: _transcript,
}


class SimLegs:
    """The sim API's leg operations; with `owners` (workers on), a leg another worker runs is
    reached there. Build one per worker: it registers SIM_CALL with `owners`."""

    def __init__(self, sim: NetworkControl, owners: LegOwners | None = None) -> None:
        self._sim = sim
        self._owners = owners
        if owners is not None:
            owners.serve(SIM_CALL, self._forwarded)

    async def press(self, account_id: str, call_id: str, digits: str) -> None:
        await self._run(LegAct.PRESS, account_id, call_id, digits)

    async def say(self, account_id: str, call_id: str, text: str) -> None:
        await self._run(LegAct.SAY, account_id, call_id, text)

    async def hang_up(self, account_id: str, call_id: str) -> None:
        await self._run(LegAct.HANG_UP, account_id, call_id)

    async def answer(self, account_id: str, call_id: str) -> None:
        await self._run(LegAct.ANSWER, account_id, call_id)

    async def decline(self, account_id: str, call_id: str) -> None:
        await self._run(LegAct.DECLINE, account_id, call_id)

    async def transcript(self, account_id: str, call_id: str, since: int) -> dict[str, Any]:
        """The rendered transcript from entry `since` (wire.render_transcript); read on another
        worker, only the entries that fit in TRANSCRIPT_BUDGET (`more` says so)."""
        page = await self._run(LegAct.TRANSCRIPT, account_id, call_id, str(since))
        assert isinstance(page, Mapping)
        return dict(page)

    async def audio(self, account_id: str, call_id: str, channel: AudioChannel | None,
                    from_ms: int) -> bytes:
        """The leg's WAV (NetworkControl.audio). Raises Conflict while the leg runs on another
        worker: its audio is there, and too large for the bus."""
        if self._owners is not None and not self._sim.runs(call_id):
            await self._sim.check_visible(account_id, call_id)
            owner = await self._owners.holder(LeaseKind.CALL, call_id)
            if owner is not None and owner != self._owners.worker_id:
                raise Conflict(
                    f"Call {call_id} runs on another percl worker ({owner}): its phone's audio "
                    "is there, and is not forwarded between workers. Read its transcript "
                    "here, or its audio through that worker; after the call, this worker keeps "
                    "what the leg carried before it moved",
                    details={"callId": call_id, "worker": owner})
        return await self._sim.audio(account_id, call_id, channel, from_ms)

    async def _run(self, act: LegAct, account_id: str, call_id: str, value: str = "") -> JsonValue:
        """`act` on this worker's network; a leg not found here, on the worker that runs it."""
        try:
            return await _ACTS[act](self._sim, account_id, call_id, value, None)
        except NotFound as missing:
            if self._owners is None:
                raise
            try:
                return await self._owners.ask_owner(LeaseKind.CALL, call_id, SIM_CALL, {
                    "act": act.value, "account_id": account_id, "call_id": call_id,
                    "value": value})
            except OwnerGone:
                raise missing from None

    async def _forwarded(self, arguments: Arguments) -> JsonValue:
        """Another worker's forwarded act: done on this network, never forwarded again."""
        try:
            act = LegAct(str(arguments.get("act")))
        except ValueError:
            raise BadRequest(f"unknown sim act {arguments.get('act')!r}") from None
        return await _ACTS[act](self._sim, str(arguments.get("account_id")),
                                str(arguments.get("call_id")), str(arguments.get("value")),
                                TRANSCRIPT_BUDGET)
