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
from percl.engine.ports import Media, MediaKind
from percl.telephony.sim import bridge
from percl.telephony.sim.media_model import MediaModel, parse_send_digits
from percl.telephony.sim.model import TranscriptEvent
from percl.telephony.sim.phones import Leg

log = logging.getLogger(__name__)

#: How long the media at a URL plays, in seconds (None: unknown, use the default).
MediaProbe = Callable[[str], Awaitable[float | None]]


class MediaPlayer:
    """Plays media to legs on `clock`, timed by `model`; `probe` measures Play URLs."""

    def __init__(self, clock: Clock, model: MediaModel, probe: MediaProbe | None) -> None:
        self._clock = clock
        self._model = model
        self._probe = probe

    async def play(self, leg: Leg, media: Media) -> None:
        """Play one item to the far end of a live `leg`; returns when its duration has passed or
        the leg ended. Cancelling the caller stops it (CancelledError propagates)."""
        if media.kind is MediaKind.PLAY:
            seconds = self._model.play_seconds(await self._probe_url(media.url or ""))
            index = leg.transcript.add(TranscriptEvent.PLAY, url=media.url)
        elif media.kind is MediaKind.PAUSE:
            length_ms = media.length_ms or 0
            seconds = self._model.pause_seconds(length_ms)
            index = leg.transcript.add(TranscriptEvent.PAUSE, length_ms=length_ms)
        elif media.kind is MediaKind.BEEP:
            seconds = self._model.pause_seconds(bridge.BEEP_MS)
            index = bridge.beep_entry(leg)
        else:
            text = media.text or ""
            seconds = self._model.say_seconds(text)
            index = leg.transcript.add(TranscriptEvent.SAY, text=text, language=media.language)
        await self._hold(leg, index, seconds)

    async def send_digits(self, leg: Leg, digits: str, pause_ms: int) -> None:
        """Play DTMF to the far end of a live `leg` (already checked with parse_send_digits)."""
        tones, _ = parse_send_digits(digits)
        index = leg.transcript.add(TranscriptEvent.DIGITS_SENT, digits=tones)
        await self._hold(leg, index, self._model.send_digits_seconds(digits, pause_ms))

    async def _probe_url(self, url: str) -> float | None:
        if self._probe is None:
            return None
        try:
            return await self._probe(url)
        except Exception:
            log.warning("media_duration probe failed for %s; using the default",
                        mask_credentials(url))
            return None

    async def _hold(self, leg: Leg, index: int, seconds: float) -> None:
        """Let `seconds` pass while media plays; amend the entry when it is cut short."""
        started = self._clock.now()
        try:
            finished = await _wait_or_end(self._clock, leg, seconds)
        except asyncio.CancelledError:
            _cut_short(leg, index, started)
            raise
        if not finished:
            _cut_short(leg, index, started)


def _cut_short(leg: Leg, index: int, started: float) -> None:
    leg.transcript.amend(index, interrupted=True, heard_ms=leg.transcript.elapsed_ms(started))


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
