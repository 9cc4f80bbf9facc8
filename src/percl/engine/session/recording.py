"""RecordUtterance and StartRecordCall: a leg's audio into recordings.

A leg has one recording sink on the network (MediaSession.start_recording), so the engine puts a
`LegTap` there and the tap hands what it hears to every take running on the leg: a
RecordUtterance's and a StartRecordCall's can overlap. Each take's length is the engine clock's
time from its start to its end, which the WAV then lasts exactly (media/recording.py).

RecordUtterance (terminal): an optional beep, then the caller is recorded until the finish key
(not itself recorded), `silenceTimeoutMs` without sound, `maxLengthSec` or the hangup; the
`record` webhook then goes to actionUrl, whose PerCL continues the call (after a hangup it is only
a notice). With `autoStart` the take starts at the first sound; no sound before `maxLengthSec`
gives a zero-length recording. While it records, the leg's keys and speech are the recording's,
not the script's.

StartRecordCall (non-blocking): a take from now until the leg ends; the leg's callStatus webhook
carries its recordingUrl, recordingId and recordingDurationSec; a zero-length one (the leg ended
at once) is not kept and is reported with recordingDurationSec 0 and both others empty, as
FreeClimb documents.
It records both directions mixed: what the far end sends and what it hears (percl's prompts, the
other parties of a conference), as FreeClimb's call recording does; a RecordUtterance records
only the caller.

A conference created with `record: true` (`start_mix`, called by its room): the network's mixer
writes what the conference carries to a take from inProgress until the room stops it (empty);
the recording belongs to the conference (conferenceId, no callId).

A recording that cannot be saved (RecordingLibrary.save logs why) is reported with an empty
recordingId and recordingUrl, size "0" and duration 0; the call goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from percl.domain import payloads as p
from percl.domain.enums import LogLevel
from percl.domain.records import Recording
from percl.engine.context import EngineContext
from percl.engine.ports import (
    Audio,
    AudioFrame,
    AudioRecorder,
    DtmfTone,
    RecordingTake,
    Tone,
)
from percl.engine.recordings import (
    RECORDING_FORMAT,
    RecordingLibrary,
    duration_sec,
)
from percl.engine.recordings import recording_url as own_url
from percl.engine.runners import Leg, StopMixRecording
from percl.percl import events as e
from percl.percl.commands import Command, RecordUtterance

#: A 16-bit sample at least this loud makes a frame "sound" (about -36 dBFS): silence timeouts.
SOUND_LEVEL = 512


def is_sound(audio: Audio) -> bool:
    """Whether `audio` is something the caller said or pressed, not silence."""
    if isinstance(audio, AudioFrame):
        samples = memoryview(audio.pcm[: len(audio.pcm) // 2 * 2]).cast("h")
        return any(abs(s) >= SOUND_LEVEL for s in samples)
    return True


@dataclass(eq=False)
class Running:
    """One take on a leg. `take` is None until the first sound for an autoStart take."""

    recorder: AudioRecorder
    now: Callable[[], float]
    both_ways: bool = False  # also what the leg hears (StartRecordCall)
    keys: bool = True  # keys are recorded and count as sound (not for TranscribeUtterance)
    finish_key: str | None = None
    auto_start: bool = False
    on_sound: Callable[[], None] | None = None
    take: RecordingTake | None = None
    started: float = 0.0
    ended: float | None = None
    tone_since: float | None = None  # when the DTMF tone sounding now began (audio frames)

    def __post_init__(self) -> None:
        if not self.auto_start:
            self.take, self.started = self.recorder.take(), self.now()

    def write(self, audio: Audio) -> None:
        if self.ended is not None:
            return
        if isinstance(audio, DtmfTone) and self.finish_key:
            audio = DtmfTone(audio.digits.replace(self.finish_key, ""))
            if not audio.digits:
                return
        if isinstance(audio, DtmfTone) and not self.keys:
            return
        if isinstance(audio, AudioFrame):
            self.tone_since = (self.tone_since or self.now()) if audio.tone else None
        sound = is_sound(audio) and (self.keys or not (isinstance(audio, AudioFrame)
                                                       and audio.tone))
        if self.take is None:
            if not sound:
                return
            self.take, self.started = self.recorder.take(), self.now()
        self.take.write(audio)
        if sound and self.on_sound is not None:
            self.on_sound()

    def hear(self, audio: Audio) -> None:
        if self.both_ways and self.ended is None and self.take is not None:
            self.take.hear(audio)

    @property
    def duration_ms(self) -> int:
        return 0 if self.ended is None else round((self.ended - self.started) * 1000)

    def stop(self, *, cut_tone: bool = False) -> RecordingTake:
        """End the take (idempotent); a take that never started is an empty one. `cut_tone`: end
        it where the DTMF tone sounding now began (the finish key's tone in audio is heard frames
        before the detector reports the key, and FreeClimb leaves the finish key out)."""
        if self.ended is None:
            self.ended = self.now()
            if cut_tone and self.tone_since is not None and self.take is not None:
                self.ended = max(self.started, self.tone_since)
            if self.take is None:
                self.take, self.started = self.recorder.take(), self.ended
            self.take.close(self.duration_ms)
        assert self.take is not None
        return self.take


@dataclass(eq=False)
class LegTap:
    """The network's RecordingSink of one leg: what it hears goes to every running take."""

    running: list[Running] = field(default_factory=list)
    closed: bool = False

    def write(self, audio: Audio) -> None:
        for take in list(self.running):
            take.write(audio)

    def hear(self, audio: Audio) -> None:
        for take in self.running:
            take.hear(audio)

    def close(self, duration_ms: int) -> None:
        """The leg ended (or its recording was replaced): every take ends now."""
        self.closed = True
        for take in self.running:
            take.stop()
        self.running.clear()


