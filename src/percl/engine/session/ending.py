"""How a leg ends: asked from outside (a REST update, the parent leg ending, the maximum call
duration), and what every end does once the session has stopped the leg's work.

The order of a leg's end is FreeClimb's and percl's promise: hang the network leg up, store the
final record (status, callEndedReason, endTime), log "Call ended", release the service holding the
leg (a conference, a queue, a park), and only then send the notifications -- what a command the
end cut short still owes its actionUrl (GetSpeech `hangup`), the connect webhook of an outbound leg
that was never answered (its PerCL is ignored), and the statusCallback.

This module is the pure half (how the record moves, what a REST update means for the leg);
CallSession performs it (`finish`).
"""

from __future__ import annotations

from enum import Enum

from percl.domain.enums import CallDirection, CallEndedReason, CallStatus
from percl.domain.records import Call
from percl.engine.state import CallEvent


class ApiEnd(Enum):
    """What POST /Calls/{id} `canceled` / `completed` (or the parent's end) does to a leg."""

    CANCEL = "cancel"  # not answered: canceled
    ANSWER_THEN_HANG_UP = "answer"  # a ringing inbound leg `completed`: answered, then hung up
    HANG_UP = "hang up"  # answered: appHangup, through its interpreter when a script runs


def api_end(call: Call, status: str) -> ApiEnd:
    """How the REST update to `status` ends `call`."""
    if call.status not in (CallStatus.QUEUED, CallStatus.RINGING):
        return ApiEnd.HANG_UP
    if call.direction is CallDirection.INBOUND and status == "completed":
        return ApiEnd.ANSWER_THEN_HANG_UP
    return ApiEnd.CANCEL


def end_event(status: CallStatus, reason: CallEndedReason) -> CallEvent:
    """How a leg in `status` moves when it ends for `reason` without a more precise event."""
    if status is CallStatus.IN_PROGRESS:
        return CallEvent.COMPLETE
    if reason in (CallEndedReason.FAR_END_HANGUP, CallEndedReason.CALL_CANCELED):
        return CallEvent.CANCEL
    return CallEvent.FAIL


def owes_connect_webhook(call: Call, was_answered: bool) -> bool:
    """An outbound leg that ended unanswered still gets its connect webhook (its PerCL ignored)."""
    return not was_answered and call.direction is not CallDirection.INBOUND
