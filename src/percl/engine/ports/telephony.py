"""A phone network as the engine sees it: signalling, a MediaSession per leg and a Mixer.

What to play is the MediaSession's typed `Source`; the engine makes it from the interpreter's
PlayMedia action (engine/session/media.py `media_source`), the one description of a prompt.
"""

from __future__ import annotations

from typing import Protocol

from percl.domain.records import IncomingNumber
from percl.engine.ports.media import MediaSession
from percl.engine.ports.mixer import Mixer
from percl.engine.ports.signalling import Signalling


class Telephony(Signalling, Protocol):
    """A phone network (simulated, SIP, WebRTC). Legs are identified by the engine's call id."""

    def media(self, call_id: str) -> MediaSession:
        """The media of leg `call_id` (cheap; a leg unknown or ended gets one that does nothing)."""
        ...

    @property
    def mixer(self) -> Mixer: ...


class InboundHandler(Protocol):
    """The engine side of an inbound call; a phone network calls it when a call arrives."""

    async def incoming_call(
        self, call_id: str, from_: str, to: str, number: IncomingNumber | None = None
    ) -> None:
        """A new inbound leg `call_id` (made by the network with the shared IdGenerator) is ringing.
        The engine records it, `attach`es its listener and starts the leg's session. `number` is
        the store's record of `to` when the network's front door already looked it up (the sim
        API checks who owns it), so one inbound call reads it once; None: the engine looks it up."""
        ...
