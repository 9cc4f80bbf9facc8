"""TranscribeUtterance: prompts, then the caller's words recorded and transcribed.

The command (terminal) plays its prompts (Say, Play, Pause, each `loop` times) while already
listening: the caller's first key (bargeInByDTMF) or first sound (bargeInByEnergy) stops them,
and the `transcribe` webhook says which prompt and iteration was cut, after how long, and when.
Then the optional beep, then the caller is recorded from the first sound until
`rcrdTerminationSilenceTimeMs` of silence, `maxLengthSec` of recording, a key, or the hangup; no
sound within NO_INPUT_MS after the prompts is `noInput`. The take (the caller's side only, as
RecordUtterance's) is transcribed: its words on the symbolic network, else by the Transcriber
port (pocketsphinx, or an HTTP Whisper server). With `record.saveRecording` it is kept as a
recording of the call; `privacyForRecording` keeps it only as long as a private recording
(PERCL_PRIVACY_RECORDING_MINUTES) and `privacyForLogging` masks the transcript in the logs.

The webhook's reasons (docs/DECISIONS.md, issue 13): termReason `completed` (a transcript, maybe
"") or `error` (transcript null: the engine failed, transcribeReason `internalError`);
recordTermReason how the recording ended (`timeout` after silence or no input, `maxLength`,
`finishKey` for any key, `hangup`); transcribeReason when it was not a plain end after silence
(`noInput`, `maxLength`, `digit` with the key in `digit`, `hangup`, `internalError`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from percl.domain import payloads as p
from percl.domain.enums import LogLevel
from percl.engine.ports import (
    Played,
    PlayEnd,
    RecordingTake,
    Tone,
    Transcriber,
    TranscriptionFailed,
)
from percl.engine.recordings import RECORDING_FORMAT
from percl.engine.runners import Leg
from percl.engine.session.media import media_source
from percl.engine.session.recording import RecordingService, Running, wait_or_wake
from percl.percl import events as e
from percl.percl.commands import Command, TranscribeUtterance, TranscribeUtteranceRecord
from percl.percl.playback import play_media, prompt_entries

log = logging.getLogger(__name__)

#: Without sound this long after the prompts (and beep), the command ends with noInput.
NO_INPUT_MS = 5000
#: rcrdTerminationSilenceTimeMs when the command gives none.
DEFAULT_SILENCE_MS = 2000
#: maxLengthSec when the command gives none (FreeClimb's default).
DEFAULT_MAX_LENGTH_SEC = 60


@dataclass(slots=True)
class BargeIn:
    reason: p.BargeInReason
    prompt_no: int
    prompt_ms: int
    loop_no: int
    time_ms: int


class Transcribing:
    """The leg's hold while TranscribeUtterance runs: its keys and speech are the command's."""

    def __init__(self, now: Callable[[], float],
                 report: Callable[[Leg, Transcribing], Awaitable[None]]) -> None:
        self.now = now
        self.report = report  # sends the webhook of a leg that ended meanwhile
        self.reported = False
        self.last_sound = now()
        self.listening = False  # the prompts are over: a key now ends the recording
        self.prompts: asyncio.Task[None] | None = None
        self.prompt_at: tuple[int, int, float] = (0, 0, self.last_sound)  # no, loop, started
        self.barge_in: BargeIn | None = None
        self.reason: p.TranscribeReason | None = None
        self.digit: str | None = None
        self.wake = asyncio.Event()
        self.take: Running | None = None
        self.spoke = False

    def end(self, reason: p.TranscribeReason) -> None:
        if self.reason is None:
            self.reason = reason
            self.wake.set()

    def barge(self, reason: p.BargeInReason) -> None:
        """Stop the prompts (the first key or sound while they play)."""
        task = self.prompts
        if task is None or task.done() or self.barge_in is not None:
            return
        now = self.now()
        prompt_no, loop_no, started = self.prompt_at
        self.barge_in = BargeIn(reason, prompt_no, round((now - started) * 1000), loop_no,
                                round(now * 1000))
        task.cancel()

    def heard(self) -> None:
        if not self.spoke:  # the recording began: its deadlines change
            self.spoke = True
            self.wake.set()
        self.last_sound = self.now()
        self.barge("bargeInByEnergy")

    def on_digits(self, session: Leg, digits: str) -> bool:
        if not self.listening:
            self.barge("bargeInByDTMF")
        elif digits:
            self.digit = digits[0]
            self.end("digit")
        return True

    def on_speech(self, session: Leg, text: str) -> bool:
        return True  # heard through the recording's frames (`heard`)

    async def on_idle(self, session: Leg) -> None:
        return None

    async def on_leg_ended(self, session: Leg) -> None:
        self.end("hangup")
        if self.prompts is not None:
            self.prompts.cancel()
        if not self.reported:  # the runner is being cancelled with the leg: report here
            self.reported = True
            await self.report(session, self)


class TranscribeRunner:
    """Registers and runs TranscribeUtterance over the RecordingService's taps and library."""

    def __init__(self, recordings: RecordingService, transcriber: Transcriber) -> None:
        self.recordings = recordings
        self.transcriber = transcriber
        recordings.ctx.runners.register("TranscribeUtterance", self.run)

    async def run(self, session: Leg, command: Command) -> e.Outcome:
        assert isinstance(command, TranscribeUtterance)
        clock = self.recordings.ctx.clock
        t = Transcribing(clock.now, lambda leg, held: self._notice(leg, held, command))
        session.join(t)  # before the first await: a hangup from now on reaches on_leg_ended
        call_id = session.call.call_id
        t.take = Running(self.recordings.recorder, clock.now, auto_start=True, keys=False,
                         on_sound=t.heard)
        self.recordings.start_take(call_id, t.take)  # listening from the first prompt (barge-in)
        await self._prompts(session, t, command)
        if command.play_beep and t.reason is None and t.take.take is None:
            await self.recordings.ctx.telephony.media(call_id).play(Tone())
        t.listening = True
        await self._listen(t, command.record or TranscribeUtteranceRecord())
        if t.reported:  # the leg ended meanwhile: on_leg_ended reported it
            return e.Proceed()
        t.reported = True
        session.leave()
        payload = await asyncio.shield(self._finish(session, t, command))
        return e.Fetch(command.action_url, payload,
                       privacy_mode=bool(command.privacy_for_logging))

    async def _notice(self, session: Leg, t: Transcribing, command: TranscribeUtterance) -> None:
        """The webhook after a hangup: a notice (FreeClimb runs none of its PerCL)."""
        payload = await asyncio.shield(self._finish(session, t, command))
        await session.send_webhook(command.action_url, payload,
                                   privacy_mode=bool(command.privacy_for_logging))

    async def _prompts(self, session: Leg, t: Transcribing, command: TranscribeUtterance) -> None:
        """Play the prompts until they end, a key or sound barges in, or the leg ends."""
        media = self.recordings.ctx.telephony.media(session.call.call_id)
        clock = self.recordings.ctx.clock

        async def play_all() -> None:
            for number, (prompt, times) in enumerate(prompt_entries(command.prompts), 1):
                loop = 0
                while times is None or loop < times:
                    loop += 1
                    t.prompt_at = (number, loop, clock.now())
                    played: Played = await media.play(media_source(play_media(0, prompt)))
                    if played.end is not PlayEnd.FINISHED:
                        return

        t.prompts = asyncio.ensure_future(play_all())
        try:
            await t.prompts
        except asyncio.CancelledError:
            if not t.prompts.cancelled():
                raise  # the runner itself is cancelled
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    async def _listen(self, t: Transcribing, record: TranscribeUtteranceRecord) -> None:
        """Wait until the recording ends (t.reason says why)."""
        clock = self.recordings.ctx.clock
        take = t.take
        assert take is not None
        max_s = record.max_length_sec or DEFAULT_MAX_LENGTH_SEC
        silence_s = (record.rcrd_termination_silence_time_ms or DEFAULT_SILENCE_MS) / 1000
        listening_since = clock.now()
        while t.reason is None:
            if take.take is None:  # nothing said yet
                deadline = listening_since + NO_INPUT_MS / 1000
            else:
                deadline = min(take.started + max_s, t.last_sound + silence_s)
            if clock.now() >= deadline:
                if take.take is None:
                    t.end("noInput")
                elif clock.now() >= take.started + max_s:
                    t.end("maxLength")
                else:
                    break  # silence after speech: the plain end
            else:
                await wait_or_wake(clock.sleep(deadline - clock.now()), t.wake)
                if t.reason is None:
                    t.wake.clear()

    async def _finish(self, session: Leg, t: Transcribing,
                      command: TranscribeUtterance) -> p.Transcribe:
        """Stop the take, transcribe it, keep it if asked: the webhook's payload."""
        running = t.take
        assert running is not None
        service = self.recordings
        take = service.stop_take(session.call.call_id, running, cut_tone=t.reason == "digit")
        duration_ms = running.duration_ms
        transcript = await self._transcribe(session, take, duration_ms)
        saved = None
        record = command.record
        if record is not None and record.save_recording:
            saved, _ = await service.save_take(session, running)
            if saved is not None and command.privacy_for_recording:
                service.library.expire(saved, service.private_recording_s)
        reason = t.reason
        if transcript is None:
            reason = "internalError"
        barge = t.barge_in
        return p.Transcribe(
            term_reason="error" if transcript is None else "completed",
            recording_id=saved.recording_id if saved else None,
            recording_url=service.recording_url(saved) if saved else None,
            recording_size=saved.size if saved else None,
            recording_format=RECORDING_FORMAT if saved else None,
            recording_duration_ms=duration_ms,
            record_term_reason=_record_term(t.reason),
            digit=t.digit,
            privacy_for_logging=bool(command.privacy_for_logging),
            privacy_for_recording=bool(command.privacy_for_recording),
            barge_in_reason=barge.reason if barge else "noBargeIn",
            barged_in_prompt_no=barge.prompt_no if barge else None,
            barged_in_prompt_ms=barge.prompt_ms if barge else None,
            barged_in_prompt_loop_no=barge.loop_no if barge else None,
            barge_in_time_ms=barge.time_ms if barge else None,
            transcript=transcript,
            transcribe_reason=reason,
            transcription_duration_ms=duration_ms,
        )

    async def _transcribe(self, session: Leg, take: RecordingTake,
                          duration_ms: int) -> str | None:
        """The take's words (None: the engine failed, logged)."""
        words = take.words()
        if words is not None or duration_ms == 0:
            return words or ""
        try:
            wav = await self.recordings.library.offload(take.render)
            return await self.transcriber.transcribe(wav)
        except TranscriptionFailed as exc:
            await session.log(LogLevel.ERROR, f"TranscribeUtterance: transcription failed: {exc}")
            return None
        except Exception as exc:  # an engine bug must not take the call down
            log.exception("TranscribeUtterance: transcription failed")
            await session.log(LogLevel.ERROR, f"TranscribeUtterance: transcription failed: {exc!r}")
            return None


def _record_term(reason: p.TranscribeReason | None) -> p.RecordTermReason:
    match reason:
        case "digit":
            return "finishKey"
        case "maxLength" | "hangup":
            return reason
    return "timeout"
