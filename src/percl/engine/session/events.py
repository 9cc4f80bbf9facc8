"""What reaches a CallSession besides the interpreter's own events.

The network's progress reports on an outbound leg (ringing, answered, failed, a machine), the
session's own timers (ring timeout, maximum duration), and what the services post to a live leg
(a REST update, the parent leg ending, percl stopping). Each is a frozen value put on the session's
queue; only the session's loop acts on it (session.py `_dispatch`).
"""

from __future__ import annotations

from dataclasses import dataclass

from percl.domain.enums import AnsweredBy, MachineType
from percl.engine.ports import DialResult
from percl.percl.events import Event

# ----------------------------------------------------------------- from the network


@dataclass(frozen=True, slots=True)
class Ringing:
    """The far end of an outbound leg rings."""


@dataclass(frozen=True, slots=True)
class Answered:
    by: AnsweredBy
    web_rtc: bool = False  # a browser phone answered


@dataclass(frozen=True, slots=True)
class DialFailed:
    result: DialResult


@dataclass(frozen=True, slots=True)
class MachineDetected:
    machine_type: MachineType


# ----------------------------------------------------------------- the session's own timers


@dataclass(frozen=True, slots=True)
class RingTimeout:
    """The outbound leg rang for its whole `timeout`."""


@dataclass(frozen=True, slots=True)
class MaxDuration:
    """The leg reached EngineSettings.max_call_duration_s."""


# ----------------------------------------------------------------- from the services


@dataclass(frozen=True, slots=True)
class ApiUpdate:
    """POST /Calls/{id} {status}: `canceled` or `completed`."""

    status: str


@dataclass(frozen=True, slots=True)
class ParentEnded:
    """The leg's parent ended (EngineSettings.hangup_children_with_parent)."""


@dataclass(frozen=True, slots=True)
class Shutdown:
    """percl is stopping: end the leg now (internalError)."""


#: Everything a CallSession's queue carries: the interpreter's events (from the leg's child tasks,
#: the network and the services) and the session's own.
SessionEvent = (
    Event
    | Ringing
    | Answered
    | DialFailed
    | MachineDetected
    | RingTimeout
    | MaxDuration
    | ApiUpdate
    | ParentEnded
    | Shutdown
)
