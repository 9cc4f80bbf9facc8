"""The signalling port: setting legs up and tearing them down, without their media.

A phone network (simulated, SIP, WebRTC) identifies legs by the engine's call id. Progress of a
leg comes back through its `SignallingListener` (the engine's CallSession).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from percl.domain.enums import AnsweredBy, MachineType
from percl.engine.ports.media import MediaListener


class DialResult(StrEnum):
    """How an outbound attempt ended before (or by) being answered."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "noAnswer"
    FAILED = "failed"


class SignallingListener(Protocol):
    """What a phone network reports about one leg's signalling.

    Each method only records the event for the session's task; none may block or raise.
    """

    def on_ringing(self) -> None: ...
    # web_rtc: a browser phone answered (the record's `webRTC`).
    def on_answered(self, answered_by: AnsweredBy, *, web_rtc: bool = False) -> None: ...
    def on_dial_failed(self, result: DialResult) -> None: ...
    def on_machine_detected(self, machine_type: MachineType) -> None: ...
    def on_far_end_hangup(self) -> None: ...


class LegListener(SignallingListener, MediaListener, Protocol):
    """Everything a phone network reports about one leg. Implemented by the engine's CallSession."""


class Signalling(Protocol):
    """Dial, answer, reject, hang up and attach legs. The listener is a `LegListener` (signalling
    and media events) so one object hears everything about its leg."""

    def is_reachable(self, number: str) -> bool:
        """True when this network can place a call to `number` (for sim: any E.164 number)."""
        ...

    async def dial(
        self, call_id: str, from_: str, to: str, listener: LegListener, *, detect_machine: bool
    ) -> None:
        """Start ringing `to`. Returns at once; progress arrives through `listener`.
        The engine enforces the ring timeout and calls `hangup` to cancel."""
        ...

    def attach(self, call_id: str, listener: LegListener) -> None:
        """Attach the engine's listener to an inbound leg the network announced."""
        ...

    async def answer(self, call_id: str) -> None: ...
    async def reject(self, call_id: str) -> None: ...
    async def hangup(self, call_id: str) -> None:
        """The platform ends the leg (or cancels it while ringing). Idempotent."""
        ...