@dataclass(eq=False)
class MixTap:
    """The mixer's RecordingSink of one conference: what it carries goes to the take."""

    take: Running

    def write(self, audio: Audio) -> None:
        self.take.write(audio)

    def hear(self, audio: Audio) -> None:
        self.take.write(audio)

    def close(self, duration_ms: int) -> None:
        self.take.stop()


class Utterance:
    """A running RecordUtterance: holds the leg (engine.runners.Membership) so its keys and speech
    are the recording's, and says why it ended."""

    def __init__(self, service: RecordingService, command: RecordUtterance, now: float) -> None:
        self.service = service
        self.command = command
        self.last_sound = now
        self.reason: p.RecordTermReason | None = None
        self.wake = asyncio.Event()
        self.take: Running | None = None
        self.reported = False

    def end(self, reason: p.RecordTermReason) -> None:
        if self.reason is None:
            self.reason = reason
            self.wake.set()

    def heard(self) -> None:
        self.last_sound = self.service.ctx.clock.now()

    def on_digits(self, session: Leg, digits: str) -> bool:
        key = self.command.finish_on_key
        if key and key in digits:
            self.end("finishKey")
        return True  # keys while recording are the recording's

    def on_speech(self, session: Leg, text: str) -> bool:
        return True

    async def on_idle(self, session: Leg) -> None:
        return None

    async def on_leg_ended(self, session: Leg) -> None:
        self.end("hangup")
        if self.reported:
            return
        self.reported = True
        payload = await self.service.finish_utterance(session, self)
        await session.send_webhook(self.command.action_url, payload,
                                   privacy_mode=bool(self.command.privacy_mode))


