"""A phone network as the engine sees it: signalling, a MediaSession per leg and a Mixer.

What to play is the MediaSession's typed `Source`; the engine makes it from the interpreter's
PlayMedia action (engine/session/media.py `media_source`), the one description of a prompt.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from percl.domain.json import JsonValue
from percl.domain.records import IncomingNumber
from percl.engine.ports.media import MediaSession
from percl.engine.ports.mixer import Mixer
from percl.engine.ports.signalling import LegListener, Signalling


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
        self, call_id: str, from_: str, to: str, number: IncomingNumber | None = None, *,
        web_rtc: bool = False,
    ) -> None:
        """A new inbound leg `call_id` (made by the network with the shared IdGenerator) is ringing.
        The engine records it, `attach`es its listener and starts the leg's session. `number` is
        the store's record of `to` when the network's front door already looked it up (the sim
        API checks who owns it), so one inbound call reads it once; None: the engine looks it up.
        `web_rtc`: a browser phone placed the call (the record's `webRTC`)."""
        ...


@runtime_checkable
class LegMover(Protocol):
    """A network that can move a live leg from one percl worker to another (issue 19: a leg
    joining a conference whose room runs on another worker is handed over to that worker).

    The leg's worker `park`s it (its listener is let go; the phone stays on the line) and packs
    it (`parcel`: JSON another process's network can rebuild it from), the room's worker
    `adopt`s it with its own listener; then the first worker `let_go`es it (it runs there
    now). When the adoption fails, the first worker `unpark`s it again. A network that cannot
    move a leg answers False to `park` (the leg's media is tied to this process: a SIP or
    browser phone) or to `adopt` (a parcel it cannot take)."""

    def park(self, call_id: str) -> bool:
        """Let leg `call_id` go to another worker; False when it is not live here."""
        ...

    def parcel(self, call_id: str) -> JsonValue:
        """The parked leg `call_id` as JSON for another process's network (at most a few KB:
        it travels on the bus); None when it cannot leave this process."""
        ...

    def adopt(self, call_id: str, listener: LegListener, parcel: JsonValue = None) -> bool:
        """Take over a leg another worker parked, with `listener` (told at once of a far-end
        hangup that came meanwhile): from this process when it is parked here, else from its
        `parcel`; False when no such leg can be had here."""
        ...

    def unpark(self, call_id: str, listener: LegListener) -> None:
        """Take back a leg this worker parked (its adoption failed)."""
        ...

    def let_go(self, call_id: str) -> None:
        """A leg this worker parked was adopted by another: forget it here, silently."""
        ...
