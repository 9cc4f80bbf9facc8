"""A phone network as the engine sees it: signalling, a MediaSession per leg and a Mixer.

`Media`/`MediaKind` are the engine's description of one item to play (from a PlayMedia action);
`Media.source()` turns it into the MediaSession's typed `Source`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from percl.engine.ports.media import File, MediaSession, Silence, Source, Tone, Tts
from percl.engine.ports.mixer import Mixer
from percl.engine.ports.signalling import Signalling


class MediaKind(StrEnum):
    SAY = "say"
    PLAY = "play"
    PAUSE = "pause"
    BEEP = "beep"  # the conference entry/exit tone (playBeep)


@dataclass(frozen=True, slots=True)
class Media:
    """Something the platform plays to the far end of a leg (one iteration; loops are the engine's)."""

    kind: MediaKind
    text: str | None = None  # say
    language: str | None = None  # say
    url: str | None = None  # play
    length_ms: int | None = None  # pause
    privacy_mode: bool = False

    def source(self) -> Source:
        """What a MediaSession plays for this item."""
        if self.kind is MediaKind.SAY:
            return Tts(self.text or "", self.language)
        if self.kind is MediaKind.PLAY:
            return File(self.url or "")
        if self.kind is MediaKind.PAUSE:
            return Silence(self.length_ms or 0)
        return Tone()


class Telephony(Signalling, Protocol):
    """A phone network (simulated, SIP, WebRTC). Legs are identified by the engine's call id."""

    def media(self, call_id: str) -> MediaSession:
        """The media of leg `call_id` (cheap; a leg unknown or ended gets one that does nothing)."""
        ...

    @property
    def mixer(self) -> Mixer: ...


class InboundHandler(Protocol):
    """The engine side of an inbound call; a phone network calls it when a call arrives."""

    async def incoming_call(self, call_id: str, from_: str, to: str) -> None:
        """A new inbound leg `call_id` (made by the network with the shared IdGenerator) is ringing.
        The engine records it, `attach`es its listener and starts the leg's session."""
        ...
