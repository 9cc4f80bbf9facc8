"""Virtual phones: the state of one simulated leg and the behaviour of the phone at its far end.

A `Leg` is one call leg as the network sees it (ringing -> answered -> ended). A `PhoneRunner`
plays the far end's part as tasks of the network's TaskGroup: it rings and answers (or is busy,
fails, never answers, or waits for a person at a terminal to pick up) as the called number's
PhoneProgram says, then runs the program's script (keys pressed, speech, hanging up) and its
hangupAfterMs timer, and reports to the engine's LegListener. How what the phone says or presses
reaches the platform is its `FarEnd`'s business: `SymbolicFarEnd` hands words and keys to the
listener, to `carry` (the network's symbolic mixer) and to the leg's recording at once; the audio
fidelity's (audio/voice.py) sends frames the platform's detectors hear.

Why every listener call checks `leg.live` first: ending a leg cancels its tasks, but a task whose
timer already fired may be scheduled to run before the cancellation lands; the check makes "no
listener calls after a leg ended" hold without relying on that timing. The call that *reports* the
end is made by whoever ends the leg, right after `end()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from percl.domain.clock import Clock
from percl.domain.enums import AnsweredBy, MachineType, PhoneAnswer
from percl.engine.ports import DialResult, LegListener
from percl.engine.ports.media import Audio, DtmfTone, RecordingSink, SpokenText
from percl.engine.ports.recognizer import SpeechRecognizer
from percl.telephony.sim.media_model import DIGIT_MS
from percl.telephony.sim.model import HangupBy, LegState, LegSummary, PhoneProgram, TranscriptEvent
from percl.telephony.sim.transcript import TranscriptLog

log = logging.getLogger(__name__)

__all__ = ["FarEnd", "Leg", "LegState", "PhoneRunner", "SymbolicFarEnd"]

Spawn = Callable[["Leg | None", Coroutine[Any, Any, None]], None]
#: Where the network takes what a phone sends (the symbolic mixer).
Carry = Callable[["Leg", Audio], None]


class Leg:
    """One simulated call leg. Create it inside the running event loop."""

    def __init__(
        self,
        call_id: str,
        from_: str,
        to: str,
        *,
        outbound: bool,
        program: PhoneProgram,
        clock: Clock,
        listener: LegListener | None = None,
    ) -> None:
        self.call_id = call_id
        self.outbound = outbound
        self.program = program
        self.listener = listener
        #: Where what the phone sends goes when the leg moved to another worker's network (that
        #: network's mixer); None: the network that made it.
        self.carry: Carry | None = None
        self.state = LegState.RINGING
        self.created_at = clock.now()
        self.answered_at: float | None = None
        #: Script steps (in afterMs order) the phone has started: a leg that moves to another
        #: process's network carries only the others (parcel.py).
        self.steps_started = 0
        self.transcript = TranscriptLog(clock, call_id, from_, to)
        self.tasks: set[asyncio.Task[None]] = set()
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.keypad = asyncio.Lock()  # presses from the script and the API never interleave
        self._clock = clock
        self._recording: tuple[RecordingSink, float] | None = None  # the sink, when it started

    @property
    def live(self) -> bool:
        return self.state is not LegState.ENDED

    def summary(self) -> LegSummary:
        t = self.transcript
        return LegSummary(self.call_id, t.from_, t.to, outbound=self.outbound, state=self.state,
                          created_ms=round(self.created_at * 1000))  # fmt: skip

    def notify(self, event: Callable[[LegListener], None]) -> None:
        """Deliver one event to the engine's listener (if attached); its faults are logged, not
        raised, so an engine bug cannot tear down the network's TaskGroup."""
        _deliver(self.listener, event, self.call_id)

    def start_recording(self, sink: RecordingSink) -> None:
        """Write what the far end sends to `sink` until stopped or the leg ends."""
        self.stop_recording()
        if self.live:
            self._recording = (sink, self._clock.now())

    def stop_recording(self) -> None:
        recording, self._recording = self._recording, None
        if recording is not None:
            sink, started = recording
            sink.close(round((self._clock.now() - started) * 1000))

    @property
    def recording(self) -> bool:
        return self._recording is not None

    def record(self, audio: Audio) -> None:
        """The far end sent `audio`: into the running recording, if any."""
        if self._recording is not None:
            self._recording[0].write(audio)

    def record_heard(self, audio: Audio) -> None:
        """The far end heard `audio`: into the running recording, if any."""
        if self._recording is not None:
            self._recording[0].hear(audio)

    def end(self) -> None:
        """Mark the leg ended, let go of the engine's listener and cancel its phone's pending
        behaviour. Idempotent. Whoever reports the end takes the listener before calling this.

        Why let go: ended legs stay in the book for their transcripts (up to 10,000); a leg that
        kept its listener kept the engine's whole call session alive with it, which made every
        full garbage-collector pass walk thousands of dead sessions (docs/BENCHMARKS.md)."""
        if self.state is LegState.ENDED:
            return
        self.state = LegState.ENDED
        self.listener = None
        self.stop_recording()
        current = asyncio.current_task()
        for task in list(self.tasks):
            if task is not current:
                task.cancel()
        if not self.ended.done():
            self.ended.set_result(None)


