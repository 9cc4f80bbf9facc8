"""The simulated network's control operations, scoped to the calling account.

The network itself (network.py) knows nothing of accounts beyond the owner of a call; these
operations add what a shared network needs when many accounts drive it: a phone program is the
caller's own (it applies to the caller's calls to that number only, and at most MAX_PROGRAMS per
account), and a call that the store records for another account is invisible (NotFound, as in the
REST API). Each operation raises the REST API's errors (percl.errors), so the HTTP app that mounts
them (percl.simapi) only parses requests and renders results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from percl.engine.ports import Store
from percl.errors import BadRequest, Conflict, NotFound
from percl.media.audio.pcm import Pcm
from percl.telephony.sim.control.wire import AudioChannel, render_audio
from percl.telephony.sim.model import LegSummary, PhoneProgram, PhoneStep, Transcript
from percl.telephony.sim.network import SimNetwork

#: Legs one `legs` answer lists at most (newest first).
MAX_LISTED_LEGS = 50
#: Numbers one account may program at once (each program holds at most wire.MAX_STEPS steps).
MAX_PROGRAMS = 100

#: A leg's kept audio, (heard, sent), or None for an unknown leg or one of symbolic fidelity
#: (SimNetwork.leg_audio).
LegAudio = Callable[[str], tuple[Pcm, Pcm] | None]


class NetworkControl:
    """The far end of the simulated network as one account may drive it. Every method takes the
    caller's `account_id`; the numbers it is given are already checked E.164 (wire.check_number)."""

    def __init__(self, network: SimNetwork, store: Store, *,
                 leg_audio: LegAudio | None = None) -> None:
        """`leg_audio`: where legs' audio is read (the network's `leg_audio`); None when the
        network carries no audio (every leg then answers `audio` with a Conflict)."""
        self._network = network
        self._store = store
        self._leg_audio = leg_audio

    def program(self, account_id: str, number: str, program: PhoneProgram) -> PhoneProgram:
        """Replace the caller's program of `number`; returns it as stored. Raises BadRequest when
        the account already programs MAX_PROGRAMS other numbers."""
        programmed = self._network.programmed_by(account_id)
        if number not in programmed and len(programmed) >= MAX_PROGRAMS:
            raise BadRequest(
                f"At most {MAX_PROGRAMS} programmed phones per account: DELETE one first",
                details={"field": "number", "maxPrograms": MAX_PROGRAMS},
            )
        self._network.program(number, program, account_id=account_id)
        return self._network.get_program(number, account_id=account_id)

    def get_program(self, account_id: str, number: str) -> PhoneProgram:
        """The caller's program of `number` (the default one when never programmed)."""
        return self._network.get_program(number, account_id=account_id)

    def reset(self, account_id: str, number: str) -> None:
        """Back to the default program for the caller's calls to `number`."""
        self._network.reset(number, account_id=account_id)

    async def legs(self, account_id: str, number: str) -> list[LegSummary]:
        """The newest legs from or to `number` that the caller may see (at most MAX_LISTED_LEGS)."""
        listed: list[LegSummary] = []
        for leg in self._network.legs_of(number):
            record = await self._store.get_call(leg.call_id)
            if record is not None and record.account_id != account_id:
                continue
            listed.append(leg)
            if len(listed) == MAX_LISTED_LEGS:
                break
        return listed

    async def place_call(
        self, account_id: str, from_: str, to: str, script: Sequence[PhoneStep]
    ) -> str:
        """Virtual phone `from_` calls the caller's number `to`; returns the new leg's call id.
        Raises NotFound when the caller does not own `to`, BadRequest when the network refuses."""
        owned = await self._store.find_number(to)
        if owned is None or owned.account_id != account_id:
            raise NotFound(
                f"{to} is not an incoming number of this account: buy it first "
                "(POST /IncomingPhoneNumbers), then call it",
                details={"field": "to"},
            )
        try:
            # The record found goes along: the engine need not look the number up again.
            return await self._network.place_call(from_, to, script, number=owned)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    async def press(self, account_id: str, call_id: str, digits: str) -> None:
        """The far end of a live leg presses keys."""
        await self._far_end(account_id, call_id, lambda: self._network.press(call_id, digits))

    async def say(self, account_id: str, call_id: str, text: str) -> None:
        """The far end of a live leg says words (the platform hears them as speech)."""
        await self._far_end(account_id, call_id, lambda: self._network.say(call_id, text))

    async def hang_up(self, account_id: str, call_id: str) -> None:
        """The far end of a live leg hangs up."""
        await self._far_end(account_id, call_id, lambda: self._network.far_end_hangup(call_id))

    async def answer(self, account_id: str, call_id: str) -> None:
        """The called phone of a ringing leg picks up."""
        await self._far_end(account_id, call_id, lambda: self._network.pick_up(call_id))

    async def decline(self, account_id: str, call_id: str) -> None:
        """The called phone of a ringing leg declines (busy)."""
        await self._far_end(account_id, call_id, lambda: self._network.decline(call_id))

    async def transcript(self, account_id: str, call_id: str) -> Transcript:
        """What the far end of the leg heard and did. Raises NotFound for an unknown, foreign or
        forgotten leg."""
        await self._visible(account_id, call_id)
        found = self._network.transcript(call_id)
        if found is None:
            raise NotFound(f"No transcript for call {call_id} (unknown, or too old to be kept)")
        return found

    async def audio(self, account_id: str, call_id: str, channel: AudioChannel | None = None,
                    from_ms: int = 0) -> bytes:
        """What the leg heard and sent as a WAV (see wire.render_audio). Raises NotFound for an
        unknown, foreign or forgotten leg, Conflict for a leg the network carried symbolically."""
        await self._visible(account_id, call_id)
        tracks = None if self._leg_audio is None else self._leg_audio(call_id)
        if tracks is not None:
            return render_audio(*tracks, channel, from_ms)
        if self._network.transcript(call_id) is None:
            raise NotFound(f"No audio for call {call_id} (unknown, or too old to be kept)")
        raise Conflict(
            f"Call {call_id} has no audio: it ran in symbolic media fidelity (words and keys "
            "only: read its transcript; `percl serve --media audio` carries audio), or its "
            "audio is no longer kept (only the most recent legs' is)",
            details={"callId": call_id})

    def runs(self, call_id: str) -> bool:
        """True when the leg is live on this network (with several workers, a leg may run on
        another worker's network: it moved there, or was placed there)."""
        return self._network.is_live(call_id)

    async def check_visible(self, account_id: str, call_id: str) -> None:
        """Raise NotFound when the store says the call belongs to another account."""
        await self._visible(account_id, call_id)

    async def _visible(self, account_id: str, call_id: str) -> None:
        """Raise NotFound when the store says the call belongs to another account."""
        record = await self._store.get_call(call_id)
        if record is not None and record.account_id != account_id:
            raise NotFound(f"Call {call_id} not found")

    async def _far_end(self, account_id: str, call_id: str, action: Callable[[], None]) -> None:
        """Run one far-end action on a visible leg: the network's KeyError means no such live leg
        (NotFound), its ValueError a request the leg cannot take in its state (BadRequest)."""
        await self._visible(account_id, call_id)
        try:
            action()
        except KeyError:
            raise NotFound(f"Call {call_id} is not a live call on the simulated network") from None
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
