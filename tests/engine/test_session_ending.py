"""The pure decisions of a leg's end and dial progress (session/ending.py, session/dialing.py);
the whole flows run end-to-end in tests/e2e."""

from __future__ import annotations

import pytest

from percl.domain.enums import CallDirection, CallEndedReason, CallStatus, RequestType
from percl.domain.records import Call
from percl.engine.ports import DialResult
from percl.engine.session.dialing import DIAL_FAILURES, connect_type
from percl.engine.session.ending import end_event
from percl.engine.state import CallEvent, apply


@pytest.mark.parametrize(
    ("status", "reason", "final"),
    [
        (CallStatus.IN_PROGRESS, CallEndedReason.APP_HANGUP, CallStatus.COMPLETED),
        (CallStatus.IN_PROGRESS, CallEndedReason.FAR_END_HANGUP, CallStatus.COMPLETED),
        (CallStatus.RINGING, CallEndedReason.FAR_END_HANGUP, CallStatus.CANCELED),
        (CallStatus.QUEUED, CallEndedReason.CALL_CANCELED, CallStatus.CANCELED),
        (CallStatus.RINGING, CallEndedReason.INTERNAL_ERROR, CallStatus.FAILED),
    ],
)
def test_how_a_leg_ends_depends_on_whether_it_was_answered(
    status: CallStatus, reason: CallEndedReason, final: CallStatus
) -> None:
    assert apply(status, end_event(status, reason)) is final


def test_dial_failures_end_with_freeclimbs_statuses() -> None:
    finals = {result: (apply(CallStatus.RINGING, ev), reason)
              for result, (ev, reason) in DIAL_FAILURES.items()}
    assert finals == {
        DialResult.BUSY: (CallStatus.BUSY, CallEndedReason.BUSY),
        DialResult.FAILED: (CallStatus.FAILED, CallEndedReason.FAILED),
        DialResult.NO_ANSWER: (CallStatus.NO_ANSWER, CallEndedReason.NO_ANSWER),
    }
    assert DIAL_FAILURES[DialResult.BUSY][0] is CallEvent.BUSY


def test_connect_webhook_type_by_direction() -> None:
    def leg(direction: CallDirection) -> Call:
        return Call("CA" + "1" * 40, "AC" + "2" * 40, "+13125550100", "+13125550101", direction)

    assert connect_type(leg(CallDirection.OUTBOUND_DIAL)) is RequestType.OUT_DIAL_CONNECT
    assert connect_type(leg(CallDirection.OUTBOUND_API)) is RequestType.OUT_DIAL_API_CONNECT