class FarEnd(Protocol):
    """How the phone at a leg's far end sends what its program says: symbolic (words and key
    events, below) or audio (frames from its mouth, telephony/sim/audio/voice.py)."""

    def connected(self, leg: Leg) -> None:
        """`leg` was answered (either side): its media flows from now on."""
        ...

    def answered(self, leg: Leg, answer: PhoneAnswer, *, detect_machine: bool) -> AnsweredBy:
        """The phone of an outbound leg answered as `answer` (human, machine or fax): start what
        follows (a greeting, machine detection); returns who the platform is told answered."""
        ...

    async def key_gap(self) -> None:
        """Wait between two keys of one press."""
        ...

    async def key(self, leg: Leg, key: str) -> None:
        """The phone presses `key` (its transcript entry is written)."""
        ...

    async def speak(self, leg: Leg, text: str) -> None:
        """The phone says `text` (its `said` entry is written); returns when it has been said."""
        ...


class SymbolicFarEnd:
    """Words and keys reach the platform as events, at once; media takes no time. A machine or
    fax is detected `machine_detect_ms` after the answer."""

    def __init__(self, clock: Clock, spawn: Spawn, *, machine_detect_ms: int,
                 recognizer: SpeechRecognizer, carry: Carry) -> None:
        self._clock = clock
        self._spawn = spawn
        self._machine_detect_ms = machine_detect_ms
        self._recognizer = recognizer
        self._carry = carry

    def connected(self, leg: Leg) -> None:
        pass

    def answered(self, leg: Leg, answer: PhoneAnswer, *, detect_machine: bool) -> AnsweredBy:
        if answer is PhoneAnswer.HUMAN:
            return AnsweredBy.HUMAN
        if detect_machine:
            kind = (MachineType.FAX_MODEM if answer is PhoneAnswer.FAX
                    else MachineType.ANSWERING_MACHINE)
            self._spawn(leg, self._detect(leg, kind))
        return AnsweredBy.MACHINE

    async def key_gap(self) -> None:
        await self._clock.sleep(DIGIT_MS / 1000)

    async def key(self, leg: Leg, key: str) -> None:
        self._sent(leg, DtmfTone(key))
        leg.notify(lambda ln: ln.on_dtmf(key))

    async def speak(self, leg: Leg, text: str) -> None:
        # Speech is delivered whole, as a recogniser would report it; it takes no modelled time.
        utterance = SpokenText(text)
        self._sent(leg, utterance)
        heard = self._recognizer.transcribe((utterance,)).text
        leg.notify(lambda ln: ln.on_speech_started())
        leg.notify(lambda ln: ln.on_speech_ended(heard))

    async def _detect(self, leg: Leg, kind: MachineType) -> None:
        await self._clock.sleep(self._machine_detect_ms / 1000)
        if leg.live:
            leg.transcript.add(TranscriptEvent.MACHINE_DETECTED, machine_type=str(kind))
            leg.notify(lambda ln: ln.on_machine_detected(kind))

    def _sent(self, leg: Leg, audio: Audio) -> None:
        leg.record(audio)
        (leg.carry or self._carry)(leg, audio)


