"""Media the platform sends to a simulated leg's far end: how long it takes, and what the far end
heard of it.

Each item is a transcript entry (said, played, paused, beep, digits sent) that holds the caller for
its modelled duration (media_model.py). An item cut short -- the platform cancelled it (barge-in)
or the leg ended -- gets `interrupted` and `heard_ms` on its entry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from percl.domain.clock import Clock
from percl.domain.urls import mask_credentials
from percl.engine.ports import (
    File,
    Played,
    PlayEnd,
    RecordingSink,
    Silence,
    Source,
    SpeechGrammar,
    SpokenText,
    Tone,
)
from percl.telephony.sim import bridge
from percl.telephony.sim.media_model import MediaModel, parse_send_digits
from percl.telephony.sim.model import TranscriptEvent
from percl.telephony.sim.phones import Leg
from percl.telephony.sim.stream_tap import SilentTap

log = logging.getLogger(__name__)

#: How long the media at a URL plays, in seconds (None: unknown, use the default).
MediaProbe = Callable[[str], Awaitable[float | None]]


class MediaPlayer:
    """Plays media to legs on `clock`, timed by `model`; `probe` measures Play URLs."""

    def __init__(self, clock: Clock, model: MediaModel, probe: MediaProbe | None) -> None:
        self._clock = clock
        self._model = model
        self._probe = probe

    @property
    def clock(self) -> Clock:
        return self._clock

    async def play(self, leg: Leg, source: Source) -> Played:
        """Play one item to the far end of a live `leg`; returns when its duration has passed or
        the leg ended. Cancelling the caller stops it (CancelledError propagates)."""
        if isinstance(source, File):
            seconds = self._model.play_seconds(await self._probe_url(source.url))
        elif isinstance(source, Silence):
            seconds = self._model.pause_seconds(source.ms)
        elif isinstance(source, Tone):
            seconds = self._model.pause_seconds(bridge.BEEP_MS)
        else:
            seconds = self._model.say_seconds(source.text)
            leg.record_heard(SpokenText(source.text))  # the words, as a caller's speech is
        return await self._hold(leg, play_entry(leg, source), seconds)

    async def send_digits(self, leg: Leg, digits: str, pause_ms: int) -> None:
        """Play DTMF to the far end of a live `leg` (already checked with parse_send_digits)."""
        await self._hold(leg, digits_entry(leg, digits),
                         self._model.send_digits_seconds(digits, pause_ms))

    async def _probe_url(self, url: str) -> float | None:
        if self._probe is None:
            return None
        try:
            return await self._probe(url)
        except Exception:
            log.warning("media_duration probe failed for %s; using the default",
                        mask_credentials(url))
            return None

    async def _hold(self, leg: Leg, index: int, seconds: float) -> Played:
        """Let `seconds` pass while media plays; amend the entry when it is cut short."""
        started = self._clock.now()
        try:
            finished = await _wait_or_end(self._clock, leg, seconds)
        except asyncio.CancelledError:
            _cut_short(leg, index, started)
            raise
        if not finished:
            return Played(PlayEnd.CUT, _cut_short(leg, index, started))
        return Played(PlayEnd.FINISHED, round(max(0.0, seconds) * 1000))


class SimMediaSession:
    """The symbolic MediaSession of one leg (None: unknown or ended, every operation a no-op)."""

    def __init__(self, player: MediaPlayer, leg: Leg | None) -> None:
        self._player = player
        self._leg = leg

    async def play(self, source: Source) -> Played:
        leg = self._leg
        if leg is None or not leg.live:
            return Played(PlayEnd.CUT, 0)
        return await self._player.play(leg, source)

    async def send_dtmf(self, digits: str, pause_ms: int) -> None:
        parse_send_digits(digits)  # a bad character raises even for an unknown or ended leg
        leg = self._leg
        if leg is not None and leg.live:
            await self._player.send_digits(leg, digits, pause_ms)

    def start_recording(self, sink: RecordingSink) -> None:
        if self._leg is not None and self._leg.live:
            self._leg.start_recording(sink)
        else:
            sink.close(0)

    def stop_recording(self) -> None:
        if self._leg is not None:
            self._leg.stop_recording()

    def expect_speech(self, grammar: SpeechGrammar | None) -> None:
        """Symbolic speech carries its words: there is no recogniser to tell."""

    def open_stream(self, max_buffer_ms: int) -> SilentTap:
        """Silence to the agent, its audio counted as time (stream_tap.py)."""
        leg = self._leg
        ended = leg.ended if leg is not None and leg.live else None
        return SilentTap(self._player.clock, ended, max(1, max_buffer_ms // 20))


def play_entry(leg: Leg, source: Source) -> int:
    """Write the transcript entry of `source` starting to play now; returns its index. (Both
    fidelities write their entries here, so transcripts read the same in each.)"""
    if isinstance(source, File):
        return leg.transcript.add(TranscriptEvent.PLAY, url=source.url)
    if isinstance(source, Silence):
        return leg.transcript.add(TranscriptEvent.PAUSE, length_ms=source.ms)
    if isinstance(source, Tone):
        return bridge.beep_entry(leg)
    return leg.transcript.add(TranscriptEvent.SAY, text=source.text, language=source.voice)


def digits_entry(leg: Leg, digits: str) -> int:
    """Write the `digitsSent` entry of a SendDigits string (checked) starting now."""
    tones, _ = parse_send_digits(digits)
    return leg.transcript.add(TranscriptEvent.DIGITS_SENT, digits=tones)


def cut_entry(leg: Leg, index: int, heard_ms: int) -> int:
    """Amend the entry of media cut short after `heard_ms`; returns heard_ms."""
    leg.transcript.amend(index, interrupted=True, heard_ms=heard_ms)
    return heard_ms


def _cut_short(leg: Leg, index: int, started: float) -> int:
    return cut_entry(leg, index, leg.transcript.elapsed_ms(started))


async def _wait_or_end(clock: Clock, leg: Leg, seconds: float) -> bool:
    """Sleep `seconds` on the clock unless the leg ends first; True when the time ran out."""
    if seconds <= 0:
        return True
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({sleeper, leg.ended}, return_when=asyncio.FIRST_COMPLETED)
        return sleeper.done() and not sleeper.cancelled()
    finally:
        if not sleeper.done():
            sleeper.cancel()
