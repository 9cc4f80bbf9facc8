"""External lines: networks beyond the simulated one (a SIP trunk, browser phones) whose calls are
legs of the simulated network.

A call from or to a real phone is a sim `Leg` whose far end is not a scripted phone but an
`ExternalLine`: the line signals (ringing, answer, busy, hang-up, keys) through the leg's
`LineCall`, and its audio flows through a `FarAudio` that the audio plane reads and writes one
20 ms frame per media-clock tick. So conferences, recordings, AudioStream, DTMF and speech
detection, AMD and the sim API's audio endpoint work on such legs as on any other, and the engine
still sees one Telephony. Lines need the audio fidelity (`SimNetwork(media="audio")`).

Why through the sim network rather than beside it: the network already owns the media clock, the
mixer and the per-leg detectors; a second network would need its own, and conferences joining a
SIP caller with a browser and a sim phone would need a bridge between mixers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from percl.domain.enums import PhoneAnswer
from percl.engine.ports import DialResult
from percl.telephony.sim.audio.dsp import Pcm
from percl.telephony.sim.model import TranscriptEvent
from percl.telephony.sim.phones import Leg, LegState

if TYPE_CHECKING:
    from percl.telephony.sim.audio.plane import AudioPlane
    from percl.telephony.sim.phones import PhoneRunner


class FarAudio(Protocol):
    """The far end's audio, one 20 ms frame (160 samples at 8 kHz) per media-clock tick. Called
    from the media clock's tick: neither method may block or raise."""

    def take(self) -> Pcm | None:
        """What the far end sent this tick (None: nothing arrived)."""
        ...

    def give(self, frame: Pcm | None) -> None:
        """What the far end hears this tick (None: silence)."""
        ...

    def close(self) -> None:
        """The leg's media ended; nothing more is taken or given."""
        ...


@runtime_checkable
class DigitEvents(Protocol):
    """A FarAudio that can send keys as RFC 4733 events instead of tones (a SIP leg whose peer
    negotiated telephone-event). SendDigits asks it per key; without it, keys are tones."""

    @property
    def sends_events(self) -> bool:
        """True when the peer accepts events now (else: play tones)."""
        ...

    def send_digit_event(self, key: str, tone_ms: int) -> int:
        """Send `key` as an event lasting `tone_ms`, in the ticks to come; returns the
        milliseconds its packets take (the end packet's repeats included)."""
        ...


class ExternalLine(Protocol):
    """A network beyond the simulated one. Its methods are called on the event loop and must not
    block; `dial` runs as a task of the network, owned by the leg (ending the leg cancels it)."""

    @property
    def name(self) -> str:
        """A short name for logs and transcripts ("sip", "webrtc")."""
        ...

    def handles(self, to: str) -> bool:
        """True when an outbound call to `to` goes out on this line."""
        ...

    async def dial(self, call: LineCall) -> None:
        """Place the outbound call `call`; report its progress through it."""
        ...

    def answered(self, call_id: str) -> None:
        """The platform answered an inbound call that came from this line."""
        ...

    def ended(self, call_id: str) -> None:
        """The leg `call_id` of this line ended, whoever ended it (the platform's hang-up, a
        cancel or reject, the far end). Called once per leg."""
        ...


class LineCall:
    """The handle a line drives one of its legs with. Each method is a no-op once the leg has
    ended (a BYE racing the platform's hang-up is harmless)."""

    __slots__ = ("_leg", "_plane", "_runner", "detect_machine")

    def __init__(self, leg: Leg, plane: AudioPlane, runner: PhoneRunner, *,
                 detect_machine: bool = False) -> None:
        self._leg = leg
        self._plane = plane
        self._runner = runner
        self.detect_machine = detect_machine

    @property
    def call_id(self) -> str:
        return self._leg.call_id

    @property
    def from_(self) -> str:
        return self._leg.transcript.from_

    @property
    def to(self) -> str:
        return self._leg.transcript.to

    @property
    def live(self) -> bool:
        return self._leg.live

    def ringing(self) -> None:
        """The far end rings (SIP 180)."""
        if self._leg.live:
            self._leg.notify(lambda ln: ln.on_ringing())

    def early_audio(self, far: FarAudio) -> None:
        """Audio flows before the answer (SIP 183 with SDP)."""
        if self._leg.live:
            self._plane.audio_leg(self._leg).far = far

    def answer(self, far: FarAudio, *, web_rtc: bool = False) -> None:
        """The far end answered an outbound call (SIP 200): a human as far as signalling knows;
        with machine detection on, the ear judges the audio that follows. `web_rtc`: the far
        end is a browser phone (the record's `webRTC`)."""
        leg = self._leg
        if not leg.live or leg.state is not LegState.RINGING or not leg.outbound:
            far.close()
            return
        self._plane.audio_leg(leg).far = far
        self._runner.answered(leg)
        by = self._runner.far_end.answered(leg, PhoneAnswer.HUMAN,
                                           detect_machine=self.detect_machine)
        leg.notify(lambda ln: ln.on_answered(by, web_rtc=web_rtc))

    def fail(self, result: DialResult) -> None:
        """The outbound call ended before an answer: busy, no answer or failed."""
        if result is DialResult.ANSWERED:
            raise ValueError("fail() takes busy, noAnswer or failed; an answer is answer()")
        if self._leg.live and self._leg.state is LegState.RINGING:
            self._runner.fail(self._leg, _FAILURE_ENTRY[result], result)

    def hang_up(self) -> None:
        """The far end hung up (SIP BYE, a CANCEL of an inbound call, the browser closed)."""
        self._runner.hang_up(self._leg, deferred=True)

    def press(self, digits: str) -> None:
        """The far end pressed `digits` (RFC 4733 events, a browser keypad): played into the
        leg as DTMF tones, so the platform's detectors hear them as they hear any phone's."""
        if self._leg.live and self._leg.state is LegState.ANSWERED:
            self._runner.press(self._leg, digits)


_FAILURE_ENTRY: dict[DialResult, TranscriptEvent] = {
    DialResult.BUSY: TranscriptEvent.BUSY,
    DialResult.NO_ANSWER: TranscriptEvent.NO_ANSWER,
    DialResult.FAILED: TranscriptEvent.FAILED,
}