class PhoneRunner:
    """The far end's behaviour. `spawn(leg, coro)` runs `coro` as a task owned by the leg;
    `far_end` says how what the phone does reaches the platform."""

    def __init__(self, clock: Clock, spawn: Spawn, far_end: FarEnd) -> None:
        self._clock = clock
        self._spawn = spawn
        self._far_end = far_end

    async def ring(self, leg: Leg, *, detect_machine: bool) -> None:
        """An outbound leg: ring, then answer / be busy / fail as the program says."""
        leg.notify(lambda ln: ln.on_ringing())
        program = leg.program
        if program.answer is PhoneAnswer.FAILED:
            self._fail(leg, TranscriptEvent.FAILED, DialResult.FAILED)
            return
        if program.answer in (PhoneAnswer.NO_ANSWER, PhoneAnswer.MANUAL):
            return  # rings until the engine's ring timeout hangs up (or the sim API picks up)
        await self._sleep_until_time(leg.created_at + program.answer_after_ms / 1000)
        if leg.state is not LegState.RINGING:
            return  # ended, or picked up early through the sim API
        if program.answer is PhoneAnswer.BUSY:
            self._fail(leg, TranscriptEvent.BUSY, DialResult.BUSY)
            return
        self.answered(leg)
        by = self._far_end.answered(leg, program.answer, detect_machine=detect_machine)
        leg.notify(lambda ln: ln.on_answered(by))

    def answered(self, leg: Leg) -> None:
        """Mark `leg` answered now and start its phone's script and hangupAfterMs timer."""
        leg.state = LegState.ANSWERED
        leg.answered_at = self._clock.now()
        leg.transcript.add(TranscriptEvent.ANSWERED)
        self._far_end.connected(leg)
        self.resume(leg)

    def resume(self, leg: Leg) -> None:
        """Start the answered `leg`'s script and hangupAfterMs timer (at its answer, or when it
        arrived from another process's network: their times still count from its answer)."""
        if leg.program.script:
            self._spawn(leg, self._script(leg))
        if leg.program.hangup_after_ms is not None:
            self._spawn(leg, self._hangup_after(leg, leg.program.hangup_after_ms))

    def pick_up(self, leg: Leg) -> None:
        """A person picks up a ringing outbound leg: it is answered by a human now."""
        self.answered(leg)
        leg.notify(lambda ln: ln.on_answered(AnsweredBy.HUMAN))

    def say(self, leg: Leg, text: str) -> None:
        """The phone says `text` now (a `said` entry, then the listener's speech events), from
        a task."""
        self._spawn(leg, self._say(leg, text))

    def press(self, leg: Leg, digits: str) -> None:
        """The phone presses `digits` now (one listener.on_dtmf per key, 100 ms apart)."""
        self._spawn(leg, self._press(leg, digits))

    def hang_up(self, leg: Leg, *, deferred: bool = False) -> None:
        """The phone hangs up. A ringing outbound leg is declined, which the caller hears as
        busy; a ringing inbound leg is the caller giving up. The leg ends at once; with
        `deferred` (calls from outside the network's tasks) the listener hears of it from a
        network task instead of from the caller's stack."""
        if not leg.live:
            return
        if leg.outbound and leg.state is LegState.RINGING:
            self._finish(leg, deferred, lambda ln: ln.on_dial_failed(DialResult.BUSY),
                         TranscriptEvent.BUSY)  # fmt: skip
        else:
            self._finish(leg, deferred, lambda ln: ln.on_far_end_hangup(),
                         TranscriptEvent.HANGUP, by=HangupBy.FAR_END)  # fmt: skip

    # ------------------------------------------------------------------ behaviour tasks

    @property
    def far_end(self) -> FarEnd:
        return self._far_end

    def fail(self, leg: Leg, entry: TranscriptEvent, result: DialResult) -> None:
        """The outbound `leg` ended before an answer (`entry` in its transcript); a network
        task or a line reports it."""
        self._finish(leg, True, lambda ln: ln.on_dial_failed(result), entry)

    def _fail(self, leg: Leg, entry: TranscriptEvent, result: DialResult) -> None:
        self._finish(leg, False, lambda ln: ln.on_dial_failed(result), entry)

    def _finish(
        self,
        leg: Leg,
        deferred: bool,
        event: Callable[[LegListener], None],
        entry: TranscriptEvent,
        **fields: Any,
    ) -> None:
        """Record the final entry, end the leg, then report the end to the listener."""
        leg.transcript.add(entry, **fields)
        listener = leg.listener  # end() lets go of it
        leg.end()
        if deferred:
            self._spawn(None, _later(lambda: _deliver(listener, event, leg.call_id)))
        else:
            _deliver(listener, event, leg.call_id)

    async def _script(self, leg: Leg) -> None:
        # Steps run one after another in afterMs order; a step never starts before the previous
        # one finished (a long digit string delays what follows it).
        for step in sorted(leg.program.script, key=lambda s: s.after_ms):
            await self._sleep_since_answer(leg, step.after_ms)
            if not leg.live:
                return
            # Counted when it starts: a leg that moves mid-step must not repeat its keys there.
            leg.steps_started += 1
            if step.digits:
                await self._press(leg, step.digits)
            elif step.say is not None:
                await self._say(leg, step.say)
            elif step.hangup:
                self.hang_up(leg)
                return

    async def _hangup_after(self, leg: Leg, after_ms: int) -> None:
        await self._sleep_since_answer(leg, after_ms)
        self.hang_up(leg)

    async def _press(self, leg: Leg, digits: str) -> None:
        async with leg.keypad:
            index: int | None = None
            for i, key in enumerate(digits):
                if i:
                    await self._far_end.key_gap()
                if not leg.live:
                    return
                if index is None:
                    index = leg.transcript.add(TranscriptEvent.DIGITS_PRESSED, digits=key)
                else:
                    leg.transcript.amend(index, digits=digits[: i + 1])
                await self._far_end.key(leg, key)

    async def _say(self, leg: Leg, text: str) -> None:
        if not leg.live:
            return
        leg.transcript.add(TranscriptEvent.SAID, text=text)
        await self._far_end.speak(leg, text)

    async def _sleep_since_answer(self, leg: Leg, after_ms: int) -> None:
        assert leg.answered_at is not None
        await self._sleep_until_time(leg.answered_at + after_ms / 1000)

    async def _sleep_until_time(self, when: float) -> None:
        await self._clock.sleep(max(0.0, when - self._clock.now()))


async def _later(action: Callable[[], None]) -> None:
    action()


def _deliver(listener: LegListener | None, event: Callable[[LegListener], None], call_id: str) -> None:
    if listener is None:
        return
    try:
        event(listener)
    except Exception:
        log.exception("LegListener of %s raised", call_id)
