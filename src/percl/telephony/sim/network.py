"""The simulated phone network: every E.164 number no account owns is a virtual phone.

`SimNetwork` implements the engine's `Telephony` (Signalling, a MediaSession per leg, a Mixer; its
far ends' speech goes through a SpeechRecognizer) and `NumberInventory` ports, and the control
surface the sim API drives (`program`, `place_call`, `press`, `say`, `far_end_hangup`, `pick_up`,
`decline`, `transcript`, `legs_of`).

Lifecycle: use it as `async with SimNetwork(...) as sim:`. It owns one TaskGroup; every timer and
script of every virtual phone is a task of that group (no fire-and-forget tasks), and leaving the
block cancels them all. Ending a leg cancels the tasks of that leg only.

Timing (see media_model for media): an unprogrammed phone answers as a human 1 s after `dial`
and stays on the line. A programmed phone answers (human / machine / fax) or reports busy after
`answerAfterMs`; `failed` fails at once; `noAnswer` rings until the engine hangs up; `manual`
rings until the sim API picks up (`pick_up`, as a human) or declines (`decline`, heard as busy)
or the engine hangs up. Script steps' `afterMs` and `hangupAfterMs` count from the answer. With
machine detection on, a machine or fax is detected `machine_detect_ms` (2500) after the answer.
Transcripts stay readable after the leg ends; the network keeps those of the last
`max_transcripts` (10,000) legs.

Programs belong to whoever set them. One set with an `account_id` (the sim API always passes the
caller's) applies only to that account's calls, and only that account can read, replace or reset
it; a program without one (the test kit, a Python caller) is the network's own and applies to
every call no account program covers. To tell whose call a dialled leg is, the network asks
`call_owner` (app.py: the store's call record), and only for numbers an account has programmed.

The pieces: the legs it remembers (legbook.py), each far end's behaviour (phones.py), the media it
plays to them (playout.py), bridged conference audio (symbolic_mixer.py, bridge.py), speech to text
(recognizer.py), numbers on sale (inventory.py). Media has two fidelities: `symbolic` (the default:
words and keys, with modelled durations, written to transcripts; no audio frame flows) and `audio`
(audio/: real 8 kHz frames on one media clock, TTS, files and ASR from an injected AudioKit,
detectors for keys, speech and machines, mixing; the same transcript entries, and each leg's heard
and sent audio kept for `leg_audio`). External lines (lines.py: a SIP trunk, browser phones)
bring real phones in as legs of this network, in the audio fidelity: `add_line`, `line_call`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any

from percl.domain.clock import Clock
from percl.domain.enums import PhoneAnswer
from percl.domain.ids import CALL, IdGenerator
from percl.domain.json import JsonValue
from percl.domain.phone import is_e164
from percl.domain.records import IncomingNumber
from percl.engine.ports import AvailableNumber, InboundHandler, LegListener, Source
from percl.runtime.tasks import OwnedTaskGroup, TaskOwner
from percl.telephony.sim import bridge
from percl.telephony.sim.audio.clock import ClockStats
from percl.telephony.sim.audio.dsp import Pcm
from percl.telephony.sim.audio.kit import AudioKit
from percl.telephony.sim.audio.plane import AudioPlane, WorkCounter
from percl.telephony.sim.audio.session import AudioMediaSession
from percl.telephony.sim.audio.voice import AudioFarEnd
from percl.telephony.sim.inventory import SimInventory
from percl.telephony.sim.legbook import LegBook
from percl.telephony.sim.lines import ExternalLine, FarAudio, LineCall
from percl.telephony.sim.media_model import (
    PLAY_DEFAULT_MS,
    MediaModel,
    check_keys,
)
from percl.telephony.sim.model import (
    HangupBy,
    LegSummary,
    PhoneProgram,
    PhoneStep,
    Transcript,
    TranscriptEvent,
)
from percl.telephony.sim.parcel import LegParcel, pack, unpack
from percl.telephony.sim.phones import FarEnd, Leg, LegState, PhoneRunner, SymbolicFarEnd
from percl.telephony.sim.playout import MediaPlayer, MediaProbe, SimMediaSession
from percl.telephony.sim.recognizer import SymbolicRecognizer
from percl.telephony.sim.symbolic_mixer import SymbolicMixer

__all__ = ["MediaProbe", "SimNetwork"]

log = logging.getLogger(__name__)

#: The account a call id belongs to (None when unknown); see SimNetwork's docstring.
CallOwner = Callable[[str], Awaitable[str | None]]


class SimNetwork(TaskOwner):
    """The in-process phone network. Create it, then enter it with `async with` before use."""

    def __init__(
        self,
        clock: Clock,
        ids: IdGenerator,
        *,
        media_time_scale: float = 1.0,
        words_per_minute: int = 150,
        machine_detect_ms: int = 2500,
        media_duration: MediaProbe | None = None,
        play_default_ms: int = PLAY_DEFAULT_MS,
        max_transcripts: int = 10_000,
        call_owner: CallOwner | None = None,
        media: str = "symbolic",
        audio_kit: AudioKit | None = None,
        tracker: WorkCounter | None = None,
        max_audio_seconds: int = 600,
        max_audio_legs: int = 200,
    ) -> None:
        if media_time_scale < 0 or words_per_minute <= 0 or max_transcripts <= 0:
            raise ValueError("media_time_scale >= 0, words_per_minute > 0, max_transcripts > 0")
        if media not in ("symbolic", "audio"):
            raise ValueError(f"media must be 'symbolic' or 'audio', not {media!r}")
        if media == "audio" and audio_kit is None:
            raise ValueError("media='audio' needs an audio_kit (TTS, files, ASR)")
        self._clock = clock
        self._ids = ids
        model = MediaModel(media_time_scale, words_per_minute, play_default_ms)
        self._player = MediaPlayer(clock, model, media_duration)
        self._inventory = SimInventory()
        self._programs: dict[str, PhoneProgram] = {}  # the network's own, by number
        self._account_programs: dict[str, dict[str, PhoneProgram]] = {}  # number -> account -> it
        self._call_owner = call_owner
        # Legs parked for another worker's network (see share_world).
        self._in_transit: dict[str, Leg] = {}
        self._legs = LegBook(clock, max_transcripts, on_end=self._leg_ended)
        self._handler: InboundHandler | None = None
        self._group = OwnedTaskGroup("SimNetwork")
        # The mixer exists before any leg can end (_leg_ended uses it).
        self._plane: AudioPlane | None = None
        far_end: FarEnd
        if audio_kit is not None and media == "audio":
            self._plane = AudioPlane(clock, audio_kit, self._spawn, self._legs.get,
                                     tracker=tracker, max_audio_seconds=max_audio_seconds,
                                     max_audio_legs=max_audio_legs)
            self._mixer: SymbolicMixer = self._plane.mixer
            far_end = AudioFarEnd(self._plane)
        else:
            self._mixer = SymbolicMixer(self._legs.get)
            far_end = SymbolicFarEnd(clock, self._spawn, machine_detect_ms=machine_detect_ms,
                                     recognizer=SymbolicRecognizer(), carry=self._mixer.carry)
        self._runner = PhoneRunner(clock, self._spawn, far_end)
        self._lines: list[ExternalLine] = []
        self._line_of: dict[str, ExternalLine] = {}  # live legs of external lines, by call id

    # ------------------------------------------------------------------ lifecycle

    async def _close(self, exc: BaseException | None) -> None:
        """Leaving `async with`: end every leg, cancel every phone's behaviour and wait for the
        tasks to finish."""
        for leg in self._legs:
            leg.end()
        await self._group.close()  # every task is guarded (`_guarded`)

    def set_inbound_handler(self, handler: InboundHandler) -> None:
        """Who receives calls placed with `place_call` (the engine). Call before `place_call`."""
        self._handler = handler

    # ------------------------------------------------------------------ NumberInventory

    def available_numbers(self) -> Sequence[AvailableNumber]:
        return self._inventory.available_numbers()

    def lookup(self, phone_number: str) -> AvailableNumber | None:
        return self._inventory.lookup(phone_number)

    # ------------------------------------------------------------------ Telephony: outbound

    def is_reachable(self, number: str) -> bool:
        """Every E.164 number is a virtual phone on this network; an external line may reach
        more (a SIP URI)."""
        return is_e164(number) or self._line_for(number) is not None

    async def dial(
        self, call_id: str, from_: str, to: str, listener: LegListener, *, detect_machine: bool
    ) -> None:
        """Start ringing `to`; returns at once. Progress reaches `listener` from the network's
        tasks. A `to` that is not E.164 fails. Raises ValueError for a call id already in use.
        A `to` an external line handles goes out on that line (lines.py)."""
        line = self._line_for(to)
        if line is not None:
            await self._dial_line(line, call_id, from_, to, listener, detect_machine=detect_machine)
            return
        program = await self._program_for_call(call_id, to) if is_e164(to) else _FAILS
        leg = self._new_leg(call_id, from_, to, outbound=True, program=program, listener=listener)
        self._spawn(leg, self._runner.ring(leg, detect_machine=detect_machine))

    # ------------------------------------------------------------------ Telephony: inbound

    async def place_call(
        self, from_: str, to: str, script: Sequence[PhoneStep] = (), *,
        number: IncomingNumber | None = None,
    ) -> str:
        """A virtual phone `from_` calls `to`; returns the new leg's call id once the inbound
        handler has taken the call. The script's afterMs count from the platform's answer.
        `number`, the store's record of `to` when the caller already has it, goes to the handler.

        Raises ValueError for numbers that are not E.164, RuntimeError when no inbound handler
        is set. If the handler raises, the leg ends as failed and the error propagates."""
        if not (is_e164(from_) and is_e164(to)):
            raise ValueError(f"from {from_!r} and to {to!r} must be E.164 numbers")
        if self._handler is None:
            raise RuntimeError("SimNetwork.place_call: no inbound handler set")
        call_id = self._ids.new(CALL)
        leg = self._new_leg(call_id, from_, to, outbound=False,
                            program=PhoneProgram(script=tuple(script)), listener=None)
        await self._hand_in(leg, number)
        return call_id

    # ------------------------------------------------------------------ external lines

    def add_line(self, line: ExternalLine) -> None:
        """Route outbound calls whose `to` the line handles to it (lines added first win over
        later ones and over the network's own phones). Needs the audio fidelity."""
        if self._plane is None:
            raise ValueError(f"the {line.name} line needs the audio fidelity (media='audio')")
        self._lines.append(line)

    async def line_call(
        self, line: ExternalLine, from_: str, to: str, far: FarAudio, *,
        number: IncomingNumber | None = None, web_rtc: bool = False,
    ) -> LineCall:
        """A call from `line`'s far end `from_` to the platform's number `to`, whose audio is
        `far`; returns once the inbound handler took it (as `place_call`). The line hears the
        platform's answer through `line.answered` and the leg's end through `line.ended`.
        Raises ValueError for a `to` that is not E.164 or an empty `from_`, RuntimeError with no
        inbound handler; if the handler raises, the leg ends as failed and the error propagates.
        `web_rtc`: the caller is a browser phone (the record's `webRTC`)."""
        if self._plane is None:
            raise ValueError(f"the {line.name} line needs the audio fidelity (media='audio')")
        if not is_e164(to) or not from_:
            raise ValueError(f"to {to!r} must be an E.164 number and from must not be empty")
        if self._handler is None:
            raise RuntimeError("SimNetwork.line_call: no inbound handler set")
        call_id = self._ids.new(CALL)
        leg = self._new_leg(call_id, from_, to, outbound=False, program=PhoneProgram(),
                            listener=None)
        self._line_of[call_id] = line
        self._plane.audio_leg(leg).far = far
        await self._hand_in(leg, number, web_rtc=web_rtc)
        return LineCall(leg, self._plane, self._runner)

    async def _hand_in(self, leg: Leg, number: IncomingNumber | None, *,
                       web_rtc: bool = False) -> None:
        """Give the new inbound `leg` to the inbound handler; if it raises, the leg ends as
        failed and the error propagates."""
        assert self._handler is not None  # the callers checked
        t = leg.transcript
        try:
            await self._handler.incoming_call(leg.call_id, t.from_, t.to, number,
                                              web_rtc=web_rtc)
        except BaseException:
            if leg.live:
                t.add(TranscriptEvent.FAILED)
                leg.end()
            raise

    def _line_for(self, to: str) -> ExternalLine | None:
        for line in self._lines:
            if line.handles(to):
                return line
        return None

    async def _dial_line(
        self, line: ExternalLine, call_id: str, from_: str, to: str, listener: LegListener, *,
        detect_machine: bool,
    ) -> None:
        assert self._plane is not None  # add_line refuses a symbolic network
        leg = self._new_leg(call_id, from_, to, outbound=True,
                            program=PhoneProgram(answer=PhoneAnswer.MANUAL), listener=listener)
        self._line_of[call_id] = line
        self._spawn(leg, line.dial(LineCall(leg, self._plane, self._runner,
                                            detect_machine=detect_machine)))

    # ------------------------------------------------------------------ Telephony: legs

    def attach(self, call_id: str, listener: LegListener) -> None:
        """Attach the engine's listener to an inbound leg. Raises KeyError for unknown legs.

        A leg that already ended (its caller hung up while the engine was taking the call) is
        reported to the listener as a far-end hangup at once, instead of being attached: an
        ended leg holds no listener, and the engine must still hear of the end."""
        leg = self._legs.leg(call_id)
        if leg.live:
            leg.listener = listener
        else:
            listener.on_far_end_hangup()

    async def answer(self, call_id: str) -> None:
        """The platform answers an inbound leg; its caller's script starts now. A leg that has
        already ended or been answered is left alone. Raises KeyError for unknown legs."""
        leg = self._legs.leg(call_id)
        if leg.state is LegState.RINGING:
            self._runner.answered(leg)
            line = self._line_of.get(call_id)
            if line is not None:
                line.answered(call_id)

    async def reject(self, call_id: str) -> None:
        """The platform rejects a ringing inbound leg. Raises KeyError for unknown legs."""
        leg = self._legs.leg(call_id)
        if leg.live:
            leg.transcript.add(TranscriptEvent.REJECTED)
            leg.end()

    async def hangup(self, call_id: str) -> None:
        """The platform ends the leg; a ringing leg is canceled. Idempotent; unknown ids are
        ignored. The listener is not told (the platform knows)."""
        leg = self._legs.get(call_id)
        if leg is None or not leg.live:
            return
        if leg.state is LegState.RINGING:
            leg.transcript.add(TranscriptEvent.CANCELED)
        else:
            leg.transcript.add(TranscriptEvent.HANGUP, by=HangupBy.PLATFORM)
        leg.end()

    # ------------------------------------------------------------------ Telephony: media

    def media(self, call_id: str) -> SimMediaSession | AudioMediaSession:
        """The MediaSession of `call_id`. Symbolic (playout.py): media takes its modelled time and
        leaves transcript entries. Audio (audio/session.py): media is frames and lasts as long as
        its audio; the same entries are written. Cut short (barge-in, the leg ended) the entry
        gets `interrupted` and `heard_ms`. Media sent to an unknown or ended leg is dropped."""
        if self._plane is not None:
            return AudioMediaSession(self._plane, self._legs.get(call_id))
        return SimMediaSession(self._player, self._legs.get(call_id))

    @property
    def mixer(self) -> SymbolicMixer:
        """The mixer: symbolic (symbolic_mixer.py, conferences' legs hear each other as transcript
        entries) or audio (audio/mixer.py: the same entries, and frames summed every tick)."""
        return self._mixer

    @property
    def media_fidelity(self) -> str:
        """"audio" or "symbolic": how this network carries media."""
        return "symbolic" if self._plane is None else "audio"

    def leg_audio(self, call_id: str) -> tuple[Pcm, Pcm] | None:
        """What the phone of `call_id` heard and what it sent, as 8 kHz PCM (each at most
        `max_audio_seconds`, the newest); None for an unknown leg, one whose audio is no longer
        kept (the last `max_audio_legs` ended legs keep theirs) or a symbolic network."""
        return None if self._plane is None else self._plane.leg_audio(call_id)

    def media_clock_stats(self, *, reset: bool = False) -> ClockStats | None:
        """How punctual the media clock has been since the last reset (audio fidelity; for the
        bench); `reset` starts a new window after reading this one."""
        if self._plane is None:
            return None
        stats = self._plane.clock.stats()
        if reset:
            self._plane.clock.reset_stats()
        return stats

    async def play(self, call_id: str, source: Source) -> None:
        """`media(call_id).play(source)`, for tests and scripts that drive a leg by hand."""
        await self.media(call_id).play(source)

    async def send_digits(self, call_id: str, digits: str, pause_ms: int) -> None:
        """`media(call_id).send_dtmf(digits, pause_ms)`: 100 ms a tone, `pause_ms` per `{n}`
        unit. Raises ValueError for characters other than 0-9*# and `{n}`."""
        await self.media(call_id).send_dtmf(digits, pause_ms)

    def relay(
        self, to_call_id: str, from_call_id: str, *, text: str | None = None,
        digits: str | None = None,
    ) -> None:
        """One delivery of the symbolic mixer, by hand: the far end of `to_call_id` hears `text`
        or `digits` from that of `from_call_id` (bridge.py). Unknown legs are ignored."""
        bridge.relay(self._legs.get(to_call_id), self._legs.get(from_call_id), text=text,
                     digits=digits)

    # ------------------------------------------------------------------ sim control

    def program(self, number: str, program: PhoneProgram, *, account_id: str | None = None) -> None:
        """How `number` behaves from its next call on: for `account_id`'s calls, or the network's
        own program without one (see the module docstring). Raises ValueError for non-E.164."""
        if not is_e164(number):
            raise ValueError(f"{number!r} is not an E.164 number")
        if account_id is None:
            self._programs[number] = program
        else:
            self._account_programs.setdefault(number, {})[account_id] = program

    def get_program(self, number: str, *, account_id: str | None = None) -> PhoneProgram:
        """The program `account_id`'s calls to `number` get (the network's own without one): the
        account's, else the network's, else the default patient human."""
        if account_id is not None:
            own = self._account_programs.get(number, {}).get(account_id)
            if own is not None:
                return own
        return self._programs.get(number, PhoneProgram())

    def reset(self, number: str, *, account_id: str | None = None) -> None:
        """Forget `account_id`'s program for `number` (the network's own without one)."""
        if account_id is None:
            self._programs.pop(number, None)
            return
        programs = self._account_programs.get(number, {})
        programs.pop(account_id, None)
        if not programs:
            self._account_programs.pop(number, None)

    def programmed_by(self, account_id: str) -> list[str]:
        """The numbers `account_id` has programmed."""
        return [number for number, programs in self._account_programs.items()
                if account_id in programs]

    async def _program_for_call(self, call_id: str, to: str) -> PhoneProgram:
        """The program a new outbound leg to `to` gets: its account's, if that has one."""
        if to in self._account_programs and self._call_owner is not None:
            return self.get_program(to, account_id=await self._call_owner(call_id))
        return self.get_program(to)

    def press(self, call_id: str, digits: str) -> None:
        """The far end of a live, answered leg presses `digits` (100 ms apart).
        Raises KeyError for unknown or ended legs, ValueError for non-keypad characters or a
        leg that is still ringing."""
        check_keys(digits)
        self._runner.press(self._legs.answered_leg(call_id), digits)

    def say(self, call_id: str, text: str) -> None:
        """The far end of a live, answered leg says `text`: a `said` entry, and the platform's
        listener hears it (`on_speech_ended`). Raises KeyError for unknown or ended legs, ValueError
        for blank text or a leg that is still ringing."""
        if not text.strip():
            raise ValueError("say needs some text")
        self._runner.say(self._legs.answered_leg(call_id), text)

    def far_end_hangup(self, call_id: str) -> None:
        """The far end hangs up now. Raises KeyError for unknown or ended legs."""
        self._runner.hang_up(self._legs.live_leg(call_id), deferred=True)

    def pick_up(self, call_id: str) -> None:
        """The phone of a ringing outbound leg is answered now, by a human (any program; the
        softphone's `manual` one waits for this). Raises KeyError for unknown or ended legs,
        ValueError when the leg is not ringing or is a call the phone made itself."""
        self._runner.pick_up(self._legs.ringing_callee(call_id))

    def decline(self, call_id: str) -> None:
        """The phone of a ringing outbound leg declines it; the platform hears busy. Raises like
        `pick_up`."""
        self._runner.hang_up(self._legs.ringing_callee(call_id), deferred=True)

    def legs_of(self, number: str) -> list[LegSummary]:
        """The legs from or to `number` the network still remembers, newest first."""
        return self._legs.legs_of(number)

    def transcript(self, call_id: str) -> Transcript | None:
        return self._legs.transcript(call_id)

    def is_live(self, call_id: str) -> bool:
        return self._legs.is_live(call_id)

    # ------------------------------------------------------------------ legs moving (LegMover)

    def share_world(self, other: SimNetwork) -> None:
        """Simulate one world with `other` (two workers' networks in one process, the e2e kit):
        the same phone programs, and legs parked by one may be adopted by the other. Call
        before either has a leg."""
        self._programs = other._programs
        self._account_programs = other._account_programs
        self._in_transit = other._in_transit

    def park(self, call_id: str) -> bool:
        """Let a live leg go to another worker's network (LegMover): out of this network's book
        and mixer, its listener let go; the phone stays on the line and its script goes on.

        In audio fidelity a simulated phone moves as it does in symbolic (its parcel; the other
        network's plane makes its frames from then on), but its media stays in this network's
        plane until `let_go` (the phone may be speaking meanwhile: nobody listens). A leg whose
        audio comes from outside (an external line: SIP, a browser; an AudioStream tap) cannot
        move: its far end is tied to this process."""
        if self._plane is not None and not self._movable_audio(call_id):
            return False
        leg = self._legs.take(call_id)
        if leg is None:
            return False
        self._mixer.forget(call_id)
        leg.listener = None
        self._in_transit[call_id] = leg
        return True

    def _movable_audio(self, call_id: str) -> bool:
        assert self._plane is not None
        if call_id in self._line_of:
            return False
        audio = self._plane.find(call_id)
        return audio is None or (audio.far is None and not audio.taps)

    def parcel(self, call_id: str) -> JsonValue:
        """The parked leg `call_id` packed for another process's network (parcel.py): its
        phone's program (the script steps not started yet), state, times and transcript. None
        when it cannot travel: not parked here, an outbound leg still ringing (its ringing is
        this network's), or a program too large for the bus."""
        leg = self._in_transit.get(call_id)
        if leg is None or not leg.live or (leg.outbound and leg.state is LegState.RINGING):
            return None
        now = self._clock.now()
        steps = sorted(leg.program.script, key=lambda s: s.after_ms)[leg.steps_started:]
        return pack(LegParcel(
            call_id=call_id, from_=leg.transcript.from_, to=leg.transcript.to,
            outbound=leg.outbound, state=leg.state,
            created_ago_ms=round((now - leg.created_at) * 1000),
            answered_ago_ms=None if leg.answered_at is None
            else round((now - leg.answered_at) * 1000),
            program=replace(leg.program, script=tuple(steps)),
            entries=leg.transcript.snapshot(live=True).entries))

    def adopt(self, call_id: str, listener: LegListener, parcel: JsonValue = None) -> bool:
        """Take a leg another network of this world parked; a leg that ended meanwhile is
        reported to `listener` as a far-end hangup at once. A leg of another process arrives as
        its `parcel` (see `parcel`): it is rebuilt here and its phone goes on with its script.
        False when neither can be had (no parcel, or one this network cannot take).

        An audio network always rebuilds the leg from its parcel, even from a network of this
        process (share_world): the phone's frames come from the plane of the network that runs
        it, and the leg object stays parked for its first network to `let_go`."""
        if self._plane is not None or call_id not in self._in_transit:
            return self._arrive(call_id, listener, parcel)
        return self._take_back(call_id, listener)

    def unpark(self, call_id: str, listener: LegListener) -> None:
        """Take back a leg this network parked (nobody adopted it)."""
        self._take_back(call_id, listener)

    def _take_back(self, call_id: str, listener: LegListener) -> bool:
        leg = self._in_transit.pop(call_id, None)
        if leg is None:
            return False
        self._legs.put(leg)
        leg.carry = None if self._plane is not None else self._mixer.carry
        if leg.live:
            leg.listener = listener
        else:
            listener.on_far_end_hangup()
        return True

    def let_go(self, call_id: str) -> None:
        """A leg this network parked runs in another process's network now (it was adopted
        from its parcel): stop its phone here without a word (no transcript entry, no event).
        Its audio until now stays readable here (`leg_audio`), as an ended leg's."""
        leg = self._in_transit.pop(call_id, None)
        if leg is not None:
            leg.end()  # its listener went at `park`; its book let it go
        if self._plane is not None:
            self._plane.ended(call_id)

    def _arrive(self, call_id: str, listener: LegListener, parcel: JsonValue) -> bool:
        moved = unpack(parcel)
        if (moved is None or moved.call_id != call_id
                or not self._group.running or self._legs.get(call_id) is not None
                or moved.state is LegState.ENDED
                or (moved.outbound and moved.state is LegState.RINGING)):
            return False
        leg = self._legs.restore(moved, listener)
        if self._plane is not None:
            self._plane.audio_leg(leg)  # its frames run on this network's clock from now on
        if leg.state is LegState.ANSWERED:
            self._runner.resume(leg)
        log.info("simulated leg %s arrived from another process (%d transcript entries left "
                 "behind)", call_id, moved.dropped)
        return True

    # ------------------------------------------------------------------ internals

    def _leg_ended(self, call_id: str) -> None:
        self._mixer.forget(call_id)
        if self._plane is not None:
            self._plane.ended(call_id)
        line = self._line_of.pop(call_id, None)
        if line is not None:
            try:
                line.ended(call_id)
            except Exception:  # a line's bug must not stop the leg from ending
                log.exception("external line %s: ended(%s) failed", line.name, call_id)

    def _new_leg(
        self, call_id: str, from_: str, to: str, *, outbound: bool, program: PhoneProgram,
        listener: LegListener | None,
    ) -> Leg:
        if not self._group.running:
            raise RuntimeError("SimNetwork is not running: use it inside `async with`")
        return self._legs.open(call_id, from_, to, outbound=outbound, program=program,
                               listener=listener)

    def _spawn(self, leg: Leg | None, coro: Coroutine[Any, Any, None]) -> None:
        if not self._group.running:
            coro.close()
            raise RuntimeError("SimNetwork is not running: use it inside `async with`")
        task = self._group.spawn(_guarded(coro))
        # A task cancelled before its first step never starts `coro`; close it to say so.
        task.add_done_callback(lambda _: coro.close())
        if leg is not None:
            leg.tasks.add(task)
            task.add_done_callback(leg.tasks.discard)


_FAILS = PhoneProgram(answer=PhoneAnswer.FAILED)


async def _guarded(coro: Coroutine[Any, Any, None]) -> None:
    """Run a phone task; a bug in it is logged instead of cancelling the whole network."""
    try:
        await coro
    except Exception:
        log.exception("simulated phone task failed")