class RecordingService:
    """Recordings made on legs. Construct once in app.py: it registers the RecordUtterance and
    StartRecordCall runners and the callStatus fields of whole-call recordings."""

    def __init__(self, ctx: EngineContext, library: RecordingLibrary, recorder: AudioRecorder,
                 api_base_url: str = "", private_recording_s: float = 120.0) -> None:
        """`private_recording_s`: how long a private recording (privacyMode) is kept."""
        self.ctx, self.library, self.recorder = ctx, library, recorder
        self.api_base_url = api_base_url.rstrip("/")
        self.private_recording_s = private_recording_s
        self.taps: dict[str, LegTap] = {}
        self.whole_calls: dict[str, Running] = {}  # call id -> its StartRecordCall take
        ctx.runners.register("RecordUtterance", self.run_record_utterance)
        ctx.runners.register("StartRecordCall", self.run_start_record_call)
        ctx.runners.on_call_status(self.call_status)
        ctx.runners.record_mixes(self.start_mix)

    # ------------------------------------------------------------------ takes on a leg

    def start_take(self, call_id: str, take: Running) -> None:
        tap = self.taps.get(call_id)
        if tap is None or tap.closed:
            tap = self.taps[call_id] = LegTap()
            tap.running.append(take)
            self.ctx.telephony.media(call_id).start_recording(tap)
        else:
            tap.running.append(take)

    def stop_take(self, call_id: str, take: Running, *, cut_tone: bool = False) -> RecordingTake:
        tap = self.taps.get(call_id)
        if tap is not None and take in tap.running:
            tap.running.remove(take)
            if not tap.running:  # nothing else listens: the network may stop feeding
                del self.taps[call_id]
                tap.closed = True
                self.ctx.telephony.media(call_id).stop_recording()
        return take.stop(cut_tone=cut_tone)

    def recording_url(self, recording: Recording) -> str:
        return own_url(self.api_base_url, recording)

    async def save_take(self, session: Leg, running: Running, *,
                    cut_tone: bool = False) -> tuple[Recording | None, int]:
        take = self.stop_take(session.call.call_id, running, cut_tone=cut_tone)
        duration_ms = running.duration_ms
        try:
            wav = await self.library.offload(take.render)
        except Exception as exc:  # a synthesis failure must not take the call down
            await session.log(LogLevel.ERROR, f"Recording could not be rendered: {exc!r}")
            return None, duration_ms
        call = session.call
        saved = await self.library.save(self.library.new_id(), call.account_id, wav, duration_ms,
                                        call_id=call.call_id)
        if saved is None:
            await session.log(LogLevel.ERROR, "Recording could not be saved (see the server log); "
                              "it is reported with an empty recordingId")
        return saved, duration_ms

    # ------------------------------------------------------------------ RecordUtterance

    async def run_record_utterance(self, session: Leg, command: Command) -> e.Outcome:
        assert isinstance(command, RecordUtterance)
        clock = self.ctx.clock
        utt = Utterance(self, command, clock.now())
        session.join(utt)  # before the first await: a hangup from now on reaches on_leg_ended
        call_id = session.call.call_id
        if command.play_beep:
            await self.ctx.telephony.media(call_id).play(Tone())
        settings = self.library.settings
        max_s = command.max_length_sec or settings.max_length_sec
        silence_s = (settings.silence_timeout_ms if command.silence_timeout_ms is None
                     else command.silence_timeout_ms) / 1000
        auto = bool(command.auto_start)
        utt.take = Running(self.recorder, clock.now, finish_key=command.finish_on_key,
                           auto_start=auto, on_sound=utt.heard)
        utt.last_sound = clock.now()
        started = clock.now()
        self.start_take(call_id, utt.take)
        await session.log(LogLevel.INFO, "RecordUtterance: recording",
                          {"maxLengthSec": max_s, "silenceTimeoutMs": round(silence_s * 1000)})
        while utt.reason is None:
            deadline = started + max_s
            if silence_s > 0 and (not auto or utt.take.take is not None):
                deadline = min(deadline, utt.last_sound + silence_s)
            if clock.now() >= deadline:
                utt.end("maxLength" if clock.now() >= started + max_s else "timeout")
                break
            await wait_or_wake(clock.sleep(deadline - clock.now()), utt.wake)
        if utt.reported:  # the leg ended meanwhile: on_leg_ended reported it
            return e.Proceed()
        utt.reported = True
        session.leave()
        payload = await self.finish_utterance(session, utt)
        return e.Fetch(command.action_url, payload, privacy_mode=bool(command.privacy_mode))

    async def finish_utterance(self, session: Leg, utt: Utterance) -> p.Record:
        if utt.take is None:  # the leg ended during the beep: an empty recording
            utt.take = Running(self.recorder, self.ctx.clock.now, auto_start=True)
        # Shielded: a hangup while it saves must not leave a file without its record.
        reason = utt.reason or "hangup"
        saved, duration_ms = await asyncio.shield(
            self.save_take(session, utt.take, cut_tone=reason == "finishKey"))
        if saved is None:
            return p.Record("", "", "0", RECORDING_FORMAT, 0, reason,
                            bool(utt.command.privacy_mode))
        await session.log(LogLevel.INFO, f"RecordUtterance: recorded {duration_ms} ms ({reason})",
                          {"recordingId": saved.recording_id, "termReason": reason})
        if utt.command.privacy_mode:  # downloadable for a while only, as FreeClimb's
            self.library.expire(saved, self.private_recording_s)
        return p.Record(saved.recording_id, self.recording_url(saved), str(saved.size),
                        RECORDING_FORMAT, duration_sec(duration_ms), reason,
                        bool(utt.command.privacy_mode))

    # ------------------------------------------------------------------ StartRecordCall

    async def run_start_record_call(self, session: Leg, command: Command) -> e.Outcome:
        call_id = session.call.call_id
        if call_id in self.whole_calls:
            await session.log(LogLevel.WARNING, "StartRecordCall: the call is already being "
                              "recorded; the recording goes on")
            return e.Proceed()
        take = Running(self.recorder, self.ctx.clock.now, both_ways=True)
        self.whole_calls[call_id] = take
        self.start_take(call_id, take)
        await session.log(LogLevel.INFO, "StartRecordCall: recording the call")
        return e.Proceed()

    # ------------------------------------------------------------------ conferences

    def start_mix(self, account_id: str, conference_id: str) -> StopMixRecording:
        """Record the conference's mix from now; the returned function stops and saves it."""
        take = Running(self.recorder, self.ctx.clock.now)
        mixer = self.ctx.telephony.mixer
        mixer.record(conference_id, MixTap(take))

        async def stop() -> p.RecordingFields | None:
            mixer.record(conference_id, None)
            done = take.stop()
            if take.duration_ms == 0:
                return None
            return await asyncio.shield(self._save_mix(account_id, conference_id, done,
                                                       take.duration_ms))

        return stop

    async def _save_mix(self, account_id: str, conference_id: str, take: RecordingTake,
                        duration_ms: int) -> p.RecordingFields | None:
        try:
            wav = await self.library.offload(take.render)
        except Exception as exc:  # a synthesis failure must not take the conference down
            await self.ctx.logs.log(LogLevel.ERROR, account_id, "Conference recording could "
                                    f"not be rendered: {exc!r}")
            return None
        saved = await self.library.save(self.library.new_id(), account_id, wav, duration_ms,
                                        conference_id=conference_id)
        if saved is None:
            await self.ctx.logs.log(LogLevel.ERROR, account_id, "Conference recording could not "
                                    "be saved (see the server log)")
            return None
        return p.RecordingFields(self.recording_url(saved), saved.recording_id,
                                 duration_sec(duration_ms))

    async def call_status(self, session: Leg) -> p.CallStatus | None:
        """The callStatus payload of a leg recorded by StartRecordCall (None: not recorded)."""
        self.taps.pop(session.call.call_id, None)  # every leg ends here: forget its tap
        take = self.whole_calls.pop(session.call.call_id, None)
        if take is None:
            return None
        self.stop_take(session.call.call_id, take)
        if take.duration_ms == 0:  # zero-length: nothing to keep
            return p.CallStatus(recording_url="", recording_id="", recording_duration_sec=0)
        saved, duration_ms = await asyncio.shield(self.save_take(session, take))
        if saved is None:
            return p.CallStatus(recording_url="", recording_id="", recording_duration_sec=0)
        return p.CallStatus(recording_url=self.recording_url(saved),
                            recording_id=saved.recording_id,
                            recording_duration_sec=duration_sec(duration_ms))


async def wait_or_wake(sleep: Coroutine[Any, Any, None], wake: asyncio.Event) -> None:
    """Until `sleep` (a sleep on the clock) is done or `wake` is set."""
    sleeper = asyncio.ensure_future(sleep)
    waker = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, waker):
            if not task.done():
                task.cancel()
