"""The audio of every leg of the simulated network, advanced one 20 ms frame per media-clock tick.

An `AudioLeg` is one leg's media: what the platform plays to the phone (`player`, plus `injected`
tones a conference passes on), what the phone's mouth sends (`mouth`), the platform's `ear` on
what it sends, and the `heard` and `sent` tracks kept for GET /sim/v1/calls/{id}/audio. A leg gets
one when it is answered, or earlier when the platform plays early media to it.

Each tick, for every live audio leg: take the player's and the mouth's next frames; let the ear
hear the sent frame (keys, speech, machine detection reach the engine's listener from here);
let the mixer add what each leg hears of the others; keep both frames (and write the sent one
to a running recording). An utterance the ear heard is transcribed by the kit in a worker thread,
counted by the `tracker` (the FakeClock's, in tests) so `settle()` waits for it.

Ended legs keep their tracks for the last `max_audio_legs` legs.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from percl.domain.clock import Clock
from percl.engine.ports import AudioFrame, LegListener, SpeechGrammar
from percl.telephony.sim.audio.clock import MediaClock
from percl.telephony.sim.audio.dsp import FRAME_MS, Pcm, tones_in
from percl.telephony.sim.audio.ear import ZERO, Ear, Heard
from percl.telephony.sim.audio.kit import AudioKit
from percl.telephony.sim.audio.mixer import AudioMixer
from percl.telephony.sim.audio.streams import FrameQueue, Track
from percl.telephony.sim.model import TranscriptEvent
from percl.telephony.sim.phones import Leg
from percl.telephony.sim.stream_tap import FrameTap
from percl.telephony.sim.symbolic_mixer import FindLeg

if TYPE_CHECKING:
    from percl.telephony.sim.lines import FarAudio

#: Run a coroutine as a task of the network, owned by a leg (None: by the network).
Spawn = Callable[["Leg | None", Coroutine[Any, Any, None]], None]


class WorkCounter(Protocol):
    """Counts work in flight outside the event loop (percl.testing's WorkTracker)."""

    def enter(self) -> None: ...
    def leave(self) -> None: ...


class AudioLeg:
    """The media of one leg (see the module docstring)."""

    __slots__ = (
        "asr_turn",
        "bound",
        "ear",
        "failed_urls",
        "far",
        "grammar",
        "heard",
        "in_tone",
        "injected",
        "leg",
        "mouth",
        "player",
        "sent",
        "sent_track",
        "taps",
    )

    def __init__(self, leg: Leg, max_frames: int) -> None:
        self.leg = leg
        self.player = FrameQueue()
        self.injected = FrameQueue()
        self.mouth = FrameQueue()
        self.ear = Ear()
        self.heard = Track(max_frames)
        self.sent_track = Track(max_frames)
        self.grammar: SpeechGrammar | None = None  # what the recogniser listens for (None: anything)
        self.asr_turn = asyncio.Lock()  # utterances reach the listener in the order spoken
        self.sent: Pcm | None = None  # this tick's frames
        self.bound: Pcm | None = None
        self.in_tone = False
        self.failed_urls: set[str] = set()  # Play URLs whose failure was logged
        self.taps: list[FrameTap] = []  # AudioStream's live taps (stream_tap.py)
        self.far: FarAudio | None = None  # an external line's audio (lines.py), beside the mouth

    def pull(self) -> None:
        """Take this tick's frames: what the phone sends, and what it hears of the platform
        (its plays and injected tones; the mixer adds the others later in the tick)."""
        far = self.far
        if far is not None and not (self.mouth or self.player or self.injected or self.taps):
            external = far.take()  # a line's leg nobody plays to: most of a SIP load's ticks
            self.sent = None if external is ZERO else external
            self.bound = None
            return
        sent = self.mouth.next() if self.mouth else None
        if self.far is not None:  # a real phone; the mouth still carries keys a line reports
            external = self.far.take()
            if external is ZERO:  # a line's decoded digital silence: silence, as a mouth's None
                external = None
            sent = external if sent is None else sent if external is None else _add(sent, external)
        self.sent = sent
        bound = self.player.next() if self.player else None
        if self.injected:
            extra = self.injected.next()
            bound = extra if bound is None else bound if extra is None else _add(bound, extra)
        for tap in self.taps:  # an AudioStream agent's audio
            extra = tap.next_out()
            bound = extra if bound is None else bound if extra is None else _add(bound, extra)
        self.bound = bound

    def keep(self) -> None:
        """Keep this tick's frames (and write both to a running recording)."""
        self.heard.append(self.bound)
        self.sent_track.append(self.sent)
        if self.taps:
            for tap in self.taps:
                tap.feed(self.sent)
            self.taps = [tap for tap in self.taps if not tap.closed]
        if self.far is not None:
            self.far.give(self.bound)
        if self.leg.recording:
            if self.sent is None:
                self.leg.record(AudioFrame(ZERO.tobytes()))
            else:
                self.leg.record(AudioFrame(self.sent.tobytes(), tone=self.in_tone))
            self.leg.record_heard(AudioFrame((ZERO if self.bound is None else self.bound).tobytes()))

    def add_bound(self, frame: Pcm) -> None:
        self.bound = frame if self.bound is None else _add(self.bound, frame)

    def inject(self, pcm: Pcm) -> None:
        self.injected.put(pcm)

    def close(self) -> None:
        for queue in (self.player, self.injected, self.mouth):
            queue.clear()
        for tap in self.taps:
            tap.close()
        far, self.far = self.far, None
        if far is not None:
            far.close()


class AudioPlane:
    def __init__(self, clock: Clock, kit: AudioKit, spawn: Spawn, find_leg: FindLeg, *,
                 tracker: WorkCounter | None, max_audio_seconds: int, max_audio_legs: int) -> None:
        if max_audio_seconds <= 0 or max_audio_legs < 0:
            raise ValueError("max_audio_seconds > 0 and max_audio_legs >= 0")
        self.kit = kit
        self._spawn = spawn
        self._tracker = tracker
        self._max_frames = max_audio_seconds * 1000 // FRAME_MS
        self._max_ended = max_audio_legs
        self._legs: dict[str, AudioLeg] = {}
        self._ended: OrderedDict[str, tuple[Track, Track]] = OrderedDict()
        self.mixer = AudioMixer(find_leg, self._legs.get)
        self.clock = MediaClock(clock, self.tick, lambda coro: spawn(None, coro))

    # ------------------------------------------------------------------ legs

    def audio_leg(self, leg: Leg) -> AudioLeg:
        """The media of a live `leg`, made (and the clock started) on first use. An ended leg
        gets a closed one: what is queued on it is cancelled at once."""
        audio = self._legs.get(leg.call_id)
        if audio is None and not leg.live:
            audio = AudioLeg(leg, 1)
            audio.close()
        elif audio is None:
            audio = self._legs[leg.call_id] = AudioLeg(leg, self._max_frames)
            self.clock.start()
        return audio

    def first_failure(self, leg: Leg, url: str) -> bool:
        """True the first time `url` could not be played on `leg` (its warning is logged once)."""
        audio = self.audio_leg(leg)
        if url in audio.failed_urls:
            return False
        audio.failed_urls.add(url)
        return True

    def find(self, call_id: str) -> AudioLeg | None:
        return self._legs.get(call_id)

    def ended(self, call_id: str) -> None:
        """The leg ended: stop its media, keep its tracks (the newest `max_audio_legs`)."""
        audio = self._legs.pop(call_id, None)
        if audio is None:
            return
        audio.close()
        if self._max_ended == 0:
            return
        self._ended[call_id] = (audio.heard, audio.sent_track)
        while len(self._ended) > self._max_ended:
            self._ended.popitem(last=False)

    def leg_audio(self, call_id: str) -> tuple[Pcm, Pcm] | None:
        """What the phone of `call_id` heard and sent (None: no audio kept for it)."""
        audio = self._legs.get(call_id)
        tracks = (audio.heard, audio.sent_track) if audio is not None else self._ended.get(call_id)
        return None if tracks is None else (tracks[0].pcm(), tracks[1].pcm())

    # ------------------------------------------------------------------ the tick

    def tick(self) -> bool:
        """Advance every live audio leg by one frame; False when there is none."""
        if not self._legs:
            return False
        audios = list(self._legs.values())
        for audio in audios:
            audio.pull()
        self._listen(audios)
        self.mixer.mix(self._legs)
        for audio in audios:
            audio.keep()
        return True

    def _listen(self, audios: list[AudioLeg]) -> None:
        """The platform's ears hear what each phone sent this tick."""
        sending = [(audio, audio.sent) for audio in audios if audio.sent is not None]
        if sending:  # one matrix product for every leg's frame
            tones = tones_in(np.stack([frame for _, frame in sending]))
            for (audio, _), in_tone in zip(sending, tones.tolist(), strict=True):
                audio.in_tone = in_tone
        for audio in audios:
            heard = audio.ear.hear(audio.sent, audio.in_tone if audio.sent is not None else False)
            if heard is not None:
                self._heard(audio, heard)

    def _heard(self, audio: AudioLeg, heard: Heard) -> None:
        leg = audio.leg
        for key in heard.keys:
            leg.notify(_dtmf(key))
        if heard.speech_started:
            leg.notify(lambda ln: ln.on_speech_started())
        if heard.utterance is not None:
            self._spawn(leg, self._recognise(audio, heard.utterance, audio.grammar))
        kind = heard.machine
        if kind is not None:
            leg.transcript.add(TranscriptEvent.MACHINE_DETECTED, machine_type=str(kind))
            leg.notify(lambda ln: ln.on_machine_detected(kind))

    async def _recognise(self, audio: AudioLeg, pcm: Pcm, grammar: SpeechGrammar | None) -> None:
        """Transcribe one utterance off the event loop; its text reaches the listener in turn."""
        tracker = self._tracker
        if tracker is not None:
            tracker.enter()
        try:
            async with audio.asr_turn:
                text, _ = await asyncio.to_thread(self.kit.transcribe, pcm, grammar)
        finally:
            if tracker is not None:
                tracker.leave()
        if audio.leg.live:
            audio.leg.notify(lambda ln: ln.on_speech_ended(text))


def _dtmf(key: str) -> Callable[[LegListener], None]:
    return lambda listener: listener.on_dtmf(key)


def _add(a: Pcm, b: Pcm) -> Pcm:
    added: Pcm = np.clip(a.astype(np.int32) + b, -32768, 32767).astype(np.int16)
    return added
