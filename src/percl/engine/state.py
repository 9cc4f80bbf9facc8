"""The call-leg lifecycle as one table.

A leg is born `queued` (outbound) or `ringing` (inbound). It moves only by the events below; every
other (state, event) pair is a bug and raises IllegalTransition. Final states never move again, so
"is this call over?" is always `status.is_final`, never a separate flag.

    queued ──ring──▶ ringing ──answer──▶ inProgress ──complete──▶ completed
       │                │
       ├─cancel─▶ canceled   ├─busy─▶ busy    ├─no_answer─▶ noAnswer
       └─fail───▶ failed     ├─fail─▶ failed  ├─cancel────▶ canceled
                             └─reject─▶ busy (an inbound call refused by Reject)
"""

from __future__ import annotations

from enum import StrEnum

from percl.domain.enums import CallStatus
from percl.errors import IllegalTransition


class CallEvent(StrEnum):
    RING = "ring"
    ANSWER = "answer"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAIL = "fail"
    CANCEL = "cancel"
    REJECT = "reject"
    COMPLETE = "complete"


Q, R, P = CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS

CALL_TRANSITIONS: dict[tuple[CallStatus, CallEvent], CallStatus] = {
    (Q, CallEvent.RING): R,
    (Q, CallEvent.FAIL): CallStatus.FAILED,
    (Q, CallEvent.CANCEL): CallStatus.CANCELED,
    (R, CallEvent.ANSWER): P,
    (R, CallEvent.BUSY): CallStatus.BUSY,
    (R, CallEvent.NO_ANSWER): CallStatus.NO_ANSWER,
    (R, CallEvent.FAIL): CallStatus.FAILED,
    (R, CallEvent.CANCEL): CallStatus.CANCELED,
    (R, CallEvent.REJECT): CallStatus.BUSY,
    (P, CallEvent.COMPLETE): CallStatus.COMPLETED,
}


def apply(status: CallStatus, event: CallEvent) -> CallStatus:
    """The status after `event`; raises IllegalTransition for a move the table does not allow."""
    try:
        return CALL_TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition("call", status.value, event.value) from None
