"""The MediaSession of one leg in audio fidelity: sources become frames in the leg's player.

Say is the kit's TTS, Play the kit's decoded file, Pause silence, the beep a 1 kHz tone, SendDigits
dual tones. A play returns when its last frame went out (so a Say lasts as long as its audio),
CUT when the leg ended first; a cancelled play (barge-in) stops at once. The transcript entries
are the symbolic network's (playout.py writes both), amended with the time actually sent when
cut short.

A Play file that cannot be had (missing, too big, undecodable: the kit's AudioUnavailable) is
skipped with a warning naming the masked URL and the reason (once per leg and URL), as FreeClimb
moves on past a file it cannot play: the entry is written and the far end hears silence for as long
as the symbolic network plays a file of unknown length (PLAY_DEFAULT_MS, 3 s), so both fidelities
time the flow alike and a looping Play or a conference's wait audio never spins.
"""

from __future__ import annotations

import asyncio
import logging
import re

from percl.domain.urls import mask_credentials
from percl.engine.ports import (
    File,
    Played,
    PlayEnd,
    RecordingSink,
    Silence,
    Source,
    SpeechGrammar,
    Tone,
)
from percl.telephony.sim.audio.dsp import FRAME_MS, Pcm, beep, dtmf_digits, silence
from percl.telephony.sim.audio.kit import AudioUnavailable
from percl.telephony.sim.audio.plane import AudioPlane
from percl.telephony.sim.audio.streams import FrameQueue, Queued
from percl.telephony.sim.lines import DigitEvents
from percl.telephony.sim.media_model import PLAY_DEFAULT_MS, parse_send_digits
from percl.telephony.sim.phones import Leg
from percl.telephony.sim.playout import cut_entry, digits_entry, play_entry
from percl.telephony.sim.stream_tap import FrameTap

log = logging.getLogger(__name__)


class AudioMediaSession:
    """The MediaSession of `leg` (None: unknown or ended, every operation a no-op)."""

    def __init__(self, plane: AudioPlane, leg: Leg | None) -> None:
        self._plane = plane
        self._leg = leg

    async def play(self, source: Source) -> Played:
        leg = self._leg
        if leg is None or not leg.live:
            return Played(PlayEnd.CUT, 0)
        pcm = await self._render(source)
        if not leg.live:
            return Played(PlayEnd.CUT, 0)
        index = play_entry(leg, source)
        queue = self._plane.audio_leg(leg).player
        if isinstance(source, Silence):
            return await _hold(leg, index, queue, queue.put_silence(source.ms))
        if pcm is None:  # a file that cannot be had: silence as long as a file of unknown length
            return await _hold(leg, index, queue, queue.put_silence(PLAY_DEFAULT_MS))
        return await _hold(leg, index, queue, queue.put(pcm))

    async def send_dtmf(self, digits: str, pause_ms: int) -> None:
        parse_send_digits(digits)  # a bad character raises even for an unknown or ended leg
        leg = self._leg
        if leg is None or not leg.live:
            return
        index = digits_entry(leg, digits)
        audio_leg = self._plane.audio_leg(leg)
        queue = audio_leg.player
        if isinstance(audio_leg.far, DigitEvents) and audio_leg.far.sends_events:
            await _send_events(leg, index, queue, audio_leg.far, digits, pause_ms)
            return
        # Tones as samples, `{n}` pauses as counted silence: a long pause ({9999} at 1 s is legal
        # PerCL) costs no memory and stays under the tone generator's length limit.
        for part in _send_digits_parts(digits, pause_ms):
            item = queue.put_silence(part) if isinstance(part, int) else queue.put(part)
            if (await _hold(leg, index, queue, item)).end is PlayEnd.CUT:
                return

    def start_recording(self, sink: RecordingSink) -> None:
        if self._leg is not None and self._leg.live:
            self._leg.start_recording(sink)
        else:
            sink.close(0)

    def stop_recording(self) -> None:
        if self._leg is not None:
            self._leg.stop_recording()

    def open_stream(self, max_buffer_ms: int) -> FrameTap:
        tap = FrameTap(max(1, max_buffer_ms // FRAME_MS))
        if self._leg is not None and self._leg.live:
            self._plane.audio_leg(self._leg).taps.append(tap)
        else:
            tap.close()
        return tap

    def expect_speech(self, grammar: SpeechGrammar | None) -> None:
        if self._leg is not None and self._leg.live:
            self._plane.audio_leg(self._leg).grammar = grammar

    async def _render(self, source: Source) -> Pcm | None:
        """The audio of `source` (empty: nothing to play; Silence is queued as a count; None: a
        file that cannot be had)."""
        kit = self._plane.kit
        if isinstance(source, File):
            try:
                return await kit.file(source.url)
            except AudioUnavailable as exc:
                if self._leg is not None and self._plane.first_failure(self._leg, source.url):
                    log.warning("Play %s skipped: %s", mask_credentials(source.url), exc)
                return None
        if isinstance(source, Tone):
            return beep()
        if isinstance(source, Silence):
            return _NOTHING
        try:
            return kit.speech(source.text, source.voice)
        except Exception:  # a TTS engine failure must not wedge the call: say nothing
            log.exception("Say: text to speech failed; nothing is played")
            return _NOTHING


_NOTHING: Pcm = silence(0)


_PAUSE = re.compile(r"\{(\d+)\}")


def _send_digits_parts(digits: str, pause_ms: int) -> list[Pcm | int]:
    """A checked SendDigits string as tone runs (samples) and pauses (milliseconds of silence)."""
    parts: list[Pcm | int] = []
    pos = 0
    for m in _PAUSE.finditer(digits):
        if m.start() > pos:
            parts.append(dtmf_digits(digits[pos:m.start()]))
        parts.append(int(m.group(1)) * max(0, pause_ms))
        pos = m.end()
    if pos < len(digits):
        parts.append(dtmf_digits(digits[pos:]))
    return parts


async def _send_events(leg: Leg, index: int, queue: FrameQueue, far: DigitEvents, digits: str,
                       pause_ms: int) -> None:
    """SendDigits to a far end that takes RFC 4733 events: per key, the line sends the event
    packets while the leg's player holds silence as long (so the key is not heard twice and
    the flow keeps its timing); `{n}` pauses are silence."""
    pos = 0
    for m in _PAUSE.finditer(digits + "{0}"):
        for key in digits[pos:m.start()]:
            item = queue.put_silence(far.send_digit_event(key, EVENT_TONE_MS))
            if (await _hold(leg, index, queue, item)).end is PlayEnd.CUT:
                return
        pos = m.end()
        if int(m.group(1)) and pause_ms > 0:
            item = queue.put_silence(int(m.group(1)) * pause_ms)
            if (await _hold(leg, index, queue, item)).end is PlayEnd.CUT:
                return


EVENT_TONE_MS = 100  # a key's length as an event, as long as the in-band tone (tones.py)


async def _hold(leg: Leg, index: int, queue: FrameQueue, item: Queued) -> Played:
    """Wait until `item` was sent, the leg ended (CUT) or the caller is cancelled (barge-in)."""
    try:
        if not item.done.done():
            await asyncio.wait((item.done, leg.ended), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        queue.drop(item)
        cut_entry(leg, index, item.sent_ms)
        raise
    if item.done.done() and not item.done.cancelled():
        return Played(PlayEnd.FINISHED, item.ms)
    queue.drop(item)
    return Played(PlayEnd.CUT, cut_entry(leg, index, item.sent_ms))
